#!/usr/bin/env python3
"""Reference fixtures for the metrics (Tests/Fixtures/metrics/). Sections, chosen on the command line
(default: all):

    python3 Scripts/make_metric_fixtures.py [frechet] [clip] [eval]
    python3 Scripts/make_metric_fixtures.py [frechet] [inception] [folders]

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
eval: an evaluation folder's MSC and R-precision (Tests/MetricsTests/EvalTests.swift), written as eval.safetensors:
    eval.images (5, 3, 3, 48, 64)  uint8 images / 255: 5 samples x their F, L15, R15 views (the test writes them
                                 as PNGs with the MSC camera labels and the captions eval.captions from the metadata)
    eval.scores (3, 5)           100 * cos(image, caption) per view and sample, transformers' CLIPModel on
                                 CLIPImageProcessor's 8-bit pipeline (48 x 64 only centre-crops) on clip/tiny_gelu,
                                 embeddings normalised in float64; eval.msc their mean, eval.msc_per_sample (5)
    eval.similarity (5, 5)       cos(frontal image i, caption j); eval.ranks (5) the true caption's rank when every
                                 other caption is a distractor (ties count against it), eval.rp the percent at rank 1
inception: pytorch-fid's InceptionV3([0, 1, 2, 3]) (FID Inception-v3) on weights and images made by the
RECIPE below, which Tests/MetricsTests/InceptionSupport.swift implements bit for bit, so the 21.8M weights are
not committed: the fixture holds only the outputs (2048-d features of three images of different sizes, and
the block 0/1/2 outputs of the 299x299 one). pytorch-fid's weights cannot be downloaded here, so its
`load_state_dict_from_url` is monkeypatched to return the recipe's state dict. The recipe's state dict also
goes through Scripts/convert_inception.py (as a .pth file) to check the converter and record the converted
key list in the fixture's metadata. Needs torch, torchvision, pytorch-fid, safetensors.

folders: two small folders of PNGs (Tests/Fixtures/metrics/fid_folders/{generated,reference}: RGB, grey,
RGBA, two sizes) and pytorch-fid's calculate_fid_given_paths on them (--dims 64, batch size 1 since the sizes
differ) with the recipe's weights; also the exact FID of the same features, whose tr((Σ1Σ2)^½) is the sum of
the singular values of A1·A2ᵀ (Ai the centred features / √(n−1)): scipy's sqrtm is only accurate to ~1e-6
on such rank-deficient covariances.

RECIPE (uint32 arithmetic wraps; float32 arithmetic, each operation rounded, no fused multiply-add):
    fnv1a32(s) = FNV-1a of the UTF-8 bytes of s (offset 0x811C9DC5, prime 0x01000193)
    mix32(x)   = lowbias32: x ^= x >> 16; x *= 0x7FEB352D; x ^= x >> 15; x *= 0x846CA68B; x ^= x >> 16
    u[i]       = float32(mix32(mix32(fnv1a32(key)) + i) >> 8) * 2^-23 - 1      in [-1, 1), i = 0..<count
    value[i]   = u[i] * a + b          (row-major over the tensor's shape; a, b float32)
  with (a, b) by key:
    *.conv.weight      a = float32(sqrt(6 / fan_in)), b = 0   (He-uniform, fan_in = in * kH * kW)
    *.bn.weight        a = 0.25, b = 1
    *.bn.bias          a = 0.1,  b = 0
    *.bn.running_mean  a = 0.1,  b = 0
    *.bn.running_var   a = 0.5,  b = 1
    fc.weight, fc.bias a = 0.01, b = 0   (unused by FID; pytorch-fid's loader needs them)
    image.<k>          a = 0.5,  b = 0.5 (an image in [0, 1), shape (1, 3, H, W))
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


EVAL_CAPTIONS = [
    "The woman has long blond hair and wears eyeglasses. She is smiling.",
    "This man has a grey beard and a receding hairline.",
    "A young person with short curly black hair and freckles.",
    "She has wavy brown hair, heavy makeup and earrings.",
    "An old bald man with bushy eyebrows and a big nose.",
]


def eval_fixture():
    """MSC and R-precision of a tiny evaluation folder, computed with transformers' CLIPModel / CLIPProcessor."""
    import torch
    import transformers
    from safetensors.torch import save_file
    from transformers import CLIPImageProcessor, CLIPModel, CLIPTokenizer

    folder = os.path.join(OUT, "clip_tiny")
    model = CLIPModel.from_pretrained(os.path.join(ROOT, "Tests", "Fixtures", "clip", "tiny_gelu"),
                                      attn_implementation="eager").eval()
    tokenizer = CLIPTokenizer.from_pretrained(folder)
    processor = CLIPImageProcessor.from_pretrained(folder)
    gen = torch.Generator().manual_seed(28)
    n = len(EVAL_CAPTIONS)
    images8 = torch.randint(0, 256, (n, 3, 3, 48, 64), generator=gen, dtype=torch.uint8)   # sample, view F/L15/R15
    with torch.no_grad():
        pixels = processor(images=list(images8.reshape(n * 3, 3, 48, 64)), return_tensors="pt")["pixel_values"]
        e_i = model.get_image_features(pixel_values=pixels).pooler_output.double()
        tok = tokenizer(EVAL_CAPTIONS, padding="max_length", max_length=77, return_tensors="pt")
        e_t = model.get_text_features(input_ids=tok["input_ids"], attention_mask=tok["attention_mask"]).pooler_output.double()
    e_i = (e_i / e_i.norm(dim=-1, keepdim=True)).reshape(n, 3, -1)
    e_t = e_t / e_t.norm(dim=-1, keepdim=True)
    scores = 100 * torch.einsum("nvd,nd->vn", e_i, e_t)            # (3 views, n samples): torchmetrics' formula
    similarity = e_i[:, 0] @ e_t.T                                  # frontal image i x caption j
    truth = similarity.diagonal()
    ranks = 1 + (similarity >= truth[:, None]).sum(dim=1) - 1       # every other caption is a distractor; ties count against
    t = {"eval.images": images8.float() / 255, "eval.scores": scores, "eval.msc": scores.mean().reshape(1),
         "eval.msc_per_sample": scores.mean(dim=0), "eval.similarity": similarity, "eval.ranks": ranks.double(),
         "eval.rp": (100 * (ranks == 1).double().mean()).reshape(1)}
    path = os.path.join(OUT, "eval.safetensors")
    save_file({k: v.contiguous() for k, v in t.items()}, path,
              metadata={"generator": "Scripts/make_metric_fixtures.py eval", "torch": torch.__version__,
                        "transformers": transformers.__version__, "eval.captions": json.dumps(EVAL_CAPTIONS)})
    print(f"eval: MSC {scores.mean().item():.8f}, ranks {ranks.tolist()}, R-P {t['eval.rp'].item():.2f}%; {path}")


INCEPTION_IMAGES = [(64, 64), (299, 299), (160, 200)]   # (H, W) of image.0, image.1, image.2
INCEPTION_BLOCKS_IMAGE = 1


def fnv1a32(s):
    h = 0x811C9DC5
    for byte in s.encode("utf-8"):
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def mix32(x):
    """lowbias32 on a numpy uint32 array (wrapping)."""
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x7FEB352D)
    x = x ^ (x >> np.uint32(15))
    x = x * np.uint32(0x846CA68B)
    return x ^ (x >> np.uint32(16))


def recipe_tensor(key, shape, a, b):
    n = int(np.prod(shape))
    with np.errstate(over="ignore"):
        base = mix32(np.array([fnv1a32(key)], dtype=np.uint32))[0]
        h = mix32(base + np.arange(n, dtype=np.uint32))
    u = (h >> np.uint32(8)).astype(np.float32) * np.float32(2.0 ** -23) - np.float32(1)
    return (u * np.float32(a) + np.float32(b)).reshape(shape)


def recipe_scale(key, shape):
    if key.endswith(".conv.weight"):
        return np.float32(np.sqrt(6.0 / float(np.prod(shape[1:])))), np.float32(0)
    for suffix, ab in ((".bn.weight", (0.25, 1)), (".bn.bias", (0.1, 0)), (".bn.running_mean", (0.1, 0)),
                       (".bn.running_var", (0.5, 1)), ("fc.weight", (0.01, 0)), ("fc.bias", (0.01, 0))):
        if key.endswith(suffix):
            return np.float32(ab[0]), np.float32(ab[1])
    raise KeyError(f"no recipe for {key}")


def inception():
    import tempfile
    import torch
    import pytorch_fid.inception as pfi
    from safetensors.numpy import save_file
    from safetensors.torch import load_file
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import convert_inception

    # pytorch-fid's own module graph, weights from the recipe (its download is replaced).
    state = recipe_state_dict()
    fresh = pfi._inception_v3(num_classes=1008, aux_logits=False, weights=None).state_dict()
    pfi.load_state_dict_from_url = lambda *args, **kwargs: state
    model = pfi.InceptionV3([0, 1, 2, 3]).eval()

    # The converter on the same weights saved as pytorch-fid's .pth would be.
    with tempfile.TemporaryDirectory() as tmp:
        pth, out = os.path.join(tmp, convert_inception.FID_FILE), os.path.join(tmp, "inception.safetensors")
        torch.save(state, pth)
        convert_inception.convert(pth, out)
        converted = load_file(out)
    expected = convert_inception.expected_shapes()
    assert {k: tuple(v.shape) for k, v in converted.items()} == expected, "converter keys differ from the architecture"
    for k, v in converted.items():
        assert torch.equal(v, state[k]), k
    torchvision_keys = {k: tuple(v.shape) for k, v in fresh.items() if not k.startswith("fc.") and "num_batches" not in k}
    assert torchvision_keys == expected, "EXPECTED table differs from torchvision's Inception3"

    tensors = {}
    with torch.no_grad():
        for i, (h, w) in enumerate(INCEPTION_IMAGES):
            image = torch.from_numpy(recipe_tensor(f"image.{i}", (1, 3, h, w), 0.5, 0.5))
            outputs = model(image)
            tensors[f"features.{i}"] = outputs[3].reshape(1, 2048).numpy()
            print(f"image.{i} {h}x{w}: features mean {outputs[3].mean():.4f} std {outputs[3].std():.4f}; block stds "
                  + ", ".join(f"{o.std():.3f}" for o in outputs))
            if i == INCEPTION_BLOCKS_IMAGE:
                for j in range(3):
                    tensors[f"block{j}.{i}"] = outputs[j].numpy()
    meta = {"generator": "Scripts/make_metric_fixtures.py inception", "torch": torch.__version__,
            "images": json.dumps(INCEPTION_IMAGES), "blocks_image": str(INCEPTION_BLOCKS_IMAGE),
            "converted_keys": json.dumps({k: list(s) for k, s in sorted(expected.items())})}
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "inception.safetensors")
    save_file(tensors, path, metadata=meta)
    print(f"{path}: {os.path.getsize(path) / 1024:.0f} KiB")


def recipe_state_dict():
    """pytorch-fid's FID Inception state dict (torchvision keys, with fc) filled by the recipe."""
    import torch
    import pytorch_fid.inception as pfi
    fresh = pfi._inception_v3(num_classes=1008, aux_logits=False, weights=None).state_dict()
    return {k: v if k.endswith("num_batches_tracked") else torch.from_numpy(recipe_tensor(k, tuple(v.shape), *recipe_scale(k, tuple(v.shape))))
            for k, v in fresh.items()}


def folders():
    import pathlib
    import pytorch_fid.fid_score as fs
    import pytorch_fid.inception as pfi
    from PIL import Image
    from safetensors.numpy import save_file
    state = recipe_state_dict()
    pfi.load_state_dict_from_url = lambda *args, **kwargs: state
    root = os.path.join(OUT, "fid_folders")
    rng = np.random.default_rng(11)
    for name, count, shift in (("generated", 7, 0.0), ("reference", 6, 0.4)):
        folder = os.path.join(root, name)
        os.makedirs(folder, exist_ok=True)
        for f in os.listdir(folder):
            os.remove(os.path.join(folder, f))
        for i in range(count):
            h, w = (32, 32) if i % 3 else (24, 40)
            y, x = np.mgrid[0:h, 0:w] / 9.0
            img = np.stack([np.sin(x * (1 + rng.random()) + y * rng.random() + shift + c) * 0.5 + 0.5 for c in range(3)], -1)
            arr = (np.clip(img + 0.08 * rng.standard_normal(img.shape), 0, 1) * 255).round().astype(np.uint8)
            path = os.path.join(folder, f"{i:02d}.png")
            if i == 1:
                Image.fromarray(arr[..., 0], "L").save(path)
            elif i == 2:
                Image.fromarray(np.concatenate([arr, arr[..., :1]], -1), "RGBA").save(path)
            else:
                Image.fromarray(arr, "RGB").save(path)
    dims = 64
    paths = [os.path.join(root, "generated"), os.path.join(root, "reference")]
    fid = fs.calculate_fid_given_paths(paths, 1, "cpu", dims, num_workers=0)
    model = pfi.InceptionV3([pfi.InceptionV3.BLOCK_INDEX_BY_DIM[dims]]).eval()
    acts = [fs.get_activations(sorted(pathlib.Path(p).glob("*.png")), model, 1, dims, "cpu", 0).astype(np.float64) for p in paths]
    mu = [a.mean(0) for a in acts]
    sigma = [np.cov(a, rowvar=False) for a in acts]
    centred = [(a - a.mean(0)) / np.sqrt(len(a) - 1) for a in acts]
    exact = (((mu[0] - mu[1]) ** 2).sum() + np.trace(sigma[0]) + np.trace(sigma[1])
             - 2 * np.linalg.svd(centred[0] @ centred[1].T, compute_uv=False).sum())
    print(f"folders: pytorch-fid FID (dims {dims}) {fid!r}, exact {exact!r}")
    save_file({"fid": np.array([fid]), "exact": np.array([exact]), "generated.features": acts[0].astype(np.float32),
               "reference.features": acts[1].astype(np.float32)}, os.path.join(OUT, "fid_folders.safetensors"),
              metadata={"generator": "Scripts/make_metric_fixtures.py folders", "dims": str(dims)})


SECTIONS = {"frechet": frechet, "clip": clip, "inception": inception, "folders": folders, "eval": eval_fixture}

if __name__ == "__main__":
    wanted = sys.argv[1:] or list(SECTIONS)
    for w in wanted:
        if w not in SECTIONS:
            sys.exit(f"make_metric_fixtures: no section '{w}' (have: {', '.join(SECTIONS)})")
        SECTIONS[w]()
