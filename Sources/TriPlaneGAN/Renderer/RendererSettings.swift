// The renderer's settings: the part of EG3D's `rendering_kwargs` (RenderingOptions, the checkpoint's Codable
// record of all of them) that the volume renderer reads, plus the tri-plane/decoder sizes the official code hard-codes
// (32 channels per plane, decoder hidden width 64, decoder output 32) and this port's chunking knob.
// The generator's configuration fills it; `validate()` rejects the official options this port does not
// implement with a message naming the option.

/// Volume-rendering options (spec §1.2, §8). Defaults are the FFHQ-512 values.
public struct RendererSettings: Sendable, Equatable {
    /// Coarse (stratified) samples per ray (`depth_resolution`, FFHQ 48).
    public var depthResolution: Int = 48
    /// Importance samples per ray (`depth_resolution_importance`, FFHQ 48; 0 disables the fine pass).
    public var depthResolutionImportance: Int = 48
    /// Near and far sampling bounds along the unit ray (`ray_start`, `ray_end`). 'auto' (box bounds) is not supported.
    /// Doubles, as the Python floats of the official kwargs (the depth step is computed from them in double).
    public var rayStart: Double = 2.25
    public var rayEnd: Double = 3.3
    /// Side of the tri-plane cube (`box_warp`): world points in [-box_warp/2, box_warp/2]³ map to [-1, 1].
    public var boxWarp: Double = 1
    /// Density activation of the ray marcher (`clamp_mode`); only "softplus" exists in MipRayMarcher2.
    public var clampMode: String = "softplus"
    /// Samples uniform in disparity (`disparity_space_sampling`). Not supported: must be false.
    public var disparitySpaceSampling: Bool = false
    /// Standard deviation of Gaussian noise added to raw σ (`density_noise`). Not supported: must be 0.
    public var densityNoise: Float = 0
    /// Composite onto white (`white_back`): feature += 1 - Σw before the rescale to [-1, 1].
    public var whiteBack: Bool = false
    /// Channels per tri-plane (hard-coded 32 in EG3D); also the decoder's input width.
    public var planeChannels: Int = 32
    /// Decoder hidden width (OSGDecoder's `hidden_dim`, hard-coded 64).
    public var decoderHidden: Int = 64
    /// Decoder feature outputs (`decoder_output_dim`, 32); the decoder emits 1 + this many values.
    public var decoderOutput: Int = 32
    /// Learning-rate multiplier of the decoder's layers (`decoder_lr_mul`, 1).
    public var decoderLRMultiplier: Float = 1
    /// Rays per work item of the inference (no-gradient) path. Each worker thread holds the intermediates of
    /// one chunk (about 32 KB per ray at 48 + 48 samples), so memory stays small; results do not depend on it.
    public var raysPerChunk: Int = 64

    public init() {}

    /// FFHQ-512 (`ffhq512-128.pkl`): 48 + 48 samples in [2.25, 3.3], box 1.
    public static let ffhq = RendererSettings()

    /// The renderer's settings for a generator configuration (its rendering_kwargs and plane/decoder sizes).
    public init(config: TriPlaneConfig) {
        let r = config.rendering
        depthResolution = r.depthResolution
        depthResolutionImportance = r.depthResolutionImportance
        rayStart = r.rayStart
        rayEnd = r.rayEnd
        boxWarp = r.boxWarp
        clampMode = r.clampMode
        disparitySpaceSampling = r.disparitySpaceSampling
        densityNoise = r.densityNoise
        whiteBack = r.whiteBack
        planeChannels = config.planeChannels
        decoderHidden = config.decoderHiddenDim
        decoderOutput = config.decoderOutputDim
        decoderLRMultiplier = r.decoderLrMul
    }

    /// Why these options cannot be rendered, or nil when they can.
    public var validationError: String? {
        if depthResolution < 2 { return "RendererSettings: depth_resolution must be at least 2, got \(depthResolution)" }
        if depthResolutionImportance < 0 {
            return "RendererSettings: depth_resolution_importance must be non-negative, got \(depthResolutionImportance)"
        }
        if depthResolutionImportance > 0 && depthResolution < 4 {
            return "RendererSettings: importance sampling needs depth_resolution >= 4 (it uses the smoothed weights of "
                + "intervals 1..S-3), got \(depthResolution)"
        }
        if !(rayStart.isFinite && rayEnd.isFinite && rayStart > 0 && rayEnd > rayStart) {
            return "RendererSettings: need 0 < ray_start < ray_end (finite), got \(rayStart), \(rayEnd)"
        }
        if !(boxWarp.isFinite && boxWarp > 0) { return "RendererSettings: box_warp must be positive, got \(boxWarp)" }
        if clampMode != "softplus" {
            return "RendererSettings: clamp_mode '\(clampMode)' is not supported (MipRayMarcher2 only supports 'softplus')"
        }
        if disparitySpaceSampling {
            return "RendererSettings: disparity_space_sampling = true is not supported (the FFHQ models sample linearly in depth)"
        }
        if densityNoise != 0 { return "RendererSettings: density_noise \(densityNoise) is not supported (must be 0)" }
        if planeChannels < 1 || decoderHidden < 1 || decoderOutput < 1 {
            return "RendererSettings: plane channels (\(planeChannels)), decoder hidden (\(decoderHidden)) and decoder "
                + "output (\(decoderOutput)) must be positive"
        }
        if !(decoderLRMultiplier.isFinite && decoderLRMultiplier > 0) {
            return "RendererSettings: decoder_lr_mul must be positive, got \(decoderLRMultiplier)"
        }
        if raysPerChunk < 1 { return "RendererSettings: raysPerChunk must be at least 1, got \(raysPerChunk)" }
        return nil
    }

    /// Throws `RendererSettingsError` when the options cannot be rendered.
    public func validate() throws {
        if let message = validationError { throw RendererSettingsError(message: message) }
    }
}

/// A rendering option this port cannot honour.
public struct RendererSettingsError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}
