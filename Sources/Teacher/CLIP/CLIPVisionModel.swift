// transformers' CLIP vision tower (models/clip/modeling_clip.py: CLIPVisionEmbeddings, CLIPVisionModel's
// forward, CLIPVisionModelWithProjection): a bias-free patch convolution, the class token, position
// embeddings, pre_layrnorm (sic, the checkpoint's name), the encoder, and post_layernorm on the class token.
// Module names are the checkpoint's (`vision_model.embeddings.patch_embedding.weight`, ...).
import TensorCore

/// A parameter-only module holding the patch convolution's weight (D, C, P, P) (nn.Conv2d, bias=False).
public final class CLIPPatchEmbedding: Module {
    public let weight: Tensor
    public let patchSize: Int

    public init(channels: Int, hidden: Int, patchSize: Int, rng: RandomGenerator) {
        let bound = 1 / Float(channels * patchSize * patchSize).squareRoot()
        weight = rng.uniform([hidden, channels, patchSize, patchSize], low: -bound, high: bound)
        self.patchSize = patchSize
        super.init()
        registerParameter("weight", weight)
    }

    /// (B, C, H, W) -> (B, N, D), N = (H / P)·(W / P) patches in row-major order.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = conv2d(x, weight, stride: (patchSize, patchSize)) // (B, D, H/P, W/P)
        return y.flatten(from: 2).transpose(1, 2)
    }
}

/// class_embedding (D), patch_embedding, position_embedding (N + 1, D) (CLIPVisionEmbeddings).
public final class CLIPVisionEmbeddings: Module {
    public let class_embedding: Tensor
    public let patch_embedding: CLIPPatchEmbedding, position_embedding: Embedding
    public let imageSize: Int

    public init(_ config: CLIPVisionConfig, rng: RandomGenerator) {
        class_embedding = rng.normal([config.hiddenSize])
        patch_embedding = CLIPPatchEmbedding(channels: config.numChannels, hidden: config.hiddenSize,
                                             patchSize: config.patchSize, rng: rng)
        position_embedding = Embedding(config.numPatches + 1, config.hiddenSize, rng: rng)
        imageSize = config.imageSize
        super.init()
        registerParameter("class_embedding", class_embedding)
        registerModule("patch_embedding", patch_embedding)
        registerModule("position_embedding", position_embedding)
    }

    /// pixelValues (B, C, S, S), S = image_size -> (B, N + 1, D): the class token, then the patches.
    public func callAsFunction(_ pixelValues: Tensor) -> Tensor {
        require(pixelValues.rank == 4 && pixelValues.shape[2] == imageSize && pixelValues.shape[3] == imageSize,
                "CLIPVisionEmbeddings: input \(pixelValues.shape) must be (B, C, \(imageSize), \(imageSize)) (the model's image_size)")
        let b = pixelValues.shape[0], d = class_embedding.count
        let patches = patch_embedding(pixelValues)
        let cls = class_embedding.reshape([1, 1, d]).expand([b, 1, d])
        return Tensor.concat([cls, patches], axis: 1) + position_embedding.weight
    }
}

/// The vision transformer: embeddings, pre_layrnorm, encoder, post_layernorm (transformers 5's
/// CLIPVisionModel body; the `vision_model` of CLIPModel and CLIPVisionModelWithProjection).
public final class CLIPVisionTransformer: Module {
    public let config: CLIPVisionConfig
    public let embeddings: CLIPVisionEmbeddings, pre_layrnorm: CLIPLayerNorm, encoder: CLIPEncoder, post_layernorm: CLIPLayerNorm

    public init(_ config: CLIPVisionConfig, rng: RandomGenerator = RandomGenerator(seed: 0)) {
        self.config = config
        embeddings = CLIPVisionEmbeddings(config, rng: rng)
        pre_layrnorm = CLIPLayerNorm(config.hiddenSize, eps: config.layerNormEps)
        encoder = CLIPEncoder(config, rng: rng)
        post_layernorm = CLIPLayerNorm(config.hiddenSize, eps: config.layerNormEps)
        super.init()
        registerModule("embeddings", embeddings)
        registerModule("pre_layrnorm", pre_layrnorm)
        registerModule("encoder", encoder)
        registerModule("post_layernorm", post_layernorm)
    }

    /// pixelValues (B, C, S, S), normalised as CLIPImageProcessor does -> lastHiddenState (B, N + 1, D),
    /// pooled = post_layernorm(lastHiddenState[:, 0]) (B, D).
    public func callAsFunction(pixelValues: Tensor) -> (lastHiddenState: Tensor, pooled: Tensor) {
        let h = encoder(pre_layrnorm(embeddings(pixelValues)))
        let cls = h.slice(axis: 1, start: 0, end: 1).squeeze(1)
        return (h, post_layernorm(cls))
    }
}

/// transformers CLIPVisionModel: the vision transformer under `vision_model`.
public final class CLIPVisionModel: Module {
    public let vision_model: CLIPVisionTransformer
    public var config: CLIPVisionConfig { vision_model.config }

    public init(_ config: CLIPVisionConfig, rng: RandomGenerator = RandomGenerator(seed: 0)) {
        vision_model = CLIPVisionTransformer(config, rng: rng)
        super.init()
        registerModule("vision_model", vision_model)
    }

    /// See CLIPVisionTransformer.callAsFunction.
    public func callAsFunction(pixelValues: Tensor) -> (lastHiddenState: Tensor, pooled: Tensor) {
        vision_model(pixelValues: pixelValues)
    }
}

/// transformers CLIPVisionModelWithProjection: vision_model and visual_projection (no bias).
public final class CLIPVisionModelWithProjection: Module {
    public let vision_model: CLIPVisionTransformer
    public let visual_projection: Linear
    public var config: CLIPVisionConfig { vision_model.config }

    public init(_ config: CLIPVisionConfig, rng: RandomGenerator = RandomGenerator(seed: 0)) {
        vision_model = CLIPVisionTransformer(config, rng: rng)
        visual_projection = Linear(config.hiddenSize, config.projectionDim, bias: false, rng: rng)
        super.init()
        registerModule("vision_model", vision_model)
        registerModule("visual_projection", visual_projection)
    }

    /// image_embeds (B, projection_dim, not normalized) and last_hidden_state (B, N + 1, D).
    public func callAsFunction(pixelValues: Tensor) -> (imageEmbeds: Tensor, lastHiddenState: Tensor) {
        let out = vision_model(pixelValues: pixelValues)
        return (visual_projection(out.pooled), out.lastHiddenState)
    }
}
