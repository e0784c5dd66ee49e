// Text-to-image sampling with a latent-diffusion teacher: diffusers StableDiffusionPipeline.__call__
// (pipelines/stable_diffusion/pipeline_stable_diffusion.py) with the DDIM scheduler: encode the prompt and
// the negative prompt, draw the initial latents, run the guided DDIM loop, decode, map [-1, 1] to [0, 1].
import TensorCore

public final class StableDiffusionPipeline {
    public let unet: NoisePredictor
    public let textEncoder: TextEncoding
    public let vae: LatentDecoder
    public var scheduler: DDIMScheduler

    public init(unet: NoisePredictor, textEncoder: TextEncoding, vae: LatentDecoder, scheduler: DDIMScheduler) {
        require(unet.latentChannels == vae.latentChannels,
                "StableDiffusionPipeline: the U-Net denoises \(unet.latentChannels) latent channels but the VAE has \(vae.latentChannels)")
        self.unet = unet
        self.textEncoder = textEncoder
        self.vae = vae
        self.scheduler = scheduler
    }

    /// The resolution the models were made for, as diffusers' default height and width:
    /// unet.config.sample_size × vae_scale_factor (512 when the U-Net does not say, SD 1/2's 64 × 8).
    public var defaultImageSize: Int { (unet.sampleSize ?? 64) * vae.downsamplingFactor }

    /// Generates one image per prompt.
    /// - Parameters:
    ///   - prompts: N prompts.
    ///   - negativePrompts: N negative prompts for the unconditional branch, or nil for "" (diffusers' default).
    ///   - height, width: image size, multiples of the VAE's downsampling factor.
    ///   - guidanceScale: classifier-free guidance s (off when ≤ 1).
    ///   - seed: draws the initial latents (and the η noise) from a counter-based generator; `latents`
    ///     (N, C, h, w) overrides the initial draw (diffusers' `latents=`).
    ///   - outputLatents: receives the final latents before decoding (diffusers' output_type="latent").
    ///   - progress: called after each denoising step with (steps done, total).
    /// - Returns: images (N, 3, height, width) in [0, 1].
    public func callAsFunction(prompts: [String], negativePrompts: [String]? = nil, height: Int = 512, width: Int = 512,
                               steps: Int = 50, guidanceScale: Float = 7.5, eta: Float = 0, seed: UInt64 = 0,
                               latents: Tensor? = nil, progress: ((Int, Int) -> Void)? = nil,
                               outputLatents: ((Tensor) -> Void)? = nil) throws -> Tensor {
        let f = vae.downsamplingFactor
        require(!prompts.isEmpty, "StableDiffusionPipeline: no prompts")
        require(height > 0 && width > 0 && height % f == 0 && width % f == 0,
                "StableDiffusionPipeline: size \(height)x\(width) must be positive multiples of \(f)")
        require(negativePrompts.map { $0.count == prompts.count } ?? true,
                "StableDiffusionPipeline: \(negativePrompts?.count ?? 0) negative prompts for \(prompts.count) prompts")
        let shape = [prompts.count, unet.latentChannels, height / f, width / f]
        let rng = RandomGenerator(seed: seed)
        // prepare_latents: the given or drawn noise, times the scheduler's init_noise_sigma.
        let start = (latents ?? rng.normal(shape)) * scheduler.initNoiseSigma
        require(start.shape == shape, "StableDiffusionPipeline: latents \(start.shape) must be \(shape)")
        let guided = guidanceScale > 1
        let (cond, uncond) = try withNoGrad {
            (try textEncoder.encode(prompts),
             guided ? try textEncoder.encode(negativePrompts ?? Array(repeating: "", count: prompts.count)) : nil)
        }
        let final = try sampleDDIM(latents: start, predictor: unet, scheduler: &scheduler, conditional: cond,
                                   unconditional: uncond, steps: steps, guidanceScale: guidanceScale, eta: eta,
                                   varianceNoise: { _ in rng.normal(shape) }, progress: progress)
        outputLatents?(final)
        return withNoGrad { (vae.decodeLatents(final) * 0.5 + 0.5).clamp(min: 0, max: 1) }
    }
}
