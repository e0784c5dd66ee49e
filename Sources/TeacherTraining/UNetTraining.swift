// The teacher's denoiser: a UNet2DConditionModel trained with ε-prediction on Stable Diffusion 2.0-base's
// schedule (scaled-linear betas 0.00085…0.012, 1000 steps), t uniform, conditioned by cross-attention on the
// text encoder's states for a caption of either style (dropped to "" 10% of the time, for classifier-free
// guidance), on the frozen VAE's latents (posterior samples × the scaling factor measured on the data). The
// text encoder is frozen unless `textTraining` (TextEncoderTraining.swift) trains it with the U-Net.
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
    /// The text encoding that goes with `ema`: `text` itself, or its EMA when the text encoder trains.
    public let emaText: CLIPTextEncoding
    public let textTraining: TextEncoderTraining?
    public let textHead: StatedAttributeHead?
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
                batch: Int, steps: Int, seed: UInt64, optimiser: OptimiserSettings, textTraining: TextEncoderTraining? = nil) throws {
        unet = try UNet2DConditionModel(config: config, rng: RandomGenerator(seed: seed))
        ema = try UNet2DConditionModel(config: config, rng: RandomGenerator(seed: seed))
        try ema.load(unet.stateDict())
        for p in ema.parameters() { p.requiresGrad = false }
        self.text = text; self.vae = vae; self.posteriors = posteriors
        self.textTraining = textTraining
        var trained = unet.namedParameters()
        if textTraining != nil {
            let copy = CLIPTextModel(text.textEncoder.config)
            try copy.load(text.textEncoder.stateDict())
            for p in copy.parameters() { p.requiresGrad = false }
            for p in text.textEncoder.parameters() { p.requiresGrad = true }
            emaText = CLIPTextEncoding(tokenizer: text.tokenizer, textEncoder: copy, clipSkip: text.clipSkip)
            let head = StatedAttributeHead(hidden: text.hiddenSize, rng: RandomGenerator(seed: seed ^ 0x7E47))
            textHead = head
            trained += text.textEncoder.namedParameters().map { ("text_encoder." + $0.0, $0.1) }
                + head.namedParameters().map { ("text_head." + $0.0, $0.1) }
        } else {
            emaText = text; textHead = nil
        }
        schedule = try NoiseSchedule(config: .stableDiffusion2)
        data = WorldBatches(bank: bank, size: batch, steps: steps, seed: seed)
        self.optimiser = optimiser
        // Groups in order of first appearance: the U-Net (×1), then the text encoder and head (× lrMultiplier).
        let multiplier = textTraining?.lrMultiplier ?? 1
        adam = Adam.adamW(trained, lr: optimiser.lr, betas: (0.9, 0.999), weightDecay: optimiser.weightDecay,
                          lrMultiplier: { $0.hasPrefix("text_") ? multiplier : 1 })
    }

    /// Everything the optimiser steps (the gradient check and clipping cover the text encoder when it trains).
    var trainedModules: Module {
        guard let textHead else { return unet }
        return ModuleGroup([("unet", unet), ("text_encoder", text.textEncoder), ("text_head", textHead)])
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
        let encoded = text.tokenizer.encode(batch: prompts)
        let states = textTraining == nil ? text.encode(ids: encoded.ids) : text.encodeDifferentiably(ids: encoded.ids)
        let pred = unet(noisy, timestep: Tensor(t.map(Float.init), shape: [idx.count]), encoderHiddenStates: states)
        let d = pred - noise
        let denoising = (d * d).mean()
        var loss = denoising
        var logged: [String: Double] = [:]
        if let textTraining, let textHead {
            let attributes = textHead.loss(states: states, attentionMask: encoded.attentionMask, prompts: prompts,
                                          impliedAbsent: textTraining.impliedAbsent)
            loss = loss + attributes * textTraining.attributeWeight
            logged = ["loss/epsilon": Double(denoising.item()), "loss/text_attributes": Double(attributes.item())]
        }
        let lr = optimiser.rate(step: step, total: data.steps)
        let scales = adam.groups.count > 1 ? [1, textTraining?.lrMultiplier ?? 1] : nil
        let value = try optimise(loss, name: "loss/unet", model: trainedModules, adam: adam, lr: lr, step: step, maxNorm: 1,
                                 groupScales: scales)
        let beta = Swift.min(0.999, Double(1 + step) / Double(10 + step))
        updateEMA(ema, from: unet, beta: beta)
        if textTraining != nil { updateEMA(emaText.textEncoder, from: text.textEncoder, beta: beta) }
        return logged.merging(["loss/unet": value, "lr": lr]) { $1 }
    }

    var networks: [String: Module] {
        guard let textHead else { return ["unet": unet, "unet_ema": ema] }
        return ["unet": unet, "unet_ema": ema, "text_encoder": text.textEncoder, "text_encoder_ema": emaText.textEncoder, "text_head": textHead]
    }

    public func checkpoint() throws -> (files: [String: [String: Tensor]], state: [String: Any]) {
        (checkpointFiles(networks, adam), ["part": "unet"])
    }

    public func restore(_ c: Checkpoint) throws { try restoreFiles(c, networks, adam) }

    /// The sampling pipeline over the EMA weights (the U-Net's, and the text encoder's when it trains).
    public func pipeline() throws -> StableDiffusionPipeline {
        StableDiffusionPipeline(unet: ema, textEncoder: emaText, vae: vae, scheduler: try DDIMScheduler(config: .stableDiffusion2))
    }

    public func samples() throws -> Image? {
        let size = vae.config.sampleSize
        let images = try withNoGrad {
            try pipeline()(prompts: UNetTrainer.samplePrompts, height: size, width: size, steps: 25, guidanceScale: 7.5, seed: 7)
        }
        return ContactSheet.make(TeacherImages.images(images * 2 - 1), columns: UNetTrainer.samplePrompts.count)
    }
}
