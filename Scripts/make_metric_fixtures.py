#!/usr/bin/env python3
"""Reference fixtures for the metrics (Tests/Fixtures/metrics/). Sections, chosen on the command line
(default: all):

    python3 Scripts/make_metric_fixtures.py [frechet] [inception] [folders]

frechet: random feature sets (well-conditioned and rank-deficient: fewer samples than dimensions) with
pytorch-fid's statistics (np.mean, np.cov(rowvar=False), float64) and calculate_frechet_distance, the scipy
sqrtm-based FID. Needs numpy, scipy, pytorch-fid (pip install pytorch-fid).

inception: pytorch-fid's InceptionV3([0, 1, 2, 3]) (FID Inception-v3) on weights and images made by the
RECIPE below, which Tests/MetricsTests/InceptionSupport.swift implements bit for bit, so the 21.8M weights are
not committed: the fixture holds only the outputs (2048-d features of three images of different sizes, and
the block 0/1/2 outputs of the 299x299 one). pytorch-fid's weights cannot be downloaded here, so its
`load_state_dict_from_url` is monkeypatched to return the recipe's state dict. The recipe's state dict also
goes through Scripts/convert_inception.py (as a .pth file) to check the converter and record the converted
key list in the fixture's metadata. Needs torch, torchvision, pytorch-fid, safetensors.

folders: two small folders of PNGs (Tests/Fixtures/metrics/fid_folders/{generated,reference}: RGB, grey,
RGBA, two sizes) and pytorch-fid's calculate_fid_given_paths on them (--dims 64, batch size 1 since the sizes
differ) with the recipe's weights; also the exact FID of the same features, whose tr((Σ1Σ2)^½) is the sum of
the singular values of A1·A2ᵀ (Ai the centred features / √(n−1)): scipy's sqrtm is only accurate to ~1e-6
on such rank-deficient covariances.

RECIPE (uint32 arithmetic wraps; float32 arithmetic, each operation rounded, no fused multiply-add):
    fnv1a32(s) = FNV-1a of the UTF-8 bytes of s (offset 0x811C9DC5, prime 0x01000193)
    mix32(x)   = lowbias32: x ^= x >> 16; x *= 0x7FEB352D; x ^= x >> 15; x *= 0x846CA68B; x ^= x >> 16
    u[i]       = float32(mix32(mix32(fnv1a32(key)) + i) >> 8) * 2^-23 - 1      in [-1, 1), i = 0..<count
    value[i]   = u[i] * a + b          (row-major over the tensor's shape; a, b float32)
  with (a, b) by key:
    *.conv.weight      a = float32(sqrt(6 / fan_in)), b = 0   (He-uniform, fan_in = in * kH * kW)
    *.bn.weight        a = 0.25, b = 1
    *.bn.bias          a = 0.1,  b = 0
    *.bn.running_mean  a = 0.1,  b = 0
    *.bn.running_var   a = 0.5,  b = 1
    fc.weight, fc.bias a = 0.01, b = 0   (unused by FID; pytorch-fid's loader needs them)
    image.<k>          a = 0.5,  b = 0.5 (an image in [0, 1), shape (1, 3, H, W))
"""
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "metrics")


def frechet():
    from pytorch_fid.fid_score import calculate_frechet_distance
    from safetensors.numpy import save_file
    rng = np.random.default_rng(7)
    tensors, meta = {}, {}
    cases = [("wellconditioned_64", 64, 1000, 900), ("rankdeficient_256", 256, 60, 50), ("moderate_256", 256, 800, 700)]
    for name, d, n1, n2 in cases:
        mix = rng.standard_normal((d, d)) / np.sqrt(d)
        a = (rng.standard_normal((n1, d)) @ mix + 0.1).astype(np.float32)
        b = (rng.standard_normal((n2, d)) @ (mix + 0.05 * rng.standard_normal((d, d)) / np.sqrt(d)) - 0.1).astype(np.float32)
        stats = []
        for tag, x in (("a", a), ("b", b)):
            x64 = x.astype(np.float64)
            mu, sigma = np.mean(x64, axis=0), np.cov(x64, rowvar=False)
            tensors[f"{name}.{tag}.features"] = x
            tensors[f"{name}.{tag}.mu"] = mu
            tensors[f"{name}.{tag}.sigma"] = sigma
            stats.append((mu, sigma))
        fid = calculate_frechet_distance(stats[0][0], stats[0][1], stats[1][0], stats[1][1])
        tensors[f"{name}.fid"] = np.array([fid], dtype=np.float64)
        meta[name] = json.dumps({"dimension": d, "n_a": n1, "n_b": n2})
        print(f"{name}: FID {fid:.10f}")
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "frechet.safetensors")
    save_file(tensors, path, metadata={"generator": "Scripts/make_metric_fixtures.py frechet", **meta})
    print(f"{path}: {os.path.getsize(path) / 1024:.0f} KiB")


INCEPTION_IMAGES = [(64, 64), (299, 299), (160, 200)]   # (H, W) of image.0, image.1, image.2
INCEPTION_BLOCKS_IMAGE = 1


def fnv1a32(s):
    h = 0x811C9DC5
    for byte in s.encode("utf-8"):
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def mix32(x):
    """lowbias32 on a numpy uint32 array (wrapping)."""
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x7FEB352D)
    x = x ^ (x >> np.uint32(15))
    x = x * np.uint32(0x846CA68B)
    return x ^ (x >> np.uint32(16))


def recipe_tensor(key, shape, a, b):
    n = int(np.prod(shape))
    with np.errstate(over="ignore"):
        base = mix32(np.array([fnv1a32(key)], dtype=np.uint32))[0]
        h = mix32(base + np.arange(n, dtype=np.uint32))
    u = (h >> np.uint32(8)).astype(np.float32) * np.float32(2.0 ** -23) - np.float32(1)
    return (u * np.float32(a) + np.float32(b)).reshape(shape)


def recipe_scale(key, shape):
    if key.endswith(".conv.weight"):
        return np.float32(np.sqrt(6.0 / float(np.prod(shape[1:])))), np.float32(0)
    for suffix, ab in ((".bn.weight", (0.25, 1)), (".bn.bias", (0.1, 0)), (".bn.running_mean", (0.1, 0)),
                       (".bn.running_var", (0.5, 1)), ("fc.weight", (0.01, 0)), ("fc.bias", (0.01, 0))):
        if key.endswith(suffix):
            return np.float32(ab[0]), np.float32(ab[1])
    raise KeyError(f"no recipe for {key}")


def inception():
    import tempfile
    import torch
    import pytorch_fid.inception as pfi
    from safetensors.numpy import save_file
    from safetensors.torch import load_file
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import convert_inception

    # pytorch-fid's own module graph, weights from the recipe (its download is replaced).
    state = recipe_state_dict()
    fresh = pfi._inception_v3(num_classes=1008, aux_logits=False, weights=None).state_dict()
    pfi.load_state_dict_from_url = lambda *args, **kwargs: state
    model = pfi.InceptionV3([0, 1, 2, 3]).eval()

    # The converter on the same weights saved as pytorch-fid's .pth would be.
    with tempfile.TemporaryDirectory() as tmp:
        pth, out = os.path.join(tmp, convert_inception.FID_FILE), os.path.join(tmp, "inception.safetensors")
        torch.save(state, pth)
        convert_inception.convert(pth, out)
        converted = load_file(out)
    expected = convert_inception.expected_shapes()
    assert {k: tuple(v.shape) for k, v in converted.items()} == expected, "converter keys differ from the architecture"
    for k, v in converted.items():
        assert torch.equal(v, state[k]), k
    torchvision_keys = {k: tuple(v.shape) for k, v in fresh.items() if not k.startswith("fc.") and "num_batches" not in k}
    assert torchvision_keys == expected, "EXPECTED table differs from torchvision's Inception3"

    tensors = {}
    with torch.no_grad():
        for i, (h, w) in enumerate(INCEPTION_IMAGES):
            image = torch.from_numpy(recipe_tensor(f"image.{i}", (1, 3, h, w), 0.5, 0.5))
            outputs = model(image)
            tensors[f"features.{i}"] = outputs[3].reshape(1, 2048).numpy()
            print(f"image.{i} {h}x{w}: features mean {outputs[3].mean():.4f} std {outputs[3].std():.4f}; block stds "
                  + ", ".join(f"{o.std():.3f}" for o in outputs))
            if i == INCEPTION_BLOCKS_IMAGE:
                for j in range(3):
                    tensors[f"block{j}.{i}"] = outputs[j].numpy()
    meta = {"generator": "Scripts/make_metric_fixtures.py inception", "torch": torch.__version__,
            "images": json.dumps(INCEPTION_IMAGES), "blocks_image": str(INCEPTION_BLOCKS_IMAGE),
            "converted_keys": json.dumps({k: list(s) for k, s in sorted(expected.items())})}
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "inception.safetensors")
    save_file(tensors, path, metadata=meta)
    print(f"{path}: {os.path.getsize(path) / 1024:.0f} KiB")


def recipe_state_dict():
    """pytorch-fid's FID Inception state dict (torchvision keys, with fc) filled by the recipe."""
    import torch
    import pytorch_fid.inception as pfi
    fresh = pfi._inception_v3(num_classes=1008, aux_logits=False, weights=None).state_dict()
    return {k: v if k.endswith("num_batches_tracked") else torch.from_numpy(recipe_tensor(k, tuple(v.shape), *recipe_scale(k, tuple(v.shape))))
            for k, v in fresh.items()}


def folders():
    import pathlib
    import pytorch_fid.fid_score as fs
    import pytorch_fid.inception as pfi
    from PIL import Image
    from safetensors.numpy import save_file
    state = recipe_state_dict()
    pfi.load_state_dict_from_url = lambda *args, **kwargs: state
    root = os.path.join(OUT, "fid_folders")
    rng = np.random.default_rng(11)
    for name, count, shift in (("generated", 7, 0.0), ("reference", 6, 0.4)):
        folder = os.path.join(root, name)
        os.makedirs(folder, exist_ok=True)
        for f in os.listdir(folder):
            os.remove(os.path.join(folder, f))
        for i in range(count):
            h, w = (32, 32) if i % 3 else (24, 40)
            y, x = np.mgrid[0:h, 0:w] / 9.0
            img = np.stack([np.sin(x * (1 + rng.random()) + y * rng.random() + shift + c) * 0.5 + 0.5 for c in range(3)], -1)
            arr = (np.clip(img + 0.08 * rng.standard_normal(img.shape), 0, 1) * 255).round().astype(np.uint8)
            path = os.path.join(folder, f"{i:02d}.png")
            if i == 1:
                Image.fromarray(arr[..., 0], "L").save(path)
            elif i == 2:
                Image.fromarray(np.concatenate([arr, arr[..., :1]], -1), "RGBA").save(path)
            else:
                Image.fromarray(arr, "RGB").save(path)
    dims = 64
    paths = [os.path.join(root, "generated"), os.path.join(root, "reference")]
    fid = fs.calculate_fid_given_paths(paths, 1, "cpu", dims, num_workers=0)
    model = pfi.InceptionV3([pfi.InceptionV3.BLOCK_INDEX_BY_DIM[dims]]).eval()
    acts = [fs.get_activations(sorted(pathlib.Path(p).glob("*.png")), model, 1, dims, "cpu", 0).astype(np.float64) for p in paths]
    mu = [a.mean(0) for a in acts]
    sigma = [np.cov(a, rowvar=False) for a in acts]
    centred = [(a - a.mean(0)) / np.sqrt(len(a) - 1) for a in acts]
    exact = (((mu[0] - mu[1]) ** 2).sum() + np.trace(sigma[0]) + np.trace(sigma[1])
             - 2 * np.linalg.svd(centred[0] @ centred[1].T, compute_uv=False).sum())
    print(f"folders: pytorch-fid FID (dims {dims}) {fid!r}, exact {exact!r}")
    save_file({"fid": np.array([fid]), "exact": np.array([exact]), "generated.features": acts[0].astype(np.float32),
               "reference.features": acts[1].astype(np.float32)}, os.path.join(OUT, "fid_folders.safetensors"),
              metadata={"generator": "Scripts/make_metric_fixtures.py folders", "dims": str(dims)})


SECTIONS = {"frechet": frechet, "inception": inception, "folders": folders}

if __name__ == "__main__":
    wanted = sys.argv[1:] or list(SECTIONS)
    for w in wanted:
        if w not in SECTIONS:
            sys.exit(f"make_metric_fixtures: no section '{w}' (have: {', '.join(SECTIONS)})")
        SECTIONS[w]()
