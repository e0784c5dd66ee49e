"""Shared helpers for Scripts/make_fixtures.py: one Group per fixture file.

A case stores, for op `fn` applied to inputs x0..xn (float32, seeded):
  <case>.x<i>  input values (always stored dense; a case that tests a view applies the view inside `fn`,
               and the Swift test applies the same view)
  <case>.out   fn(x0, ..., xn)
  <case>.r     a random cotangent (seed) for the output
  <case>.g<i>  d sum(out * r) / d x<i>, for inputs that take a gradient
"""
import json
import os

import numpy as np
import torch
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures")


class Group:
    def __init__(self, name, seed=0):
        self.name = name
        self.tensors = {}
        self.meta = {}
        self.gen = torch.Generator().manual_seed(seed)

    def rand(self, *shape, low=-1.0, high=1.0):
        return torch.rand(tuple(shape), generator=self.gen, dtype=torch.float32) * (high - low) + low

    def randn(self, *shape):
        return torch.randn(tuple(shape), generator=self.gen, dtype=torch.float32)

    def case(self, name, fn, *inputs, grads=None, backward=True, **meta):
        assert f"{name}.out" not in self.tensors, f"duplicate case {name}"
        grads = grads if grads is not None else [x.is_floating_point() for x in inputs]
        xs = [x.detach().clone().requires_grad_(bool(g and backward)) for x, g in zip(inputs, grads)]
        out = fn(*xs)
        for i, x in enumerate(xs):
            self.tensors[f"{name}.x{i}"] = x.detach().float().contiguous()
        self.tensors[f"{name}.out"] = out.detach().float().contiguous().clone()
        if meta:
            self.meta[name] = json.dumps(meta)
        if backward and any(x.requires_grad for x in xs):
            r = self.rand(*out.shape)
            self.tensors[f"{name}.r"] = r
            wanted = [x for x in xs if x.requires_grad]
            gs = torch.autograd.grad(out, wanted, r, allow_unused=True)
            j = 0
            for i, x in enumerate(xs):
                if x.requires_grad:
                    g = gs[j] if gs[j] is not None else torch.zeros_like(x)
                    self.tensors[f"{name}.g{i}"] = g.detach().float().contiguous().clone()
                    j += 1
        return out

    def save(self):
        os.makedirs(FIXTURES, exist_ok=True)
        path = os.path.join(FIXTURES, f"ops_{self.name}.safetensors")
        meta = {"generator": "Scripts/make_fixtures.py", "torch": torch.__version__}
        meta.update({f"case.{k}": v for k, v in self.meta.items()})
        save_file(self.tensors, path, metadata=meta)
        size = os.path.getsize(path)
        print(f"{path}: {len([k for k in self.tensors if k.endswith('.out')])} cases, {size / 1024:.0f} KiB")


def near_kinks(v, gv, key):
    """One layer's leaky-ReLU pre-activations closer to 0 than fp32 resolves (|v| < 1e-5 max|v|), for the Swift tests'
    kink reconciliation (Tests/TriPlaneGANTests/LeakyReLUKinks.swift, EG3DStepParityTests). v: the float64
    pre-activation (N, C, H, W), gv: d loss / d v. Returns ({key.index: (k, 4) n, c, y, x as float32, key.pre: their
    values, key.cotangent: d loss / d(act/slope), the gradient reaching v per unit of lrelu slope}, the (k, 4) indices,
    the values)."""
    near = np.argwhere(np.abs(v) < 1e-5 * np.abs(v).max())
    vals = v[tuple(near.T)]
    slope = np.where(vals > 0, 1.0, 0.2)
    return ({f"{key}.index": np.ascontiguousarray(near, dtype=np.float32).reshape(-1, 4),
             f"{key}.pre": vals.astype(np.float32),
             f"{key}.cotangent": (gv[tuple(near.T)] / slope).astype(np.float32)}, near, vals)
