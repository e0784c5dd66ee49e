#!/usr/bin/env python3
"""pytorch-fid's FID Inception-v3 (InceptionV3([3]): resize, normalise, blocks 0-3) per stage, as
`dreamportrait bench inception` times ours: random weights that keep activations normal (Scripts/bench_torch.py's
inception_v3 case), a batch of 299x299 images, forward hooks timing each of pytorch-fid's modules, medians over
--runs runs after one warm-up; "preprocess" is pytorch-fid's resize and 2x - 1 (the time before the first module).

    python3 Scripts/bench_inception_torch.py [--threads 2] [--batch 8] [--runs 3] [--json]

Needs PyPI torch and pytorch-fid.
"""
import argparse
import json
import time

import torch


def model_with_random_weights():
    import pytorch_fid.inception as pfi
    torch.manual_seed(1)
    state = {}
    for k, v in pfi._inception_v3(num_classes=1008, aux_logits=False, weights=None).state_dict().items():
        if k.endswith("conv.weight"):
            bound = (6.0 / v[0].numel()) ** 0.5
            state[k] = torch.empty_like(v).uniform_(-bound, bound)
        elif k.endswith("bn.weight"):
            state[k] = torch.empty_like(v).uniform_(0.75, 1.25)
        elif k.endswith("bn.running_var"):
            state[k] = torch.empty_like(v).uniform_(0.5, 1.5)
        elif v.is_floating_point():
            state[k] = torch.empty_like(v).uniform_(-0.1, 0.1)
        else:
            state[k] = v
    pfi.load_state_dict_from_url = lambda *args, **kwargs: state
    return pfi.InceptionV3([3]).eval()


NAMES = {0: ["Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1"],
         1: ["Conv2d_3b_1x1", "Conv2d_4a_3x3", "maxpool2"],
         2: ["Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"],
         3: ["Mixed_7a", "Mixed_7b", "Mixed_7c", "avgpool"]}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    model = model_with_random_weights()
    x = torch.rand(a.batch, 3, 299, 299)
    order, marks = [], []
    for b, names in NAMES.items():
        for name, module in zip(names, model.blocks[b]):
            order.append(name)
            module.register_forward_hook(lambda m, i, o, name=name: marks.append((name, time.perf_counter())))
    stages = {n: [] for n in ["preprocess"] + order}
    totals = []
    with torch.no_grad():
        for run in range(a.runs + 1):
            marks.clear()
            t0 = time.perf_counter()
            model(x)
            t1 = time.perf_counter()
            if run == 0:
                continue
            last = t0   # the first module's time includes the input transform, subtracted below
            for name, t in marks:
                stages[name].append((t - last) * 1000)
                last = t
            totals.append((t1 - t0) * 1000)
    # The input transform (resize + normalise) on its own, to split it from Conv2d_1a_3x3.
    import torch.nn.functional as F
    pre = []
    with torch.no_grad():
        for _ in range(a.runs + 1):
            t0 = time.perf_counter()
            y = 2 * F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False) - 1
            pre.append((time.perf_counter() - t0) * 1000)
    med = lambda v: sorted(v)[len(v) // 2]
    result = {n: med(v) for n, v in stages.items() if v}
    result["preprocess"] = med(pre[1:])
    result["Conv2d_1a_3x3"] = max(result["Conv2d_1a_3x3"] - result["preprocess"], 0.0)
    ordered = {n: round(result[n], 3) for n in ["preprocess"] + order}
    if a.json:
        print(json.dumps({"impl": "pytorch-fid", "torch": torch.__version__, "batch": a.batch, "threads": a.threads,
                          "median_ms": round(med(totals), 3), "best_ms": round(min(totals), 3), "stages_ms": ordered}))
    else:
        print(f"pytorch-fid FID Inception-v3, {a.batch}x3x299x299, torch {torch.__version__}, {a.threads} threads; median of {a.runs} runs")
        for n, t in ordered.items():
            print(f"{n:<16}{t:9.2f} ms")
        print(f"total           {med(totals):9.2f} ms (best {min(totals):.2f} ms)")


if __name__ == "__main__":
    main()
