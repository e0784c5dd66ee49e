#!/usr/bin/env python3
"""diffusers' img2img (StableDiffusionImg2ImgPipeline) on the tiny Stable Diffusion pipeline of
Tests/Fixtures/teacher/tiny-sd-pipeline: the reference of SDEdit (Sources/Refine/SDEdit.swift; Portrait3D's view
refinement, method doc §8), for the Swift parity test.

Two cases, each on a batch of two 16x16 images (the tiny teacher's own resolution) given in [0, 1]:
  a: 20 DDIM steps, strength 0.2 (4 denoising steps from t = 151), guidance 7.5
  b: 10 DDIM steps, strength 0.5 (5 denoising steps from t = 401), guidance 3.0
The pipeline draws, from one torch.Generator seeded per case, first the VAE posterior's N(0, 1) sample
(latent_dist.sample) and then the noise added at the first timestep (prepare_latents); this script replays the
same generator to record both draws, and checks that its own step-by-step img2img (encode with the recorded
draws, add_noise, the guided DDIM loop, decode) gives the pipeline's output, so the recorded draws are the ones
the pipeline used. Writes Tests/Fixtures/refine/sdedit_tiny.safetensors with, per case <c>:
  <c>.image (2, 3, 16, 16) in [0, 1], <c>.posterior_noise, <c>.noise (2, 4, 8, 8), <c>.timesteps (the denoising
  timesteps), <c>.cond_states, <c>.uncond_states (2, 77, 32), <c>.noisy_latents (after add_noise),
  <c>.latents (final, before decoding), <c>.output (2, 3, 16, 16) in [0, 1] (output_type "pt")
and the settings in the metadata.

    python3 Scripts/sdedit_reference.py
"""
import json
import os

import torch
from diffusers import StableDiffusionImg2ImgPipeline
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOLDER = os.path.join(ROOT, "Tests", "Fixtures", "teacher", "tiny-sd-pipeline")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "refine", "sdedit_tiny.safetensors")
PROMPTS = ["a smiling woman with long red hair", "an old man with a grey beard and glasses"]
CASES = {"a": dict(steps=20, strength=0.2, guidance=7.5, seed=3), "b": dict(steps=10, strength=0.5, guidance=3.0, seed=4)}


def main():
    pipe = StableDiffusionImg2ImgPipeline.from_pretrained(FOLDER, safety_checker=None, requires_safety_checker=False)
    pipe.unet.float(); pipe.vae.float(); pipe.text_encoder.float()
    pipe.set_progress_bar_config(disable=True)
    out = {}
    for name, c in CASES.items():
        torch.manual_seed(100 + c["seed"])
        image = torch.rand(2, 3, 16, 16)
        result = pipe(PROMPTS, image=image, strength=c["strength"], num_inference_steps=c["steps"],
                      guidance_scale=c["guidance"], negative_prompt=["", ""],
                      generator=torch.Generator().manual_seed(c["seed"]), output_type="pt").images
        # Replay: the same generator's first two draws, then img2img step by step.
        g = torch.Generator().manual_seed(c["seed"])
        post = torch.randn(2, 4, 8, 8, generator=g)
        noise = torch.randn(2, 4, 8, 8, generator=g)
        with torch.no_grad():
            cond, uncond = pipe.encode_prompt(PROMPTS, "cpu", 1, True, negative_prompt=["", ""])
            dist = pipe.vae.encode(image * 2 - 1).latent_dist
            latents0 = (dist.mean + dist.std * post) * pipe.vae.config.scaling_factor
            pipe.scheduler.set_timesteps(c["steps"])
            init = min(int(c["steps"] * c["strength"]), c["steps"])
            timesteps = pipe.scheduler.timesteps[max(c["steps"] - init, 0):]
            noisy = pipe.scheduler.add_noise(latents0, noise, timesteps[:1].repeat(2))
            x = noisy
            for t in timesteps:
                e = pipe.unet(torch.cat([x, x]), t, encoder_hidden_states=torch.cat([uncond, cond])).sample
                eu, ec = e.chunk(2)
                x = pipe.scheduler.step(eu + c["guidance"] * (ec - eu), t, x).prev_sample
            decoded = (pipe.vae.decode(x / pipe.vae.config.scaling_factor).sample / 2 + 0.5).clamp(0, 1)
        err = float((decoded - result).abs().max())
        print(name, "timesteps", timesteps.tolist(), "replay vs pipeline max |diff|", err)
        assert err < 1e-5, "the replayed draws do not reproduce the pipeline"
        for k, v in dict(image=image, posterior_noise=post, noise=noise, timesteps=timesteps.float(), cond_states=cond,
                         uncond_states=uncond, noisy_latents=noisy, latents=x, output=result).items():
            out[f"{name}.{k}"] = v.detach().contiguous().float()
    import diffusers
    save_file(out, OUT, metadata={"prompts": "|".join(PROMPTS), "cases": json.dumps(CASES),
                                  "source": f"diffusers {diffusers.__version__} StableDiffusionImg2ImgPipeline on tiny-sd-pipeline, torch {torch.__version__}, CPU fp32"})
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
