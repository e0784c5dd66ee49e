#!/usr/bin/env python3
"""Converts an official EG3D checkpoint (.pkl, e.g. ffhq512-128.pkl) to safetensors for `dreamportrait`.

    cd /path/to/eg3d/eg3d        # the folder of an NVlabs/eg3d checkout holding training/, torch_utils/, dnnlib/
    python3 /path/to/dreamportrait/Scripts/convert_eg3d.py IN.pkl OUT.safetensors [--with-d]

Unpickling needs the EG3D code importable (the pickle stores the persistent classes' source, but OSGDecoder,
the renderer and the ray sampler are pickled by reference to the local `training` package): run it from the
eg3d/ folder, or pass --eg3d PATH. Needs torch and safetensors (pip install torch safetensors).

Writes G_ema's state_dict under its official key names (`backbone.mapping.fc0.weight`, ...), fp32, and, with
--with-d, D's under `D.<key>`. The metadata holds `config` (init_kwargs, rendering_kwargs and the neural
rendering resolution as JSON), `source` (the input file name) and `format` ("eg3d-official-keys/1").
`resample_filter` buffers are kept: they are constants the loader checks against [1,3,3,1].
"""
import argparse
import json
import os
import pickle
import sys


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("input", help="official EG3D network pickle")
    p.add_argument("output", help="safetensors file to write")
    p.add_argument("--eg3d", default=".", help="path to the eg3d/ folder of an NVlabs/eg3d checkout (default: .)")
    p.add_argument("--with-d", action="store_true", help="also store the discriminator (as D.<key>)")
    a = p.parse_args()
    sys.path.insert(0, os.path.abspath(a.eg3d))
    try:
        import torch
        from safetensors.torch import save_file
        import legacy  # noqa: F401  (EG3D's loader registers the persistence hooks)
    except ImportError as e:
        sys.exit(f"convert_eg3d: cannot import {e.name}: run from the eg3d/ folder of an NVlabs/eg3d checkout "
                 f"(or pass --eg3d PATH) with torch and safetensors installed")
    with open(a.input, "rb") as f:
        try:
            data = legacy.load_network_pkl(f)
        except (pickle.UnpicklingError, EOFError, KeyError) as e:
            sys.exit(f"convert_eg3d: {a.input} is not an EG3D network pickle: {e}")
    G = data["G_ema"]
    tensors = {k: v.detach().float().contiguous().clone() for k, v in G.state_dict().items()}
    if a.with_d:
        tensors.update({f"D.{k}": v.detach().float().contiguous().clone() for k, v in data["D"].state_dict().items()})
    config = {
        "init_kwargs": dict(G.init_kwargs),
        "rendering_kwargs": dict(G.rendering_kwargs),
        "neural_rendering_resolution": int(G.neural_rendering_resolution),
    }
    metadata = {"config": json.dumps(config, default=str), "source": os.path.basename(a.input),
                "format": "eg3d-official-keys/1"}
    save_file(tensors, a.output, metadata=metadata)
    print(f"{a.output}: {len(tensors)} tensors, {sum(t.numel() for t in tensors.values()) / 1e6:.1f} M values")


if __name__ == "__main__":
    main()
