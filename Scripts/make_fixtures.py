#!/usr/bin/env python3
"""Writes the PyTorch parity fixtures under Tests/Fixtures (one ops_<group>.safetensors per module in
Scripts/fixtures/). Needs PyPI torch and safetensors:

    pip install torch safetensors
    python3 Scripts/make_fixtures.py            # every group
    python3 Scripts/make_fixtures.py conv norm  # only these groups

Each group module defines build(G) that adds cases to G (see Scripts/fixturelib.py for the key layout).
"""
import importlib
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixturelib import Group  # noqa: E402

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


def main():
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
    groups = sorted(f[:-3] for f in os.listdir(here) if f.endswith(".py") and not f.startswith("_"))
    wanted = sys.argv[1:] or groups
    for name in wanted:
        if name not in groups:
            sys.exit(f"make_fixtures: no group '{name}' (have: {', '.join(groups)})")
        module = importlib.import_module(f"fixtures.{name}")
        g = Group(name, seed=sum(map(ord, name)))
        module.build(g)
        g.save()


if __name__ == "__main__":
    main()
