// SDEdit (Meng et al. 2022) as diffusers' StableDiffusionImg2ImgPipeline runs it, the view refinement of
// Portrait3D (method doc §8: noise each rendered view to t ≈ 200/1000, denoise with classifier-free guidance):
//   z₀ = VAE.encode(x).sample(n) · scaling_factor                         (retrieve_latents, posterior noise n)
//   the scheduler's timesteps for `steps`; t_start = steps − min(⌊steps·strength⌋, steps)   (get_timesteps)
//   z = add_noise(z₀, ε, timesteps[t_start])                              (prepare_latents)
//   the guided DDIM loop from timesteps[t_start] to the end                (Teacher's sampleDDIM, firstStep t_start)
//   x' = clamp(VAE.decode(z / scaling_factor) / 2 + 0.5, 0, 1)            (output_type "pt")
// The draws come in `SDEditDraws` (posterior noise first, then ε: the order diffusers draws them from one
// generator), so a test can replay diffusers' exactly (Scripts/sdedit_reference.py).
import Foundation
import Teacher
import TensorCore

public struct SDEditSettings: Codable, Equatable, Sendable {
    /// How far to noise: the share of the `steps` schedule run back (0.2 with 50 steps: from t = 191 of 1000).
    public var strength: Double = 0.2
    /// Inference steps of the full schedule (diffusers' num_inference_steps).
    public var steps: Int = 50
    /// Classifier-free guidance scale (off at ≤ 1).
    public var guidance: Float = 7.5
    public init() {}

    /// diffusers' t_start: the index of the first denoising timestep.
    public var firstStep: Int { Swift.max(steps - Swift.min(Int(Double(steps) * strength), steps), 0) }

    /// What is wrong, naming the flag; nil when fine.
    public func problem(trainTimesteps: Int) -> String? {
        if !(1...trainTimesteps).contains(steps) { return "--sdedit-steps \(steps) must be in 1...\(trainTimesteps)" }
        if !(strength > 0 && strength <= 1) { return "--strength \(strength) must be in (0, 1]" }
        if firstStep >= steps { return "--strength \(strength) with --sdedit-steps \(steps) leaves no denoising step (⌊steps·strength⌋ = 0)" }
        if !(guidance.isFinite && guidance >= 0) { return "--sdedit-guidance \(guidance) must be a non-negative number" }
        return nil
    }
}

/// SDEdit's random inputs for N images with latents (C, h, w).
public struct SDEditDraws {
    /// The VAE posterior sample's N(0, 1) noise (N, C, h, w).
    public var posteriorNoise: Tensor
    /// ε added at the first timestep (N, C, h, w).
    public var noise: Tensor
    public init(posteriorNoise: Tensor, noise: Tensor) { self.posteriorNoise = posteriorNoise; self.noise = noise }
    /// Posterior noise, then ε, from `rng`.
    public static func draw(_ rng: RandomGenerator, n: Int, latentShape: [Int]) -> SDEditDraws {
        SDEditDraws(posteriorNoise: rng.normal([n] + latentShape), noise: rng.normal([n] + latentShape))
    }
}

public enum SDEdit {
    public struct Result {
        /// The refined images (N, 3, H, W) in [0, 1].
        public let image: Tensor
        /// The noised latents the loop starts from, and the final latents (N, C, h, w).
        public let noisyLatents: Tensor, latents: Tensor
        /// The denoising timesteps, from the first (the noise level) down.
        public let timesteps: [Int]
    }

    /// Refines `image` (N, 3, H, W) in [0, 1] towards the prompts' states `conditional` (N or 1, L, D), with the empty
    /// prompt's `unconditional` (N or 1, L, D) for guidance. No gradient.
    public static func refine(image: Tensor, teacher: TeacherModels, conditional: Tensor, unconditional: Tensor,
                              settings: SDEditSettings, draws: SDEditDraws) throws -> Result {
        let n = image.shape[0]
        require(image.rank == 4 && image.shape[1] == 3, "SDEdit: images must be (N, 3, H, W), got \(image.shape)")
        func batch(_ t: Tensor) -> Tensor { t.shape[0] == n ? t : t.expand([n, t.shape[1], t.shape[2]]).contiguous() }
        return try withNoGrad {
            let z0 = teacher.vae.latents(of: image * 2 - 1, noise: draws.posteriorNoise)
            var scheduler = teacher.scheduler
            try scheduler.setTimesteps(settings.steps)
            let first = settings.firstStep
            let timesteps = Array(scheduler.timesteps[first...])
            let noisy = scheduler.schedule.addNoise(z0, noise: draws.noise, timesteps: [timesteps[0]])
            let latents = try sampleDDIM(latents: noisy, predictor: teacher.unet, scheduler: &scheduler, conditional: batch(conditional),
                                         unconditional: batch(unconditional), steps: settings.steps, guidanceScale: settings.guidance,
                                         firstStep: first)
            let out = (teacher.vae.image(fromLatents: latents) * 0.5 + 0.5).clamp(min: 0, max: 1)
            return Result(image: out, noisyLatents: noisy, latents: latents, timesteps: timesteps)
        }
    }
}
