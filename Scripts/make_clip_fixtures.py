#!/usr/bin/env python3
"""CLIP model fixtures for Tests/TeacherTests/CLIPModelTests.swift, written into Tests/Fixtures/clip/:

  tiny_quick/, tiny_gelu/   transformers CLIPModel folders (config.json + model.safetensors, save_pretrained):
                            small random-weight CLIPs with the block types of OpenAI CLIP and SD2's OpenCLIP
                            text encoder (pre-LN layers, causal text attention, several heads, projections).
                              tiny_quick: quick_gelu, eos_token_id 2 (legacy pooling at the largest id),
                                          text 64 wide x 3 layers x 4 heads, vision 32 px / 8 px patches, 64 x 2 x 4
                              tiny_gelu:  gelu, eos_token_id 999 (pooling at the first end token, rows padded
                                          with it as OpenAI's tokenizer does), text 64 x 2 x 2, vision 48 px /
                                          16 px patches, 48 x 2 x 3
  tiny_quick_io.safetensors, tiny_gelu_io.safetensors
                            inputs, outputs and gradients (keys below)
  text_v5/, text_v4/, vision_v5/
                            one tiny tower saved three ways: transformers 5 CLIPTextModel / CLIPVisionModel
                            (no text_model./vision_model. prefix) and transformers 4's layout (prefixed, with the
                            old position_ids buffer), plus text_formats_io.safetensors with their outputs

io keys: text.ids (B, 77), text.attention_mask, text.last_hidden_state, text.pooled (pooler_output),
text.last_hidden_state_masked / text.pooled_masked (with the attention mask), text.penultimate
(final_layer_norm(hidden_states[-2])) / text.penultimate_pooled (its rows at the pooling positions),
text.hidden_states_1, vision.pixel_values, vision.last_hidden_state, vision.pooled, clip.text_features /
clip.image_features (get_*_features), clip.text_embeds / clip.image_embeds / clip.logits_per_image
(CLIPModel.forward), and for gradients a random cotangent grad.<x>.r with
  grad.text.*          d sum(text last_hidden_state * r) / d (token_embedding.weight, layer-0 q_proj.weight,
                       final_layer_norm.weight)
  grad.vision.pixels   d sum(vision last_hidden_state * r) / d pixel_values
  grad.clip.*          d sum(logits_per_image * r) / d (pixel_values, logit_scale)

Weights are re-drawn at larger scales than transformers' init (normal(0, 1/sqrt(fan_in)) matrices, layer
norms 1 + 0.2 N(0,1)) so attention is far from uniform. Deterministic (torch.manual_seed). CPU, fp32, eager
attention. Usage: python3 Scripts/make_clip_fixtures.py
"""
import json
import os

import torch
import transformers
from safetensors.torch import save_file
from transformers import CLIPConfig, CLIPModel, CLIPTextConfig, CLIPTextModel, CLIPVisionConfig, CLIPVisionModel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "clip")


def redraw(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or "layrnorm" in name:
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith("logit_scale"):
                p.fill_(2.0)
            elif "embedding" in name and p.dim() <= 2:
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / fan_in ** 0.5)


def text_ids(gen, lengths, vocab, eos, pad, bos):
    rows = []
    for n in lengths:
        body = torch.randint(3, eos - 1, (n,), generator=gen).tolist()
        row = ([bos] + body + [eos])[:77]
        row[-1] = eos
        rows.append(row + [pad] * (77 - len(row)))
    ids = torch.tensor(rows)
    mask = torch.zeros_like(ids)
    for i, n in enumerate(lengths):
        mask[i, :min(n + 2, 77)] = 1
    return ids, mask


def pooled_rows(states, ids, eos):
    if eos == 2:
        pos = ids.to(torch.int).argmax(dim=-1)
    else:
        pos = (ids.to(torch.int) == eos).int().argmax(dim=-1)
    return states[torch.arange(states.shape[0]), pos]


def build(name, text_kw, vision_kw, projection_dim, seed, pad):
    gen = torch.Generator().manual_seed(seed)
    config = CLIPConfig(text_config=text_kw, vision_config=vision_kw, projection_dim=projection_dim)
    config._attn_implementation = "eager"
    torch.manual_seed(seed)
    model = CLIPModel(config).eval()
    redraw(model, gen)
    folder = os.path.join(OUT, name)
    model.save_pretrained(folder, safe_serialization=True)

    tc, vc = config.text_config, config.vision_config
    ids, mask = text_ids(gen, [5, 20, 90], tc.vocab_size, tc.eos_token_id if tc.eos_token_id != 2 else tc.vocab_size - 1,
                         pad, tc.vocab_size - 2)
    pixels = torch.randn(2, vc.num_channels, vc.image_size, vc.image_size, generator=gen)
    t = {"text.ids": ids.float(), "text.attention_mask": mask.float(), "vision.pixel_values": pixels}
    tm, vm = model.text_model, model.vision_model
    with torch.no_grad():
        out = tm(input_ids=ids, output_hidden_states=True)
        t["text.last_hidden_state"], t["text.pooled"] = out.last_hidden_state, out.pooler_output
        pen = tm.final_layer_norm(out.hidden_states[-2])
        t["text.penultimate"], t["text.penultimate_pooled"] = pen, pooled_rows(pen, ids, tc.eos_token_id)
        t["text.hidden_states_1"] = out.hidden_states[1]
        outm = tm(input_ids=ids, attention_mask=mask)
        t["text.last_hidden_state_masked"], t["text.pooled_masked"] = outm.last_hidden_state, outm.pooler_output
        vout = vm(pixel_values=pixels)
        t["vision.last_hidden_state"], t["vision.pooled"] = vout.last_hidden_state, vout.pooler_output
        t["clip.text_features"] = model.get_text_features(input_ids=ids).pooler_output
        t["clip.image_features"] = model.get_image_features(pixel_values=pixels).pooler_output
        full = model(input_ids=ids, pixel_values=pixels)
        t["clip.text_embeds"], t["clip.image_embeds"] = full.text_embeds, full.image_embeds
        t["clip.logits_per_image"] = full.logits_per_image

    # Gradients.
    r = torch.rand(t["text.last_hidden_state"].shape, generator=gen) * 2 - 1
    params = [tm.embeddings.token_embedding.weight, tm.encoder.layers[0].self_attn.q_proj.weight, tm.final_layer_norm.weight]
    g = torch.autograd.grad((tm(input_ids=ids).last_hidden_state * r).sum(), params)
    t["grad.text.r"] = r
    for key, gi in zip(["token_embedding", "q_proj0", "final_layer_norm"], g):
        t[f"grad.text.{key}"] = gi
    r = torch.rand(t["vision.last_hidden_state"].shape, generator=gen) * 2 - 1
    px = pixels.clone().requires_grad_(True)
    (g,) = torch.autograd.grad((vm(pixel_values=px).last_hidden_state * r).sum(), [px])
    t["grad.vision.r"], t["grad.vision.pixels"] = r, g
    r = torch.rand(t["clip.logits_per_image"].shape, generator=gen) * 2 - 1
    px = pixels.clone().requires_grad_(True)
    gp, gs = torch.autograd.grad((model(input_ids=ids, pixel_values=px).logits_per_image * r).sum(), [px, model.logit_scale])
    t["grad.clip.r"], t["grad.clip.pixels"], t["grad.clip.logit_scale"] = r, gp, gs.reshape(1)

    io = os.path.join(OUT, f"{name}_io.safetensors")
    save_file({k: v.detach().float().contiguous() for k, v in t.items()}, io,
              metadata={"generator": "Scripts/make_clip_fixtures.py", "transformers": transformers.__version__,
                        "torch": torch.__version__})
    print(f"{folder}: {sum(p.numel() for p in model.parameters())} parameters; {io}: {len(t)} tensors")


def build_formats(seed):
    gen = torch.Generator().manual_seed(seed)
    tc = CLIPTextConfig(vocab_size=100, hidden_size=16, intermediate_size=24, num_hidden_layers=2, num_attention_heads=2,
                        max_position_embeddings=77, hidden_act="gelu", eos_token_id=2, bos_token_id=98, pad_token_id=1)
    text = CLIPTextModel(tc).eval()
    redraw(text, gen)
    text.save_pretrained(os.path.join(OUT, "text_v5"), safe_serialization=True)
    # transformers 4's layout (Stable Diffusion 2's text_encoder): prefixed keys and the position_ids buffer.
    v4 = os.path.join(OUT, "text_v4")
    os.makedirs(v4, exist_ok=True)
    sd = {f"text_model.{k}": v.detach().contiguous() for k, v in text.state_dict().items()}
    sd["text_model.embeddings.position_ids"] = torch.arange(77).reshape(1, 77)
    save_file(sd, os.path.join(v4, "model.safetensors"), metadata={"format": "pt"})
    cfg = json.load(open(os.path.join(OUT, "text_v5", "config.json")))
    cfg["transformers_version"] = "4.25.0.dev0"
    cfg["architectures"] = ["CLIPTextModel"]
    json.dump(cfg, open(os.path.join(v4, "config.json"), "w"), indent=2)

    vc = CLIPVisionConfig(hidden_size=16, intermediate_size=24, num_hidden_layers=1, num_attention_heads=2, image_size=16,
                          patch_size=8, hidden_act="quick_gelu")
    vision = CLIPVisionModel(vc).eval()
    redraw(vision, gen)
    vision.save_pretrained(os.path.join(OUT, "vision_v5"), safe_serialization=True)

    ids, _ = text_ids(gen, [3, 10], 100, 99, 0, 98)
    pixels = torch.randn(2, 3, 16, 16, generator=gen)
    with torch.no_grad():
        t = {"text.ids": ids.float(), "text.last_hidden_state": text(input_ids=ids).last_hidden_state,
             "vision.pixel_values": pixels, "vision.pooled": vision(pixel_values=pixels).pooler_output}
    save_file({k: v.float().contiguous() for k, v in t.items()}, os.path.join(OUT, "text_formats_io.safetensors"),
              metadata={"generator": "Scripts/make_clip_fixtures.py", "transformers": transformers.__version__})
    print(f"{OUT}/text_v5, text_v4, vision_v5, text_formats_io.safetensors")


def build_image_processor(seed):
    """image_processor.safetensors: float images in [0, 1], torch's antialiased bicubic / bilinear resize of the
    shortest edge to 24 + centre crop 24 + CLIP normalisation (float reference), and transformers'
    CLIPImageProcessor on the same images quantised to uint8 (which rounds after resizing)."""
    import torch.nn.functional as F
    from transformers import CLIPImageProcessor
    gen = torch.Generator().manual_seed(seed)
    mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).reshape(1, 3, 1, 1)
    std = torch.tensor([0.26862954, 0.26130258, 0.27577711]).reshape(1, 3, 1, 1)
    t = {}
    for name, (h, w) in {"down": (40, 57), "up": (16, 21), "tall": (61, 30)}.items():
        img = torch.rand(2, 3, h, w, generator=gen)
        img = (img * 255).round() / 255  # exactly representable in uint8
        short, long = (w, h) if w <= h else (h, w)
        new_long = int(24 * long / short)
        size = (new_long, 24) if w <= h else (24, new_long)
        for mode in ["bicubic", "bilinear"]:
            r = F.interpolate(img, size=size, mode=mode, antialias=True, align_corners=False)
            top, left = int((size[0] - 24) / 2.0), int((size[1] - 24) / 2.0)
            t[f"{name}.{mode}"] = ((r[:, :, top:top + 24, left:left + 24] - mean) / std).contiguous()
        proc = CLIPImageProcessor(size={"shortest_edge": 24}, crop_size={"height": 24, "width": 24})
        hf = proc(images=[(x * 255).round().to(torch.uint8) for x in img], return_tensors="pt")["pixel_values"]
        t[f"{name}.image"], t[f"{name}.transformers"] = img, hf
    path = os.path.join(OUT, "image_processor.safetensors")
    save_file(t, path, metadata={"generator": "Scripts/make_clip_fixtures.py", "torch": torch.__version__,
                                 "transformers": transformers.__version__})
    print(f"{path}: {len(t)} tensors")


def main():
    os.makedirs(OUT, exist_ok=True)
    build_image_processor(seed=4)
    build("tiny_quick",
          dict(vocab_size=1000, hidden_size=64, intermediate_size=128, num_hidden_layers=3, num_attention_heads=4,
               max_position_embeddings=77, hidden_act="quick_gelu", eos_token_id=2, bos_token_id=998, pad_token_id=1),
          dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, image_size=32,
               patch_size=8, hidden_act="quick_gelu"),
          projection_dim=32, seed=1, pad=0)
    build("tiny_gelu",
          dict(vocab_size=1000, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=2,
               max_position_embeddings=77, hidden_act="gelu", eos_token_id=999, bos_token_id=998, pad_token_id=1),
          dict(hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=3, image_size=48,
               patch_size=16, hidden_act="gelu"),
          projection_dim=24, seed=2, pad=999)
    build_formats(seed=3)


if __name__ == "__main__":
    main()
