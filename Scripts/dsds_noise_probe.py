#!/usr/bin/env python3
"""How much of a D-SDS gradient is signal, under each noise-rescaling rule (Sources/Distill/DSDS.swift).

For N training images of a world dataset (train split, first caption each) and the teacher pipeline folder
(Weights/teacher, read by diffusers), draw one timestep t ~ U[0.02, 0.98] * 1000 per image and two independent
noises eps1, eps2 at that t (the same posterior sample), and compute g = (1 - alphabar_t) * rule(eps_hat, eps) for
both, with classifier-free guidance s:
  unit_rms    eps_hat / rms(eps_hat) - eps / rms(eps)   (each by its own RMS)
  shared_rms  (eps_hat - eps) / rms(eps_hat)            (both by the same factor)
  none        eps_hat - eps                             (DreamFusion)
The part of g that does not depend on the noise draw is what a step can learn from; the mean cosine between g(eps1)
and g(eps2) estimates its share of g's energy (1: all signal, 0: all noise). Also printed: rms(eps_hat) and rms(g).

    python3 Scripts/dsds_noise_probe.py WORLD [--teacher Weights/teacher] [--count 64] [--guidance 100]
"""
import argparse
import json
import os

import numpy as np
import torch
from diffusers import StableDiffusionPipeline
from PIL import Image


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("world")
    ap.add_argument("--teacher", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Weights", "teacher"))
    ap.add_argument("--count", type=int, default=64)
    ap.add_argument("--guidance", type=float, default=100.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    pipe = StableDiffusionPipeline.from_pretrained(a.teacher, safety_checker=None, requires_safety_checker=False, torch_dtype=torch.float32)
    for m in (pipe.unet, pipe.vae, pipe.text_encoder):
        m.float().requires_grad_(False).eval()
    split = json.load(open(os.path.join(a.world, "split.json")))["train"][: a.count]
    captions = json.load(open(os.path.join(a.world, "captions.json")))
    side = pipe.unet.config.sample_size * 2 ** (len(pipe.vae.config.block_out_channels) - 1)
    imgs = []
    for name in split:
        im = Image.open(os.path.join(a.world, name)).convert("RGB")
        x = torch.from_numpy(np.asarray(im, dtype=np.float32) / 127.5 - 1).permute(2, 0, 1)[None]
        imgs.append(torch.nn.functional.interpolate(x, size=(side, side), mode="bilinear", align_corners=False, antialias=True))
    x = torch.cat(imgs)
    n = x.shape[0]
    prompts = [captions[k][0] for k in split]
    cond, uncond = pipe.encode_prompt(prompts, "cpu", 1, True, negative_prompt=[""] * n)
    alphas = pipe.scheduler.alphas_cumprod
    with torch.no_grad():
        dist = pipe.vae.encode(x).latent_dist
        lat = (dist.mean + dist.std * torch.randn_like(dist.mean)) * pipe.vae.config.scaling_factor
        t = torch.randint(20, 981, (n,))
        w = (1 - alphas[t]).reshape(n, 1, 1, 1)
        gs = {r: [] for r in ("unit_rms", "shared_rms", "none")}
        pred_rms = []
        for _ in range(2):
            eps = torch.randn_like(lat)
            xt = pipe.scheduler.add_noise(lat, eps, t)
            out = []
            for i in range(0, n, 16):
                s = slice(i, i + 16)
                m = xt[s].shape[0]
                e = pipe.unet(torch.cat([xt[s], xt[s]]), torch.cat([t[s], t[s]]),
                              encoder_hidden_states=torch.cat([uncond[s], cond[s]])).sample
                eu, ec = e.chunk(2)
                out.append(eu + a.guidance * (ec - eu))
            pred = torch.cat(out)
            r = pred.square().mean(dim=[1, 2, 3], keepdim=True).sqrt()
            pred_rms.append(r.flatten())
            re = eps.square().mean(dim=[1, 2, 3], keepdim=True).sqrt()
            gs["unit_rms"].append(w * (pred / r - eps / re))
            gs["shared_rms"].append(w * (pred - eps) / r)
            gs["none"].append(w * (pred - eps))
    print(f"{n} training images at {side}², guidance {a.guidance}, t ~ U[20, 980]; rms(eps_hat) mean {float(torch.cat(pred_rms).mean()):.3f}")
    for rule, (g1, g2) in gs.items():
        cos = torch.nn.functional.cosine_similarity(g1.flatten(1), g2.flatten(1), dim=1)
        rms = g1.flatten(1).square().mean(1).sqrt()
        print(f"{rule:10s}  cosine(g(eps1), g(eps2)) mean {float(cos.mean()):.3f} (t < 500: {float(cos[t < 500].mean()):.3f}, "
              f"t >= 500: {float(cos[t >= 500].mean()):.3f})  rms(g) mean {float(rms.mean()):.4f}")


if __name__ == "__main__":
    main()
