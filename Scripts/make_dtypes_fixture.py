#!/usr/bin/env python3
"""Writes Tests/Fixtures/dtypes.safetensors: one tensor per dtype the Swift reader converts (F16, BF16,
F64, I64, I32, U8, F32), each next to "<name>.expected", its values as float32 (what the Swift reader
must return). Special values: half subnormals, infinities, negative zero, large integers.
Needs PyPI torch and safetensors:  python3 Scripts/make_dtypes_fixture.py"""
import os

import torch
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATH = os.path.join(ROOT, "Tests", "Fixtures", "dtypes.safetensors")


def main():
    g = torch.Generator().manual_seed(7)
    special = [0.0, -0.0, 1.0, -2.5, 65504.0, 6e-8, -6.1e-5, float("inf"), float("-inf"), 1 / 3]
    tensors = {
        "f16": torch.tensor(special, dtype=torch.float16).reshape(2, 5),
        "bf16": torch.cat([torch.tensor(special), torch.randn(23, generator=g) * 1e30]).to(torch.bfloat16),
        "f64": torch.cat([torch.tensor(special, dtype=torch.float64), torch.randn(7, generator=g, dtype=torch.float64)]).reshape(17, 1),
        "i64": torch.tensor([0, -1, 1 << 40, -(1 << 40) - 3, 123456789, 2**24 + 1], dtype=torch.int64),
        "i32": torch.randint(-(2**31), 2**31 - 1, (3, 7), generator=g, dtype=torch.int32),
        "u8": torch.arange(256, dtype=torch.uint8).reshape(16, 16),
        "f32": torch.randn(5, 3, generator=g),
        "empty": torch.zeros(0, 3, dtype=torch.float16),
        "scalar": torch.tensor(3.0, dtype=torch.float64),
    }
    for k in list(tensors):
        tensors[f"{k}.expected"] = tensors[k].to(torch.float32).clone()
    save_file(tensors, PATH, metadata={"generator": "Scripts/make_dtypes_fixture.py"})
    print(f"{PATH}: {len(tensors)} tensors, {os.path.getsize(PATH)} bytes")


if __name__ == "__main__":
    main()
