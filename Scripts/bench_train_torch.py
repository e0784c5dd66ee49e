#!/usr/bin/env python3
"""Times one EG3D training iteration of the official code (NVlabs/eg3d training/loss.py StyleGAN2Loss with
training_loop.py's phases and lazy-regularisation Adam) on the CPU in fp32, at the tiny128 configuration of
`dreamportrait bench train --config tiny128` (random weights, random real images), so the two can be compared on
the same machine and thread count:

    python3 Scripts/bench_train_torch.py --batch 4 --threads 2 [--repeats 3] [--eg3d /tmp/eg3d/eg3d]
    dreamportrait bench train --config tiny128 --batch 4 --threads 2

Each phase (forward, backward, nan_to_num, Adam step) is timed best of --repeats after a warm-up; the iteration is
Gmain + Dmain + Greg/4 + Dreg/16, as EG3D runs it on average. Prints one JSON object with the peak RSS.
"""
import argparse
import json
import os
import resource
import sys
import time

import numpy as np
import torch


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eg3d", default=os.environ.get("EG3D_ROOT", "/tmp/eg3d/eg3d"))
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    sys.path.insert(0, a.eg3d)
    import training.loss as loss_mod
    from training.triplane import TriPlaneGenerator
    from training.dual_discriminator import DualDiscriminator
    from camera_utils import LookAtPoseSampler
    from torch_utils import misc

    torch.manual_seed(0)
    rk = {"image_resolution": 128, "disparity_space_sampling": False, "clamp_mode": "softplus",
          "superresolution_module": "training.superresolution.SuperresolutionHybrid2X", "c_gen_conditioning_zero": False,
          "c_scale": 1, "gpc_reg_prob": 0.5, "superresolution_noise_mode": "none", "density_reg": 0.25,
          "density_reg_p_dist": 0.004, "reg_type": "l1", "decoder_lr_mul": 1, "sr_antialias": True,
          "depth_resolution": 12, "depth_resolution_importance": 12, "ray_start": 2.25, "ray_end": 3.3, "box_warp": 1,
          "avg_camera_radius": 2.7, "avg_camera_pivot": [0, 0, 0.2]}
    G = TriPlaneGenerator(z_dim=64, c_dim=25, w_dim=512, img_resolution=128, img_channels=3, sr_num_fp16_res=4,
                          mapping_kwargs={"num_layers": 2}, rendering_kwargs=rk, channel_base=2048, channel_max=64).train().requires_grad_(False)
    G.neural_rendering_resolution = 32
    D = DualDiscriminator(c_dim=25, img_resolution=128, img_channels=3, channel_base=2048, channel_max=64,
                          epilogue_kwargs=dict(mbstd_group_size=2)).train().requires_grad_(False)
    loss = loss_mod.StyleGAN2Loss(device="cpu", G=G, D=D, r1_gamma=1.0, blur_init_sigma=0, blur_fade_kimg=0,
                                  gpc_reg_prob=0.5, gpc_reg_fade_kimg=1000, neural_rendering_resolution_initial=32,
                                  dual_discrimination=True, filter_mode="antialiased")
    phases = {}
    for name, module, lr, interval in [("G", G, 0.0025, 4), ("D", D, 0.002, 16)]:
        r = interval / (interval + 1)
        opt = torch.optim.Adam(module.parameters(), lr=lr * r, betas=[0 ** r, 0.99 ** r], eps=1e-8)
        phases[name + "main"] = (module, opt, 1)
        phases[name + "reg"] = (module, opt, interval)
    n = a.batch
    labels = []
    for i in range(64):
        p = LookAtPoseSampler.sample(np.pi / 2 + 0.3 * np.sin(i), np.pi / 2 + 0.1 * np.cos(i), torch.tensor([0, 0, 0.2]), radius=2.7)
        labels.append(torch.cat([p.reshape(16), torch.tensor([4.2647, 0, 0.5, 0, 4.2647, 0.5, 0, 0, 1])]))
    labels = torch.stack(labels).float()
    real = torch.rand(n, 3, 128, 128) * 2 - 1

    def run(name):
        module, opt, interval = phases[name]
        opt.zero_grad(set_to_none=True)
        module.requires_grad_(True)
        loss.accumulate_gradients(phase=name, real_img=real, real_c=labels[:n], gen_z=torch.randn(n, 64),
                                  gen_c=labels[torch.randint(0, 64, (n,))], gain=interval, cur_nimg=10_000_000)
        module.requires_grad_(False)
        params = [p for p in module.parameters() if p.numel() > 0 and p.grad is not None]
        flat = torch.cat([p.grad.flatten() for p in params])
        misc.nan_to_num(flat, nan=0, posinf=1e5, neginf=-1e5, out=flat)
        for p, g in zip(params, flat.split([p.numel() for p in params])):
            p.grad = g.reshape(p.shape)
        opt.step()

    out = {"impl": "pytorch", "config": "tiny128", "batch": n, "threads": a.threads, "torch": torch.__version__}
    total = 0.0
    for name in ["Gmain", "Greg", "Dmain", "Dreg"]:
        run(name)
        best = float("inf")
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            run(name)
            best = min(best, time.perf_counter() - t0)
        out[name] = round(best, 4)
        total += best / phases[name][2]
    out["iteration_s"] = round(total, 4)
    out["images_per_s"] = round(n / total, 3)
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
