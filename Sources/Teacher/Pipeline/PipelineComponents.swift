// The three model roles of a latent-diffusion sampling pipeline (diffusers pipelines/stable_diffusion/
// pipeline_stable_diffusion.py: unet, text_encoder + tokenizer, vae), as protocols so that the sampling loop
// does not depend on which U-Net, text encoder or VAE fills them (SD 2.0-base's, or our own small teacher's).
import TensorCore

/// The denoiser: diffusers UNet2DConditionModel's forward(sample, timestep, encoder_hidden_states).sample.
public protocol NoisePredictor: AnyObject {
    /// Channels of the latents it denoises (4 for SD).
    var latentChannels: Int { get }
    /// latents (N, C, h, w), one diffusion timestep for the whole batch, text states (N, L, D)
    /// -> the model output (N, C, h, w): ε, v or x₀ as the scheduler's prediction_type says.
    func predictNoise(_ latents: Tensor, timestep: Int, textStates: Tensor) -> Tensor
    /// The latent side it was trained at (diffusers' unet.config.sample_size), if known.
    var sampleSize: Int? { get }
}

extension NoisePredictor {
    public var sampleSize: Int? { nil }
}

/// The text stack: CLIP tokenizer + CLIPTextModel's last hidden state (what SD's U-Net cross-attends to).
public protocol TextEncoding: AnyObject {
    /// prompts -> hidden states (N, L, D), N = prompts.count, L the padded token length (77 for CLIP).
    func encode(_ prompts: [String]) throws -> Tensor
}

/// The latent-to-image half of the VAE (AutoencoderKL conforms).
public protocol LatentDecoder: AnyObject {
    var latentChannels: Int { get }
    /// Image side / latent side (8 for SD).
    var downsamplingFactor: Int { get }
    /// Diffusion latents (N, C, h, w), still multiplied by the scaling factor -> images (N, 3, h·f, w·f)
    /// nominally in [-1, 1] (diffusers: vae.decode(latents / scaling_factor)).
    func decodeLatents(_ latents: Tensor) -> Tensor
}
