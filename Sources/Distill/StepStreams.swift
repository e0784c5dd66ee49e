// StepStreams: the named random streams of one training step, on the Training module's StepRandom (Philox keyed
// by (seed, purpose, step)). A step's numbers depend on nothing but the run seed, the step and the purpose, so
// resuming needs only the step count, and the thread count changes nothing (RandomGenerator is counter-based).
import TensorCore
import Training

/// What a stream is used for. The names are part of the run format: never rename them.
public enum StreamPurpose: String, Sendable, CaseIterable {
    /// Latents z of a phase.
    case latents
    /// Dataset indices whose labels become the generator's cameras gen_c.
    case generatorCameras = "generator-cameras"
    /// Pose-conditioning swap decisions.
    case poseSwap = "pose-swap"
    /// Synthesis-layer noise (noise_mode random).
    case synthesisNoise = "synthesis-noise"
    /// Renderer draws (stratified jitter, importance sampling).
    case renderer
    /// Density-regularisation points and their perturbations.
    case densityPoints = "density-points"
    /// Captions chosen for the generator's prompts (stages 1-2).
    case captions
    /// D-SDS timesteps and noise.
    case scoreDistillation = "score-distillation"
    /// Captions chosen for the real images of a text-conditioned D.
    case realCaptions = "real-captions"
    /// Captions of the real images that world supervision reconstructs in stages 1-2.
    case reconstructionCaptions = "reconstruction-captions"
}

/// The streams of one step of a run.
public struct StepStreams {
    public let random: StepRandom
    public let step: Int

    public init(seed: UInt64, step: Int) { random = StepRandom(seed: seed); self.step = step }

    /// A fresh generator for (seed, step, purpose, phase); the same arguments give the same numbers.
    public func generator(_ purpose: StreamPurpose, phase: Int = 0) -> RandomGenerator {
        random.generator("distill/\(purpose.rawValue)/\(phase)", step: step)
    }
}
