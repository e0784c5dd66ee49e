#!/usr/bin/env python3
"""Converts pytorch-fid's Inception weights to the safetensors file `dreamportrait eval --inception` reads.

    python3 Scripts/convert_inception.py pt_inception-2015-12-05-6726825d.pth inception-fid.safetensors

The input is pytorch-fid's FID weight file (a plain torch state dict), downloaded by the user from
https://github.com/mseitzer/pytorch-fid/releases/tag/fid_weights (the file FID_WEIGHTS_URL in
pytorch_fid/inception.py names). Keys keep their torchvision names ("Mixed_5b.branch_pool.conv.weight",
"Conv2d_1a_3x3.bn.running_var"); the 1008-class `fc.weight`/`fc.bias` head (unused by FID, which reads the
2048-d pool features) and the BatchNorm `num_batches_tracked` training counters are dropped. Every remaining
key and shape is checked against the architecture (EXPECTED below, FID Inception-v3 as pytorch-fid builds
it); the values are written as float32, unchanged. Needs torch and safetensors (pip install torch safetensors).
"""
import argparse
import hashlib
import os
import sys

FID_FILE = "pt_inception-2015-12-05-6726825d.pth"
FID_SHA256_PREFIX = "6726825d"   # torch.hub's check_hash prefix in the file name


def basic_conv(name, cin, cout, kh, kw=None):
    """torchvision BasicConv2d: conv (no bias) + BatchNorm2d."""
    kw = kh if kw is None else kw
    return [(f"{name}.conv.weight", (cout, cin, kh, kw))] + [
        (f"{name}.bn.{p}", (cout,)) for p in ("weight", "bias", "running_mean", "running_var")]


def block_a(n, cin, pool):
    return (basic_conv(f"{n}.branch1x1", cin, 64, 1) + basic_conv(f"{n}.branch5x5_1", cin, 48, 1)
            + basic_conv(f"{n}.branch5x5_2", 48, 64, 5) + basic_conv(f"{n}.branch3x3dbl_1", cin, 64, 1)
            + basic_conv(f"{n}.branch3x3dbl_2", 64, 96, 3) + basic_conv(f"{n}.branch3x3dbl_3", 96, 96, 3)
            + basic_conv(f"{n}.branch_pool", cin, pool, 1))


def block_b(n, cin):
    return (basic_conv(f"{n}.branch3x3", cin, 384, 3) + basic_conv(f"{n}.branch3x3dbl_1", cin, 64, 1)
            + basic_conv(f"{n}.branch3x3dbl_2", 64, 96, 3) + basic_conv(f"{n}.branch3x3dbl_3", 96, 96, 3))


def block_c(n, cin, c7):
    return (basic_conv(f"{n}.branch1x1", cin, 192, 1) + basic_conv(f"{n}.branch7x7_1", cin, c7, 1)
            + basic_conv(f"{n}.branch7x7_2", c7, c7, 1, 7) + basic_conv(f"{n}.branch7x7_3", c7, 192, 7, 1)
            + basic_conv(f"{n}.branch7x7dbl_1", cin, c7, 1) + basic_conv(f"{n}.branch7x7dbl_2", c7, c7, 7, 1)
            + basic_conv(f"{n}.branch7x7dbl_3", c7, c7, 1, 7) + basic_conv(f"{n}.branch7x7dbl_4", c7, c7, 7, 1)
            + basic_conv(f"{n}.branch7x7dbl_5", c7, 192, 1, 7) + basic_conv(f"{n}.branch_pool", cin, 192, 1))


def block_d(n, cin):
    return (basic_conv(f"{n}.branch3x3_1", cin, 192, 1) + basic_conv(f"{n}.branch3x3_2", 192, 320, 3)
            + basic_conv(f"{n}.branch7x7x3_1", cin, 192, 1) + basic_conv(f"{n}.branch7x7x3_2", 192, 192, 1, 7)
            + basic_conv(f"{n}.branch7x7x3_3", 192, 192, 7, 1) + basic_conv(f"{n}.branch7x7x3_4", 192, 192, 3))


def block_e(n, cin):
    return (basic_conv(f"{n}.branch1x1", cin, 320, 1) + basic_conv(f"{n}.branch3x3_1", cin, 384, 1)
            + basic_conv(f"{n}.branch3x3_2a", 384, 384, 1, 3) + basic_conv(f"{n}.branch3x3_2b", 384, 384, 3, 1)
            + basic_conv(f"{n}.branch3x3dbl_1", cin, 448, 1) + basic_conv(f"{n}.branch3x3dbl_2", 448, 384, 3)
            + basic_conv(f"{n}.branch3x3dbl_3a", 384, 384, 1, 3) + basic_conv(f"{n}.branch3x3dbl_3b", 384, 384, 3, 1)
            + basic_conv(f"{n}.branch_pool", cin, 192, 1))


def expected_shapes():
    """Key -> shape of the converted file (FID Inception-v3 without fc): 470 tensors, 21,820,000 values."""
    entries = (basic_conv("Conv2d_1a_3x3", 3, 32, 3) + basic_conv("Conv2d_2a_3x3", 32, 32, 3)
               + basic_conv("Conv2d_2b_3x3", 32, 64, 3) + basic_conv("Conv2d_3b_1x1", 64, 80, 1)
               + basic_conv("Conv2d_4a_3x3", 80, 192, 3)
               + block_a("Mixed_5b", 192, 32) + block_a("Mixed_5c", 256, 64) + block_a("Mixed_5d", 288, 64)
               + block_b("Mixed_6a", 288)
               + block_c("Mixed_6b", 768, 128) + block_c("Mixed_6c", 768, 160) + block_c("Mixed_6d", 768, 160)
               + block_c("Mixed_6e", 768, 192)
               + block_d("Mixed_7a", 768) + block_e("Mixed_7b", 1280) + block_e("Mixed_7c", 2048))
    return dict(entries)


class ConversionError(Exception):
    pass


def convert_state_dict(state):
    """Checks a pytorch-fid state dict and returns {key: float32 contiguous tensor} without fc/num_batches_tracked."""
    import torch
    if not isinstance(state, dict):
        raise ConversionError(f"expected a state dict (a dict of tensors), found {type(state).__name__}; "
                              f"is this pytorch-fid's {FID_FILE}?")
    if "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    expected = expected_shapes()
    if any(k.startswith("AuxLogits.") for k in state) or (
            "fc.weight" in state and tuple(state["fc.weight"].shape) == (1000, 2048)):
        raise ConversionError("this is torchvision's ImageNet Inception-v3 (AuxLogits, 1000-class fc), not pytorch-fid's "
                              f"FID Inception ({FID_FILE}); FID computed with it is not comparable to published FIDs")
    kept, problems = {}, []
    for k, v in state.items():
        if k.startswith("fc.") or k.endswith(".num_batches_tracked"):
            continue
        if k not in expected:
            problems.append(f"unexpected key {k}")
            continue
        if not torch.is_tensor(v) or not v.is_floating_point():
            problems.append(f"{k} is not a floating-point tensor")
            continue
        if tuple(v.shape) != expected[k]:
            problems.append(f"{k} has shape {tuple(v.shape)}, expected {expected[k]}")
            continue
        kept[k] = v.detach().to(torch.float32).contiguous()
    missing = sorted(set(expected) - set(state))
    if missing:
        problems.append(f"{len(missing)} missing keys: {', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}")
    if problems:
        raise ConversionError("not pytorch-fid's FID Inception weights: " + "; ".join(problems[:12])
                              + (f" (and {len(problems) - 12} more)" if len(problems) > 12 else ""))
    return kept


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def convert(src, dst):
    import torch
    from safetensors.torch import save_file
    if not os.path.isfile(src):
        raise ConversionError(f"{src}: no such file (download {FID_FILE} from "
                              "https://github.com/mseitzer/pytorch-fid/releases/tag/fid_weights)")
    digest = sha256(src)
    if not digest.startswith(FID_SHA256_PREFIX):
        print(f"warning: {src} has SHA-256 {digest[:16]}..., not the {FID_SHA256_PREFIX}... of {FID_FILE}; "
              "converting it anyway since its keys and shapes are checked", file=sys.stderr)
    try:
        state = torch.load(src, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - report any unpickling failure as a bad input file
        raise ConversionError(f"{src}: not a readable torch file ({e})") from e
    tensors = convert_state_dict(state)
    save_file(tensors, dst, metadata={"source": os.path.basename(src), "source_sha256": digest,
                                      "converter": "Scripts/convert_inception.py",
                                      "format": "pytorch-fid FID Inception-v3, torchvision keys, fc dropped"})
    return len(tensors), sum(t.numel() for t in tensors.values())


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source", help=f"pytorch-fid's {FID_FILE}")
    p.add_argument("destination", help="the .safetensors file to write")
    a = p.parse_args()
    try:
        n, values = convert(a.source, a.destination)
    except ConversionError as e:
        sys.exit(f"convert_inception: {e}")
    print(f"{a.destination}: {n} tensors, {values:,} float32 values")


if __name__ == "__main__":
    main()
