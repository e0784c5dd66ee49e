"""Sections `vae` and `scheduler` of Scripts/make_teacher_fixtures.py.

vae: a tiny random-weight diffusers AutoencoderKL (block_out_channels (32, 64), layers_per_block 1, latent 4,
8 norm groups, 32x32 images; group-norm affine parameters perturbed away from 1/0) saved in diffusers folder
layout as vae_tiny/ (config.json, diffusion_pytorch_model.safetensors, and the fp16 variant), and
vae_tiny_io.safetensors with:
  image (2,3,32,32), noise (2,4,16,16), mean, logvar (clamped), std, sample = mean + std * noise,
  latent = scaling_factor * sample, z (2,4,16,16) and decoded = vae.decode(z),
  cotangent g (2,4,16,16) and image_grad = d sum(g * latent) / d image (the D-SDS gradient through the encoder).

scheduler: scheduler.safetensors with, per config (JSON in the metadata as config.<name>): betas,
alphas_cumprod, timesteps for several step counts, add_noise / get_velocity cases, and DDIM sampling loops
with classifier-free guidance and a negative prompt driven by a deterministic stand-in noise predictor
(`stand_in` below; Tests/TeacherTests computes the same function), compared with diffusers' DDIMScheduler.
"""
import json
import math
import os

import diffusers
import torch
from diffusers import AutoencoderKL, DDIMScheduler
from safetensors.torch import save_file


def build_vae(out):
    torch.manual_seed(0)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
        block_out_channels=(32, 64), layers_per_block=1, latent_channels=4, norm_num_groups=8, sample_size=32,
    ).eval()
    with torch.no_grad():
        for m in vae.modules():
            if isinstance(m, torch.nn.GroupNorm):
                m.weight.copy_(1 + 0.2 * torch.randn_like(m.weight))
                m.bias.copy_(0.2 * torch.randn_like(m.bias))
    folder = os.path.join(out, "vae_tiny")
    vae.save_pretrained(folder, safe_serialization=True)
    vae16 = AutoencoderKL.from_config(vae.config).eval()
    vae16.load_state_dict(vae.state_dict())
    vae16.to(torch.float16).save_pretrained(folder, safe_serialization=True, variant="fp16")
    vae.save_pretrained(folder, safe_serialization=True)  # config.json as the fp32 model wrote it

    g = torch.Generator().manual_seed(1)
    image = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    noise = torch.randn(2, 4, 16, 16, generator=g)
    z = torch.randn(2, 4, 16, 16, generator=g)
    cot = torch.randn(2, 4, 16, 16, generator=g)
    x = image.clone().requires_grad_(True)
    post = vae.encode(x).latent_dist
    sample = post.mean + post.std * noise
    latent = vae.config.scaling_factor * sample
    (grad,) = torch.autograd.grad((cot * latent).sum(), x)
    with torch.no_grad():
        decoded = vae.decode(z).sample
    t = {
        "image": image, "noise": noise, "mean": post.mean, "logvar": post.logvar, "std": post.std,
        "sample": sample, "latent": latent, "z": z, "decoded": decoded, "cotangent": cot, "image_grad": grad,
    }
    t = {k: v.detach().float().contiguous().clone() for k, v in t.items()}
    path = os.path.join(out, "vae_tiny_io.safetensors")
    save_file(t, path, metadata={"generator": "Scripts/make_teacher_fixtures.py vae", "torch": torch.__version__,
                                 "diffusers": diffusers.__version__, "scaling_factor": str(vae.config.scaling_factor)})
    print(f"{folder}/, {path}: {os.path.getsize(path) / 1024:.0f} KiB")


# Scheduler configs (DDIMScheduler keyword arguments). sd2 is SD 2.0-base's scheduler_config.json as
# DDIMScheduler.from_config reads it.
CONFIGS = {
    "sd2": dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                clip_sample=False, set_alpha_to_one=False, steps_offset=1, prediction_type="epsilon"),
    "linear_v_trailing": dict(beta_schedule="linear", prediction_type="v_prediction", timestep_spacing="trailing",
                              clip_sample=True, set_alpha_to_one=True),
    "cosine_linspace": dict(num_train_timesteps=500, beta_schedule="squaredcos_cap_v2", timestep_spacing="linspace",
                            clip_sample=False, set_alpha_to_one=False),
    "zero_snr_sample": dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                            rescale_betas_zero_snr=True, timestep_spacing="trailing", prediction_type="sample",
                            clip_sample=True, clip_sample_range=1.5),
}
STEP_COUNTS = [1, 3, 7, 10, 50]


def stand_in(x, t, states, w):
    """A deterministic noise predictor both sides compute: depends on the latents, the timestep and the text states."""
    c = 0.5 + 0.3 * math.cos(t / 100.0)
    proj = states.mean(dim=1) @ w.t()  # (B, C)
    return x * c + 0.2 * torch.tanh(x) + proj[:, :, None, None]


def ddim_loop(cfg, latents, cond, uncond, w, steps, guidance, eta=0.0, noises=None):
    """diffusers StableDiffusionPipeline's denoising loop with the stand-in predictor."""
    sched = DDIMScheduler(**cfg)
    sched.set_timesteps(steps)
    guided = guidance > 1.0
    states = torch.cat([uncond, cond]) if guided else cond
    x = latents.clone()
    for i, t in enumerate(sched.timesteps):
        inp = torch.cat([x] * 2) if guided else x
        inp = sched.scale_model_input(inp, t)
        out = stand_in(inp, int(t), states, w)
        if guided:
            u, c = out.chunk(2)
            out = u + guidance * (c - u)
        x = sched.step(out, t, x, eta=eta, variance_noise=noises[i] if eta > 0 else None).prev_sample
    return x, sched.timesteps


def build_scheduler(out):
    g = torch.Generator().manual_seed(2)
    t, meta = {}, {"generator": "Scripts/make_teacher_fixtures.py scheduler", "diffusers": diffusers.__version__}
    for name, cfg in CONFIGS.items():
        s = DDIMScheduler(**cfg)
        meta[f"config.{name}"] = json.dumps(cfg)
        t[f"{name}.betas"] = s.betas.float()
        t[f"{name}.alphas_cumprod"] = s.alphas_cumprod.float()
        t[f"{name}.final_alpha_cumprod"] = s.final_alpha_cumprod.float().reshape(1)
        for n in STEP_COUNTS:
            s.set_timesteps(n)
            t[f"{name}.timesteps_{n}"] = s.timesteps.float()
        x0 = torch.randn(3, 4, 5, 5, generator=g)
        eps = torch.randn(3, 4, 5, 5, generator=g)
        ts = torch.tensor([0, s.config.num_train_timesteps // 2, s.config.num_train_timesteps - 1])
        t[f"{name}.x0"], t[f"{name}.eps"], t[f"{name}.noise_timesteps"] = x0, eps, ts.float()
        t[f"{name}.noisy"] = s.add_noise(x0, eps, ts)
        t[f"{name}.velocity"] = s.get_velocity(x0, eps, ts)

    w = torch.randn(4, 8, generator=g) * 0.5
    latents = torch.randn(2, 4, 8, 8, generator=g)
    cond = torch.randn(2, 5, 8, generator=g)
    uncond = torch.randn(2, 5, 8, generator=g)
    noises = torch.randn(10, 2, 4, 8, 8, generator=g)
    t.update({"loop.w": w, "loop.latents": latents, "loop.cond": cond, "loop.uncond": uncond, "loop.noises": noises})
    loops = {
        "sd2_cfg": ("sd2", 10, 7.5, 0.0),
        "v_trailing_cfg": ("linear_v_trailing", 10, 7.5, 0.0),
        "sd2_eta": ("sd2", 10, 7.5, 0.5),
        "cosine_noguide": ("cosine_linspace", 10, 1.0, 0.0),
        "zero_snr_cfg": ("zero_snr_sample", 10, 3.0, 1.0),
    }
    for name, (cfg, steps, guidance, eta) in loops.items():
        x, ts = ddim_loop(CONFIGS[cfg], latents, cond, uncond, w, steps, guidance, eta, noises)
        t[f"loop.{name}.out"] = x
        t[f"loop.{name}.timesteps"] = ts.float()
        meta[f"loop.{name}"] = json.dumps(dict(config=cfg, steps=steps, guidance=guidance, eta=eta))
    t = {k: v.detach().float().contiguous().clone() for k, v in t.items()}
    path = os.path.join(out, "scheduler.safetensors")
    save_file(t, path, metadata=meta)
    print(f"{path}: {len(t)} tensors, {os.path.getsize(path) / 1024:.0f} KiB")
