#!/usr/bin/env python3
"""PyTorch's numbers for the cases of `dreamportrait bench` (same names, shapes and work), fp32, CPU.

    python3 Scripts/bench_torch.py [--threads 2] [--json] [--cases sgemm,conv] [--min-time 1]

Needs PyPI torch. Scripts/bench_compare.sh runs this and the Swift benchmark and prints ratios.
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F


def cases():
    def mm(m, k, n):
        a, b = torch.randn(m, k), torch.randn(k, n)
        c = torch.empty(m, n)
        return lambda: torch.mm(a, b, out=c)

    def conv(n, c, hw, o, k):
        x, w = torch.randn(n, c, hw, hw), torch.randn(o, c, k, k)
        return lambda: F.conv2d(x, w, padding=k // 2)

    def grid_sample():
        planes, grid = torch.randn(3, 32, 256, 256), torch.rand(3, 1, 65536, 2) * 2 - 1
        return lambda: F.grid_sample(planes, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    def softmax():
        x = torch.randn(16384, 1024)
        return lambda: torch.softmax(x, dim=-1)

    def group_norm():
        x, w, b = torch.randn(4, 128, 64, 64), torch.randn(128), torch.randn(128)
        return lambda: F.group_norm(x, 32, w, b)

    def attention():
        q = torch.randn(1, 8, 65536, 64)
        k, v = torch.randn(1, 8, 77, 64), torch.randn(1, 8, 77, 64)
        return lambda: F.scaled_dot_product_attention(q, k, v)

    def clip_vit_b32():
        # transformers' CLIPVisionModel at OpenAI CLIP ViT-B/32's size (its config defaults), random weights.
        from transformers import CLIPVisionConfig, CLIPVisionModel
        model = CLIPVisionModel(CLIPVisionConfig()).eval()
        x = torch.randn(8, 3, 224, 224)
        return lambda: model(pixel_values=x)

    # FLOPs of 8 ViT-B/32 forwards (as BenchCLIP.swift's vitWork): patch projection, then per layer 8·T·D²
    # (q/k/v/out), 4·T·D·I (MLP), 4·T²·D (attention), T = 50 tokens.
    t, d, i = 50, 768, 3072
    vit_flops = 8 * (2 * 49 * d * 3 * 32 * 32 + 12 * (8 * t * d * d + 4 * t * d * i + 4 * t * t * d))
    def inception_v3():
        # pytorch-fid's FID Inception (InceptionV3([3]): resize, normalise, blocks 0-3) with random weights that
        # keep activations normal (default-initialised weights decay into slow denormals); its weight download
        # is replaced by these weights.
        from bench_inception_torch import model_with_random_weights   # the same random weights
        model = model_with_random_weights()
        x = torch.rand(8, 3, 299, 299)
        return lambda: model(x)

    gs_bytes = 4 * (3 * 65536 * (32 * 4 + 32 + 2))
    return [
        ("sgemm_512", "512x512 · 512x512", 2 * 512**3, False, lambda: mm(512, 512, 512)),
        ("sgemm_1024", "1024x1024 · 1024x1024", 2 * 1024**3, False, lambda: mm(1024, 1024, 1024)),
        ("sgemm_2048", "2048x2048 · 2048x2048", 2 * 2048**3, False, lambda: mm(2048, 2048, 2048)),
        ("tallskinny_64", "16384x64 · 64x64", 2 * 16384 * 64 * 64, False, lambda: mm(16384, 64, 64)),
        ("tallskinny_32", "16384x32 · 32x64", 2 * 16384 * 32 * 64, False, lambda: mm(16384, 32, 64)),
        ("conv3x3_512", "1x512x32x32 -> 512, 3x3", 2 * 512 * 512 * 9 * 32 * 32, False, lambda: conv(1, 512, 32, 512, 3)),
        ("conv3x3_256", "1x256x64x64 -> 256, 3x3", 2 * 256 * 256 * 9 * 64 * 64, False, lambda: conv(1, 256, 64, 256, 3)),
        ("conv3x3_128x4", "4x128x64x64 -> 128, 3x3", 2 * 4 * 128 * 128 * 9 * 64 * 64, False, lambda: conv(4, 128, 64, 128, 3)),
        ("conv1x1_256", "1x256x64x64 -> 256, 1x1", 2 * 256 * 256 * 64 * 64, False, lambda: conv(1, 256, 64, 256, 1)),
        ("grid_sample", "3x32x256x256, 3x1x65536 points", gs_bytes, True, grid_sample),
        ("softmax", "16384x1024, last axis", 2 * 4 * 16384 * 1024, True, softmax),
        ("group_norm", "4x128x64x64, 32 groups", 2 * 4 * 4 * 128 * 64 * 64, True, group_norm),
        ("attention", "q 1x8x65536x64, kv 77", 4 * 8 * 65536 * 77 * 64, False, attention),
        ("clip_vit_b32", "8x3x224x224, ViT-B/32 vision tower", vit_flops, False, clip_vit_b32),
        ("inception_v3", "8x3x299x299 -> 8x2048, FID Inception", 8 * 2 * 5711168096, False, inception_v3),
    ]


def best_time(fn, min_time):
    fn()
    best, total, runs = float("inf"), 0.0, 0
    while total < min_time or runs < 3:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best, total, runs = min(best, dt), total + dt, runs + 1
    return best


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", action="store_true")
    p.add_argument("--cases", default="")
    p.add_argument("--min-time", type=float, default=1.0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    wanted = [w for w in a.cases.split(",") if w]
    if not a.json:
        print(f"PyTorch {torch.__version__} benchmark, {a.threads} threads, fp32")
    with torch.no_grad():
        for name, shape, work, mem, setup in cases():
            if wanted and not any(name.startswith(w) for w in wanted):
                continue
            ms = best_time(setup(), a.min_time) * 1000
            rate = work / (ms / 1000) / 1e9
            if a.json:
                print(json.dumps({"name": name, "shape": shape, ("gbps" if mem else "gflops"): round(rate, 2),
                                  "ms": round(ms, 4), "threads": a.threads}))
            else:
                print(f"{name:<18}{shape:<34}{ms:8.3f} {rate:8.1f} {'GB/s' if mem else 'GFLOP/s'}")


if __name__ == "__main__":
    main()
