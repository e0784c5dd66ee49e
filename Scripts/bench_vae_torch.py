#!/usr/bin/env python3
"""The PyTorch side of `dreamportrait bench vae`: diffusers' AutoencoderKL with SD 2.0-base's config (random
weights, fp32, batch 1), encoder (vae.encode(x).latent_dist.mean) or decoder (vae.decode(z)) at one size,
under torch.no_grad, timed after one warm-up; prints the best and median times and the peak RSS.

    python3 Scripts/bench_vae_torch.py --threads 2 --size 512 --runs 3 [--decoder] [--json]
    .build/release/dreamportrait bench vae --threads 2 --size 512 --runs 3 [--decoder] [--json]
"""
import argparse
import json
import resource
import sys
import time

import torch
from diffusers import AutoencoderKL


def rss_mib():
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--decoder", action="store_true")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    vae = AutoencoderKL(
        block_out_channels=(128, 256, 512, 512), layers_per_block=2, latent_channels=4, norm_num_groups=32,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4, sample_size=512,
    ).eval()
    x = torch.randn(1, 4, a.size // 8, a.size // 8) if a.decoder else torch.rand(1, 3, a.size, a.size) * 2 - 1
    rss_model = rss_mib()
    times, cpu = [], []
    with torch.no_grad():
        for i in range(a.runs + 1):
            t0, c0 = time.perf_counter(), time.process_time()
            _ = vae.decode(x).sample if a.decoder else vae.encode(x).latent_dist.mean
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            if i > 0:
                times.append(dt)
                cpu.append(dc)
            if not a.json:
                print(f"{'warm-up ' if i == 0 else f'run {i:<4d}'} {dt:.3f} s ({dc:.2f} CPU s)")
    times.sort()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 1024)
    part = "decoder" if a.decoder else "encoder"
    if a.json:
        print(json.dumps(dict(impl="torch", part=part, size=a.size, threads=a.threads, best_s=round(times[0], 4),
                              median_s=round(times[len(times) // 2], 4), best_cpu_s=round(min(cpu), 3), peak_rss_mib=round(peak, 1),
                              rss_after_build_mib=None if rss_model is None else round(rss_model, 1),
                              torch=torch.__version__)))
    else:
        print(f"VAE {part}, SD 2.0-base config, 1x3x{a.size}x{a.size}, fp32, {a.threads} threads, torch {torch.__version__}")
        print(f"best {times[0]:.3f} s, median {times[len(times) // 2]:.3f} s, least CPU time {min(cpu):.2f} s; "
              f"peak RSS {peak:.0f} MiB"
              + ("" if rss_model is None else f" ({rss_model:.0f} MiB after building the model)"))


if __name__ == "__main__":
    main()
