#!/usr/bin/env python3
"""One whole EG3D training iteration with the official code, recorded for the Swift parity test.

Runs NVlabs/eg3d's training/loss.py StyleGAN2Loss and training_loop.py's phase logic (Gmain, Greg, Dmain, Dreg
at batch_idx 0, lazy-regularisation Adam, nan_to_num, G_ema update) on the CPU in fp32, with the tiny128 weights
of Tests/Fixtures/eg3d/tiny128.safetensors (G and D), batch 2, at cur_nimg = 170000 (blur sigma 1.5, swap
probability 0.575 with blur_fade_kimg 200 and gpc_reg_fade_kimg 200). Every random draw is recorded and
replayed by the Swift test: latents, generator cameras, swap uniforms, the renderer's stratified and
importance uniforms, the density-regularisation points and perturbations. The synthesis layers' noise
(noise_mode random) is drawn here from a NumPy port of TensorCore's Philox RandomGenerator.normal (seed 1000 +
phase index, layers in forward order), so the Swift generator draws the same noise from RandomGenerator.

With --float64 it also runs every phase on its own from the initial parameters (so that no earlier phase's Adam
step, whose first update is lr·sign(g) and flips with the sign of a gradient at fp32's noise level, separates
the two codes' starting points), with the phase's recorded draws replayed, once in fp32 and once in float64
(the modules deep-copied and cast to double, torch.float32 aliased to float64 for the call, as
Scripts/eg3d_g_float64.py does), and writes both gradients the same way to
Tests/Fixtures/distill/eg3d_phases_float64.safetensors (`fp32.<phase>.grad.<param>`, `fp32.<phase>.gradmax.<param>`,
`fp64.<phase>.grad.<param>`): the exact gradients against which the Swift test measures both codes.

KINKS. A few of Gmain's ~6 M leaky-ReLU pre-activations v = conv + noise + bias lie closer to 0 than fp32 resolves,
so the slope an fp32 run takes there is decided by rounding; one such decision moves the sums over every pixel (the
noise strengths' and super-resolution biases' gradients) by up to ~1e-4. As Scripts/eg3d_g_float64.py does for the
generator alone, the float64 Gmain run records, per SynthesisLayer (official module name L), every v with
|v| < 1e-5 max|v|: `kink.Gmain.L.index` (k, 4) = (n, c, y, x) as float32, `kink.Gmain.L.pre` (k) the float64 values,
`kink.Gmain.L.cotangent` (k) = d (loss·gain) / d(act/slope), and `kink.Gmain.L.official` (k) the official fp32
run's own v there. Where an implementation takes slope s' instead of s, its gradients are the float64 ones plus the
gradient of sum((s' - s)·cotangent·v); the Swift test takes that shift out of ours and of the official gradients.
Greg records its kinks the same way (`kink.Greg.L.*`): its gradient reaches the planes only at the 2 x 1000
density points, so one pixel's slope decision there moves a synthesis gradient by up to a few percent of its
largest element (our Winograd convolution resolves one of Greg's 0.5 M pre-activations at 128² the other way).

MODULATION. By default G is built with fused_modconv_default = 'inference_only', as EG3D's train.py sets it
("speed up training by using regular convolutions instead of grouped convolutions"): while training, every modulated
convolution scales the input by the styles, convolves the batch with the shared weight and scales by the
demodulation, as TensorCore's training does (ModulationExecution.automatic at batch > 1). `--fused-modconv true`
gives the networks' own default (grouped convolutions always). The committed eg3d_phases_float64.safetensors is the
default's; the committed eg3d_step.safetensors (the whole iteration) was recorded with `--fused-modconv true` (ours
matches either: the two official runs differ only in rounding, which Adam's first sign step then amplifies):

    EG3D_PHASES_OUT=/tmp/unused.safetensors python3 Scripts/eg3d_training_step.py --eg3d DIR --fused-modconv true
    EG3D_STEP_OUT=/tmp/unused.safetensors python3 Scripts/eg3d_training_step.py --eg3d DIR --float64

Writes Tests/Fixtures/distill/eg3d_step.safetensors. To stay small it stores, for every parameter of the
phase's network, the gradient and the parameter after the Adam step at a fixed strided subset of elements
(stride max(1, numel // 128), from 0) plus the maximum |value| of the full tensor; G_ema after the update the
same way; the losses; the schedule values; every random input.

    python3 Scripts/eg3d_training_step.py [--eg3d /tmp/eg3d/eg3d] [--float64]
"""
import argparse
import copy
import json
import os
import sys

import numpy as np
import torch
from safetensors.numpy import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixturelib import near_kinks  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, "Tests", "Fixtures", "eg3d", "tiny128.safetensors")
OUT = os.environ.get("EG3D_STEP_OUT", os.path.join(ROOT, "Tests", "Fixtures", "distill", "eg3d_step.safetensors"))
OUT64 = os.environ.get("EG3D_PHASES_OUT", os.path.join(ROOT, "Tests", "Fixtures", "distill", "eg3d_phases_float64.safetensors"))
M32 = 0xFFFFFFFF


def philox(counter, stream, key):
    """Philox-4x32-10 of uint64 counters (array), as TensorCore's RandomGenerator.philox."""
    c = counter.astype(np.uint64)
    x0 = (c & M32).astype(np.uint64); x1 = (c >> np.uint64(32)).astype(np.uint64)
    x2 = np.full_like(x0, stream & M32); x3 = np.full_like(x0, stream >> 32)
    k0 = np.uint64(key & M32); k1 = np.uint64(key >> 32)
    for _ in range(10):
        p0 = np.uint64(0xD2511F53) * x0; p1 = np.uint64(0xCD9E8D57) * x2
        hi0, lo0 = p0 >> np.uint64(32), p0 & np.uint64(M32)
        hi1, lo1 = p1 >> np.uint64(32), p1 & np.uint64(M32)
        x0, x1, x2, x3 = hi1 ^ x1 ^ k0, lo1, hi0 ^ x3 ^ k1, lo0
        k0 = (k0 + np.uint64(0x9E3779B9)) & np.uint64(M32)
        k1 = (k1 + np.uint64(0xBB67AE85)) & np.uint64(M32)
    return np.stack([x0, x1, x2, x3], axis=-1).astype(np.uint32)


class PhiloxNormal:
    """RandomGenerator(seed).normal(shape), draw after draw (the counter advances by ceil(n / 4) blocks)."""
    def __init__(self, seed):
        self.seed, self.counter = seed, 0

    def normal(self, shape):
        n = int(np.prod(shape))
        blocks = (n + 3) // 4
        w = philox(np.arange(self.counter, self.counter + blocks, dtype=np.uint64), 1, self.seed)
        self.counter += blocks
        u = ((w >> 8).astype(np.float32) + np.float32(0.5)) * np.float32(2.0 ** -24)
        u1, u2 = u[:, 0::2], u[:, 1::2]                           # pairs (w0, w1), (w2, w3)
        rad = np.sqrt(np.float32(-2) * np.log(u1))
        th = np.float32(2 * np.float32(np.pi)) * u2
        out = np.stack([rad * np.cos(th), rad * np.sin(th)], axis=-1).reshape(-1)[:n]
        return torch.from_numpy(out.astype(np.float32).reshape(shape))


def sample(t):
    flat = t.detach().reshape(-1)
    k = max(1, flat.numel() // 128)
    return flat[::k].numpy().astype(np.float32).copy(), float(flat.abs().max())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eg3d", default=os.environ.get("EG3D_ROOT", "/tmp/eg3d/eg3d"))
    ap.add_argument("--float64", action="store_true", help=f"also write every phase from the initial parameters in fp32 and float64 to {OUT64}")
    ap.add_argument("--fused-modconv", default="inference_only", choices=["true", "inference_only"],
                    help="G's fused_modconv_default: inference_only (the committed fixtures: what EG3D's train.py sets, "
                         "grouped convolutions at inference and regular ones while training) or true (the networks' default)")
    a = ap.parse_args()
    sys.path.insert(0, a.eg3d)
    import training.loss as loss_mod
    import training.networks_stylegan2 as n2
    from training.triplane import TriPlaneGenerator
    from training.dual_discriminator import DualDiscriminator
    from camera_utils import LookAtPoseSampler
    from torch_utils import misc

    torch.manual_seed(0)
    fx = load_file(FIXTURE)
    from safetensors import safe_open
    meta = safe_open(FIXTURE, "np").metadata()
    cfg, rk = json.loads(meta["config"]), json.loads(meta["rendering_kwargs"])
    fused = True if a.fused_modconv == "true" else a.fused_modconv
    fused_kwargs = {} if fused is True else {"fused_modconv_default": fused, "sr_kwargs": {"fused_modconv_default": fused}}
    G = TriPlaneGenerator(z_dim=cfg["z_dim"], c_dim=25, w_dim=512, img_resolution=cfg["img_res"], img_channels=3,
                          mapping_kwargs={"num_layers": cfg["map_depth"]}, rendering_kwargs=rk, sr_num_fp16_res=4,
                          channel_base=cfg["cbase"], channel_max=cfg["cmax"],
                          **fused_kwargs).train().requires_grad_(False)
    G.load_state_dict({k[2:]: torch.from_numpy(v) for k, v in fx.items() if k.startswith("G.")}, strict=False)
    G.neural_rendering_resolution = cfg["nrr"]
    D = DualDiscriminator(c_dim=25, img_resolution=128, img_channels=3, channel_base=2048, channel_max=64,
                          epilogue_kwargs=dict(mbstd_group_size=2)).train().requires_grad_(False)
    D.load_state_dict({k[2:]: torch.from_numpy(v) for k, v in fx.items() if k.startswith("D.")}, strict=True)
    G_ema = copy.deepcopy(G).eval()

    N, batch, cur_nimg = 2, 2, 170000
    loss = loss_mod.StyleGAN2Loss(device="cpu", G=G, D=D, r1_gamma=1.0, blur_init_sigma=10, blur_fade_kimg=200,
                                  gpc_reg_prob=0.5, gpc_reg_fade_kimg=200, neural_rendering_resolution_initial=32,
                                  dual_discrimination=True, filter_mode="antialiased")
    phases = []
    for name, module, lr, interval in [("G", G, 0.0025, 4), ("D", D, 0.002, 16)]:
        r = interval / (interval + 1)
        opt = torch.optim.Adam(module.parameters(), lr=lr * r, betas=[0 ** r, 0.99 ** r], eps=1e-8)
        phases += [dict(name=name + "main", module=module, opt=opt, interval=1),
                   dict(name=name + "reg", module=module, opt=opt, interval=interval)]

    out = {}
    # Real images: uint8 values mapped as the training loop maps them; labels from LookAt poses.
    def label(yaw, pitch):
        p = LookAtPoseSampler.sample(np.pi / 2 + yaw, np.pi / 2 + pitch, torch.tensor([0, 0, 0.2]), radius=2.7)
        k = torch.tensor([[4.2647, 0, 0.5, 0, 4.2647, 0.5, 0, 0, 1]])
        return torch.cat([p.reshape(-1, 16), k], 1)[0]
    angles = torch.rand(10, 2) * torch.tensor([0.6, 0.3]) - torch.tensor([0.3, 0.15])
    labels = torch.stack([label(float(y), float(p)) for y, p in angles]).float()
    real_u8 = torch.randint(0, 256, (N, 3, 128, 128), dtype=torch.uint8)
    real_img = real_u8.to(torch.float32) / 127.5 - 1
    real_c = labels[:N]
    out["real.image_u8"] = real_u8.numpy().astype(np.float32)
    out["real.c"] = real_c.numpy()
    all_gen_z = torch.randn([len(phases) * batch, G.z_dim])
    all_gen_c = labels[N:N + len(phases) * batch]

    # Randomness capture.
    real_fns = dict(rand=torch.rand, rand_like=torch.rand_like, randn=torch.randn, randn_like=torch.randn_like)
    state = dict(log=[], noise=None, in_layer=0, layers=[], replay=None, replay_dtype=None)

    def wrap(name):
        def f(*args, **kwargs):
            if name == "randn" and state["in_layer"] > 0:
                shape = args[0] if len(args) == 1 and isinstance(args[0], (list, tuple)) else list(args)
                t = state["noise"].normal(list(shape))
                return t.to(state["replay_dtype"]) if state["replay"] is not None else t
            if state["replay"] is not None:                  # an isolated phase: the phase's recorded draws, in order
                kind, t = state["replay"].pop(0)
                assert kind == name, (kind, name)
                return t.to(state["replay_dtype"])
            t = real_fns[name](*args, **kwargs)
            state["log"].append((name, t.clone()))
            return t
        return f

    out64 = {}
    G0, D0 = copy.deepcopy(G), copy.deepcopy(D)              # the initial parameters

    from torch_utils.ops import bias_act as bias_act_mod
    real_bias_act = bias_act_mod.bias_act

    def isolated(p, i, module_name, gen_z, gen_c, gain):
        """The phase alone from the initial parameters, in fp32 and in float64, replaying its recorded draws.
        In float64, Gmain and Greg also record every SynthesisLayer's leaky-ReLU kinks (KINKS above)."""
        for tag, dtype in (("fp32", torch.float32), ("fp64", torch.float64)):
            Gx, Dx = copy.deepcopy(G0), copy.deepcopy(D0)
            if dtype == torch.float64:
                Gx, Dx = Gx.double(), Dx.double()
                Gx.renderer.plane_axes = Gx.renderer.plane_axes.double()
            pre = {}
            if p in ("Gmain", "Greg"):
                for name, m in Gx.named_modules():
                    if isinstance(m, n2.SynthesisLayer):
                        m._kink_name = name

                def recording_bias_act(x, b=None, dim=1, act="linear", alpha=None, gain=None, clamp=None, **kwargs):
                    layer = state["layers"][-1] if state["layers"] else None
                    if layer is None or act != "lrelu":
                        return real_bias_act(x, b, dim=dim, act=act, alpha=alpha, gain=gain, clamp=clamp, **kwargs)
                    v = x + b.reshape([1, -1, 1, 1])   # what _bias_act_ref computes first
                    v.retain_grad()
                    pre[layer] = v
                    return real_bias_act(v, None, dim=dim, act=act, alpha=alpha, gain=gain, clamp=clamp, **kwargs)
                bias_act_mod.bias_act = recording_bias_act
            lossx = loss_mod.StyleGAN2Loss(device="cpu", G=Gx, D=Dx, r1_gamma=1.0, blur_init_sigma=10, blur_fade_kimg=200,
                                           gpc_reg_prob=0.5, gpc_reg_fade_kimg=200, neural_rendering_resolution_initial=32,
                                           dual_discrimination=True, filter_mode="antialiased")
            module = Gx if module_name == "G" else Dx
            state["replay"], state["replay_dtype"], state["noise"] = list(state["log"]), dtype, PhiloxNormal(1000 + i)
            real_float32, real_float = torch.float32, torch.Tensor.float
            if dtype == torch.float64:
                torch.float32 = torch.float64
                torch.Tensor.float = lambda self, *a_, **k_: self.double()
                torch.set_default_dtype(torch.float64)          # the blur filter's arange
            try:
                module.requires_grad_(True)
                lossx.accumulate_gradients(phase=p, real_img=real_img.to(dtype), real_c=real_c.to(dtype), gen_z=gen_z.to(dtype),
                                           gen_c=gen_c.to(dtype), gain=gain, cur_nimg=cur_nimg)
            finally:
                torch.float32, torch.Tensor.float = real_float32, real_float
                torch.set_default_dtype(torch.float32)
                bias_act_mod.bias_act = real_bias_act
                leftover, state["replay"] = state["replay"], None
            if tag == "fp32":                         # the official fp32 run's own pre-activations, looked up below
                official_pre = {name: v.detach().numpy().copy() for name, v in pre.items()}
            for name, v in pre.items() if tag == "fp64" else ():
                found, near, vals = near_kinks(v.detach().numpy(), v.grad.numpy(), f"kink.{p}.{name}")
                out64.update(found)
                theirs = official_pre[name][tuple(near.T)]
                out64[f"kink.{p}.{name}.official"] = theirs.astype(np.float32)
                flips = int(((theirs > 0) != (vals > 0)).sum())
                print(f"  {p} float64 {name}: {len(vals)} pre-activations within 1e-5 max|v| of the kink; "
                      f"the official fp32 run took the other slope at {flips}")
            assert not leftover, f"{p}: {len(leftover)} recorded draws not replayed"
            for k, q in module.named_parameters():
                if q.grad is not None:
                    out64[f"{tag}.{p}.grad.{k}"], mx = sample(q.grad)
                    if tag == "fp32":
                        out64[f"fp32.{p}.gradmax.{k}"] = np.array([mx], dtype=np.float32)

    real_layer_forward = n2.SynthesisLayer.forward

    def layer_forward(self, *args, **kwargs):
        state["in_layer"] += 1
        state["layers"].append(getattr(self, "_kink_name", None))
        try:
            return real_layer_forward(self, *args, **kwargs)
        finally:
            state["in_layer"] -= 1
            state["layers"].pop()
    reports = {}
    real_report = loss_mod.training_stats.report
    real_l1 = torch.nn.functional.l1_loss

    def report(name, value):
        reports[name] = value.detach().clone() if torch.is_tensor(value) else value
        return real_report(name, value)

    def l1(a, b, *args, **kwargs):
        v = real_l1(a, b, *args, **kwargs)
        reports["density_tv"] = v.detach().clone()
        return v

    for n_, f in real_fns.items():
        setattr(torch, n_, wrap(n_))
    n2.SynthesisLayer.forward = layer_forward
    loss_mod.training_stats.report = report
    torch.nn.functional.l1_loss = l1
    try:
        for i, phase in enumerate(phases):
            p = phase["name"]
            gen_z, gen_c = all_gen_z[i * batch:(i + 1) * batch], all_gen_c[i * batch:(i + 1) * batch]
            out[f"{p}.z"], out[f"{p}.c"] = gen_z.numpy(), gen_c.numpy()
            state["log"], state["noise"] = [], PhiloxNormal(1000 + i)
            reports.clear()
            phase["opt"].zero_grad(set_to_none=True)
            phase["module"].requires_grad_(True)
            loss.accumulate_gradients(phase=p, real_img=real_img, real_c=real_c, gen_z=gen_z, gen_c=gen_c,
                                      gain=phase["interval"], cur_nimg=cur_nimg)
            phase["module"].requires_grad_(False)
            if a.float64:
                fp32_reports = dict(reports)                 # the isolated runs report their own losses
                isolated(p, i, p[0], gen_z, gen_c, phase["interval"])
                reports.clear()
                reports.update(fp32_reports)
            params = [q for q in phase["module"].parameters() if q.numel() > 0 and q.grad is not None]
            flat = torch.cat([q.grad.flatten() for q in params])
            misc.nan_to_num(flat, nan=0, posinf=1e5, neginf=-1e5, out=flat)
            for q, g in zip(params, flat.split([q.numel() for q in params])):
                q.grad = g.reshape(q.shape)
            for k, q in phase["module"].named_parameters():
                if q.grad is not None:
                    out[f"{p}.grad.{k}"], mx = sample(q.grad)
                    out[f"{p}.gradmax.{k}"] = np.array([mx], dtype=np.float32)
            phase["opt"].step()
            for k, q in phase["module"].named_parameters():
                out[f"{p}.param.{k}"], mx = sample(q)
                out[f"{p}.parammax.{k}"] = np.array([mx], dtype=np.float32)
            kinds = [(n_, tuple(t.shape)) for n_, t in state["log"]]
            print(p, "draws:", kinds)
            names = {"Gmain": ["swap", "stratified", "importance"], "Dmain": ["swap", "stratified", "importance"],
                     "Greg": ["swap", "points", "perturbation", "directions"], "Dreg": []}[p]
            assert len(names) == len(state["log"]), (p, kinds)
            for nm, (_, t) in zip(names, state["log"]):
                if nm != "directions":
                    out[f"{p}.rand.{nm}"] = t.numpy().astype(np.float32).reshape(-1) if nm == "swap" else t.numpy()
            for k, v in reports.items():
                out[f"{p}.loss.{k}"] = np.array([float(v.mean()) if torch.is_tensor(v) else float(v)], dtype=np.float32)
            print(p, {k: float(v.mean()) if torch.is_tensor(v) else v for k, v in reports.items()})
    finally:
        for n_, f in real_fns.items():
            setattr(torch, n_, f)
        n2.SynthesisLayer.forward = real_layer_forward
        loss_mod.training_stats.report = real_report
        torch.nn.functional.l1_loss = real_l1

    # G_ema (training_loop.py), then the buffer copy.
    ema_nimg = min(batch * 10 / 32 * 1000, cur_nimg * 0.05)
    ema_beta = 0.5 ** (batch / max(ema_nimg, 1e-8))
    with torch.no_grad():
        for p_ema, p in zip(G_ema.parameters(), G.parameters()):
            p_ema.copy_(p.lerp(p_ema, ema_beta))
        for b_ema, b in zip(G_ema.buffers(), G.buffers()):
            b_ema.copy_(b)
    for k, q in G_ema.named_parameters():
        out[f"ema.param.{k}"], mx = sample(q)
        out[f"ema.parammax.{k}"] = np.array([mx], dtype=np.float32)
    out["ema.w_avg"] = G_ema.backbone.mapping.w_avg.numpy().copy()
    blur_sigma = max(1 - cur_nimg / (200 * 1e3), 0) * 10
    alpha = min(cur_nimg / (200 * 1e3), 1)
    out["schedule"] = np.array([cur_nimg, blur_sigma, (1 - alpha) + alpha * 0.5, ema_beta], dtype=np.float64).astype(np.float32)
    out = {k: np.ascontiguousarray(v) for k, v in out.items()}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    save_file(out, OUT, metadata={"source": "NVlabs/eg3d at 7cf1fd1: training/loss.py StyleGAN2Loss + training_loop.py phases, CPU fp32",
                                  "cur_nimg": str(cur_nimg), "ema_beta": repr(ema_beta), "batch": str(batch),
                                  "sampling": "stride max(1, numel // 128) from 0; *max = max|full tensor|"})
    print("wrote", OUT, os.path.getsize(OUT), "bytes;", len(out), "tensors")
    if a.float64:
        for k in sorted(k for k in out64 if k.startswith("fp64.")):
            ref = out64[k.replace("fp64.", "fp32.", 1)].astype(np.float64)
            mx = float(out64[k.replace("fp64.", "fp32.", 1).replace(".grad.", ".gradmax.")][0])
            e = np.abs(ref - out64[k]).max() / max(mx, 1e-30)
            if e > 1e-4:
                print(f"  official fp32 vs float64, phase alone from the initial parameters: {e:.2e}  {k[5:]}")
        out64 = {k: np.ascontiguousarray(v) for k, v in out64.items()}
        save_file(out64, OUT64, metadata={"source": "NVlabs/eg3d at 7cf1fd1: each phase of eg3d_step.safetensors alone from "
                                                    "the initial parameters with its draws, in fp32 and in float64",
                                          "sampling": "as eg3d_step.safetensors", "fused_modconv_default": a.fused_modconv})
        print("wrote", OUT64, os.path.getsize(OUT64), "bytes;", len(out64), "tensors")


if __name__ == "__main__":
    main()
