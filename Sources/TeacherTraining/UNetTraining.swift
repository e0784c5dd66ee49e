// The teacher's denoiser: a UNet2DConditionModel trained with ε-prediction on Stable Diffusion 2.0-base's
// schedule (scaled-linear betas 0.00085…0.012, 1000 steps), t uniform, conditioned by cross-attention on the
// frozen text encoder's states for a caption of either style (dropped to "" 10% of the time, for classifier-
// free guidance), on the frozen VAE's latents (posterior samples × the scaling factor measured on the data).
// An EMA of the weights (decay min(0.999, (1 + s)/(10 + s))) is what is exported and sampled.
import Codecs
import Foundation
import Teacher
import TensorCore
import Training

public final class UNetTrainer: TrainingTask {
    public let title = "teacher unet"
    public let unet: UNet2DConditionModel
    public let ema: UNet2DConditionModel
    public let text: CLIPTextEncoding
    public let vae: AutoencoderKL
    let schedule: NoiseSchedule
    /// Posterior means and log-variances of the training images, [N, 2·latent, h, w] (computed once).
    let posteriors: Tensor
    var data: WorldBatches
    let adam: Adam
    let optimiser: OptimiserSettings
    public var dropCaption = 0.1
    public var itemsPerStep: Int { data.size }
    /// Fixed prompts of the sample grid (written for the grid; not evaluation captions).
    public static let samplePrompts = [
        "A smiling woman with long blond hair.", "An old man with a grey beard and glasses.",
        "A young man with short black hair and a hat.", "The woman has red hair in a bun and wears earrings.",
    ]

    public init(config: UNet2DConditionConfig, text: CLIPTextEncoding, vae: AutoencoderKL, posteriors: Tensor, bank: WorldImageBank,
                batch: Int, steps: Int, seed: UInt64, optimiser: OptimiserSettings) throws {
        unet = try UNet2DConditionModel(config: config, rng: RandomGenerator(seed: seed))
        ema = try UNet2DConditionModel(config: config, rng: RandomGenerator(seed: seed))
        try ema.load(unet.stateDict())
        for p in ema.parameters() { p.requiresGrad = false }
        self.text = text; self.vae = vae; self.posteriors = posteriors
        schedule = try NoiseSchedule(config: .stableDiffusion2)
        data = WorldBatches(bank: bank, size: batch, steps: steps, seed: seed)
        self.optimiser = optimiser
        adam = Adam.adamW(unet.namedParameters(), lr: optimiser.lr, betas: (0.9, 0.999), weightDecay: optimiser.weightDecay)
    }

    /// The posterior parameters of every image of `bank` (batches of 32, no gradient): [N, 2·latent, h, w].
    public static func encodeAll(_ vae: AutoencoderKL, _ bank: WorldImageBank, progress: Bool) -> Tensor {
        withNoGrad {
            var parts: [Tensor] = []
            for start in stride(from: 0, to: bank.count, by: 32) {
                let idx = Array(start..<Swift.min(start + 32, bank.count))
                let p = vae.encode(bank.images(idx))
                parts.append(Tensor.concat([p.mean, p.logvar], axis: 1).contiguous())
                if progress && (start / 32) % 100 == 0 { FileHandle.standardError.write(Data("  encoded \(start + idx.count)/\(bank.count) images\n".utf8)) }
            }
            return Tensor.concat(parts, axis: 0).contiguous()
        }
    }

    public func step(_ step: Int) throws -> [String: Double] {
        let idx = data.indices(step)
        let g = data.random.generator("unet", step: step)
        let c = vae.config.latentChannels
        let params = posteriors.indexSelect(axis: 0, Tensor(idx.map(Float.init), shape: [idx.count]))
        let mean = params.slice(axis: 1, start: 0, end: c), logvar = params.slice(axis: 1, start: c, end: 2 * c)
        let z = (mean + (logvar.clamp(min: -30, max: 20) * 0.5).exp() * g.normal(mean.shape)) * vae.config.scalingFactor
        let noise = g.normal(z.shape)
        let t = (0..<idx.count).map { _ in g.integer(below: schedule.trainTimesteps) }
        let noisy = schedule.addNoise(z, noise: noise, timesteps: t)
        let prompts = idx.map { i -> String in
            if Double(g.uniform([1]).item()) < dropCaption { return "" }
            let pool = data.bank.captions[i] + data.bank.captionsOOD[i]
            return pool.isEmpty ? "" : pool[g.integer(below: pool.count)]
        }
        let states = try text.encode(prompts)
        let pred = unet(noisy, timestep: Tensor(t.map(Float.init), shape: [idx.count]), encoderHiddenStates: states)
        let d = pred - noise
        let loss = (d * d).mean()
        let lr = optimiser.rate(step: step, total: data.steps)
        let value = try optimise(loss, name: "loss/unet", model: unet, adam: adam, lr: lr, step: step, maxNorm: 1)
        updateEMA(ema, from: unet, beta: Swift.min(0.999, Double(1 + step) / Double(10 + step)))
        return ["loss/unet": value, "lr": lr]
    }

    public func checkpoint() throws -> (files: [String: [String: Tensor]], state: [String: Any]) {
        (checkpointFiles(["unet": unet, "unet_ema": ema], adam), ["part": "unet"])
    }

    public func restore(_ c: Checkpoint) throws { try restoreFiles(c, ["unet": unet, "unet_ema": ema], adam) }

    /// The sampling pipeline over the EMA weights.
    public func pipeline() throws -> StableDiffusionPipeline {
        StableDiffusionPipeline(unet: ema, textEncoder: text, vae: vae, scheduler: try DDIMScheduler(config: .stableDiffusion2))
    }

    public func samples() throws -> Image? {
        let size = vae.config.sampleSize
        let images = try withNoGrad {
            try pipeline()(prompts: UNetTrainer.samplePrompts, height: size, width: size, steps: 25, guidanceScale: 7.5, seed: 7)
        }
        return ContactSheet.make(TeacherImages.images(images * 2 - 1), columns: UNetTrainer.samplePrompts.count)
    }
}
