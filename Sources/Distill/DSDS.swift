// D-SDS: score distillation on a distribution (DreamPortrait Eq. 5; method doc §5). A frozen latent-diffusion
// teacher scores renders of generator samples: x' = VAE.encode(x) with gradient (the auto-encoder Jacobian is
// kept), x_t = √ᾱ_t x' + √(1−ᾱ_t) ε, ε̂ = ε_u + s(ε_c − ε_u) from the U-Net without gradient (its Jacobian is
// dropped), g = w(t)(ε̂ − ε), and the surrogate L = Σ stopgrad(g)·x' / N whose gradient on x' is g / N.
//
// Noise rescaling (the paper rescales "the predicted and the Gaussian noise" to prevent overflow; its rule is not
// given). `.unitRMS` (the default): ε̂ and ε are each divided by their own per-sample root mean square before the
// difference, so |g|_rms ≤ 2·w(t) whatever the guidance scale (at s = 100, ε̂ is several times larger than ε).
// `.sharedRMS`: both are divided by the same factor, rms(ε̂), so g = w(t)(ε̂ − ε)/rms(ε̂): as bounded, but ε_u − ε
// (the teacher's denoising error, small where the render is realistic) still cancels the injected noise, which
// `.unitRMS` breaks: there ε̂/rms(ε̂) holds ε_u with weight ~1/rms(ε̂) (0.23 at s = 100 on the world teacher) and ε
// with weight 1, so ~0.8·ε of pure noise rides on every gradient. `.none` is DreamFusion's plain rule.
//
// With a fake score (FakeScore.swift; ours, `train --fake-score-lr`), ε̂ is compared with ε_φ(x_t, y), a copy of
// the teacher trained online on the generator's renders, instead of ε (variational score distillation / DMD).
//
// Everything random comes in `DSDSDraws` (timesteps, ε, the posterior sample's noise), so the function is the same
// for the amortised training here and a per-prompt SDS optimisation.
import Foundation
import TensorCore
import Teacher

public struct DSDSSettings: Codable, Sendable, Equatable {
    public enum Rescale: String, Codable, Sendable, CaseIterable { case none, unitRMS = "unit_rms", sharedRMS = "shared_rms" }
    public enum Weighting: String, Codable, Sendable {
        /// w(t) = 1 − ᾱ_t (DreamFusion).
        case oneMinusAlphaBar = "one_minus_alpha_bar"
        /// w(t) = 1.
        case uniform
    }
    /// Classifier-free guidance scale s.
    public var guidance: Float = 100
    /// Timesteps are drawn uniformly from [tMin, tMax] × the schedule's length.
    public var tMin: Double = 0.02
    public var tMax: Double = 0.98
    /// Annealing of the largest timestep (stage 2): tMax falls linearly to tMaxEnd over the first annealKimg
    /// thousand images, then stays (nil: no annealing). Large t carries the prompt's global layout and colour,
    /// small t its detail (DreamTime; Magic3D's second stage draws t ≤ 0.5).
    public var tMaxEnd: Double? = nil
    public var annealKimg: Double = 0
    public var weighting: Weighting = .oneMinusAlphaBar
    public var rescale: Rescale = .unitRMS
    /// Side of the image fed to the VAE (nil: the render's own size); resized with the antialiased bilinear filter.
    public var teacherResolution: Int? = nil
    /// Loss weight in the generator's objective.
    public var weight: Float = 1
    public init() {}

    enum CodingKeys: String, CodingKey {
        case guidance, tMin = "t_min", tMax = "t_max", tMaxEnd = "t_max_end", annealKimg = "anneal_kimg", weighting, rescale
        case teacherResolution = "teacher_resolution", weight
    }
}

extension DSDSSettings {
    /// These settings with tMax annealed for `nimg` images shown.
    public func annealed(nimg: Int) -> DSDSSettings {
        guard let end = tMaxEnd else { return self }
        var s = self
        let f = annealKimg > 0 ? Swift.min(1, Double(nimg) / (annealKimg * 1000)) : 1
        s.tMax = tMax + (end - tMax) * f
        return s
    }
}

/// The random inputs of one D-SDS evaluation on N images.
public struct DSDSDraws {
    /// One timestep per sample, in 0 ..< train timesteps.
    public var timesteps: [Int]
    /// ε (N, C, h, w) added to the latents.
    public var noise: Tensor
    /// The VAE posterior sample's N(0, 1) noise (N, C, h, w): z = mean + std·n (zeros: the posterior mean).
    public var posteriorNoise: Tensor

    public init(timesteps: [Int], noise: Tensor, posteriorNoise: Tensor) {
        self.timesteps = timesteps; self.noise = noise; self.posteriorNoise = posteriorNoise
    }

    /// Draws for N images with latents of `latentShape` (C, h, w) from `rng` (timesteps, then ε, then the posterior noise).
    public static func draw(_ rng: RandomGenerator, n: Int, latentShape: [Int], trainTimesteps: Int, settings: DSDSSettings) -> DSDSDraws {
        let lo = Int((settings.tMin * Double(trainTimesteps)).rounded()), hi = Int((settings.tMax * Double(trainTimesteps)).rounded())
        let t = (0..<n).map { _ in lo + rng.integer(below: Swift.max(hi - lo + 1, 1)) }
        return DSDSDraws(timesteps: t.map { Swift.min($0, trainTimesteps - 1) }, noise: rng.normal([n] + latentShape),
                         posteriorNoise: rng.normal([n] + latentShape))
    }
}

public enum DSDS {
    public struct Result {
        /// The surrogate loss Σ stopgrad(g)·x' / N (differentiable through the VAE encoder to the image).
        public let loss: Tensor
        /// g (N, C, h, w), detached.
        public let gradient: Tensor
        /// x' (N, C, h, w) (scaled latents, in the graph).
        public let latents: Tensor
        /// Per-sample RMS of ε̂ before rescaling (diagnostics).
        public let predictedRMS: [Float]
    }

    /// D-SDS on `image` (N, 3, H, W) in [−1, 1] for prompts given as text states (N, L, D) and the unconditional
    /// (empty prompt) states (1 or N, L, D). With `fake` (FakeScore.swift), the guided prediction is compared with the
    /// fake score ε_φ(x_t, y) instead of the injected noise ε (rescaled by the same rule in its place).
    public static func evaluate(unet: UNet2DConditionModel, vae: AutoencoderKL, schedule: NoiseSchedule, image: Tensor,
                                conditional: Tensor, unconditional: Tensor, draws: DSDSDraws, settings: DSDSSettings,
                                fake: FakeScore? = nil) -> Result {
        let n = image.shape[0]
        require(draws.timesteps.count == n, "DSDS: \(draws.timesteps.count) timesteps for \(n) images")
        require(conditional.shape[0] == n, "DSDS: \(conditional.shape[0]) prompts for \(n) images")
        var x = image
        if let r = settings.teacherResolution, r != image.shape[2] || r != image.shape[3] {
            x = interpolate(image, size: (r, r), mode: .bilinear, alignCorners: false, antialias: true)
        }
        let latents = vae.latents(of: x, noise: draws.posteriorNoise)                         // (N, C, h, w), in the graph
        let (g, rms): (Tensor, [Float]) = withNoGrad {
            let xt = schedule.addNoise(latents.detach(), noise: draws.noise, timesteps: draws.timesteps)
            let uncond = unconditional.shape[0] == n ? unconditional
                : unconditional.expand([n, unconditional.shape[1], unconditional.shape[2]]).contiguous()
            let t = Tensor(draws.timesteps.map(Float.init), shape: [n])
            let out = unet(Tensor.concat([xt, xt], axis: 0), timestep: Tensor.concat([t, t], axis: 0),
                           encoderHiddenStates: Tensor.concat([uncond, conditional], axis: 0))
            let eps = schedule.epsilon(fromModelOutput: out, sample: Tensor.concat([xt, xt], axis: 0),
                                       timesteps: draws.timesteps + draws.timesteps)
            let eu = eps.slice(axis: 0, start: 0, end: n), ec = eps.slice(axis: 0, start: n, end: 2 * n)
            var pred = eu + (ec - eu) * settings.guidance
            var noise = fake?.epsilon(xt, timesteps: draws.timesteps, states: conditional) ?? draws.noise
            let predRMS = (pred * pred).mean(axes: [1, 2, 3]).sqrt()
            switch settings.rescale {
            case .none: break
            case .unitRMS:
                let noiseRMS = (noise * noise).mean(axes: [1, 2, 3]).sqrt()
                pred = pred / predRMS.reshape([n, 1, 1, 1])
                noise = noise / noiseRMS.reshape([n, 1, 1, 1])
            case .sharedRMS:
                pred = pred / predRMS.reshape([n, 1, 1, 1])
                noise = noise / predRMS.reshape([n, 1, 1, 1])
            }
            let w: [Float] = draws.timesteps.map { settings.weighting == .uniform ? 1 : 1 - schedule.alphasCumprod[$0] }
            return ((pred - noise) * Tensor(w, shape: [n, 1, 1, 1]), predRMS.toArray())
        }
        let loss = (g * latents).sum() / Float(n)
        return Result(loss: loss, gradient: g, latents: latents, predictedRMS: rms)
    }

    /// The denoising loss of the teacher on `image` for the prompts: mean |ε_θ(x_t, y) − ε|² at the draws' timesteps
    /// (no guidance). It falls as images move toward the prompt under the teacher's own score (learning tests).
    public static func denoisingLoss(unet: UNet2DConditionModel, vae: AutoencoderKL, schedule: NoiseSchedule, image: Tensor,
                                     conditional: Tensor, draws: DSDSDraws, teacherResolution: Int? = nil) -> Double {
        withNoGrad {
            var x = image
            if let r = teacherResolution, r != image.shape[2] { x = interpolate(image, size: (r, r), mode: .bilinear, alignCorners: false, antialias: true) }
            let z = vae.latents(of: x, noise: draws.posteriorNoise)
            let xt = schedule.addNoise(z, noise: draws.noise, timesteps: draws.timesteps)
            let out = unet(xt, timestep: Tensor(draws.timesteps.map(Float.init), shape: [image.shape[0]]), encoderHiddenStates: conditional)
            let eps = schedule.epsilon(fromModelOutput: out, sample: xt, timesteps: draws.timesteps)
            let d = eps - draws.noise
            return Double((d * d).mean().item())
        }
    }
}
