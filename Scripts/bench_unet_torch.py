#!/usr/bin/env python3
"""diffusers' numbers for `dreamportrait bench unet`: one UNet2DConditionModel forward at Stable Diffusion 2.0-base
size (the published unet/config.json), random weights, fp32, CPU, no grad, batch 2, text length 77; best and mean
time after one warm-up, and the process's peak resident memory.

    python3 Scripts/bench_unet_torch.py [--threads 2] [--batch 2] [--size 64] [--text-length 77] [--runs 3] [--json]

Needs PyPI torch and diffusers (no downloads: the model is built from the config).
"""
import argparse
import json
import resource
import sys
import time

import torch

SD2_BASE = dict(
    act_fn="silu", attention_head_dim=[5, 10, 20, 20], block_out_channels=[320, 640, 1280, 1280],
    center_input_sample=False, cross_attention_dim=1024,
    down_block_types=["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    downsample_padding=1, dual_cross_attention=False, flip_sin_to_cos=True, freq_shift=0, in_channels=4,
    layers_per_block=2, mid_block_scale_factor=1, norm_eps=1e-5, norm_num_groups=32, out_channels=4, sample_size=64,
    up_block_types=["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    use_linear_projection=True,
)


def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() // (1 << 20)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--text-length", type=int, default=77)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from diffusers import UNet2DConditionModel

    t0 = time.perf_counter()
    torch.manual_seed(0)
    model = UNet2DConditionModel(**SD2_BASE).eval()
    build = time.perf_counter() - t0
    params = sum(p.numel() for p in model.parameters())
    rss_build = rss_mib()
    g = torch.Generator().manual_seed(1)
    sample = torch.randn((a.batch, 4, a.size, a.size), generator=g)
    text = torch.randn((a.batch, a.text_length, 1024), generator=g)
    timestep = torch.tensor([981 - 300 * (i % 3) for i in range(a.batch)], dtype=torch.int64)
    times = []
    with torch.no_grad():
        for i in range(a.runs + 1):
            s = time.perf_counter()
            out = model(sample, timestep, encoder_hidden_states=text).sample
            dt = time.perf_counter() - s
            if i > 0:
                times.append(dt)
            if not a.json:
                print(f"{'warm-up' if i == 0 else f'run {i} '} {dt:.3f} s", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    best, mean = min(times), sum(times) / len(times)
    if a.json:
        print(json.dumps(dict(name="unet", config="sd2-base", batch=a.batch, size=a.size, text_length=a.text_length,
                              threads=a.threads, parameters=params, build_s=round(build, 2), best_s=round(best, 3),
                              mean_s=round(mean, 3), rss_after_build_mib=rss_build, peak_rss_mib=peak,
                              torch=torch.__version__, mean_abs_out=float(out.abs().mean()))))
    else:
        print(f"diffusers UNet2DConditionModel sd2-base: {params} parameters, built in {build:.1f} s, "
              f"{a.threads} threads, fp32, torch {torch.__version__}")
        print(f"forward: best {best:.3f} s, mean {mean:.3f} s over {a.runs} runs")
        print(f"resident memory: {rss_build} MiB after building, peak {peak} MiB")


if __name__ == "__main__":
    sys.exit(main())
