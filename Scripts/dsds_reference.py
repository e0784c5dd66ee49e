#!/usr/bin/env python3
"""PyTorch/diffusers reference of DreamPortrait's D-SDS surrogate (Sources/Distill/DSDS.swift; method doc §5) on the
tiny Stable Diffusion pipeline of Tests/Fixtures/teacher/tiny-sd-pipeline, for the Swift parity test.

Two 32x32 "renders" x (random, requires_grad) are resized to the teacher's 16x16 (bilinear, antialias), encoded
with the VAE *with gradient* (posterior sample mean + std * n, times scaling_factor 0.18215), noised at the given
timesteps with the scheduler's add_noise, scored by the U-Net without gradient for the unconditional ("") and the
conditional prompts (classifier-free guidance s = 100), and g = (1 - alphabar_t) * (eps_hat / rms(eps_hat) -
eps / rms(eps)) (our unit-RMS rescaling rule, per sample). The surrogate (g.detach() * latents).sum() / N is
back-propagated to x. Writes Tests/Fixtures/distill/dsds_tiny.safetensors: image, timesteps, noise,
posterior_noise, cond_states, uncond_states, gradient g, latents, image_grad, loss; plus the rescale "none"
variants (gradient_none, image_grad_none, loss_none) and "shared_rms" ones (g = (1 - alphabar_t) * (eps_hat - eps) /
rms(eps_hat); gradient_shared, image_grad_shared, loss_shared).

    python3 Scripts/dsds_reference.py
"""
import os

import numpy as np
import torch
from diffusers import StableDiffusionPipeline
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOLDER = os.path.join(ROOT, "Tests", "Fixtures", "teacher", "tiny-sd-pipeline")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "distill", "dsds_tiny.safetensors")
PROMPTS = ["a smiling woman with long red hair", "an old man with a grey beard and glasses"]
GUIDANCE = 100.0


def main():
    torch.manual_seed(0)
    pipe = StableDiffusionPipeline.from_pretrained(FOLDER, safety_checker=None, requires_safety_checker=False)
    pipe.unet.float(); pipe.vae.float(); pipe.text_encoder.float()
    for m in (pipe.unet, pipe.vae, pipe.text_encoder):
        m.requires_grad_(False)
    cond, uncond = pipe.encode_prompt(PROMPTS, "cpu", 1, True, negative_prompt=["", ""])
    uncond = uncond[:1]
    n = 2
    image0 = torch.rand(n, 3, 32, 32) * 2 - 1
    timesteps = torch.tensor([150, 720])
    noise = torch.randn(n, 4, 8, 8)
    post = torch.randn(n, 4, 8, 8)
    alphas = pipe.scheduler.alphas_cumprod
    out = dict(image=image0, timesteps=timesteps.float(), noise=noise, posterior_noise=post,
               cond_states=cond.detach(), uncond_states=uncond.detach())
    for rescale in ["unit_rms", "none", "shared_rms"]:
        image = image0.clone().requires_grad_(True)
        x = torch.nn.functional.interpolate(image, size=(16, 16), mode="bilinear", align_corners=False, antialias=True)
        dist = pipe.vae.encode(x).latent_dist
        latents = (dist.mean + dist.std * post) * pipe.vae.config.scaling_factor
        with torch.no_grad():
            xt = pipe.scheduler.add_noise(latents.detach(), noise, timesteps)
            e = pipe.unet(torch.cat([xt, xt]), torch.cat([timesteps, timesteps]),
                          encoder_hidden_states=torch.cat([uncond.expand(n, -1, -1), cond])).sample
            eu, ec = e.chunk(2)
            pred = eu + GUIDANCE * (ec - eu)
            nz = noise
            if rescale == "unit_rms":
                pred = pred / pred.square().mean(dim=[1, 2, 3], keepdim=True).sqrt()
                nz = noise / noise.square().mean(dim=[1, 2, 3], keepdim=True).sqrt()
            elif rescale == "shared_rms":
                r = pred.square().mean(dim=[1, 2, 3], keepdim=True).sqrt()
                pred, nz = pred / r, noise / r
            w = (1 - alphas[timesteps]).reshape(n, 1, 1, 1)
            g = w * (pred - nz)
        loss = (g * latents).sum() / n
        loss.backward()
        sfx = {"unit_rms": "", "none": "_none", "shared_rms": "_shared"}[rescale]
        out["gradient" + sfx] = g
        out["image_grad" + sfx] = image.grad.detach().clone()
        out["loss" + sfx] = loss.detach().reshape(1)
        if rescale == "unit_rms":
            out["latents"] = latents.detach()
        print(rescale, "loss", float(loss), "max|image grad|", float(image.grad.abs().max()))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    save_file({k: v.contiguous().float() for k, v in out.items()}, OUT,
              metadata={"prompts": "|".join(PROMPTS), "guidance": str(GUIDANCE),
                        "source": "diffusers StableDiffusionPipeline components of tiny-sd-pipeline, CPU fp32"})
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
