#!/usr/bin/env python3
"""Reference fixtures for the metrics (Tests/Fixtures/metrics/). Sections, chosen on the command line
(default: all):

    python3 Scripts/make_metric_fixtures.py [frechet] [clip]

frechet: random feature sets (well-conditioned and rank-deficient: fewer samples than dimensions) with
pytorch-fid's statistics (np.mean, np.cov(rowvar=False), float64) and calculate_frechet_distance, the scipy
sqrtm-based FID. Needs numpy, scipy, pytorch-fid (pip install pytorch-fid).

clip: CLIP score, MSC cameras (Tests/MetricsTests/CLIPMetricsTests.swift), written as
  clip_tiny/      a tokenizer and image-processor folder for the tiny random CLIP Tests/Fixtures/clip/tiny_gelu
                  (made by Scripts/make_clip_fixtures.py; vocab 1000, <|startoftext|> 998, <|endoftext|> 999):
                  vocab.json / merges.txt are OpenAI CLIP's byte-level BPE cut to its first 486 merges (256 bytes,
                  256 end-of-word bytes, 486 merges, the two special tokens = 1000 ids), tokenizer_config.json with
                  OpenAI's settings (pad = <|endoftext|>), preprocessor_config.json (shortest edge 48, crop 48).
  clip.safetensors
    tm.images (4, 3, 48, 64)     uint8 images / 255 (torchmetrics' CLIPScore expects 8-bit images; at 48 x 64 the
                                 processor only centre-crops, so its uint8 resize path is not involved)
    tm.ids (4, 77)               transformers CLIPTokenizer ids of the captions (padding="max_length")
    tm.pixel_values (4, 3, 48, 48)  transformers CLIPImageProcessor's output
    tm.scores (4)                torchmetrics' _clip_score_update per pair (100 * cos), the unclamped, unaveraged
                                 CLIP scores; tm.mean = CLIPScore().compute() = max(mean, 0)
    resize.images (3, 3, 72, 90) float images in [0, 1]
    resize.pixel_values (3, 3, 48, 48)  torch's antialiased bicubic resize of the shortest edge to 48 (width pass,
                                 then height pass, each clamped to [0, 1] as the 8-bit pipeline saturates), centre
                                 crop, CLIP normalisation
    resize.ids (3, 77), resize.scores (3)  100 * cos(get_image_features, get_text_features), torchmetrics' formula
    msc.labels (3, 25)           EG3D LookAtPoseSampler labels (float32, the official op order) of the MSC views:
                                 frontal (pi/2, pi/2), left (pi/2 + 15 deg), right (pi/2 - 15 deg), pivot (0, 0, 0.2),
                                 radius 2.7, focal 4.2647
  with the captions as JSON in the metadata (tm.captions, resize.captions). transformers 5's get_*_features return
  model outputs where torchmetrics 1.9 expects tensors: the model is wrapped to return pooler_output, nothing else
  changes. Needs torch, transformers, torchmetrics (pip install torchmetrics).
"""
import json
import math
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


CLIP_CAPTIONS_TM = [
    "a photo of a smiling woman with long blond hair",
    "An old man with a grey beard, wearing glasses.",
    "portrait of a young person; short curly hair & freckles!",
    "she has black hair and heavy makeup",
]
CLIP_CAPTIONS_RESIZE = [
    "a man with a moustache",
    "The woman is wearing earrings and lipstick.",
    "bald head, big nose, narrow eyes",
]


def write_tiny_clip_tokenizer(folder):
    import gzip
    from open_clip.tokenizer import bytes_to_unicode, default_bpe
    merges = gzip.open(default_bpe()).read().decode("utf-8").split("\n")[1:1 + 486]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    assert len(vocab) == 1000 and len(set(vocab)) == 1000
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({v: i for i, v in enumerate(vocab)}, f, ensure_ascii=False, separators=(",", ":"))
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(merges) + "\n")
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
                   "pad_token": "<|endoftext|>", "model_max_length": 77, "tokenizer_class": "CLIPTokenizer"}, f, indent=2)
    with open(os.path.join(folder, "preprocessor_config.json"), "w") as f:
        json.dump({"crop_size": {"height": 48, "width": 48}, "do_center_crop": True, "do_normalize": True,
                   "do_rescale": True, "do_resize": True, "image_mean": [0.48145466, 0.4578275, 0.40821073],
                   "image_processor_type": "CLIPImageProcessor", "image_std": [0.26862954, 0.26130258, 0.27577711],
                   "resample": 3, "rescale_factor": 1 / 255, "size": {"shortest_edge": 48}}, f, indent=2)


def lookat_label(yaw, pitch):
    """EG3D camera_utils.LookAtPoseSampler.sample(yaw, pitch, pivot, 2.7) + create_cam2world_matrix, float32."""
    import torch
    pivot = torch.tensor([0, 0, 0.2])
    r = 2.7
    h = torch.tensor([yaw], dtype=torch.float32)
    v = torch.clamp(torch.tensor([pitch], dtype=torch.float32), 1e-5, math.pi - 1e-5)
    theta = h
    v = v / math.pi
    phi = torch.arccos(1 - 2 * v)
    origin = torch.zeros((1, 3))
    origin[:, 0:1] = r * torch.sin(phi) * torch.cos(math.pi - theta)
    origin[:, 2:3] = r * torch.sin(phi) * torch.sin(math.pi - theta)
    origin[:, 1:2] = r * torch.cos(phi)
    fwd = pivot - origin
    fwd = fwd / torch.norm(fwd, dim=-1, keepdim=True)  # sample's normalize_vecs
    fwd = fwd / torch.norm(fwd, dim=-1, keepdim=True)  # create_cam2world_matrix normalises again
    up0 = torch.tensor([0, 1, 0], dtype=torch.float).expand_as(fwd)
    right = -torch.cross(up0, fwd, dim=-1)
    right = right / torch.norm(right, dim=-1, keepdim=True)
    up = torch.cross(fwd, right, dim=-1)
    up = up / torch.norm(up, dim=-1, keepdim=True)
    rot = torch.eye(4).unsqueeze(0)
    rot[:, :3, :3] = torch.stack((right, up, fwd), axis=-1)
    trans = torch.eye(4).unsqueeze(0)
    trans[:, :3, 3] = origin
    c2w = (trans @ rot)[0]
    k = torch.tensor([4.2647, 0, 0.5, 0, 4.2647, 0.5, 0, 0, 1], dtype=torch.float32)
    return torch.cat([c2w.reshape(16), k])


def clip():
    import torch
    import torch.nn.functional as F
    import torchmetrics
    import transformers
    from safetensors.torch import save_file
    from torchmetrics.functional.multimodal.clip_score import _clip_score_update
    from torchmetrics.multimodal import CLIPScore
    from transformers import CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    folder = os.path.join(OUT, "clip_tiny")
    write_tiny_clip_tokenizer(folder)
    model = CLIPModel.from_pretrained(os.path.join(ROOT, "Tests", "Fixtures", "clip", "tiny_gelu"),
                                      attn_implementation="eager").eval()
    tokenizer = CLIPTokenizer.from_pretrained(folder)
    image_processor = CLIPImageProcessor.from_pretrained(folder)
    assert tokenizer.bos_token_id == 998 and tokenizer.eos_token_id == 999 and tokenizer.pad_token_id == 999
    processor = CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer)

    class Features(torch.nn.Module):
        """transformers 5 returns model outputs from get_*_features; torchmetrics 1.9 expects the tensors."""
        def __init__(self, m):
            super().__init__()
            self.m, self.config = m, m.config

        def get_image_features(self, *a, **k):
            return self.m.get_image_features(*a, **k).pooler_output

        def get_text_features(self, *a, **k):
            return self.m.get_text_features(*a, **k).pooler_output

    wrapped = Features(model)
    gen = torch.Generator().manual_seed(11)
    t, meta = {}, {}

    # torchmetrics end to end on 8-bit images.
    images8 = torch.randint(0, 256, (4, 3, 48, 64), generator=gen, dtype=torch.uint8)
    with torch.no_grad():
        scores, n = _clip_score_update(list(images8), CLIP_CAPTIONS_TM, wrapped, processor)
        metric = CLIPScore(model_name_or_path=lambda: (wrapped, processor))
        metric.update(list(images8), CLIP_CAPTIONS_TM)
        mean = metric.compute()
    assert n == 4
    t["tm.images"] = images8.float() / 255
    t["tm.ids"] = tokenizer(CLIP_CAPTIONS_TM, padding="max_length", max_length=77, return_tensors="pt")["input_ids"].float()
    t["tm.pixel_values"] = processor(images=list(images8), return_tensors="pt")["pixel_values"]
    t["tm.scores"], t["tm.mean"] = scores.float(), mean.reshape(1).float()
    meta["tm.captions"] = json.dumps(CLIP_CAPTIONS_TM)
    print(f"clip tm: scores {scores.tolist()}, CLIPScore {mean.item():.6f}")

    # The formula on float images that need resizing (the float reference of the processor).
    images = torch.rand(3, 3, 72, 90, generator=gen)
    mean_c = torch.tensor([0.48145466, 0.4578275, 0.40821073]).reshape(1, 3, 1, 1)
    std_c = torch.tensor([0.26862954, 0.26130258, 0.27577711]).reshape(1, 3, 1, 1)
    # Width pass, then height pass, each saturated to [0, 1] as the 8-bit pipeline does (a one-axis antialiased
    # bicubic resize leaves the other axis unchanged: its weights at scale 1 are (0, 1, 0)).
    r = F.interpolate(images, size=(72, 60), mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)
    r = F.interpolate(r, size=(48, 60), mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)
    pixels = (r[:, :, :, 6:54] - mean_c) / std_c
    ids = tokenizer(CLIP_CAPTIONS_RESIZE, padding="max_length", max_length=77, return_tensors="pt")
    with torch.no_grad():
        e_i = model.get_image_features(pixel_values=pixels).pooler_output
        e_t = model.get_text_features(input_ids=ids["input_ids"], attention_mask=ids["attention_mask"]).pooler_output
        e_i = e_i / e_i.norm(p=2, dim=-1, keepdim=True)
        e_t = e_t / e_t.norm(p=2, dim=-1, keepdim=True)
        rs = 100 * (e_i * e_t).sum(axis=-1)
    t["resize.images"], t["resize.pixel_values"] = images, pixels.contiguous()
    t["resize.ids"], t["resize.scores"] = ids["input_ids"].float(), rs
    meta["resize.captions"] = json.dumps(CLIP_CAPTIONS_RESIZE)
    print(f"clip resize: scores {rs.tolist()}")

    yaw = 15 * math.pi / 180
    t["msc.labels"] = torch.stack([lookat_label(math.pi / 2 + d, math.pi / 2) for d in (0, yaw, -yaw)])

    path = os.path.join(OUT, "clip.safetensors")
    save_file({k: v.detach().float().contiguous() for k, v in t.items()}, path,
              metadata={"generator": "Scripts/make_metric_fixtures.py clip", "torch": torch.__version__,
                        "transformers": transformers.__version__, "torchmetrics": torchmetrics.__version__, **meta})
    print(f"{path}: {len(t)} tensors; {folder}")


SECTIONS = {"frechet": frechet, "clip": clip}

if __name__ == "__main__":
    wanted = sys.argv[1:] or list(SECTIONS)
    for w in wanted:
        if w not in SECTIONS:
            sys.exit(f"make_metric_fixtures: no section '{w}' (have: {', '.join(SECTIONS)})")
        SECTIONS[w]()
