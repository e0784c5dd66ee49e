#!/usr/bin/env python3
"""Converts pytorch-fid statistics (.npz with `mu` and `sigma`, as `python -m pytorch_fid --save-stats` writes
them, or the precomputed dataset statistics published for FID) to the safetensors statistics file that
`dreamportrait eval --images/--reference FILE` reads (Float64 `mu` (d) and `sigma` (d, d)).

    python3 Scripts/convert_fid_stats.py fid_stats_ffhq.npz ffhq-stats.safetensors

Needs numpy and safetensors.
"""
import argparse
import sys

import numpy as np


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source", help=".npz with mu and sigma")
    p.add_argument("destination", help="the .safetensors file to write")
    a = p.parse_args()
    from safetensors.numpy import save_file
    try:
        with np.load(a.source) as f:
            if "mu" not in f or "sigma" not in f:
                sys.exit(f"convert_fid_stats: {a.source} has {sorted(f.keys())}, not pytorch-fid's mu and sigma")
            mu, sigma = f["mu"].astype(np.float64), f["sigma"].astype(np.float64)
    except (OSError, ValueError) as e:
        sys.exit(f"convert_fid_stats: {a.source}: not a readable .npz ({e})")
    if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
        sys.exit(f"convert_fid_stats: shapes mu {mu.shape}, sigma {sigma.shape} are not (d,) and (d, d)")
    save_file({"mu": np.ascontiguousarray(mu), "sigma": np.ascontiguousarray(sigma)}, a.destination,
              metadata={"source": a.source, "converter": "Scripts/convert_fid_stats.py"})
    print(f"{a.destination}: {mu.shape[0]}-d statistics")


if __name__ == "__main__":
    main()
