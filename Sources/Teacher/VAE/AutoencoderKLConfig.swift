// The AutoencoderKL config.json (diffusers models/autoencoders/autoencoder_kl.py, `register_to_config`
// arguments): snake_case keys, diffusers' defaults for absent keys, unknown keys ignored.
import Foundation
import TensorCore

/// AutoencoderKL hyper-parameters as diffusers stores them in `vae/config.json`.
public struct AutoencoderKLConfig: Codable, Equatable, Sendable {
    public var inChannels = 3
    public var outChannels = 3
    public var downBlockTypes = ["DownEncoderBlock2D"]
    public var upBlockTypes = ["UpDecoderBlock2D"]
    public var blockOutChannels = [64]
    public var layersPerBlock = 1
    public var actFn = "silu"
    public var latentChannels = 4
    public var normNumGroups = 32
    public var sampleSize = 32
    /// Latents are multiplied by this after encoding and divided by it before decoding (0.18215 for SD).
    public var scalingFactor: Float = 0.18215
    /// Subtracted from latents before scaling (null for SD 1/2).
    public var shiftFactor: Float? = nil
    public var forceUpcast = true
    public var useQuantConv = true
    public var usePostQuantConv = true
    public var midBlockAddAttention = true

    enum CodingKeys: String, CodingKey {
        case inChannels = "in_channels", outChannels = "out_channels", downBlockTypes = "down_block_types"
        case upBlockTypes = "up_block_types", blockOutChannels = "block_out_channels", layersPerBlock = "layers_per_block"
        case actFn = "act_fn", latentChannels = "latent_channels", normNumGroups = "norm_num_groups"
        case sampleSize = "sample_size", scalingFactor = "scaling_factor", shiftFactor = "shift_factor"
        case forceUpcast = "force_upcast", useQuantConv = "use_quant_conv", usePostQuantConv = "use_post_quant_conv"
        case midBlockAddAttention = "mid_block_add_attention"
    }

    public init() {}

    /// Stable Diffusion 2.0-base's VAE (stabilityai/stable-diffusion-2-base vae/config.json).
    public static var stableDiffusion2: AutoencoderKLConfig {
        var c = AutoencoderKLConfig()
        c.blockOutChannels = [128, 256, 512, 512]
        c.downBlockTypes = Array(repeating: "DownEncoderBlock2D", count: 4)
        c.upBlockTypes = Array(repeating: "UpDecoderBlock2D", count: 4)
        c.layersPerBlock = 2
        c.sampleSize = 512
        return c
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = AutoencoderKLConfig()
        inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? d.inChannels
        outChannels = try c.decodeIfPresent(Int.self, forKey: .outChannels) ?? d.outChannels
        downBlockTypes = try c.decodeIfPresent([String].self, forKey: .downBlockTypes) ?? d.downBlockTypes
        upBlockTypes = try c.decodeIfPresent([String].self, forKey: .upBlockTypes) ?? d.upBlockTypes
        blockOutChannels = try c.decodeIfPresent([Int].self, forKey: .blockOutChannels) ?? d.blockOutChannels
        layersPerBlock = try c.decodeIfPresent(Int.self, forKey: .layersPerBlock) ?? d.layersPerBlock
        actFn = try c.decodeIfPresent(String.self, forKey: .actFn) ?? d.actFn
        latentChannels = try c.decodeIfPresent(Int.self, forKey: .latentChannels) ?? d.latentChannels
        normNumGroups = try c.decodeIfPresent(Int.self, forKey: .normNumGroups) ?? d.normNumGroups
        // sample_size may be an int or a [h, w] pair; only the first is kept (it sets tiling, which we do not use).
        if let s = try? c.decodeIfPresent(Int.self, forKey: .sampleSize) { sampleSize = s }
        else if let s = try? c.decodeIfPresent([Int].self, forKey: .sampleSize), let first = s.first { sampleSize = first }
        scalingFactor = try c.decodeIfPresent(Float.self, forKey: .scalingFactor) ?? d.scalingFactor
        shiftFactor = try c.decodeIfPresent(Float.self, forKey: .shiftFactor)
        forceUpcast = try c.decodeIfPresent(Bool.self, forKey: .forceUpcast) ?? d.forceUpcast
        useQuantConv = try c.decodeIfPresent(Bool.self, forKey: .useQuantConv) ?? d.useQuantConv
        usePostQuantConv = try c.decodeIfPresent(Bool.self, forKey: .usePostQuantConv) ?? d.usePostQuantConv
        midBlockAddAttention = try c.decodeIfPresent(Bool.self, forKey: .midBlockAddAttention) ?? d.midBlockAddAttention
    }

    /// Spatial downsampling factor between image and latent: 2^(number of blocks - 1) (8 for SD).
    public var downsamplingFactor: Int { 1 << Swift.max(blockOutChannels.count - 1, 0) }

    /// The problems that make this config unbuildable by our AutoencoderKL, as messages naming the key.
    public func problems() -> [String] {
        var p: [String] = []
        if blockOutChannels.isEmpty { p.append("block_out_channels is empty") }
        if downBlockTypes.count != blockOutChannels.count {
            p.append("down_block_types has \(downBlockTypes.count) entries for \(blockOutChannels.count) block_out_channels")
        }
        if upBlockTypes.count != blockOutChannels.count {
            p.append("up_block_types has \(upBlockTypes.count) entries for \(blockOutChannels.count) block_out_channels")
        }
        for (i, t) in downBlockTypes.enumerated() where t != "DownEncoderBlock2D" {
            p.append("down_block_types[\(i)] is \"\(t)\"; only DownEncoderBlock2D is supported")
        }
        for (i, t) in upBlockTypes.enumerated() where t != "UpDecoderBlock2D" {
            p.append("up_block_types[\(i)] is \"\(t)\"; only UpDecoderBlock2D is supported")
        }
        if actFn != "silu" && actFn != "swish" { p.append("act_fn is \"\(actFn)\"; only silu (swish) is supported") }
        if blockOutChannels.count > 16 { p.append("block_out_channels has \(blockOutChannels.count) entries (at most 16 blocks)") }
        for (key, value) in [("latent_channels", latentChannels), ("in_channels", inChannels), ("out_channels", outChannels),
                             ("norm_num_groups", normNumGroups)] {
            if let problem = ConfigBounds.problem(key, value) { p.append(problem) }
        }
        if let problem = ConfigBounds.problem("layers_per_block", layersPerBlock, max: ConfigBounds.maxLayers) { p.append(problem) }
        if let problem = ConfigBounds.problem("sample_size", sampleSize, max: ConfigBounds.maxImageSide) { p.append(problem) }
        for (i, ch) in blockOutChannels.enumerated() {
            if let problem = ConfigBounds.problem("block_out_channels[\(i)]", ch) { p.append(problem) }
        }
        if let s = shiftFactor, !s.isFinite { p.append("shift_factor must be finite") }
        for (i, ch) in blockOutChannels.enumerated() where normNumGroups < 1 || ch % normNumGroups != 0 {
            p.append("block_out_channels[\(i)] = \(ch) is not divisible by norm_num_groups = \(normNumGroups)")
        }
        if !(scalingFactor.isFinite && scalingFactor != 0) { p.append("scaling_factor must be finite and non-zero") }
        return p
    }
}
