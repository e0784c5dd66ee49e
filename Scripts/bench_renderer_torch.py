#!/usr/bin/env python3
"""Times the official EG3D neural renderer (RaySampler + ImportanceRenderer + OSGDecoder) on the CPU, fp32, no
gradients, for one image at the FFHQ-512 setting (R = 128, 48 + 48 samples, random 1 x 3 x 32 x 256 x 256 planes):
the PyTorch peer of the renderer line of `dreamportrait bench generator` (same setting, random weights).

    python3 Scripts/bench_renderer_torch.py --eg3d /path/to/eg3d/eg3d [--threads 2] [--runs 3] [--resolution 128]

--eg3d is the eg3d/ folder of an NVlabs/eg3d checkout (holding training/, torch_utils/, dnnlib/; not part of this
project). Prints the best wall time and process CPU time per image and the peak resident memory (before and after).
"""
import argparse
import resource
import sys
import time


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--eg3d", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--resolution", type=int, default=128)
    p.add_argument("--samples", type=int, default=48, help="coarse and importance samples per ray")
    a = p.parse_args()
    sys.path.insert(0, a.eg3d)
    import torch
    from training.triplane import OSGDecoder
    from training.volumetric_rendering.ray_sampler import RaySampler
    from training.volumetric_rendering.renderer import ImportanceRenderer

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    opts = {"depth_resolution": a.samples, "depth_resolution_importance": a.samples, "ray_start": 2.25, "ray_end": 3.3,
            "box_warp": 1, "disparity_space_sampling": False, "clamp_mode": "softplus", "decoder_lr_mul": 1,
            "decoder_output_dim": 32}
    decoder = OSGDecoder(32, {"decoder_lr_mul": 1, "decoder_output_dim": 32})
    renderer, sampler = ImportanceRenderer(), RaySampler()
    planes = torch.randn(1, 3, 32, 256, 256)
    c = torch.tensor([[1, 0, 0, 0, 0, -1, 0, 0, 0, 0, -1, 2.7, 0, 0, 0, 1, 4.2647, 0, 0.5, 0, 4.2647, 0.5, 0, 0, 1]],
                     dtype=torch.float32)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    best_wall, best_cpu = float("inf"), float("inf")
    with torch.no_grad():
        for _ in range(a.runs):
            t0, c0 = time.perf_counter(), time.process_time()
            o, d = sampler(c[:, :16].view(-1, 4, 4), c[:, 16:].view(-1, 3, 3), a.resolution)
            feat, depth, _ = renderer(planes, decoder, o, d, opts)
            R = a.resolution
            feat.permute(0, 2, 1).reshape(1, 32, R, R).contiguous()
            best_wall = min(best_wall, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"torch {torch.__version__} threads {a.threads}: render R={a.resolution} {a.samples}+{a.samples}: "
          f"best wall {best_wall:.3f} s, best CPU {best_cpu:.3f} s; peak RSS {before:.0f} MiB before, {after:.0f} MiB after "
          f"(+{after - before:.0f} MiB)")


if __name__ == "__main__":
    main()
