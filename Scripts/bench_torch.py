#!/usr/bin/env python3
"""PyTorch's numbers for the cases of `dreamportrait bench` (same names, shapes and work), fp32, CPU.

    python3 Scripts/bench_torch.py [--threads 2] [--json] [--cases sgemm,conv] [--min-time 1]
    python3 Scripts/bench_torch.py --overhead [--threads 2] [--json]     (as `dreamportrait bench overhead`)

Needs PyPI torch. Scripts/bench_compare.sh runs this and the Swift benchmark and prints ratios.
"""
import argparse
import re
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

    def transpose():
        x = torch.randn(8, 96, 4096)
        return lambda: x.permute(0, 2, 1).contiguous()

    def attention():
        q = torch.randn(1, 8, 65536, 64)
        k, v = torch.randn(1, 8, 77, 64), torch.randn(1, 8, 77, 64)
        return lambda: F.scaled_dot_product_attention(q, k, v)

    def adapter_attention():
        # BenchCases.swift's adapter_attention: forward and backward, the first 32 of 75 keys kept.
        q = torch.randn(8, 4, 12288, 24, requires_grad=True)
        k, v = torch.randn(8, 4, 75, 24, requires_grad=True), torch.randn(8, 4, 75, 24, requires_grad=True)
        g = torch.randn(8, 4, 12288, 24)
        mask = (torch.arange(75) < 32).view(1, 1, 1, 75).expand(8, 1, 1, 75)
        def step():
            with torch.enable_grad():   # the cases are timed under no_grad
                return torch.autograd.grad(F.scaled_dot_product_attention(q, k, v, attn_mask=mask), [q, k, v], g)
        return step

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
        ("transpose", "8x96x4096 -> 8x4096x96", 2 * 4 * 8 * 96 * 4096, True, transpose),
        ("attention", "q 1x8x65536x64, kv 77", 4 * 8 * 65536 * 77 * 64, False, attention),
        ("adapter_attention", "q 8x4x12288x24, kv 75 (32 kept), fwd+bwd", 3 * 4 * 8 * 4 * 12288 * 32 * 24, False, adapter_attention),
        ("clip_vit_b32", "8x3x224x224, ViT-B/32 vision tower", vit_flops, False, clip_vit_b32),
        ("inception_v3", "8x3x299x299 -> 8x2048, FID Inception", 8 * 2 * 5711168096, False, inception_v3),
    ]


def overhead_cases():
    """The cases of `dreamportrait bench overhead` (BenchOverhead.swift): same shapes, ops and order, eager mode."""
    def param(shape, std):
        return (torch.randn(*shape) * std).requires_grad_()

    def chain():
        blocks = 20
        w = [param((64, 64), 0.125) for _ in range(blocks)]
        b = [param((64,), 0.1) for _ in range(blocks)]
        lnw, lnb = param((64,), 0.1), param((64,), 0.1)
        cw = [param((16, 16, 3, 3), 0.08) for _ in range(blocks)]
        cb = [param((1, 16, 1, 1), 0.1) for _ in range(blocks)]
        cs = param((1, 16, 1, 1), 0.1)
        h0, x0 = torch.randn(4, 16, 64), torch.randn(4, 16, 16, 16)
        params = w + b + cw + cb + [lnw, lnb, cs]

        def step():
            h, x = h0, x0
            for i in range(blocks):
                h = h.matmul(w[i])
                h = h + b[i]
                h = F.layer_norm(h, (64,), lnw, lnb)
                h = F.gelu(h)
                h = h * 0.5
                y = F.conv2d(x, cw[i], padding=1)
                z = (y + cb[i]).relu()
                x = z * cs + x
            loss = (h * h).mean() + (x * x).mean()
            loss.backward()
            for p in params:
                p.grad = None
        return step

    def train_step(make_params, forward, x, target):
        params = make_params()
        opt = torch.optim.Adam(params, lr=1e-4)

        def step():
            y = forward(params, x)
            d = y - target
            loss = (d * d).mean()
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
        return step

    def mlp_step():
        mk = lambda: [param((256, 64), 0.125), param((256,), 0.01), param((256, 256), 0.0625), param((256,), 0.01),
                      param((64, 256), 0.0625), param((64,), 0.01)]
        def fwd(p, x):
            h1 = F.gelu(F.linear(x, p[0], p[1]))
            h2 = F.gelu(F.linear(h1, p[2], p[3]))
            return F.linear(h2, p[4], p[5])
        return train_step(mk, fwd, torch.randn(32, 64), torch.randn(32, 64))

    def conv_step():
        mk = lambda: [param((16, 3, 3, 3), 0.2), param((16,), 0.01), param((16, 16, 3, 3), 0.08), param((16,), 0.01),
                      param((3, 16, 3, 3), 0.08), param((3,), 0.01)]
        def fwd(p, x):
            h1 = F.silu(F.conv2d(x, p[0], p[1], padding=1))
            h2 = F.silu(F.conv2d(h1, p[2], p[3], padding=1))
            return F.conv2d(h2, p[4], p[5], padding=1)
        return train_step(mk, fwd, torch.randn(4, 3, 16, 16), torch.randn(4, 3, 16, 16))

    return [("chain", "200 ops fwd+bwd, batch 4", chain), ("mlp_step", "MLP 64-256-256-64, 32 rows, Adam", mlp_step),
            ("conv_step", "conv 3-16-16-3, 4x3x16x16, Adam", conv_step)]


def median_time(fn, min_time):
    """(median wall, best wall, median process CPU) seconds per call after three warm-up calls, over at least
    min_time seconds of CPU time (as BenchOverhead.swift)."""
    for _ in range(3):
        fn()
    times, cpus, total = [], [], 0.0
    while total < min_time or len(times) < 5:
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        times.append(dt)
        cpus.append(dc)
        total += dc
    times.sort()
    cpus.sort()
    return times[len(times) // 2], times[0], cpus[len(cpus) // 2]


def best_time(fn, min_time):
    """(best wall, median process CPU) seconds per call after one warm-up, over at least min_time seconds of CPU time."""
    fn()
    best, total, cpus = float("inf"), 0.0, []
    while total < min_time or len(cpus) < 3:
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        best, total = min(best, dt), total + dc
        cpus.append(dc)
    cpus.sort()
    return best, cpus[len(cpus) // 2]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", action="store_true")
    p.add_argument("--cases", default="")
    p.add_argument("--min-time", type=float, default=1.0)
    p.add_argument("--overhead", action="store_true", help="the small-op cases of `dreamportrait bench overhead`")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    wanted = [w for w in a.cases.split(",") if w]
    if a.overhead:
        torch.manual_seed(0)
        if not a.json:
            print(f"PyTorch {torch.__version__} eager small-op overhead, {a.threads} threads")
        for name, shape, setup in overhead_cases():
            if wanted and not any(name.startswith(w) for w in wanted):
                continue
            med, best, cpu = median_time(setup(), a.min_time)
            if a.json:
                print(json.dumps({"name": name, "shape": shape, "ms": round(med * 1000, 4), "best_ms": round(best * 1000, 4),
                                  "cpu_ms": round(cpu * 1000, 4), "threads": a.threads}))
            else:
                print(f"{name:<12}{shape:<36}median {med * 1000:8.3f} ms  best {best * 1000:8.3f} ms  CPU {cpu * 1000:8.3f} ms")
        return
    if not a.json:
        print(f"PyTorch {torch.__version__} benchmark, {a.threads} threads, fp32")
    # Any product on demand: a case named gemm_MxKxN (as `dreamportrait bench --cases gemm_MxKxN`).
    # linear_MxKxN: the same product with B stored as N x K (x · Wᵀ, as nn.Linear runs it).
    extra = [w for w in wanted if re.fullmatch(r"(gemm|linear)_\d+x\d+x\d+", w)]
    def custom(w):
        m, k, n = map(int, w.split("_")[1].split("x"))
        def setup():
            a, c = torch.randn(m, k), torch.empty(m, n)
            b = torch.randn(n, k).t() if w.startswith("linear") else torch.randn(k, n)
            return lambda: torch.mm(a, b, out=c)
        return (w, f"{m}x{k} · {k}x{n}", 2 * m * k * n, False, setup)
    with torch.no_grad():
        for name, shape, work, mem, setup in cases() + [custom(w) for w in extra]:
            if wanted and not any(name.startswith(w) for w in wanted):
                continue
            best, cpu = best_time(setup(), a.min_time)
            ms = best * 1000
            rate = work / (ms / 1000) / 1e9
            if a.json:
                print(json.dumps({"name": name, "shape": shape, ("gbps" if mem else "gflops"): round(rate, 2),
                                  "ms": round(ms, 4), "cpu_ms": round(cpu * 1000, 4), "threads": a.threads}))
            else:
                print(f"{name:<18}{shape:<34}{ms:8.3f} {rate:8.1f} {'GB/s' if mem else 'GFLOP/s'}")


if __name__ == "__main__":
    main()
