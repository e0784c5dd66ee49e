// The sizes of the teacher stack trained on the synthetic world (64×64 images; a VAE with factor 4, so the
// U-Net works on 16×16×4 latents), chosen so that each part trains in about an hour or two on 2 CPU cores.
// Every size is the model's own config type, so `--config FILE.json` takes the Hugging Face / diffusers
// config.json of that part (the same files the trained folders contain).
import Teacher

public enum WorldTeacherSizes {
    /// Training image side for every teacher part.
    public static let imageSize = 64

    /// CLIP: text transformer 4 layers × 256 wide (its first 3 layers + final norm are the diffusion model's
    /// text encoder, as Stable Diffusion 2 uses the penultimate layer of OpenCLIP), ViT with 8×8 patches on
    /// 64×64 images (64 tokens + class), 4 layers × 192 wide, 256-d joint space.
    public static func clip(vocabularySize: Int, bos: Int, eos: Int, pad: Int) -> CLIPConfig {
        var c = CLIPConfig()
        c.textConfig.vocabSize = vocabularySize
        c.textConfig.hiddenSize = 256
        c.textConfig.intermediateSize = 1024
        c.textConfig.numHiddenLayers = 4
        c.textConfig.numAttentionHeads = 4
        c.textConfig.projectionDim = 256
        c.textConfig.bosTokenID = bos
        c.textConfig.eosTokenID = eos
        c.textConfig.padTokenID = pad
        c.textConfig.hiddenAct = .gelu
        c.visionConfig.hiddenSize = 192
        c.visionConfig.intermediateSize = 768
        c.visionConfig.numHiddenLayers = 4
        c.visionConfig.numAttentionHeads = 4
        c.visionConfig.imageSize = imageSize
        c.visionConfig.patchSize = 8
        c.visionConfig.projectionDim = 256
        c.visionConfig.hiddenAct = .gelu
        c.projectionDim = 256
        return c
    }

    /// VAE: 32/64/64 channels, two down-samplings (factor 4), one resnet per block, 4 latent channels
    /// (1.65 GFLOP per 64² image forward; 32/64/128 was 2.8 and ran at 2 images/s on one core).
    public static var vae: AutoencoderKLConfig {
        var c = AutoencoderKLConfig()
        c.downBlockTypes = ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"]
        c.upBlockTypes = ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"]
        c.blockOutChannels = [32, 64, 64]
        c.layersPerBlock = 1
        c.latentChannels = 4
        c.normNumGroups = 32
        c.sampleSize = imageSize
        return c
    }

    /// U-Net on 16×16×4 latents: 64/128/256 channels, cross-attention (heads of 32) at 16² and 8², a plain
    /// block at 4², a cross-attention mid block, text states of `crossAttentionDim`.
    public static func unet(crossAttentionDim: Int, latentChannels: Int = 4) -> UNet2DConditionConfig {
        var c = UNet2DConditionConfig()
        c.inChannels = latentChannels
        c.outChannels = latentChannels
        c.sampleSize = imageSize / 4
        c.downBlockTypes = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]
        c.upBlockTypes = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
        c.blockOutChannels = [64, 128, 256]
        c.layersPerBlock = .one(1)
        c.crossAttentionDim = .one(crossAttentionDim)
        c.attentionHeadDim = .many([2, 4, 8])
        c.useLinearProjection = true
        c.normNumGroups = 32
        return c
    }
}
