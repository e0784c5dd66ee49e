#!/usr/bin/env python3
"""Writes Tests/Fixtures/renderer_parity.safetensors: renderer test vectors from the independent NumPy float64
EG3D reference (shared/reference/eg3d_numpy_reference.py, written from docs/eg3d-spec.md), for the Swift
renderer tests (Tests/TriPlaneGANTests/RendererParityTests.swift).

    python3 Scripts/make_renderer_fixture.py [--reference ../shared/reference] [--scale 2.0]

Inputs: the tiny128 golden file (Tests/Fixtures/eg3d/tiny128.safetensors) for the decoder weights
(G.decoder.net.*) and the render cameras (input.c_render); smooth random planes 2 x 3 x 32 x 64 x 64 (seeded,
times --scale) and the decoder's sigma row times --sigma-gain, so that densities are peaky enough for the importance
sampler, nearly opaque and nearly empty rays to occur); random uniform draws.
Keys (float32):
  planes                      2 x 3 x 32 x 64 x 64
  decoder.net.{0,2}.{weight,bias}  tiny128's G.decoder.net.*, sigma row scaled by --sigma-gain
  cameras                     2 x 25 (= input.c_render)
  rays32.origins / directions 2 x 1024 x 3   ray_sampler at R = 32 (float64 reference)
  rays16.origins / directions 2 x 256 x 3    ray_sampler at R = 16; the render below uses exactly these
                                             float32 values
  rand.stratified             2 x 256 x S x 1   uniform draws of the stratified jitter
  rand.importance             512 x Si          uniform draws of sample_pdf
  render.depths_coarse        2 x 256 x S
  render.weights_coarse       2 x 256 x (S-1)
  render.depths_fine          2 x 256 x Si
  render.features             2 x 256 x 32     final feature (2 sum(w c) - 1)
  render.depth                2 x 256 x 1      depth clamped to the batch's min/max depth
  render.weight_sum           2 x 256 x 1
  points                      2 x 400 x 3      random points in [-0.6, 0.6]^3 (some outside the cube)
  points.features             2 x 3 x 400 x 32 grid_sample_bilinear per plane: (x,y), (x,z), (z,x)
  points.sigma, points.rgb    2 x 400 x 1, 2 x 400 x 32   run_model at the points
The depth clamp uses the min/max over every ray of both images, as the official renderer does for a batch.
"""
import argparse
import json
import os
import sys

import numpy as np
from safetensors.numpy import load_file, save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
S, SI, R_RENDER, R_RAYS, P = 12, 12, 16, 32, 400
OPTS = dict(depth_resolution=S, depth_resolution_importance=SI, ray_start=2.25, ray_end=3.3, box_warp=1.0)


def upsample(x, size):
    """Bilinear (align_corners=False, edge-clamped) resize of a square 2-D array to size x size."""
    n = x.shape[0]
    src = np.clip((np.arange(size) + 0.5) * n / size - 0.5, 0, n - 1)
    i0 = np.floor(src).astype(int); i1 = np.minimum(i0 + 1, n - 1); f = src - i0
    rows = x[i0] * (1 - f)[:, None] + x[i1] * f[:, None]
    return rows[:, i0] * (1 - f)[None] + rows[:, i1] * f[None]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", default=os.path.join(ROOT, "..", "shared", "reference"),
                    help="folder holding eg3d_numpy_reference.py")
    ap.add_argument("--scale", type=float, default=2.0, help="scale of the random planes")
    ap.add_argument("--sigma-gain", type=float, default=16.0,
                    help="multiplies the decoder's sigma row (net.2 weight row 0 and bias 0) for peakier densities")
    ap.add_argument("--out", default=os.path.join(ROOT, "Tests", "Fixtures", "renderer_parity.safetensors"))
    a = ap.parse_args()
    sys.path.insert(0, os.path.abspath(a.reference))
    import eg3d_numpy_reference as ref  # noqa: E402

    golden = load_file(os.path.join(ROOT, "Tests", "Fixtures", "eg3d", "tiny128.safetensors"))
    P64 = {k[2:]: golden[k].astype(np.float64) for k in golden if k.startswith("G.decoder.")}
    P64["decoder.net.2.weight"][0] *= a.sigma_gain
    P64["decoder.net.2.bias"][0] *= a.sigma_gain
    cams = golden["input.c_render"]
    N = cams.shape[0]
    rng = np.random.default_rng(20240611)
    # Smooth planes (a random 8 x 8 field, bilinearly upsampled) plus a little texel noise: peaky but smooth
    # densities keep the float32 rendering well conditioned (a 1e-4 shift of a fine depth must not move sigma by
    # much), as trained tri-planes are.
    coarse = rng.standard_normal((N, 3, 32, 8, 8))
    planes = (np.stack([[[upsample(c, 64) for c in plane] for plane in img] for img in coarse])
              + 0.1 * rng.standard_normal((N, 3, 32, 64, 64))) * a.scale
    planes = planes.astype(np.float32)
    out = {"planes": planes, "cameras": cams}
    for k, v in P64.items():
        out[k] = v.astype(np.float32)

    def rays(R):
        o, d = zip(*[ref.ray_sampler(c[:16].astype(np.float64).reshape(4, 4), c[16:].astype(np.float64).reshape(3, 3), R)
                     for c in cams])
        return np.stack(o), np.stack(d)

    o32, d32 = rays(R_RAYS)
    out["rays32.origins"], out["rays32.directions"] = o32.astype(np.float32), d32.astype(np.float32)
    o16, d16 = rays(R_RENDER)
    o16, d16 = o16.astype(np.float32), d16.astype(np.float32)
    out["rays16.origins"], out["rays16.directions"] = o16, d16
    M = R_RENDER * R_RENDER

    jitter = rng.random((N, M, S, 1)).astype(np.float32)
    u_imp = rng.random((N * M, SI)).astype(np.float32)
    out["rand.stratified"], out["rand.importance"] = jitter, u_imp

    # The reference render, batched over both images so that the depth clamp is global (ray_march is per ray
    # apart from the clamp, so all N*M rays are marched together).
    o, d = o16.astype(np.float64), d16.astype(np.float64)
    pl = planes.astype(np.float64)
    lin = np.linspace(OPTS["ray_start"], OPTS["ray_end"], S)
    t = lin[None, None] + jitter[..., 0].astype(np.float64) * (OPTS["ray_end"] - OPTS["ray_start"]) / (S - 1)   # N, M, S

    def model(depths):
        K = depths.shape[2]
        sig, rgb = [], []
        for n in range(N):
            pts = (o[n][:, None] + depths[n][..., None] * d[n][:, None]).reshape(-1, 3)
            s_, r_ = ref.run_model(P64, pl[n], pts, OPTS["box_warp"])
            sig.append(s_.reshape(M, K)); rgb.append(r_.reshape(M, K, -1))
        return np.concatenate(sig), np.concatenate(rgb)          # (N*M, K), (N*M, K, 32)

    tf_ = t.reshape(N * M, S)
    sig_c, rgb_c = model(t)
    _, _, w_c = ref.ray_march(rgb_c, sig_c, tf_)
    wp = np.concatenate([w_c[:, :1], np.maximum(w_c[:, :-1], w_c[:, 1:]), w_c[:, -1:]], 1)
    ws = (wp[:, :-1] + wp[:, 1:]) / 2 + 0.01
    tmid = (tf_[:, :-1] + tf_[:, 1:]) / 2
    t_fine = ref.sample_pdf(tmid, ws[:, 1:-1], u_imp.astype(np.float64))
    sig_f, rgb_f = model(t_fine.reshape(N, M, SI))
    T = np.concatenate([tf_, t_fine], 1)
    SG = np.concatenate([sig_c, sig_f], 1)
    RG = np.concatenate([rgb_c, rgb_f], 1)
    idx = np.argsort(T, 1, kind="stable")
    T = np.take_along_axis(T, idx, 1); SG = np.take_along_axis(SG, idx, 1)
    RG = np.take_along_axis(RG, idx[..., None], 1)
    comp, depth, wgt = ref.ray_march(RG, SG, T)
    wsum = wgt.sum(1)
    out["render.depths_coarse"] = tf_.reshape(N, M, S).astype(np.float32)
    out["render.weights_coarse"] = w_c.reshape(N, M, S - 1).astype(np.float32)
    out["render.depths_fine"] = t_fine.reshape(N, M, SI).astype(np.float32)
    out["render.features"] = comp.reshape(N, M, -1).astype(np.float32)
    out["render.depth"] = depth.reshape(N, M, 1).astype(np.float32)
    out["render.weight_sum"] = wsum.reshape(N, M, 1).astype(np.float32)

    # Tri-plane sampling and the decoder at random points.
    pts = rng.uniform(-0.6, 0.6, (N, P, 3)).astype(np.float32)
    out["points"] = pts
    feats, sigmas, rgbs = [], [], []
    for n in range(N):
        p = pts[n].astype(np.float64) * (2.0 / OPTS["box_warp"])
        X, Y, Z = p[:, 0], p[:, 1], p[:, 2]
        feats.append(np.stack([ref.grid_sample_bilinear(pl[n][0], X, Y), ref.grid_sample_bilinear(pl[n][1], X, Z),
                               ref.grid_sample_bilinear(pl[n][2], Z, X)]))
        s_, r_ = ref.run_model(P64, pl[n], pts[n].astype(np.float64), OPTS["box_warp"])
        sigmas.append(s_[:, None]); rgbs.append(r_)
    out["points.features"] = np.stack(feats).astype(np.float32)
    out["points.sigma"] = np.stack(sigmas).astype(np.float32)
    out["points.rgb"] = np.stack(rgbs).astype(np.float32)

    meta = {"generator": "Scripts/make_renderer_fixture.py", "reference": "shared/reference/eg3d_numpy_reference.py (float64)",
            "options": json.dumps(OPTS), "plane_scale": str(a.scale), "sigma_gain": str(a.sigma_gain)}
    save_file({k: np.ascontiguousarray(v) for k, v in out.items()}, a.out, metadata=meta)
    print(f"{a.out}: {os.path.getsize(a.out) / 1024:.0f} KiB; weight sum min/mean/max "
          f"{wsum.min():.4f}/{wsum.mean():.4f}/{wsum.max():.4f}; sigma range {SG.min():.2f}..{SG.max():.2f}")


if __name__ == "__main__":
    main()
