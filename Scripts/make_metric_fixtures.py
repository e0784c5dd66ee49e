#!/usr/bin/env python3
"""Reference fixtures for the metrics (Tests/Fixtures/metrics/). Sections, chosen on the command line
(default: all):

    python3 Scripts/make_metric_fixtures.py [frechet]

frechet: random feature sets (well-conditioned and rank-deficient: fewer samples than dimensions) with
pytorch-fid's statistics (np.mean, np.cov(rowvar=False), float64) and calculate_frechet_distance, the scipy
sqrtm-based FID. Needs numpy, scipy, pytorch-fid (pip install pytorch-fid).
"""
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "metrics")


def frechet():
    from pytorch_fid.fid_score import calculate_frechet_distance
    from safetensors.numpy import save_file
    rng = np.random.default_rng(7)
    tensors, meta = {}, {}
    cases = [("wellconditioned_64", 64, 1000, 900), ("rankdeficient_256", 256, 60, 50), ("moderate_256", 256, 800, 700)]
    for name, d, n1, n2 in cases:
        mix = rng.standard_normal((d, d)) / np.sqrt(d)
        a = (rng.standard_normal((n1, d)) @ mix + 0.1).astype(np.float32)
        b = (rng.standard_normal((n2, d)) @ (mix + 0.05 * rng.standard_normal((d, d)) / np.sqrt(d)) - 0.1).astype(np.float32)
        stats = []
        for tag, x in (("a", a), ("b", b)):
            x64 = x.astype(np.float64)
            mu, sigma = np.mean(x64, axis=0), np.cov(x64, rowvar=False)
            tensors[f"{name}.{tag}.features"] = x
            tensors[f"{name}.{tag}.mu"] = mu
            tensors[f"{name}.{tag}.sigma"] = sigma
            stats.append((mu, sigma))
        fid = calculate_frechet_distance(stats[0][0], stats[0][1], stats[1][0], stats[1][1])
        tensors[f"{name}.fid"] = np.array([fid], dtype=np.float64)
        meta[name] = json.dumps({"dimension": d, "n_a": n1, "n_b": n2})
        print(f"{name}: FID {fid:.10f}")
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "frechet.safetensors")
    save_file(tensors, path, metadata={"generator": "Scripts/make_metric_fixtures.py frechet", **meta})
    print(f"{path}: {os.path.getsize(path) / 1024:.0f} KiB")


SECTIONS = {"frechet": frechet}

if __name__ == "__main__":
    wanted = sys.argv[1:] or list(SECTIONS)
    for w in wanted:
        if w not in SECTIONS:
            sys.exit(f"make_metric_fixtures: no section '{w}' (have: {', '.join(SECTIONS)})")
        SECTIONS[w]()
