#!/usr/bin/env python3
"""Times the official EG3D generator forward on the CPU (random weights, fp32, reference ops) at the FFHQ-512
configuration (neural rendering resolution 128, 48+48 samples), for comparison with `dreamportrait bench generator`.

    python3 Scripts/bench_eg3d_torch.py --eg3d /path/to/eg3d/eg3d [--threads 2] [--runs 3] [--json]

--eg3d is the folder of an NVlabs/eg3d checkout that holds training/, torch_utils/ and dnnlib/ (the code is
not part of this project). Prints the best time per 512x512 image (wall and CPU seconds), the mean, the process's
peak resident memory (ru_maxrss, MiB) and the load average.
"""
import argparse
import json
import os
import resource
import sys
import time


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--eg3d", required=True, help="path to the eg3d/ folder of an NVlabs/eg3d checkout")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--resolution", type=int, default=128, help="neural rendering resolution")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    sys.path.insert(0, a.eg3d)
    import torch
    from training.triplane import TriPlaneGenerator  # noqa: E402

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    rendering_kwargs = {
        "image_resolution": 512, "disparity_space_sampling": False, "clamp_mode": "softplus",
        "superresolution_module": "training.superresolution.SuperresolutionHybrid8XDC",
        "c_gen_conditioning_zero": False, "gpc_reg_prob": 0.5, "c_scale": 1.0,
        "superresolution_noise_mode": "none", "density_reg": 0.25, "density_reg_p_dist": 0.004,
        "reg_type": "l1", "decoder_lr_mul": 1.0, "sr_antialias": True,
        "depth_resolution": 48, "depth_resolution_importance": 48, "ray_start": 2.25, "ray_end": 3.3,
        "box_warp": 1, "avg_camera_radius": 2.7, "avg_camera_pivot": [0, 0, 0.2],
    }
    G = TriPlaneGenerator(z_dim=512, c_dim=25, w_dim=512, img_resolution=512, img_channels=3,
                          sr_num_fp16_res=4, mapping_kwargs={"num_layers": 2}, rendering_kwargs=rendering_kwargs,
                          sr_kwargs={"channel_base": 32768, "channel_max": 512, "fused_modconv_default": "inference_only"},
                          channel_base=32768, channel_max=512, fused_modconv_default="inference_only").eval()
    G.neural_rendering_resolution = a.resolution
    z = torch.randn(1, 512)
    c = torch.tensor([[1, 0, 0, 0, 0, -1, 0, 0, 0, 0, -1, 2.7, 0, 0, 0, 1, 4.2647, 0, 0.5, 0, 4.2647, 0.5, 0, 0, 1]],
                     dtype=torch.float32)
    best, best_cpu, times = float("inf"), float("inf"), []
    with torch.no_grad():
        for _ in range(a.runs):
            t0, c0 = time.perf_counter(), time.process_time()
            out = G(z, c, noise_mode="const")
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            times.append(dt)
            if dt < best:
                best, best_cpu = dt, dc
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = [round(x, 2) for x in os.getloadavg()]
    result = {"name": "generator", "shape": f"FFHQ-512, R={a.resolution}, 48+48 samples", "seconds": round(best, 3),
              "mean_seconds": round(sum(times) / len(times), 3), "cpu_seconds": round(best_cpu, 3),
              "peak_rss_mb": round(peak_mb), "threads": a.threads, "image": list(out["image"].shape), "loadavg": load}
    print(json.dumps(result) if a.json else
          f"PyTorch {torch.__version__} EG3D generator forward: {best:.2f} s per image (CPU {best_cpu:.2f} s, "
          f"mean {result['mean_seconds']:.2f} s), peak RSS {peak_mb:.0f} MiB ({a.threads} threads, load average {load})")


if __name__ == "__main__":
    main()
