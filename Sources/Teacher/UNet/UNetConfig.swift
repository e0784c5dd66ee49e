// diffusers UNet2DConditionModel's configuration (models/unets/unet_2d_condition.py, `config.json` of a
// pipeline's unet/ folder): snake_case keys, diffusers' defaults for absent keys, per-block options given as one
// value or a list. Options this implementation does not support are named in the error.
import Foundation
import TensorCore

/// A config value given either once (applied to every block) or per block, as diffusers accepts.
public enum PerBlock<T: Codable & Equatable & Sendable>: Codable, Equatable, Sendable {
    case one(T)
    case many([T])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(T.self) { self = .one(v) } else { self = .many(try c.decode([T].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .one(let v): try c.encode(v)
        case .many(let vs): try c.encode(vs)
        }
    }

    /// One value per block; a list must have exactly `count` entries.
    public func expanded(_ count: Int, _ name: String) throws -> [T] {
        switch self {
        case .one(let v): return Array(repeating: v, count: count)
        case .many(let vs):
            guard vs.count == count else {
                throw UnsupportedConfig(message: "\(name) has \(vs.count) entries but there are \(count) down blocks")
            }
            return vs
        }
    }
}

/// UNet2DConditionModel's config.json. Property names are the camelCase forms of diffusers' keys.
public struct UNet2DConditionConfig: Codable, Equatable, Sendable {
    public var sampleSize: Int? = nil
    public var inChannels = 4
    public var outChannels = 4
    public var centerInputSample = false
    public var flipSinToCos = true
    public var freqShift: Float = 0
    public var downBlockTypes = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]
    public var midBlockType: String? = "UNetMidBlock2DCrossAttn"
    public var upBlockTypes = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
    public var onlyCrossAttention: PerBlock<Bool> = .one(false)
    public var blockOutChannels = [320, 640, 1280, 1280]
    public var layersPerBlock: PerBlock<Int> = .one(2)
    public var downsamplePadding = 1
    public var midBlockScaleFactor: Float = 1
    public var actFn = "silu"
    public var normNumGroups: Int? = 32
    public var normEps: Float = 1e-5
    public var crossAttentionDim: PerBlock<Int> = .one(1280)
    public var transformerLayersPerBlock: PerBlock<Int> = .one(1)
    /// diffusers' naming quirk: for Stable Diffusion 1.x/2.x this is the number of heads per block, not their size.
    public var attentionHeadDim: PerBlock<Int> = .one(8)
    /// The number of heads when given (diffusers itself rejects it; a config that sets it means heads).
    public var numAttentionHeads: PerBlock<Int>? = nil
    public var dualCrossAttention = false
    public var useLinearProjection = false
    public var upcastAttention = false
    public var resnetTimeScaleShift = "default"
    public var resnetSkipTimeAct = false
    public var resnetOutScaleFactor: Float = 1
    public var timeEmbeddingType = "positional"
    public var timeEmbeddingDim: Int? = nil
    public var convInKernel = 3
    public var convOutKernel = 3
    /// Read and written for round trips; diffusers uses it only for UNetMidBlock2DSimpleCrossAttn.
    public var midBlockOnlyCrossAttention: Bool? = nil
    // Options that must keep their defaults (checked by `validate()`, named when set).
    public var classEmbedType: String? = nil
    public var additionEmbedType: String? = nil
    public var numClassEmbeds: Int? = nil
    public var encoderHidDim: Int? = nil
    public var encoderHidDimType: String? = nil
    public var timeEmbeddingActFn: String? = nil
    public var timestepPostAct: String? = nil
    public var timeCondProjDim: Int? = nil
    public var projectionClassEmbeddingsInputDim: Int? = nil
    public var attentionType = "default"
    public var classEmbeddingsConcat = false
    public var crossAttentionNorm: String? = nil
    public var reverseTransformerLayersPerBlock: [[Int]]? = nil

    enum CodingKeys: String, CodingKey {
        case sampleSize = "sample_size", inChannels = "in_channels", outChannels = "out_channels"
        case centerInputSample = "center_input_sample", flipSinToCos = "flip_sin_to_cos", freqShift = "freq_shift"
        case downBlockTypes = "down_block_types", midBlockType = "mid_block_type", upBlockTypes = "up_block_types"
        case onlyCrossAttention = "only_cross_attention", blockOutChannels = "block_out_channels"
        case layersPerBlock = "layers_per_block", downsamplePadding = "downsample_padding"
        case midBlockScaleFactor = "mid_block_scale_factor", actFn = "act_fn", normNumGroups = "norm_num_groups"
        case normEps = "norm_eps", crossAttentionDim = "cross_attention_dim"
        case transformerLayersPerBlock = "transformer_layers_per_block", attentionHeadDim = "attention_head_dim"
        case numAttentionHeads = "num_attention_heads", dualCrossAttention = "dual_cross_attention"
        case useLinearProjection = "use_linear_projection", upcastAttention = "upcast_attention"
        case resnetTimeScaleShift = "resnet_time_scale_shift", resnetSkipTimeAct = "resnet_skip_time_act"
        case resnetOutScaleFactor = "resnet_out_scale_factor", timeEmbeddingType = "time_embedding_type"
        case timeEmbeddingDim = "time_embedding_dim", convInKernel = "conv_in_kernel", convOutKernel = "conv_out_kernel"
        case midBlockOnlyCrossAttention = "mid_block_only_cross_attention", classEmbedType = "class_embed_type"
        case additionEmbedType = "addition_embed_type", numClassEmbeds = "num_class_embeds"
        case encoderHidDim = "encoder_hid_dim", encoderHidDimType = "encoder_hid_dim_type"
        case timeEmbeddingActFn = "time_embedding_act_fn", timestepPostAct = "timestep_post_act"
        case timeCondProjDim = "time_cond_proj_dim"
        case projectionClassEmbeddingsInputDim = "projection_class_embeddings_input_dim"
        case attentionType = "attention_type", classEmbeddingsConcat = "class_embeddings_concat"
        case crossAttentionNorm = "cross_attention_norm"
        case reverseTransformerLayersPerBlock = "reverse_transformer_layers_per_block"
    }

    /// diffusers' defaults (the Stable Diffusion 1.x layout with cross_attention_dim 1280).
    public init() {}

    /// Stable Diffusion 2.0-base's unet/config.json (stabilityai/stable-diffusion-2-base).
    public static var sd2Base: UNet2DConditionConfig {
        var c = UNet2DConditionConfig()
        c.sampleSize = 64
        c.attentionHeadDim = .many([5, 10, 20, 20])
        c.crossAttentionDim = .one(1024)
        c.useLinearProjection = true
        return c
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var s = UNet2DConditionConfig()
        func get<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            if let v = try c.decodeIfPresent(T.self, forKey: key) { value = v }
        }
        // Optional fields: an explicit null means nil, absence keeps the default.
        func getOptional<T: Decodable>(_ key: CodingKeys, _ value: inout T?) throws {
            if c.contains(key) { value = try c.decodeNil(forKey: key) ? nil : c.decode(T.self, forKey: key) }
        }
        try getOptional(.sampleSize, &s.sampleSize)
        try get(.inChannels, &s.inChannels); try get(.outChannels, &s.outChannels)
        try get(.centerInputSample, &s.centerInputSample); try get(.flipSinToCos, &s.flipSinToCos)
        try get(.freqShift, &s.freqShift); try get(.downBlockTypes, &s.downBlockTypes)
        try getOptional(.midBlockType, &s.midBlockType); try get(.upBlockTypes, &s.upBlockTypes)
        try get(.onlyCrossAttention, &s.onlyCrossAttention); try get(.blockOutChannels, &s.blockOutChannels)
        try get(.layersPerBlock, &s.layersPerBlock); try get(.downsamplePadding, &s.downsamplePadding)
        try get(.midBlockScaleFactor, &s.midBlockScaleFactor); try get(.actFn, &s.actFn)
        try getOptional(.normNumGroups, &s.normNumGroups); try get(.normEps, &s.normEps)
        try get(.crossAttentionDim, &s.crossAttentionDim)
        try get(.transformerLayersPerBlock, &s.transformerLayersPerBlock)
        try get(.attentionHeadDim, &s.attentionHeadDim); try getOptional(.numAttentionHeads, &s.numAttentionHeads)
        try get(.dualCrossAttention, &s.dualCrossAttention); try get(.useLinearProjection, &s.useLinearProjection)
        try get(.upcastAttention, &s.upcastAttention); try get(.resnetTimeScaleShift, &s.resnetTimeScaleShift)
        try get(.resnetSkipTimeAct, &s.resnetSkipTimeAct); try get(.resnetOutScaleFactor, &s.resnetOutScaleFactor)
        try get(.timeEmbeddingType, &s.timeEmbeddingType); try getOptional(.timeEmbeddingDim, &s.timeEmbeddingDim)
        try get(.convInKernel, &s.convInKernel); try get(.convOutKernel, &s.convOutKernel)
        try getOptional(.midBlockOnlyCrossAttention, &s.midBlockOnlyCrossAttention)
        try getOptional(.classEmbedType, &s.classEmbedType); try getOptional(.additionEmbedType, &s.additionEmbedType)
        try getOptional(.numClassEmbeds, &s.numClassEmbeds); try getOptional(.encoderHidDim, &s.encoderHidDim)
        try getOptional(.encoderHidDimType, &s.encoderHidDimType)
        try getOptional(.timeEmbeddingActFn, &s.timeEmbeddingActFn); try getOptional(.timestepPostAct, &s.timestepPostAct)
        try getOptional(.timeCondProjDim, &s.timeCondProjDim)
        try getOptional(.projectionClassEmbeddingsInputDim, &s.projectionClassEmbeddingsInputDim)
        try get(.attentionType, &s.attentionType); try get(.classEmbeddingsConcat, &s.classEmbeddingsConcat)
        try getOptional(.crossAttentionNorm, &s.crossAttentionNorm)
        try getOptional(.reverseTransformerLayersPerBlock, &s.reverseTransformerLayersPerBlock)
        self = s
    }

    /// Writes every key (nil options as null); `UNet2DConditionModel.save(folder:)` adds diffusers' `_class_name`.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sampleSize, forKey: .sampleSize)
        try c.encode(inChannels, forKey: .inChannels); try c.encode(outChannels, forKey: .outChannels)
        try c.encode(centerInputSample, forKey: .centerInputSample); try c.encode(flipSinToCos, forKey: .flipSinToCos)
        try c.encode(freqShift, forKey: .freqShift); try c.encode(downBlockTypes, forKey: .downBlockTypes)
        try c.encode(midBlockType, forKey: .midBlockType); try c.encode(upBlockTypes, forKey: .upBlockTypes)
        try c.encode(onlyCrossAttention, forKey: .onlyCrossAttention); try c.encode(blockOutChannels, forKey: .blockOutChannels)
        try c.encode(layersPerBlock, forKey: .layersPerBlock); try c.encode(downsamplePadding, forKey: .downsamplePadding)
        try c.encode(midBlockScaleFactor, forKey: .midBlockScaleFactor); try c.encode(actFn, forKey: .actFn)
        try c.encode(normNumGroups, forKey: .normNumGroups); try c.encode(normEps, forKey: .normEps)
        try c.encode(crossAttentionDim, forKey: .crossAttentionDim)
        try c.encode(transformerLayersPerBlock, forKey: .transformerLayersPerBlock)
        try c.encode(attentionHeadDim, forKey: .attentionHeadDim); try c.encode(numAttentionHeads, forKey: .numAttentionHeads)
        try c.encode(dualCrossAttention, forKey: .dualCrossAttention); try c.encode(useLinearProjection, forKey: .useLinearProjection)
        try c.encode(upcastAttention, forKey: .upcastAttention); try c.encode(resnetTimeScaleShift, forKey: .resnetTimeScaleShift)
        try c.encode(resnetSkipTimeAct, forKey: .resnetSkipTimeAct); try c.encode(resnetOutScaleFactor, forKey: .resnetOutScaleFactor)
        try c.encode(timeEmbeddingType, forKey: .timeEmbeddingType); try c.encode(timeEmbeddingDim, forKey: .timeEmbeddingDim)
        try c.encode(convInKernel, forKey: .convInKernel); try c.encode(convOutKernel, forKey: .convOutKernel)
        try c.encode(midBlockOnlyCrossAttention, forKey: .midBlockOnlyCrossAttention)
        try c.encode(classEmbedType, forKey: .classEmbedType); try c.encode(additionEmbedType, forKey: .additionEmbedType)
        try c.encode(numClassEmbeds, forKey: .numClassEmbeds); try c.encode(encoderHidDim, forKey: .encoderHidDim)
        try c.encode(encoderHidDimType, forKey: .encoderHidDimType)
        try c.encode(timeEmbeddingActFn, forKey: .timeEmbeddingActFn); try c.encode(timestepPostAct, forKey: .timestepPostAct)
        try c.encode(timeCondProjDim, forKey: .timeCondProjDim)
        try c.encode(projectionClassEmbeddingsInputDim, forKey: .projectionClassEmbeddingsInputDim)
        try c.encode(attentionType, forKey: .attentionType); try c.encode(classEmbeddingsConcat, forKey: .classEmbeddingsConcat)
        try c.encode(crossAttentionNorm, forKey: .crossAttentionNorm)
        try c.encode(reverseTransformerLayersPerBlock, forKey: .reverseTransformerLayersPerBlock)
    }
}

/// A validated config with every per-block option expanded to one value per block.
public struct UNetLayout: Sendable {
    public let heads: [Int]
    public let layersPerBlock: [Int]
    public let crossAttentionDims: [Int]
    public let transformerLayers: [Int]
    public let onlyCrossAttention: [Bool]
    public let activation: Activation
    public let timeEmbeddingNorm: ResnetBlock2D.TimeEmbeddingNorm
    public let groups: Int
}

extension UNet2DConditionConfig {
    public static let downBlockKinds: Set<String> = ["CrossAttnDownBlock2D", "DownBlock2D"]
    public static let upBlockKinds: Set<String> = ["CrossAttnUpBlock2D", "UpBlock2D"]
    public static let midBlockKinds: Set<String> = ["UNetMidBlock2DCrossAttn"]

    /// Checks the config against what this implementation supports and expands per-block options.
    /// Throws UnsupportedConfig naming the option and its value.
    public func layout() throws -> UNetLayout {
        func unsupported(_ what: String) -> UnsupportedConfig { UnsupportedConfig(message: "UNet2DConditionModel: \(what)") }
        let n = blockOutChannels.count
        guard n >= 1 else { throw unsupported("block_out_channels is empty") }
        guard n <= 16 else { throw unsupported("block_out_channels has \(n) entries (at most 16 blocks)") }
        var sizes: [(String, Int, Int)] = [("in_channels", inChannels, ConfigBounds.maxSize), ("out_channels", outChannels, ConfigBounds.maxSize),
                                           ("conv_in_kernel", convInKernel, 31), ("conv_out_kernel", convOutKernel, 31)]
        for (i, c) in blockOutChannels.enumerated() { sizes.append(("block_out_channels[\(i)]", c, ConfigBounds.maxSize)) }
        // The latent side the pipeline samples at by default (SD 1/2: 64, SDXL: 128).
        if let s = sampleSize { sizes.append(("sample_size", s, 512)) }
        if let t = timeEmbeddingDim { sizes.append(("time_embedding_dim", t, ConfigBounds.maxSize)) }
        if let g = normNumGroups { sizes.append(("norm_num_groups", g, ConfigBounds.maxSize)) }
        for (key, value, max) in sizes {
            if let p = ConfigBounds.problem(key, value, max: max) { throw unsupported(p) }
        }
        // diffusers' Downsample2D: padding 1 (a symmetric 3x3 stride-2 convolution) or 0 (pad right and bottom by one).
        if let p = ConfigBounds.problem("downsample_padding", downsamplePadding, max: 1, min: 0) { throw unsupported(p) }
        guard normEps.isFinite && normEps > 0 else { throw unsupported("norm_eps = \(normEps) must be a positive number") }
        for (key, v) in [("freq_shift", freqShift), ("mid_block_scale_factor", midBlockScaleFactor), ("resnet_out_scale_factor", resnetOutScaleFactor)] where !v.isFinite {
            throw unsupported("\(key) = \(v) must be finite")
        }
        guard downBlockTypes.count == n, upBlockTypes.count == n else {
            throw unsupported("down_block_types (\(downBlockTypes.count)), up_block_types (\(upBlockTypes.count)) and block_out_channels (\(n)) must have the same length")
        }
        for t in downBlockTypes where !Self.downBlockKinds.contains(t) {
            throw unsupported("down block type \"\(t)\" is not supported (supported: \(Self.downBlockKinds.sorted().joined(separator: ", ")))")
        }
        for t in upBlockTypes where !Self.upBlockKinds.contains(t) {
            throw unsupported("up block type \"\(t)\" is not supported (supported: \(Self.upBlockKinds.sorted().joined(separator: ", ")))")
        }
        if let m = midBlockType, !Self.midBlockKinds.contains(m) {
            throw unsupported("mid_block_type \"\(m)\" is not supported (supported: UNetMidBlock2DCrossAttn or null)")
        }
        let mustBeUnset: [(String, Any?)] = [
            ("class_embed_type", classEmbedType), ("addition_embed_type", additionEmbedType),
            ("num_class_embeds", numClassEmbeds), ("encoder_hid_dim", encoderHidDim),
            ("encoder_hid_dim_type", encoderHidDimType), ("time_embedding_act_fn", timeEmbeddingActFn),
            ("timestep_post_act", timestepPostAct), ("time_cond_proj_dim", timeCondProjDim),
            ("projection_class_embeddings_input_dim", projectionClassEmbeddingsInputDim),
            ("cross_attention_norm", crossAttentionNorm),
            ("reverse_transformer_layers_per_block", reverseTransformerLayersPerBlock),
        ]
        for (name, value) in mustBeUnset {
            if let value { throw unsupported("\(name) = \(value) is not supported (only null)") }
        }
        if dualCrossAttention { throw unsupported("dual_cross_attention = true is not supported") }
        if classEmbeddingsConcat { throw unsupported("class_embeddings_concat = true is not supported") }
        if timeEmbeddingType != "positional" { throw unsupported("time_embedding_type \"\(timeEmbeddingType)\" is not supported (only positional)") }
        if attentionType != "default" { throw unsupported("attention_type \"\(attentionType)\" is not supported (only default)") }
        guard let groups = normNumGroups else { throw unsupported("norm_num_groups = null is not supported") }
        guard convInKernel % 2 == 1, convOutKernel % 2 == 1 else { throw unsupported("conv_in_kernel and conv_out_kernel must be odd") }
        let timeNorm: ResnetBlock2D.TimeEmbeddingNorm
        switch resnetTimeScaleShift {
        case "default": timeNorm = .default
        case "scale_shift": timeNorm = .scaleShift
        default: throw unsupported("resnet_time_scale_shift \"\(resnetTimeScaleShift)\" is not supported (default, scale_shift)")
        }
        let heads = try (numAttentionHeads ?? attentionHeadDim).expanded(n, numAttentionHeads == nil ? "attention_head_dim" : "num_attention_heads")
        for (i, c) in blockOutChannels.enumerated() {
            guard c % groups == 0 else { throw unsupported("block_out_channels[\(i)] = \(c) does not split into norm_num_groups = \(groups)") }
            guard heads[i] >= 1, c % heads[i] == 0 else { throw unsupported("block_out_channels[\(i)] = \(c) does not split into \(heads[i]) attention heads") }
        }
        let only = try onlyCrossAttention.expanded(n, "only_cross_attention")
        let layers = try layersPerBlock.expanded(n, "layers_per_block")
        let crossDims = try crossAttentionDim.expanded(n, "cross_attention_dim")
        let transformers = try transformerLayersPerBlock.expanded(n, "transformer_layers_per_block")
        for i in 0..<n {
            for p in [ConfigBounds.problem("layers_per_block[\(i)]", layers[i], max: ConfigBounds.maxLayers),
                      ConfigBounds.problem("cross_attention_dim[\(i)]", crossDims[i]),
                      ConfigBounds.problem("transformer_layers_per_block[\(i)]", transformers[i], max: ConfigBounds.maxLayers)] {
                if let p { throw unsupported(p) }
            }
        }
        return UNetLayout(heads: heads, layersPerBlock: layers,
                          crossAttentionDims: crossDims,
                          transformerLayers: transformers,
                          onlyCrossAttention: only,
                          activation: try Activation(name: actFn, what: "act_fn"), timeEmbeddingNorm: timeNorm, groups: groups)
    }
}
