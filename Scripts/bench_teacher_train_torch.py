#!/usr/bin/env python3
"""Times one training step of the world teacher's U-Net and VAE with diffusers (CPU, fp32), the same steps as
`dreamportrait bench teacher-train`: U-Net batch 32 of 16x16x4 latents with 77x256 text states, MSE to noise;
VAE batch 8 of 64x64 images, L1 + L2 + 1e-6/12288 KL; AdamW / Adam updates. The models are built from the
configs that the Swift command writes (--configs DIR), so both sides time identical networks.

    dreamportrait bench teacher-train --configs /tmp/tt --threads 2
    python3 Scripts/bench_teacher_train_torch.py --configs /tmp/tt --threads 2

Needs torch and diffusers (pip install torch diffusers).
"""
import argparse
import json
import resource
import time

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    unet_cfg = json.load(open(f"{a.configs}/unet.json"))
    vae_cfg = json.load(open(f"{a.configs}/vae.json"))
    unet = UNet2DConditionModel(**{k: v for k, v in unet_cfg.items() if v is not None})
    vae = AutoencoderKL(**{k: v for k, v in vae_cfg.items() if v is not None})
    uopt = torch.optim.AdamW(unet.parameters(), lr=1e-4)
    vopt = torch.optim.Adam(vae.parameters(), lr=1e-4, betas=(0.5, 0.9))
    latents, states, noise = torch.randn(32, 4, 16, 16), torch.randn(32, 77, 256), torch.randn(32, 4, 16, 16)
    t = torch.tensor([i * 31 % 1000 for i in range(32)])
    images = torch.rand(8, 3, 64, 64) * 2 - 1

    def unet_step():
        loss = ((unet(latents, t, encoder_hidden_states=states).sample - noise) ** 2).mean()
        uopt.zero_grad(set_to_none=True)
        loss.backward()
        uopt.step()

    def vae_step():
        post = vae.encode(images).latent_dist
        d = vae.decode(post.sample()).sample - images
        loss = d.abs().mean() + (d * d).mean() + post.kl().mean() * (1e-6 / 12288)
        vopt.zero_grad(set_to_none=True)
        loss.backward()
        vopt.step()

    for name, step, batch in [("unet", unet_step, 32), ("vae", vae_step, 8)]:
        step()
        best, best_cpu, total = float("inf"), float("inf"), 0.0
        for _ in range(a.runs):
            t0, c0 = time.perf_counter(), cpu_seconds()
            step()
            dt = time.perf_counter() - t0
            best, best_cpu, total = min(best, dt), min(best_cpu, cpu_seconds() - c0), total + dt
        if a.json:
            print(json.dumps({"model": name, "batch": batch, "best_s": best, "mean_s": total / a.runs, "best_cpu_s": best_cpu, "threads": a.threads}))
        else:
            print(f"{name} training step, batch {batch}: best {best:.3f} s, mean {total / a.runs:.3f} s, CPU {best_cpu:.2f} s ({a.threads} threads)")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
