"""Float64 ground truth for the dual discriminator's R1 gradients.

Runs the official EG3D DualDiscriminator (a checkout of NVlabs/eg3d given by EG3D_ROOT, default /tmp/eg3d/eg3d)
in float64 on the CPU with the tiny128 D weights from Tests/Fixtures/eg3d/tiny128.safetensors, computes the R1
penalty as training/loss.py does (no_weight_gradients, create_graph) and its parameter gradients, and prints, per
tensor, the relative error (max abs error / max abs value) of the fp32 golden values against float64. With
--swift FILE (a safetensors file of `grad_r1.D.*` written by the Swift test when DISCRIMINATOR_DUMP is set) it
prints the Swift values' errors against float64 as well. With --write it saves the float64 results (rounded to
float32) to Tests/Fixtures/eg3d/tiny128_d_r1_float64.safetensors: `d.logits`, `d.input_grad.image`,
`d.input_grad.image_raw`, `d.r1_penalty` and `grad_r1.D.<param>` for every parameter (zeros where the penalty
does not depend on it). The conv-bias R1 gradients of the fp32 golden file are only about 1e-3 (relative) from
these values, so the Swift tests check those against float64.
"""
import argparse
import os
import sys

import numpy as np
import torch
from safetensors.numpy import load_file, save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, "Tests", "Fixtures", "eg3d", "tiny128.safetensors")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "eg3d", "tiny128_d_r1_float64.safetensors")


def rel(a, b):
    den = np.abs(b).max()
    num = np.abs(a.astype(np.float64) - b).max()
    return num / den if den > 0 else num


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--swift", help="safetensors file with the Swift grad_r1.D.* values")
    ap.add_argument("--write", action="store_true", help=f"write the float64 results to {OUT}")
    args = ap.parse_args()
    sys.path.insert(0, os.environ.get("EG3D_ROOT", "/tmp/eg3d/eg3d"))
    from training.dual_discriminator import DualDiscriminator
    from torch_utils.ops import conv2d_gradfix

    fx = load_file(FIXTURE)
    D = DualDiscriminator(c_dim=25, img_resolution=128, img_channels=3, channel_base=2048, channel_max=64,
                          epilogue_kwargs=dict(mbstd_group_size=2)).double()
    state = {k[2:]: torch.from_numpy(v.astype(np.float64)) for k, v in fx.items() if k.startswith("D.")}
    D.load_state_dict(state, strict=True)
    for m in D.modules():   # conv2d_resample asserts float32 FIR filters
        if "resample_filter" in m._buffers:
            m.resample_filter = m.resample_filter.float()
    image = torch.from_numpy(fx["d.real_image"].astype(np.float64)).requires_grad_(True)
    raw = torch.from_numpy(fx["d.real_image_raw"].astype(np.float64)).requires_grad_(True)
    c = torch.from_numpy(fx["input.c_render"].astype(np.float64))
    logits = D({"image": image, "image_raw": raw}, c)
    with conv2d_gradfix.no_weight_gradients():
        gi, gr = torch.autograd.grad([logits.sum()], [image, raw], create_graph=True, only_inputs=True)
    penalty = gi.square().sum([1, 2, 3]) + gr.square().sum([1, 2, 3])
    params = dict(D.named_parameters())
    grads = torch.autograd.grad([penalty.sum()], list(params.values()), allow_unused=True)
    truth = {k: (g if g is not None else torch.zeros_like(p)).detach().numpy() for (k, p), g in zip(params.items(), grads)}

    if args.write:
        out = {"d.logits": logits, "d.input_grad.image": gi, "d.input_grad.image_raw": gr, "d.r1_penalty": penalty}
        out = {k: np.ascontiguousarray(v.detach().numpy(), dtype=np.float32) for k, v in out.items()}
        out.update({"grad_r1.D." + k: np.ascontiguousarray(v, dtype=np.float32) for k, v in truth.items()})
        save_file(out, OUT, metadata={"source": "NVlabs/eg3d at 7cf1fd1, DualDiscriminator in float64 on the CPU, "
                                                "tiny128 D weights and real inputs; Scripts/eg3d_d_r1_float64.py"})
        print(f"wrote {len(out)} tensors to {OUT}")
    print(f"logits   fixture vs f64 {rel(fx['d.logits'], logits.detach().numpy()):.3e}")
    print(f"penalty  fixture vs f64 {rel(fx['d.r1_penalty'], penalty.detach().numpy()):.3e}")
    swift = load_file(args.swift) if args.swift else {}
    rows = []
    for k, t in truth.items():
        key = "grad_r1.D." + k
        f = rel(fx[key], t) if key in fx else float("nan")
        s = rel(swift[key], t) if key in swift else float("nan")
        rows.append((k, f, s, np.abs(t).max()))
    rows.sort(key=lambda r: -np.nan_to_num(r[1]))
    print(f"{'param':28s} {'fixture-f64':>12s} {'swift-f64':>12s} {'max|g|':>10s}")
    for k, f, s, m in rows:
        print(f"{k:28s} {f:12.3e} {s:12.3e} {m:10.3e}")


if __name__ == "__main__":
    main()
