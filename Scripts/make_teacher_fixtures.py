#!/usr/bin/env python3
"""Writes the teacher parity fixtures under Tests/Fixtures/teacher from PyPI diffusers / transformers.

    pip install torch diffusers transformers safetensors open_clip_torch
    python3 Scripts/make_teacher_fixtures.py               # every section
    python3 Scripts/make_teacher_fixtures.py vae scheduler # only these sections
    python3 Scripts/make_teacher_fixtures.py pipeline      # the tiny StableDiffusionPipeline folder and its run

Each section is a function build_<name>(out_dir) in a module Scripts/teacher_fixtures_<group>.py listed in
SECTIONS; it writes its own files under Tests/Fixtures/teacher. Models are small, random-weight, built from
configs (no Hugging Face Hub downloads), fp32 on the CPU, deterministic.

The U-Net fixtures (Tests/Fixtures/teacher/unet_tiny*) come from Scripts/teacher_fixtures_unet.py
(`python3 Scripts/teacher_fixtures_unet.py unet`), kept as its own script.
"""
import importlib
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
OUT = os.path.join(os.path.dirname(HERE), "Tests", "Fixtures", "teacher")

# section name -> (module, function)
SECTIONS = {
    "vae": ("teacher_fixtures_vae", "build_vae"),
    "scheduler": ("teacher_fixtures_vae", "build_scheduler"),
    "pipeline": ("teacher_fixtures_pipeline", "build_pipeline"),
}


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    wanted = sys.argv[1:] or list(SECTIONS)
    for name in wanted:
        if name not in SECTIONS:
            sys.exit(f"make_teacher_fixtures: no section '{name}' (have: {', '.join(SECTIONS)})")
    os.makedirs(OUT, exist_ok=True)
    for name in wanted:
        module, fn = SECTIONS[name]
        getattr(importlib.import_module(module), fn)(OUT)


if __name__ == "__main__":
    main()
