#!/usr/bin/env python3
"""Times one D-SDS step with diffusers' models (the computation of `dreamportrait bench dsds`): random images,
VAE encode with gradient (posterior sample), add_noise, the U-Net on the unconditional and conditional branches
without gradient (guidance 100), g = (1 - alphabar)(eps_hat - eps), and the backward of sum(g * latents) / N to the
images. CPU fp32.

    python3 Scripts/bench_dsds_torch.py --teacher DIR --size 64 --batch 4 --threads 2
"""
import argparse
import json
import resource
import time

import torch
from diffusers import StableDiffusionPipeline


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teacher", required=True)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    pipe = StableDiffusionPipeline.from_pretrained(a.teacher, safety_checker=None, requires_safety_checker=False)
    for m in (pipe.unet, pipe.vae, pipe.text_encoder):
        m.float().requires_grad_(False)
    n = a.batch
    cond, uncond = pipe.encode_prompt([f"a portrait of person {i} with glasses" for i in range(n)], "cpu", 1, True,
                                      negative_prompt=[""] * n)
    image0 = torch.rand(n, 3, a.size, a.size) * 2 - 1
    alphas = pipe.scheduler.alphas_cumprod

    def once():
        image = image0.clone().requires_grad_(True)
        dist = pipe.vae.encode(image).latent_dist
        latents = dist.sample() * pipe.vae.config.scaling_factor
        t = torch.randint(20, 980, (n,))
        noise = torch.randn_like(latents)
        with torch.no_grad():
            xt = pipe.scheduler.add_noise(latents.detach(), noise, t)
            e = pipe.unet(torch.cat([xt, xt]), torch.cat([t, t]), encoder_hidden_states=torch.cat([uncond, cond])).sample
            eu, ec = e.chunk(2)
            g = (1 - alphas[t]).reshape(n, 1, 1, 1) * (eu + 100 * (ec - eu) - noise)
        (g * latents).sum().div(n).backward()

    once()
    best = float("inf")
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        once()
        best = min(best, time.perf_counter() - t0)
    print(json.dumps({"impl": "diffusers", "size": a.size, "batch": n, "threads": a.threads, "best_s": round(best, 4),
                      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


if __name__ == "__main__":
    main()
