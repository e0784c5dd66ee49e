// The settings of one `dreamportrait generate` run, and how its random numbers follow the seed.
import Foundation

/// Everything a generate run needs; the defaults are the command line's.
public struct GenerateOptions: Sendable {
    /// `--weights`: a generator .safetensors or a model folder; nil uses the shipped model (`ShippedModel.locate`).
    public var weights: String?
    /// Output folder (`--out`); created if missing.
    public var outputDirectory: String
    /// The text prompt (`--prompt`); required by text-conditioned models, recorded and ignored by unconditional ones.
    public var prompt: String? = nil
    /// `--mix TEXT2`: a second prompt whose conditioning is interpolated with the first (`PromptEncoder.mix`).
    public var mixPrompt: String? = nil
    /// `--alpha A`: the weight of `mixPrompt` (0: the prompt alone, 1: the mix prompt alone).
    public var alpha: Float = 0.5
    /// `--interpolate-to TEXT2`: interpolation.gif from the prompt to this one (frontal view, fixed seed).
    public var interpolateToPrompt: String? = nil
    /// `--interpolate-seed S2`: interpolation.gif from --seed to S2 (w interpolated, fixed prompt).
    public var interpolateToSeed: UInt64? = nil
    /// `--interpolation-frames`: frames of interpolation.gif (α = k/(F − 1)).
    public var interpolationFrames: Int = 24
    /// `--seed`: the latent z and every renderer draw follow it (see `RendererSeeds`).
    public var seed: UInt64 = 0
    /// `--truncation` ψ, applied to every w (EG3D's truncation_cutoff 14 = all rows).
    public var truncationPsi: Float = 0.7
    /// `--views`: images on the yaw arc.
    public var views: Int = 5
    /// `--frames`: orbit GIF frames; 0 (`--no-orbit`) skips the GIF.
    public var frames: Int = 36
    /// GIF frame delay in centiseconds.
    public var frameDelay: Int = 4
    /// `--resolution`: the neural rendering resolution R; nil keeps the checkpoint's.
    public var neuralRenderingResolution: Int? = nil
    /// `--no-mesh` sets false.
    public var mesh: Bool = true
    /// `--mesh-resolution` M: samples per axis of the density grid.
    public var meshResolution: Int = 128
    /// `--mesh-threshold`: the isosurface in raw σ (EG3D's 10).
    public var meshThreshold: Float = 10
    /// `--mesh-pad`: voxels trimmed on each face (gen_samples.py's border); nil = int(30·M/256).
    public var meshPad: Int? = nil
    /// `--camera-label FILE`: one extra view from a 25-float label.
    public var cameraLabelPath: String? = nil
    /// `--eval-views`: also write eval/ (MSC's three views of the prompt, `eval --images` layout; EvalViewsFolder).
    public var evalViews: Bool = false
    /// The command line, for the manifest.
    public var command: [String] = []
    /// Program name and version, for the manifest.
    public var tool: String = "dreamportrait"

    public init(weights: String?, outputDirectory: String) {
        self.weights = weights
        self.outputDirectory = outputDirectory
    }

    /// The border actually trimmed.
    public var resolvedMeshPad: Int { meshPad ?? MeshExtraction.defaultPad(resolution: meshResolution) }
}

/// How a run's randomness follows `--seed` S:
/// * the latent z is `RandomGenerator(seed: S).normal([1, z_dim])` (counter-based Philox, so the same on every
///   machine and thread count);
/// * each rendered image has its own renderer source, `GeneratorRandomSource(seed: RendererSeeds.seed(S, stream, i))`
///   for view i (stream 1), orbit frame i (stream 2), the `--camera-label` view (stream 3) or interpolation frame i
///   (stream 4), so an image does not
///   depend on how many others are rendered before it. The derived seed is SplitMix64 applied twice:
///   `mix(mix(S ^ stream << 56) ^ i)`.
public enum RendererSeeds {
    public enum Stream: UInt64, Sendable { case view = 1, orbit = 2, cameraLabel = 3, interpolation = 4 }

    /// The renderer seed of image `index` in `stream` under run seed `seed`.
    public static func seed(_ seed: UInt64, _ stream: Stream, _ index: Int) -> UInt64 {
        mix(mix(seed ^ (stream.rawValue << 56)) ^ UInt64(index))
    }

    /// SplitMix64's finaliser (Steele, Lea and Flood 2014).
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
