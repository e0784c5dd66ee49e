// transformers' CLIPModel (models/clip/modeling_clip.py: get_text_features, get_image_features, forward):
// both towers, their bias-free projections and the learned logit scale; embeddings are L2-normalised and
// logits are exp(logit_scale) · cosine similarity. Plus the CLIP score of torchmetrics' clip_score
// (100 · cosine similarity of the image and text embeddings) for the metrics.
import TensorCore

public final class CLIPModel: Module {
    public let config: CLIPConfig
    public let text_model: CLIPTextTransformer
    public let vision_model: CLIPVisionTransformer
    public let visual_projection: Linear, text_projection: Linear
    /// log of the logit scale, shape [] (a checkpoint scalar).
    public let logit_scale: Tensor

    public init(_ config: CLIPConfig, rng: RandomGenerator = RandomGenerator(seed: 0)) {
        self.config = config
        text_model = CLIPTextTransformer(config.textConfig, rng: rng)
        vision_model = CLIPVisionTransformer(config.visionConfig, rng: rng)
        visual_projection = Linear(config.visionConfig.hiddenSize, config.projectionDim, bias: false, rng: rng)
        text_projection = Linear(config.textConfig.hiddenSize, config.projectionDim, bias: false, rng: rng)
        logit_scale = Tensor(scalar: config.logitScaleInitValue)
        super.init()
        registerModule("text_model", text_model)
        registerModule("vision_model", vision_model)
        registerModule("visual_projection", visual_projection)
        registerModule("text_projection", text_projection)
        registerParameter("logit_scale", logit_scale)
    }

    /// Text features (get_text_features: text_projection of the pooled state), L2-normalised when
    /// `normalize` (CLIPOutput.text_embeds). ids: (B, L) -> (B, projection_dim).
    public func textEmbeddings(ids: Tensor, attentionMask: Tensor? = nil, normalize: Bool = true) -> Tensor {
        let e = text_projection(text_model(ids: ids, attentionMask: attentionMask).pooled)
        return normalize ? CLIPModel.l2Normalize(e) : e
    }

    /// Image features (get_image_features: visual_projection of the pooled class token), L2-normalised when
    /// `normalize` (CLIPOutput.image_embeds). pixelValues: (B, C, S, S) preprocessed -> (B, projection_dim).
    public func imageEmbeddings(pixelValues: Tensor, normalize: Bool = true) -> Tensor {
        let e = visual_projection(vision_model(pixelValues: pixelValues).pooled)
        return normalize ? CLIPModel.l2Normalize(e) : e
    }

    /// CLIPModel.forward: normalised embeddings and logits_per_image (Bi, Bt) = exp(logit_scale) ·
    /// image_embeds · text_embedsᵀ, logits_per_text its transpose.
    public func callAsFunction(ids: Tensor, pixelValues: Tensor, attentionMask: Tensor? = nil)
        -> (logitsPerImage: Tensor, logitsPerText: Tensor, textEmbeds: Tensor, imageEmbeds: Tensor) {
        let image = imageEmbeddings(pixelValues: pixelValues), text = textEmbeddings(ids: ids, attentionMask: attentionMask)
        let logitsPerText = text.matmul(image.transpose(0, 1)) * logit_scale.exp()
        return (logitsPerText.transpose(0, 1), logitsPerText, text, image)
    }

    /// CLIP score of each (image, text) pair: 100 · cos(image embedding, text embedding), per pair (B), as
    /// torchmetrics' clip_score computes before averaging over the batch and clamping the mean at 0.
    /// image: (B, C, S, S) preprocessed (CLIPImageProcessor), text: ids (B, L). Differentiable.
    public func clipScore(image: Tensor, text: Tensor) -> Tensor {
        require(image.shape[0] == text.shape[0], "clipScore: \(image.shape[0]) images but \(text.shape[0]) texts")
        return (imageEmbeddings(pixelValues: image) * textEmbeddings(ids: text)).sum(axes: [1]) * 100
    }

    /// clipScore with prompts tokenized by `tokenizer`.
    public func clipScore(image: Tensor, prompts: [String], tokenizer: CLIPTokenizer) -> Tensor {
        clipScore(image: image, text: tokenizer.encode(batch: prompts).ids)
    }

    /// x / ‖x‖₂ along the last axis (transformers' _get_vector_norm, no epsilon).
    public static func l2Normalize(_ x: Tensor) -> Tensor {
        x / (x * x).sum(axes: [-1], keepDims: true).sqrt()
    }
}
