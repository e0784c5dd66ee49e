"""Teacher parity fixtures: small random-weight models built with PyPI diffusers / transformers / open_clip,
saved in the diffusers / Hugging Face folder layout under Tests/Fixtures/teacher/, with inputs, outputs and the
gradients the Swift tests compare against.

Usage:  python3 Scripts/make_teacher_fixtures.py [section ...]     (no argument: every section)

One function per section, registered in SECTIONS; each writes only its own files:
  unet   UNet2DConditionModel (SD2-style: linear projections, per-block heads, cross-attention, DownBlock2D last;
         SD1-style: conv projections, one head count, odd latent size) + an fp16 copy
         -> teacher/unet_tiny/, teacher/unet_tiny_sd1/, teacher/unet_tiny_fp16/ and teacher/<name>.io.safetensors;
         and the shared blocks in their VAE configurations -> teacher/blocks.safetensors (see make_blocks)

I/O file keys (unet): sample, timestep, encoder_hidden_states, [encoder_attention_mask], temb (time embedding),
out, r (random cotangent), grad_sample and grad_encoder_hidden_states (d sum(out * r) / d input).
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEACHER = os.path.join(ROOT, "Tests", "Fixtures", "teacher")


def perturb(model, seed, norm_scale=0.2, bias_scale=0.05):
    """Makes norm affine parameters and biases non-trivial (default init has norms at 1/0)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if "norm" in name and name.endswith(".weight"):
                p.copy_(1 + norm_scale * noise)
            elif "norm" in name and name.endswith(".bias"):
                p.copy_(norm_scale * noise)
            elif name.endswith(".bias"):
                p.add_(bias_scale * noise)


def write_folder(model, path, fp16=False):
    """diffusers layout: config.json + diffusion_pytorch_model(.fp16).safetensors."""
    os.makedirs(path, exist_ok=True)
    for f in os.listdir(path):
        os.remove(os.path.join(path, f))
    model.save_pretrained(path, safe_serialization=True, variant="fp16" if fp16 else None)
    if fp16:
        # save_pretrained keeps the dtype; write the fp16 tensors explicitly.
        sd = {k: v.detach().half().contiguous() for k, v in model.state_dict().items()}
        save_file(sd, os.path.join(path, "diffusion_pytorch_model.fp16.safetensors"), metadata={"format": "pt"})


# ---------------------------------------------------------------- unet

UNET_VARIANTS = {
    # SD2-base structure in miniature: linear projections, heads per block (attention_head_dim is the head count
    # in SD 1/2 configs), cross-attention to 32-d text, a DownBlock2D last / UpBlock2D first, padded text masked.
    "unet_tiny": dict(
        config=dict(
            sample_size=16, in_channels=4, out_channels=4, block_out_channels=(32, 64), layers_per_block=1,
            down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
            attention_head_dim=(2, 4), cross_attention_dim=32, use_linear_projection=True, norm_num_groups=8,
            flip_sin_to_cos=True, freq_shift=0,
        ),
        hw=(16, 16), text_len=7, mask=True, seed=1,
    ),
    # SD1-style: 1x1 conv projections, one head count for all blocks, two layers per block, three levels, the other
    # timestep-feature convention, and a latent size that is not a multiple of 4 (explicit upsampling sizes).
    "unet_tiny_sd1": dict(
        config=dict(
            sample_size=16, in_channels=4, out_channels=4, block_out_channels=(16, 32, 32), layers_per_block=2,
            down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
            attention_head_dim=2, cross_attention_dim=24, use_linear_projection=False, norm_num_groups=8,
            flip_sin_to_cos=False, freq_shift=1,
        ),
        hw=(10, 14), text_len=5, mask=False, seed=2,
    ),
}


def unet_io(model, hw, text_len, mask, seed):
    from diffusers import UNet2DConditionModel  # noqa: F401
    g = torch.Generator().manual_seed(seed + 100)
    cfg = model.config
    sample = torch.randn((2, cfg.in_channels, *hw), generator=g).requires_grad_(True)
    timestep = torch.tensor([981, 37], dtype=torch.int64)
    text = torch.randn((2, text_len, cfg.cross_attention_dim), generator=g).requires_grad_(True)
    kwargs = {}
    io = {}
    if mask:
        m = torch.ones((2, text_len))
        m[1, text_len - 3:] = 0
        kwargs["encoder_attention_mask"] = m
        io["encoder_attention_mask"] = m
    out = model(sample, timestep, encoder_hidden_states=text, **kwargs).sample
    r = torch.rand(out.shape, generator=g) * 2 - 1
    gs, gt = torch.autograd.grad(out, [sample, text], r)
    with torch.no_grad():
        temb = model.time_embedding(model.time_proj(timestep).float())
    io.update(sample=sample, timestep=timestep.float(), encoder_hidden_states=text, temb=temb, out=out, r=r,
              grad_sample=gs, grad_encoder_hidden_states=gt)
    return {k: v.detach().float().contiguous().clone() for k, v in io.items()}


def make_unet():
    import diffusers
    from diffusers import UNet2DConditionModel

    for name, v in UNET_VARIANTS.items():
        torch.manual_seed(v["seed"])
        model = UNet2DConditionModel(**v["config"]).eval()
        perturb(model, v["seed"] + 10)
        path = os.path.join(TEACHER, name)
        write_folder(model, path)
        io = unet_io(model, v["hw"], v["text_len"], v["mask"], v["seed"])
        meta = {"generator": "Scripts/make_teacher_fixtures.py unet", "torch": torch.__version__,
                "diffusers": diffusers.__version__}
        save_file(io, os.path.join(TEACHER, f"{name}.io.safetensors"), metadata=meta)
        print(f"{path}: {sum(p.numel() for p in model.parameters())} parameters, out {tuple(io['out'].shape)}")
        if name == "unet_tiny":
            # fp16 weights: the expected outputs come from the fp16-rounded weights evaluated in fp32.
            half = UNet2DConditionModel(**v["config"]).eval()
            half.load_state_dict({k: t.half().float() for k, t in model.state_dict().items()})
            fpath = os.path.join(TEACHER, "unet_tiny_fp16")
            write_folder(half, fpath, fp16=True)
            os.remove(os.path.join(fpath, "diffusion_pytorch_model.safetensors")) if os.path.exists(
                os.path.join(fpath, "diffusion_pytorch_model.safetensors")) else None
            io16 = unet_io(half, v["hw"], v["text_len"], v["mask"], v["seed"])
            save_file(io16, os.path.join(TEACHER, "unet_tiny_fp16.io.safetensors"), metadata=meta)
            print(f"{fpath}: fp16 weights")


def make_blocks():
    """The shared blocks in the configurations the U-Net does not use but the VAE does: ResnetBlock2D without a time
    embedding (channel change, output_scale_factor 2), the VAE's spatial Attention (group_norm, residual connection,
    rescale_output_factor), Downsample2D with padding 0 (asymmetric pad) and Upsample2D to an explicit odd size.
    -> teacher/blocks.safetensors: <case>.<weight key> weights, <case>.x input, <case>.out, <case>.r, <case>.grad."""
    import diffusers
    from diffusers.models.attention_processor import Attention
    from diffusers.models.downsampling import Downsample2D
    from diffusers.models.resnet import ResnetBlock2D
    from diffusers.models.upsampling import Upsample2D

    torch.manual_seed(5)
    g = torch.Generator().manual_seed(6)
    cases = {
        "resnet": (ResnetBlock2D(in_channels=16, out_channels=24, temb_channels=None, groups=8, eps=1e-6,
                                 output_scale_factor=2.0), (2, 16, 9, 7), {}),
        "attention": (Attention(16, heads=2, dim_head=8, rescale_output_factor=2.0, eps=1e-6, norm_num_groups=4,
                                residual_connection=True, bias=True, upcast_softmax=True,
                                _from_deprecated_attn_block=True), (2, 16, 5, 6), {}),
        "downsample": (Downsample2D(16, use_conv=True, out_channels=12, padding=0, name="op"), (2, 16, 9, 8), {}),
        "upsample": (Upsample2D(16, use_conv=True, out_channels=12), (2, 16, 4, 5), {"output_size": (7, 9)}),
    }
    out = {}
    for name, (mod, shape, kwargs) in cases.items():
        mod.eval()
        perturb(mod, 7)
        x = torch.randn(shape, generator=g).requires_grad_(True)
        y = mod(x, **kwargs) if name != "resnet" else mod(x, None)
        r = torch.rand(y.shape, generator=g) * 2 - 1
        (gx,) = torch.autograd.grad(y, [x], r)
        for k, v in mod.state_dict().items():
            out[f"{name}.{k}"] = v.detach().float().contiguous()
        out.update({f"{name}.x": x.detach(), f"{name}.out": y.detach().contiguous(), f"{name}.r": r,
                    f"{name}.grad": gx.detach().contiguous()})
    os.makedirs(TEACHER, exist_ok=True)
    path = os.path.join(TEACHER, "blocks.safetensors")
    save_file(out, path, metadata={"generator": "Scripts/make_teacher_fixtures.py unet", "torch": torch.__version__,
                                   "diffusers": diffusers.__version__})
    print(f"{path}: {', '.join(cases)}")


SECTIONS = {
    "unet": lambda: (make_unet(), make_blocks()),
}


def main(argv):
    names = argv or list(SECTIONS)
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        sys.exit(f"unknown section(s) {unknown}; sections: {', '.join(SECTIONS)}")
    torch.set_num_threads(2)
    for n in names:
        SECTIONS[n]()


if __name__ == "__main__":
    main(sys.argv[1:])
