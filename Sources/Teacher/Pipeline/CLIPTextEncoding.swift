// The text stack of a Stable Diffusion pipeline: diffusers StableDiffusionPipeline.encode_prompt
// (pipelines/stable_diffusion/pipeline_stable_diffusion.py) with a CLIPTokenizer and a CLIPTextModel. Prompts
// are tokenized with padding="max_length" to model_max_length and truncation=True (the end token kept);
// no attention mask is passed (CLIP text configs have no use_attention_mask), so padding tokens are seen
// through the causal mask only, as in diffusers; the states are last_hidden_state (final_layer_norm applied),
// or with clip_skip k the hidden state k layers before the last, passed through final_layer_norm.
// Stable Diffusion 2's text_encoder/config.json already has num_hidden_layers 23 (OpenCLIP ViT-H's
// penultimate layer), so its pipeline uses clip_skip nil.
import Foundation
import TensorCore

public final class CLIPTextEncoding: TextEncoding {
    public let tokenizer: CLIPTokenizer
    public let textEncoder: CLIPTextModel
    /// diffusers' clip_skip: nil uses the last layer's output.
    public let clipSkip: Int?

    public init(tokenizer: CLIPTokenizer, textEncoder: CLIPTextModel, clipSkip: Int? = nil) {
        require(tokenizer.contextLength <= textEncoder.config.maxPositionEmbeddings,
                "CLIPTextEncoding: the tokenizer's model_max_length \(tokenizer.contextLength) exceeds the text encoder's max_position_embeddings \(textEncoder.config.maxPositionEmbeddings)")
        require(clipSkip.map { $0 >= 0 && $0 <= textEncoder.config.numHiddenLayers } ?? true,
                "CLIPTextEncoding: clip_skip \(clipSkip ?? 0) must be in 0...\(textEncoder.config.numHiddenLayers)")
        self.tokenizer = tokenizer
        self.textEncoder = textEncoder
        self.clipSkip = clipSkip
    }

    /// Loads `tokenizer/` and `text_encoder/` of a pipeline folder (or any tokenizer and CLIPTextModel folders).
    public convenience init(tokenizerFolder: String, textEncoderFolder: String, clipSkip: Int? = nil) throws {
        let tokenizer = try CLIPTokenizer(folder: tokenizerFolder)
        let model = try CLIPTextModel(folder: textEncoderFolder)
        try tokenizer.check(against: model.config, configPath: (textEncoderFolder as NSString).appendingPathComponent("config.json"),
                            tokenizerFolder: tokenizerFolder)
        self.init(tokenizer: tokenizer, textEncoder: model, clipSkip: clipSkip)
    }

    /// Width of the states (the U-Net's cross_attention_dim must equal it).
    public var hiddenSize: Int { textEncoder.config.hiddenSize }

    /// Token ids (N, model_max_length) as integer-valued floats, as the tokenizer call of encode_prompt.
    public func tokenIDs(_ prompts: [String]) -> Tensor { tokenizer.encode(batch: prompts).ids }

    /// prompts -> (N, model_max_length, hidden) text states.
    public func encode(_ prompts: [String]) throws -> Tensor { encode(ids: tokenIDs(prompts)) }

    /// ids (N, L) -> (N, L, hidden) text states, for L ≤ model_max_length. The encoder is causal, so the states of a
    /// prefix of a padded row (e.g. up to its end token) are those of the whole row at the same positions (to the
    /// kernels' rounding: products of other shapes may sum in another order).
    public func encode(ids: Tensor) -> Tensor { withNoGrad { encodeDifferentiably(ids: ids) } }

    /// `encode(ids:)` recorded for autograd (when gradients are on), for training the text encoder.
    public func encodeDifferentiably(ids: Tensor) -> Tensor {
        require(ids.rank == 2 && ids.shape[1] <= tokenizer.contextLength,
                "CLIPTextEncoding.encode: ids must be (N, L ≤ \(tokenizer.contextLength)), got \(ids.shape)")
        guard let k = clipSkip else { return textEncoder(ids: ids).lastHiddenState }
        let t = textEncoder.text_model
        return t.final_layer_norm(t.hiddenStates(ids: ids, at: -(k + 1)))
    }
}
