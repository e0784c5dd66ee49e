#!/usr/bin/env python3
"""Cross-checks Tests/Fixtures/renderer_parity.safetensors (made from the NumPy reference) against the official
EG3D renderer: runs NVlabs/eg3d's RaySampler and ImportanceRenderer + OSGDecoder (fp32, CPU) on the fixture's
planes, decoder weights and cameras, replaying the fixture's random draws, and prints the relative errors
max|official - fixture| / max|fixture| of rays, final feature, depth (rays with weight >= 1e-4) and weight sum.
With --out it also writes the official outputs (official.features, official.depth, official.weight_sum, float32)
and the official gradients of L = sum(features·R_f) + sum(depth·R_d) + sum(weight_sum·R_w) (grad.R_* hold the R
weights; grad.planes_c0_4 is the planes' gradient restricted to channels 0..3 of each plane; grad.decoder.net.*),
so that the Swift tests compare against the official code directly (Tests/Fixtures/renderer_official.safetensors).

    python3 Scripts/check_renderer_fixture_official.py --eg3d /path/to/eg3d/eg3d [--out Tests/Fixtures/renderer_official.safetensors]

--eg3d is the eg3d/ folder of an NVlabs/eg3d checkout (not part of this project; imported, not copied).
"""
import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eg3d", required=True)
    ap.add_argument("--fixture", default=os.path.join(ROOT, "Tests", "Fixtures", "renderer_parity.safetensors"))
    ap.add_argument("--out", help="write the official outputs to this safetensors file")
    a = ap.parse_args()
    sys.path.insert(0, a.eg3d)
    import torch
    from safetensors.torch import load_file, save_file
    from training.triplane import OSGDecoder
    from training.volumetric_rendering.ray_sampler import RaySampler
    from training.volumetric_rendering.renderer import ImportanceRenderer

    f = load_file(a.fixture)
    S = f["rand.stratified"].shape[2]
    Si = f["rand.importance"].shape[1]
    decoder = OSGDecoder(32, {"decoder_lr_mul": 1, "decoder_output_dim": 32})
    decoder.load_state_dict({k[len("decoder."):]: v for k, v in f.items() if k.startswith("decoder.")})
    opts = {"depth_resolution": S, "depth_resolution_importance": Si, "ray_start": 2.25, "ray_end": 3.3, "box_warp": 1,
            "disparity_space_sampling": False, "clamp_mode": "softplus"}

    def rel(x, y, mask=None):
        d = (x - y).abs()
        if mask is not None:
            d = d[mask]; y = y[mask]
        return (d.max() / y.abs().max()).item()

    cams = f["cameras"]
    for R in (32, 16):
        o, d = RaySampler()(cams[:, :16].view(-1, 4, 4), cams[:, 16:].view(-1, 3, 3), R)
        print(f"rays R={R}: origins {rel(o, f[f'rays{R}.origins']):.2e}, directions {rel(d, f[f'rays{R}.directions']):.2e}")

    # Replay: the stratified jitter is torch.rand_like, the importance draws torch.rand, in that order.
    real_rand_like, real_rand = torch.rand_like, torch.rand
    torch.rand_like = lambda t, **k: f["rand.stratified"].clone()
    torch.rand = lambda *s, **k: f["rand.importance"].clone()
    planes = f["planes"].clone().requires_grad_(True)
    try:
        feat, depth, wsum = ImportanceRenderer()(planes, decoder, f["rays16.origins"], f["rays16.directions"], opts)
    finally:
        torch.rand_like, torch.rand = real_rand_like, real_rand
    # Gradients of sum(feat·Rf) + sum(depth·Rd) + sum(wsum·Rw) (importance sampling is no_grad in the official code).
    g = torch.Generator().manual_seed(7)
    Rf, Rd, Rw = (torch.rand(t.shape, generator=g) * 2 - 1 for t in (feat, depth, wsum))
    loss = (feat * Rf).sum() + (depth * Rd).sum() + (wsum * Rw).sum()
    params = [planes] + [p for _, p in decoder.named_parameters()]
    grads = torch.autograd.grad(loss, params)
    feat, depth, wsum = feat.detach(), depth.detach(), wsum.detach()
    mask = f["render.weight_sum"] >= 1e-4
    print(f"render: features {rel(feat, f['render.features']):.2e}, depth {rel(depth, f['render.depth'], mask):.2e}, "
          f"weight sum {rel(wsum, f['render.weight_sum']):.2e}")
    if a.out:
        out = {"official.features": feat.contiguous(), "official.depth": depth.contiguous(),
               "official.weight_sum": wsum.contiguous(), "grad.R_features": Rf, "grad.R_depth": Rd, "grad.R_weight_sum": Rw,
               # The planes' gradient, channels 0..3 of every plane (enough to check, a tenth of the size).
               "grad.planes_c0_4": grads[0][:, :, :4].contiguous()}
        for (name, _), gr in zip(decoder.named_parameters(), grads[1:]):
            out[f"grad.decoder.{name}"] = gr.contiguous()
        save_file(out, a.out,
                  metadata={"generator": "Scripts/check_renderer_fixture_official.py", "torch": torch.__version__,
                            "source": "NVlabs/eg3d ImportanceRenderer + OSGDecoder + RaySampler, CPU fp32",
                            "inputs": "renderer_parity.safetensors (planes, decoder.*, rays16.*, rand.*)"})
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
