"""A randomly initialised, world-sized Stable Diffusion pipeline folder for `bench dsds` and Scripts/bench_dsds_torch.py
(U-Net 64/128/256 channels with cross-attention at the two lower resolutions, VAE 32/64/64 (factor 4), CLIP text
tower 3 x 256, the tiny fixture pipeline's tokenizer and scheduler): python3 Scripts/make_bench_teacher.py [OUT]."""
import sys
import torch
from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer
torch.manual_seed(0)
tiny = "Tests/Fixtures/teacher/tiny-sd-pipeline"
unet = UNet2DConditionModel(sample_size=16, in_channels=4, out_channels=4, layers_per_block=2,
    block_out_channels=(64, 128, 256), down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=256,
    attention_head_dim=(2, 4, 8), norm_num_groups=32, use_linear_projection=True)
vae = AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
    block_out_channels=(32, 64, 64), layers_per_block=2, latent_channels=4, norm_num_groups=32, sample_size=64)
pipe0 = StableDiffusionPipeline.from_pretrained(tiny, safety_checker=None, requires_safety_checker=False)
text = CLIPTextModel(CLIPTextConfig(vocab_size=1000, hidden_size=256, intermediate_size=1024, num_hidden_layers=3, num_attention_heads=4,
    max_position_embeddings=77, bos_token_id=0, eos_token_id=2, pad_token_id=1))
pipe = StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=pipe0.tokenizer, unet=unet, scheduler=pipe0.scheduler,
    safety_checker=None, feature_extractor=None, requires_safety_checker=False)
pipe.save_pretrained(sys.argv[1] if len(sys.argv) > 1 else "/tmp/world-teacher", safe_serialization=True)
print("ok")
