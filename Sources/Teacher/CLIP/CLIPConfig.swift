// transformers' CLIPTextConfig, CLIPVisionConfig and CLIPConfig (models/clip/configuration_clip.py):
// decoded from config.json with the same snake_case keys and defaults (OpenAI CLIP ViT-B/32's), so a folder
// written by `save_pretrained` configures the Swift models exactly. Unknown keys are ignored, as transformers
// keeps them as attributes; a wrong type or an impossible value names its key path.
import TensorCore

/// transformers' ACT2FN entries that CLIP configs use (`hidden_act`).
public enum CLIPActivation: String, Codable, Sendable, CaseIterable {
    /// x · σ(1.702 x), OpenAI CLIP's activation.
    case quickGELU = "quick_gelu"
    /// Exact (erf) GELU, open_clip's models (Stable Diffusion 2's text encoder).
    case gelu
    /// GELU with the tanh approximation.
    case geluNew = "gelu_new", geluPytorchTanh = "gelu_pytorch_tanh", geluFast = "gelu_fast"
    case relu, silu, swish

    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .quickGELU: return x.quickGELU()
        case .gelu: return x.gelu()
        case .geluNew, .geluPytorchTanh, .geluFast: return x.gelu(approximate: .tanh)
        case .relu: return x.relu()
        case .silu, .swish: return x.silu()
        }
    }
}

/// The settings a CLIP transformer tower shares (hidden size, heads, MLP, activation, layer-norm epsilon).
public protocol CLIPTowerConfig: Sendable {
    var hiddenSize: Int { get }
    var intermediateSize: Int { get }
    var numHiddenLayers: Int { get }
    var numAttentionHeads: Int { get }
    var hiddenAct: CLIPActivation { get }
    var layerNormEps: Float { get }
}

/// transformers CLIPTextConfig.
public struct CLIPTextConfig: CLIPTowerConfig, Codable, Equatable {
    public var vocabSize = 49408
    public var hiddenSize = 512
    public var intermediateSize = 2048
    /// Width of CLIPTextModelWithProjection's text_projection (CLIPModel uses CLIPConfig.projectionDim).
    public var projectionDim = 512
    public var numHiddenLayers = 12
    public var numAttentionHeads = 8
    public var maxPositionEmbeddings = 77
    public var hiddenAct = CLIPActivation.quickGELU
    public var layerNormEps: Float = 1e-5
    public var padTokenID = 1
    public var bosTokenID = 49406
    /// 2 (the value of configs written before transformers PR #24773) selects the legacy pooling at the
    /// largest id of each row; any other value pools at the first occurrence of this id.
    public var eosTokenID = 49407

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case projectionDim = "projection_dim", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", maxPositionEmbeddings = "max_position_embeddings"
        case hiddenAct = "hidden_act", layerNormEps = "layer_norm_eps", padTokenID = "pad_token_id"
        case bosTokenID = "bos_token_id", eosTokenID = "eos_token_id"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = CLIPTextConfig()
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
        projectionDim = try c.decodeIfPresent(Int.self, forKey: .projectionDim) ?? d.projectionDim
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? d.numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? d.maxPositionEmbeddings
        hiddenAct = try c.decodeIfPresent(CLIPActivation.self, forKey: .hiddenAct) ?? d.hiddenAct
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? d.layerNormEps
        padTokenID = try c.decodeIfPresent(Int.self, forKey: .padTokenID) ?? d.padTokenID
        bosTokenID = try c.decodeIfPresent(Int.self, forKey: .bosTokenID) ?? d.bosTokenID
        eosTokenID = try c.decodeIfPresent(Int.self, forKey: .eosTokenID) ?? d.eosTokenID
        try checkCLIPTower(self, c, heads: .numAttentionHeads, positive: [
            (.vocabSize, vocabSize), (.hiddenSize, hiddenSize), (.intermediateSize, intermediateSize),
            (.projectionDim, projectionDim), (.numAttentionHeads, numAttentionHeads),
            (.maxPositionEmbeddings, maxPositionEmbeddings)])
    }
}

/// transformers CLIPVisionConfig.
public struct CLIPVisionConfig: CLIPTowerConfig, Codable, Equatable {
    public var hiddenSize = 768
    public var intermediateSize = 3072
    /// Width of CLIPVisionModelWithProjection's visual_projection (CLIPModel uses CLIPConfig.projectionDim).
    public var projectionDim = 512
    public var numHiddenLayers = 12
    public var numAttentionHeads = 12
    public var numChannels = 3
    public var imageSize = 224
    public var patchSize = 32
    public var hiddenAct = CLIPActivation.quickGELU
    public var layerNormEps: Float = 1e-5

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size", intermediateSize = "intermediate_size", projectionDim = "projection_dim"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case numChannels = "num_channels", imageSize = "image_size", patchSize = "patch_size"
        case hiddenAct = "hidden_act", layerNormEps = "layer_norm_eps"
    }

    public init() {}

    /// Patches per image (image_size / patch_size)².
    public var numPatches: Int { (imageSize / patchSize) * (imageSize / patchSize) }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = CLIPVisionConfig()
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
        projectionDim = try c.decodeIfPresent(Int.self, forKey: .projectionDim) ?? d.projectionDim
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? d.numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        numChannels = try c.decodeIfPresent(Int.self, forKey: .numChannels) ?? d.numChannels
        imageSize = try c.decodeIfPresent(Int.self, forKey: .imageSize) ?? d.imageSize
        patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? d.patchSize
        hiddenAct = try c.decodeIfPresent(CLIPActivation.self, forKey: .hiddenAct) ?? d.hiddenAct
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? d.layerNormEps
        try checkCLIPTower(self, c, heads: .numAttentionHeads, positive: [
            (.hiddenSize, hiddenSize), (.intermediateSize, intermediateSize), (.projectionDim, projectionDim),
            (.numAttentionHeads, numAttentionHeads), (.numChannels, numChannels), (.imageSize, imageSize), (.patchSize, patchSize)])
        if imageSize % patchSize != 0 {
            throw DecodingError.dataCorruptedError(forKey: .patchSize, in: c,
                debugDescription: "image_size \(imageSize) is not a multiple of patch_size \(patchSize)")
        }
    }
}

/// transformers CLIPConfig: both towers and the shared projection width and initial logit scale.
public struct CLIPConfig: Codable, Equatable, Sendable {
    public var textConfig = CLIPTextConfig()
    public var visionConfig = CLIPVisionConfig()
    public var projectionDim = 512
    /// log of the logit scale (the checkpoint's `logit_scale` overrides it).
    public var logitScaleInitValue: Float = 2.6592

    enum CodingKeys: String, CodingKey {
        case textConfig = "text_config", visionConfig = "vision_config", projectionDim = "projection_dim"
        case logitScaleInitValue = "logit_scale_init_value"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        textConfig = try c.decodeIfPresent(CLIPTextConfig.self, forKey: .textConfig) ?? CLIPTextConfig()
        visionConfig = try c.decodeIfPresent(CLIPVisionConfig.self, forKey: .visionConfig) ?? CLIPVisionConfig()
        projectionDim = try c.decodeIfPresent(Int.self, forKey: .projectionDim) ?? 512
        logitScaleInitValue = try c.decodeIfPresent(Float.self, forKey: .logitScaleInitValue) ?? 2.6592
        if !logitScaleInitValue.isFinite {
            throw DecodingError.dataCorruptedError(forKey: .logitScaleInitValue, in: c, debugDescription: "must be finite, got \(logitScaleInitValue)")
        }
        if projectionDim < 1 || projectionDim > ConfigBounds.maxSize {
            throw DecodingError.dataCorruptedError(forKey: .projectionDim, in: c, debugDescription: "must be in 1...\(ConfigBounds.maxSize), got \(projectionDim)")
        }
    }
}

/// Sizes must be positive, layers non-negative and hidden_size divisible by num_attention_heads.
func checkCLIPTower<K: CodingKey>(_ t: CLIPTowerConfig, _ c: KeyedDecodingContainer<K>, heads: K, positive: [(K, Int)]) throws {
    for (key, v) in positive where v < 1 {
        throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "must be positive, got \(v)")
    }
    for (key, v) in positive where v > ConfigBounds.maxSize {
        throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "\(v) is larger than \(ConfigBounds.maxSize)")
    }
    if t.numHiddenLayers < 0 || t.numHiddenLayers > ConfigBounds.maxLayers {
        throw DecodingError.dataCorruptedError(forKey: heads, in: c, debugDescription: "num_hidden_layers \(t.numHiddenLayers) must be in 0...\(ConfigBounds.maxLayers)")
    }
    if !(t.layerNormEps.isFinite && t.layerNormEps >= 0) {
        throw DecodingError.dataCorruptedError(forKey: heads, in: c, debugDescription: "layer_norm_eps \(t.layerNormEps) must be a non-negative number")
    }
    if t.hiddenSize % t.numAttentionHeads != 0 {
        throw DecodingError.dataCorruptedError(forKey: heads, in: c,
            debugDescription: "hidden_size \(t.hiddenSize) is not divisible by num_attention_heads \(t.numAttentionHeads)")
    }
}
