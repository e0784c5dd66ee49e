"""Section `pipeline` of Scripts/make_teacher_fixtures.py: a tiny random StableDiffusionPipeline in diffusers layout.

tiny-sd-pipeline/ is written by StableDiffusionPipeline.save_pretrained (safetensors) and holds, in miniature, what
Stable Diffusion 2.0-base's folder holds:
  unet/          UNet2DConditionModel: block_out_channels (16, 32), CrossAttnDownBlock2D + DownBlock2D, linear
                 projections, 2 and 4 heads (SD 2's attention_head_dim-as-head-count convention), cross-attention
                 to 32-d text states, 8 norm groups; norms and biases perturbed away from their defaults
  vae/           AutoencoderKL: block_out_channels (16, 32) (downsampling factor 2), 8 norm groups, latent 4,
                 scaling_factor 0.18215; norms perturbed
  text_encoder/  CLIPTextModel: vocab 1000, hidden 32, 2 layers, 2 heads, exact GELU, SD 2's token ids
                 (bos 0, eos 2: the legacy argmax pooling config); layer norms perturbed. Its model.safetensors is
                 rewritten in float16 after saving (as SD 2.0-base's fp16 files), from weights already rounded to
                 float16, so the reference below uses exactly the stored values
  tokenizer/     CLIPTokenizer over OpenAI CLIP's byte-level BPE cut to 1000 ids (256 bytes, 256 end-of-word
                 bytes, the first 486 merges, <|startoftext|> 998, <|endoftext|> 999), SD 2's special tokens:
                 padding with "!" (id 0), model_max_length 77
  scheduler/     DDIMScheduler with SD 2.0-base's schedule (scaled_linear 0.00085..0.012, steps_offset 1,
                 set_alpha_to_one false, clip_sample false, epsilon)
The folder is then loaded back with StableDiffusionPipeline.from_pretrained and run: 10 DDIM steps, guidance 7.5,
two prompts (the second longer than 77 tokens, so it is truncated) with two negative prompts, fixed initial latents,
16x16 images. tiny-sd-pipeline.io.safetensors keys:
  latents (2,4,8,8)            the initial latents passed as `latents=`
  input_ids, negative_input_ids (2,77)  the tokenizer's ids (padding="max_length", truncation=True)
  prompt_embeds, negative_prompt_embeds (2,77,32)  pipe.encode_prompt's text states
  final_latents (2,4,8,8)      output_type="latent"
  image (2,16,16,3)            output_type="np" (NHWC, in [0, 1])
  seq.<name> for the same run with guidance 1 (no unconditional branch), 3 steps: seq.final_latents, seq.image
Metadata: the prompts (JSON), steps, guidance, library versions.
"""
import gzip
import json
import os
import shutil

import diffusers
import torch
import transformers
from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
from safetensors.torch import load_file, save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from teacher_fixtures_unet import perturb   # norms and biases away from their defaults

PROMPTS = [
    "a portrait photo of a smiling woman with long red hair, studio light",
    "an old man with a grey beard and round glasses, wearing a dark blue coat and a wool scarf, standing in the "
    "rain at night under a street lamp, cinematic lighting, highly detailed, sharp focus, 85mm lens, bokeh",
]
NEGATIVES = ["blurry, low quality", "cartoon"]
STEPS, GUIDANCE, SIZE = 10, 7.5, 16

SD2_SCHEDULER = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                     clip_sample=False, set_alpha_to_one=False, steps_offset=1, prediction_type="epsilon")


def write_tokenizer(folder):
    """OpenAI CLIP's BPE cut to 1000 ids, with SD 2.0-base's tokenizer settings (pad "!")."""
    from open_clip.tokenizer import bytes_to_unicode, default_bpe
    merges = gzip.open(default_bpe()).read().decode("utf-8").split("\n")[1:1 + 486]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    assert len(vocab) == 1000 and len(set(vocab)) == 1000 and vocab[0] == "!"
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({v: i for i, v in enumerate(vocab)}, f, ensure_ascii=False, separators=(",", ":"))
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(merges) + "\n")
    special = lambda s: {"__type": "AddedToken", "content": s, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": special("<|startoftext|>"), "eos_token": special("<|endoftext|>"),
                   "unk_token": special("<|endoftext|>"), "pad_token": "!", "model_max_length": 77,
                   "do_lower_case": True, "tokenizer_class": "CLIPTokenizer"}, f, indent=2)


def build_pipeline(out):
    torch.manual_seed(0)
    folder = os.path.join(out, "tiny-sd-pipeline")
    scratch = os.path.join(out, ".tiny-sd-tokenizer")
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(scratch, ignore_errors=True)

    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, block_out_channels=(16, 32), layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        attention_head_dim=(2, 4), cross_attention_dim=32, use_linear_projection=True, norm_num_groups=8,
        flip_sin_to_cos=True, freq_shift=0,
    ).eval()
    perturb(unet, 1)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(16, 32), layers_per_block=1,
        latent_channels=4, norm_num_groups=8, sample_size=SIZE,
    ).eval()
    perturb(vae, 2)
    text_config = CLIPTextConfig(vocab_size=1000, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                 num_attention_heads=2, max_position_embeddings=77, hidden_act="gelu",
                                 bos_token_id=0, eos_token_id=2, pad_token_id=1)
    text = CLIPTextModel(text_config).eval()
    perturb(text, 3)
    with torch.no_grad():  # the stored text encoder is float16: round first, so the reference uses those values
        for p in text.parameters():
            p.copy_(p.half().float())
    write_tokenizer(scratch)
    tokenizer = CLIPTokenizer.from_pretrained(scratch)
    scheduler = DDIMScheduler(**SD2_SCHEDULER)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(folder, safe_serialization=True)
    shutil.rmtree(scratch)
    te = os.path.join(folder, "text_encoder", "model.safetensors")
    save_file({k: v.half().contiguous() for k, v in load_file(te).items()}, te, metadata={"format": "pt"})

    # Everything below runs on the folder as diffusers loads it.
    pipe = StableDiffusionPipeline.from_pretrained(folder, torch_dtype=torch.float32, safety_checker=None)
    pipe.set_progress_bar_config(disable=True)
    assert isinstance(pipe.scheduler, DDIMScheduler)
    assert all(p.dtype == torch.float32 for p in pipe.text_encoder.parameters())
    g = torch.Generator().manual_seed(4)
    latents = torch.randn(2, 4, SIZE // 2, SIZE // 2, generator=g)
    tok = lambda p: pipe.tokenizer(p, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
    with torch.no_grad():
        cond, uncond = pipe.encode_prompt(PROMPTS, "cpu", 1, True, NEGATIVES)
        args = dict(prompt=PROMPTS, negative_prompt=NEGATIVES, height=SIZE, width=SIZE,
                    num_inference_steps=STEPS, guidance_scale=GUIDANCE)
        final = pipe(**args, latents=latents.clone(), output_type="latent").images
        image = pipe(**args, latents=latents.clone(), output_type="np").images
        seq = dict(prompt=PROMPTS, height=SIZE, width=SIZE, num_inference_steps=3, guidance_scale=1.0)
        seq_final = pipe(**seq, latents=latents.clone(), output_type="latent").images
        seq_image = pipe(**seq, latents=latents.clone(), output_type="np").images
    t = {
        "latents": latents, "input_ids": tok(PROMPTS), "negative_input_ids": tok(NEGATIVES),
        "prompt_embeds": cond, "negative_prompt_embeds": uncond, "final_latents": final,
        "image": torch.from_numpy(image), "seq.final_latents": seq_final, "seq.image": torch.from_numpy(seq_image),
    }
    t = {k: v.detach().float().contiguous().clone() for k, v in t.items()}
    path = os.path.join(out, "tiny-sd-pipeline.io.safetensors")
    save_file(t, path, metadata={
        "generator": "Scripts/make_teacher_fixtures.py pipeline", "torch": torch.__version__,
        "diffusers": diffusers.__version__, "transformers": transformers.__version__,
        "prompts": json.dumps(PROMPTS), "negative_prompts": json.dumps(NEGATIVES),
        "steps": str(STEPS), "guidance": str(GUIDANCE), "seq.steps": "3", "seq.guidance": "1.0"})
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(folder) for f in fs)
    print(f"{folder}/: {total / 1024:.0f} KiB; {path}: {os.path.getsize(path) / 1024:.0f} KiB")
    for r, _, fs in sorted(os.walk(folder)):
        for f in sorted(fs):
            print(f"  {os.path.relpath(os.path.join(r, f), folder)}: {os.path.getsize(os.path.join(r, f)) / 1024:.1f} KiB")
