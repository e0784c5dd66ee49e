// The teacher's auto-encoder (AutoencoderKL, diffusers layout) trained on world images: reconstruction
// loss L1 + L2 on [-1, 1] pixels of a posterior sample, plus the KL term with weight 1e-6 relative to a
// per-image reconstruction sum (Stable Diffusion's autoencoder recipe without its perceptual term), and optionally
// its patch-adversarial term (PatchDiscriminator.swift: hinge loss, adaptive weight; `adversarial`). Samples:
// originals above reconstructions.
// Decoder-only fine-tuning (Stability's sd-vae-ft-mse recipe): from a trained VAE, the encoder and quant_conv frozen,
// so the latent space, and every U-Net trained on it, stays valid while the reconstructions improve.
import Codecs
import Foundation
import Teacher
import TensorCore
import Training

/// The patch-adversarial term's settings (SD's autoencoder: disc_weight 0.5, the same Adam as the autoencoder's).
public struct AdversarialSettings: Equatable {
    /// The weight on the adaptive λ (taming's disc_weight).
    public var weight: Float = 0.5
    /// The decoder feels the term from this step on; D trains from step 0 (taming's disc_start, for both).
    public var start: Int = 500
    /// D's peak learning rate (nil: the autoencoder's).
    public var lr: Double? = nil
    public init(weight: Float = 0.5, start: Int = 500, lr: Double? = nil) { self.weight = weight; self.start = start; self.lr = lr }
}

public final class VAETrainer: TrainingTask {
    public let title = "teacher vae"
    public let model: AutoencoderKL
    var data: WorldBatches
    let adam: Adam
    let optimiser: OptimiserSettings
    public var klWeight: Float = 1e-6
    /// Only `decoder.*` and `post_quant_conv.*` train (the KL term, a function of the encoder alone, is left out).
    public let decoderOnly: Bool
    public var itemsPerStep: Int { data.size }
    public let adversarial: AdversarialSettings?
    public let discriminator: PatchDiscriminator?
    let discriminatorAdam: Adam?

    /// - Parameter initial: a trained VAE to continue from (its config), instead of a fresh one of `config`.
    public init(config: AutoencoderKLConfig, initial: AutoencoderKL? = nil, decoderOnly: Bool = false, bank: WorldImageBank,
                batch: Int, steps: Int, seed: UInt64, optimiser: OptimiserSettings, adversarial: AdversarialSettings? = nil) throws {
        model = try initial ?? AutoencoderKL(config: config, rng: RandomGenerator(seed: seed))
        self.adversarial = adversarial
        if let adversarial {
            let d = PatchDiscriminator(inChannels: config.inChannels, rng: RandomGenerator(seed: seed &+ 0xD15C))
            discriminator = d
            discriminatorAdam = Adam(d.namedParameters(), lr: adversarial.lr ?? optimiser.lr, betas: (0.5, 0.9), eps: 1e-8)
        } else {
            discriminator = nil; discriminatorAdam = nil
        }
        self.decoderOnly = decoderOnly
        data = WorldBatches(bank: bank, size: batch, steps: steps, seed: seed)
        self.optimiser = optimiser
        var trained = model.namedParameters()
        if decoderOnly {
            for (name, p) in trained { p.requiresGrad = Self.isDecoder(name) }
            trained = trained.filter { Self.isDecoder($0.0) }
        }
        adam = Adam(trained, lr: optimiser.lr, betas: (0.5, 0.9), eps: 1e-8)
    }

    static func isDecoder(_ name: String) -> Bool { name.hasPrefix("decoder.") || name.hasPrefix("post_quant_conv.") }

    public func step(_ step: Int) throws -> [String: Double] {
        let idx = data.indices(step)
        let x = data.bank.images(idx)
        let posterior = decoderOnly ? withNoGrad { model.encode(x) } : model.encode(x)
        let noise = data.random.generator("posterior", step: step).normal(posterior.mean.shape)
        let recon = model.decode(posterior.sample(noise: noise))
        let diff = recon - x
        let l1 = diff.abs().mean(), l2 = (diff * diff).mean()
        let kl = posterior.kl().mean()
        // KL per image weighted as Stable Diffusion's (its reconstruction term is a per-image sum; ours is a mean).
        var loss = decoderOnly ? l1 + l2 : l1 + l2 + kl * (klWeight / Float(x.count / idx.count))
        let lr = optimiser.rate(step: step, total: data.steps)
        var logged: [String: Double] = [:]
        if let adversarial, let discriminator, let discriminatorAdam {
            // Decoder: + λ·(−mean D(x̂)), λ adaptive and constant within the step (D's parameters get this
            // backward's gradient too, and it is zeroed before D's own step below).
            let fake = discriminator(recon)
            let gLoss = AdversarialTerm.generatorLoss(fake)
            if step >= adversarial.start {
                let lambda = AdversarialTerm.lambda(recon: recon, reconstructionLoss: l1 + l2, adversarialLoss: gLoss,
                                                    weight: adversarial.weight)
                loss = loss + gLoss * lambda
                logged["adv/lambda"] = Double(lambda)
            }
            logged["loss/g_adv"] = Double(gLoss.item())
            let value = try optimise(loss, name: "loss/vae", model: model, adam: adam, lr: lr, step: step)
            // D: hinge loss on the real images and the (detached) reconstructions of this step.
            let dLoss = AdversarialTerm.discriminatorLoss(real: discriminator(x), fake: discriminator(recon.detach()))
            let dLR = (adversarial.lr ?? optimiser.lr) / optimiser.lr * lr
            logged["loss/d"] = try optimise(dLoss, name: "loss/d", model: discriminator, adam: discriminatorAdam, lr: dLR, step: step)
            logged["loss/vae"] = value
        } else {
            logged["loss/vae"] = try optimise(loss, name: "loss/vae", model: model, adam: adam, lr: lr, step: step)
        }
        let mse = Double(l2.item()) / 4 // [-1, 1] -> [0, 1]
        return logged.merging(["loss/l1": Double(l1.item()), "psnr": -10 * log10(Swift.max(mse, 1e-12)), "kl": Double(kl.item())]) { $1 }
    }

    public func checkpoint() throws -> (files: [String: [String: Tensor]], state: [String: Any]) {
        var files = checkpointFiles(["model": model], adam)
        if let discriminator, let discriminatorAdam {
            files["discriminator"] = discriminator.stateDict()
            files["discriminator_adam"] = discriminatorAdam.stateDict()
        }
        return (files, ["part": "vae"])
    }

    public func restore(_ c: Checkpoint) throws {
        try restoreFiles(c, ["model": model], adam)
        guard let discriminator, let discriminatorAdam else { return }
        guard let d = c.files["discriminator"], let da = c.files["discriminator_adam"] else {
            throw FileError(path: "checkpoint at step \(c.step)", message: "has no discriminator or discriminator_adam file (a run without --adversarial-weight)")
        }
        try discriminator.load(d)
        try discriminatorAdam.loadStateDict(da)
    }

    /// Mean PSNR (dB, [0, 1] range) of posterior-mean reconstructions of `count` images of `bank`.
    public func psnr(_ bank: WorldImageBank, count: Int) -> Double {
        withNoGrad {
            var total = 0.0, n = 0
            for start in stride(from: 0, to: Swift.min(count, bank.count), by: 16) {
                let idx = Array(start..<Swift.min(start + 16, count, bank.count))
                let x = bank.images(idx)
                let r = model.decode(model.encode(x).mean).clamp(min: -1, max: 1)
                let d = ((r - x) * 0.5).toArray()
                let per = x.count / idx.count
                for i in 0..<idx.count {
                    var s = 0.0
                    for k in 0..<per { s += Double(d[i * per + k] * d[i * per + k]) }
                    total += -10 * log10(Swift.max(s / Double(per), 1e-12)); n += 1
                }
            }
            return total / Double(Swift.max(n, 1))
        }
    }

    public func samples() throws -> Image? {
        try withNoGrad {
            let idx = Array(0..<Swift.min(8, data.bank.count))
            let x = data.bank.images(idx)
            let r = model.decode(model.encode(x).mean)
            return try TeacherImages.grid([x, r], columns: idx.count)
        }
    }
}

/// Image helpers of the teacher trainers.
public enum TeacherImages {
    /// (B, 3, H, W) in [-1, 1] -> RGB images.
    public static func images(_ x: Tensor) -> [Image] {
        let (b, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        let v = x.contiguous().toArray()
        return (0..<b).map { i in
            Image(width: w, height: h, channels: 3, planar: Array(v[(i * 3 * h * w)..<((i + 1) * 3 * h * w)]).map { ($0 + 1) * 0.5 })
        }
    }

    /// Rows of images, each tensor one row.
    public static func grid(_ rows: [Tensor], columns: Int, labels: [String]? = nil) throws -> Image {
        ContactSheet.make(rows.flatMap(images), columns: columns, labels: labels)
    }
}
