#!/usr/bin/env python3
"""Computes the tiny EG3D fixture's intermediate feature image with the NumPy float64 reference and writes
Tests/Fixtures/eg3d/tiny128_features.safetensors, so the super-resolution can be tested on its own.

Inputs are the golden file Tests/Fixtures/eg3d/tiny128.safetensors (official EG3D, random weights): the G
weights, input.z, input.c_cond, input.c_render and the recorded renderer draws rand.stratified and
rand.importance. The reference's generator() is FFHQ-512-specific (8XDC super-resolution, 14 ws), so this
calls its mapping / synthesis_backbone / ray_sampler / render directly, and runs the tiny config's
SuperresolutionHybrid2X with the reference's layer functions. Every stage is compared with the golden
outputs (relative error max|a-b| / max|b|) and printed.

    pip install numpy safetensors
    python3 Scripts/make_eg3d_intermediates.py [path/to/reference/dir]   (default ../shared/reference)

Output keys: `features` (N, 32, R, R) float32, the renderer's feature image (image_raw = features[:, :3]),
and `ws_last` (N, 512), for convenience. Metadata records the errors measured here.
"""
import json
import os
import sys

import numpy as np
from safetensors.numpy import load_file, save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, "Tests", "Fixtures", "eg3d", "tiny128.safetensors")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "eg3d", "tiny128_features.safetensors")


def rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def superres_2x(ref, P, rgb, feat, w_last, clamp=256.0):
    """SuperresolutionHybrid2X: resize to 64, SynthesisBlockNoUp(32->128 at 64), SynthesisBlock(128->64 at 128)."""
    if feat.shape[-1] != 64:       # upsampling: antialias=True equals plain bilinear (spec §2.10)
        feat, rgb = ref.bilinear_resize(feat, 64), ref.bilinear_resize(rgb, 64)
    pre = "superresolution.block0"
    x = ref.synth_layer(P, pre + ".conv0", feat, w_last, noise_mode="none", clamp=clamp)
    x = ref.synth_layer(P, pre + ".conv1", x, w_last, noise_mode="none", clamp=clamp)
    img = rgb + ref.torgb(P, pre + ".torgb", x, w_last, clamp=clamp)
    pre = "superresolution.block1"
    x = ref.synth_layer(P, pre + ".conv0", x, w_last, up=True, noise_mode="none", clamp=clamp)
    x = ref.synth_layer(P, pre + ".conv1", x, w_last, noise_mode="none", clamp=clamp)
    return ref.upsample2d(img[None])[0] + ref.torgb(P, pre + ".torgb", x, w_last, clamp=clamp)


def main():
    ref_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "reference")
    sys.path.insert(0, os.path.abspath(ref_dir))
    import eg3d_numpy_reference as ref  # noqa: E402

    T = {k: v.astype(np.float64) for k, v in load_file(FIXTURE).items()}
    P = {k[2:]: v for k, v in T.items() if k.startswith("G.")}
    with open(FIXTURE, "rb") as f:
        header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    meta = header["__metadata__"]
    cfg, opts = json.loads(meta["config"]), json.loads(meta["rendering_kwargs"])
    N, R, S, Si, psi = cfg["N"], cfg["nrr"], cfg["S"], cfg["Si"], cfg["psi"]
    M = R * R
    res_list = [4, 8, 16, 32, 64, 128, 256]
    num_ws = 2 * len(res_list)

    z, c_cond, c_render = T["input.z"], T["input.c_cond"], T["input.c_render"]
    ws = ref.mapping(P, z, c_cond, num_ws, cfg["map_depth"], psi)
    errors = {"ws": rel(ws, T["out.ws"])}

    feats, planes_all, images, depths, wsums = [], [], [], [], []
    for n in range(N):
        planes = ref.synthesis_backbone(P, ws[n], res_list)                   # (96, 256, 256)
        planes_all.append(planes)
        c = c_render[n]
        o, d = ref.ray_sampler(c[:16].reshape(4, 4), c[16:].reshape(3, 3), R)
        jitter = T["rand.stratified"][n, :, :, 0]                             # (M, S)
        u_imp = T["rand.importance"][n * M:(n + 1) * M]                       # (M, Si)
        assert jitter.shape == (M, S) and u_imp.shape == (M, Si)
        comp, depth, wsum = ref.render(P, planes.reshape(3, 32, 256, 256), o, d, opts, jitter, u_imp)
        feat = comp.T.reshape(32, R, R)
        feats.append(feat)
        depths.append(depth.reshape(1, R, R)); wsums.append(wsum.reshape(1, R, R))
        images.append(superres_2x(ref, P, feat[:3], feat, ws[n, -1]))
    planes_all, feats, images = np.stack(planes_all), np.stack(feats), np.stack(images)
    errors["planes_every4"] = rel(planes_all[:, :, ::4, ::4], T["out.planes_every4"])
    errors["planes_sum"] = rel(planes_all.sum(axis=(2, 3)), T["out.planes_sum"])
    errors["image_raw"] = rel(feats[:, :3], T["out.image_raw"])
    mask = np.stack(wsums) >= 1e-4          # depth is ill-conditioned on empty rays (fixture README)
    errors["image_depth_nonempty_rays"] = rel(np.stack(depths)[mask], T["out.image_depth"][mask])
    errors["image"] = rel(images, T["out.image"])
    for k, v in errors.items():
        print(f"numpy reference vs official {k:28s} relative error {v:.3e}")

    save_file({"features": np.ascontiguousarray(feats, dtype=np.float32),
               "ws_last": np.ascontiguousarray(ws[:, -1], dtype=np.float32)}, OUT,
              metadata={"generator": "Scripts/make_eg3d_intermediates.py",
                        "reference": "shared/reference/eg3d_numpy_reference.py (float64)",
                        "source": "Tests/Fixtures/eg3d/tiny128.safetensors",
                        "errors_vs_official": json.dumps(errors)})
    print("wrote", OUT)


if __name__ == "__main__":
    main()
