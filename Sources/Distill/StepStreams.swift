// StepStreams: every random draw of a training step comes from a counter-based Philox stream keyed by
// (run seed, step, purpose, phase), so a step's numbers depend on nothing but those four values: resuming
// needs only the step count, and the thread count changes nothing (RandomGenerator is counter-based).
import TensorCore

/// What a stream is used for. Raw values are part of the run format: never renumber them.
public enum StreamPurpose: UInt64, Sendable, CaseIterable {
    /// The order in which real images are visited (one permutation per epoch, keyed by the epoch).
    case dataOrder = 1
    /// Latents z of a phase.
    case latents = 2
    /// Dataset indices whose labels become the generator's cameras gen_c.
    case generatorCameras = 3
    /// Pose-conditioning swap decisions.
    case poseSwap = 4
    /// Synthesis-layer noise (noise_mode random).
    case synthesisNoise = 5
    /// Renderer draws (stratified jitter, importance sampling).
    case renderer = 6
    /// Density-regularisation points and their perturbations.
    case densityPoints = 7
    /// Captions chosen for the real images and the generator's prompts (stages 1-2).
    case captions = 8
    /// D-SDS timesteps and noise.
    case scoreDistillation = 9
    /// D's camera-label noise (disc_c_noise).
    case discriminatorLabelNoise = 10
}

/// SplitMix64's finaliser.
@inline(__always) func mix64(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// The streams of one step of a run.
public struct StepStreams: Sendable {
    public let seed: UInt64
    public let step: Int

    public init(seed: UInt64, step: Int) { self.seed = seed; self.step = step }

    /// A fresh generator for (seed, step, purpose, phase); the same arguments give the same numbers.
    public func generator(_ purpose: StreamPurpose, phase: Int = 0) -> RandomGenerator {
        RandomGenerator(seed: StepStreams.key(seed: seed, index: UInt64(step), purpose: purpose, phase: phase))
    }

    /// The key of a stream indexed by something other than a step (e.g. an epoch of the data order).
    public static func key(seed: UInt64, index: UInt64, purpose: StreamPurpose, phase: Int = 0) -> UInt64 {
        mix64(mix64(mix64(seed ^ 0x4450_4449_5354_494C) ^ index) ^ (purpose.rawValue << 8 | UInt64(phase & 0xFF)))
    }
}
