// transformers' CLIP text tower (models/clip/modeling_clip.py: CLIPTextEmbeddings, CLIPTextModel's forward,
// CLIPTextModelWithProjection): token + position embeddings, causal pre-LN encoder, final_layer_norm, the
// pooled state at each row's end token, and the optional text_projection. Module names are the checkpoint's
// (`text_model.embeddings.token_embedding.weight`, `text_model.encoder.layers.0....`, `text_projection.weight`).
import TensorCore

/// token_embedding (vocab, D) and position_embedding (max positions, D) (CLIPTextEmbeddings).
public final class CLIPTextEmbeddings: Module {
    public let token_embedding: Embedding, position_embedding: Embedding

    public init(_ config: CLIPTextConfig, rng: RandomGenerator) {
        token_embedding = Embedding(config.vocabSize, config.hiddenSize, rng: rng)
        position_embedding = Embedding(config.maxPositionEmbeddings, config.hiddenSize, rng: rng)
        super.init()
        registerModule("token_embedding", token_embedding)
        registerModule("position_embedding", position_embedding)
    }

    /// ids: (B, L) integer-valued -> (B, L, D), positions 0..<L.
    public func callAsFunction(_ ids: Tensor) -> Tensor {
        let l = ids.shape[1]
        require(l <= position_embedding.weight.shape[0],
                "CLIPTextEmbeddings: sequence length \(l) exceeds max_position_embeddings \(position_embedding.weight.shape[0])")
        return token_embedding(ids) + position_embedding.weight.slice(axis: 0, start: 0, end: l)
    }
}

/// The text transformer: embeddings, encoder, final_layer_norm (transformers 5's CLIPTextModel body; the
/// `text_model` of CLIPModel, CLIPTextModelWithProjection and transformers 4's CLIPTextModel).
public final class CLIPTextTransformer: Module {
    public let config: CLIPTextConfig
    public let embeddings: CLIPTextEmbeddings, encoder: CLIPEncoder, final_layer_norm: CLIPLayerNorm

    public init(_ config: CLIPTextConfig, rng: RandomGenerator = RandomGenerator(seed: 0)) {
        self.config = config
        embeddings = CLIPTextEmbeddings(config, rng: rng)
        encoder = CLIPEncoder(config, rng: rng)
        final_layer_norm = CLIPLayerNorm(config.hiddenSize, eps: config.layerNormEps)
        super.init()
        registerModule("embeddings", embeddings)
        registerModule("encoder", encoder)
        registerModule("final_layer_norm", final_layer_norm)
    }

    /// The additive attention mask: causal, and padded keys (attentionMask == 0) dropped.
    /// attentionMask: (B, L) or nil -> (1 or B, 1, L, L).
    public static func attentionBias(length l: Int, attentionMask: Tensor?) -> Tensor {
        let blocked = -Float.greatestFiniteMagnitude // torch.finfo(float32).min, as transformers' eager mask
        var causal = [Float](repeating: 0, count: l * l)
        for i in 0..<l { for j in (i + 1)..<l { causal[i * l + j] = blocked } }
        guard let attentionMask else { return Tensor(causal, shape: [1, 1, l, l]) }
        require(attentionMask.rank == 2 && attentionMask.shape[1] == l,
                "CLIPTextTransformer: attention mask \(attentionMask.shape) must be (B, \(l))")
        let b = attentionMask.shape[0], m = attentionMask.toArray()
        var out = [Float](repeating: 0, count: b * l * l)
        for r in 0..<b { for i in 0..<l { for j in 0..<l {
            out[(r * l + i) * l + j] = m[r * l + j] == 0 ? blocked : causal[i * l + j]
        } } }
        return Tensor(out, shape: [b, 1, l, l])
    }

    /// transformers' `hidden_states[index]` (before final_layer_norm): index 0 is the embeddings, i the
    /// output of layer i; negative indices count from the end (-1: last layer, -2: penultimate). Layers
    /// after the requested one are not run. ids: (B, L) -> (B, L, D).
    public func hiddenStates(ids: Tensor, at index: Int, attentionMask: Tensor? = nil) -> Tensor {
        require(ids.rank == 2, "CLIPTextTransformer: ids must be (B, L), got \(ids.shape)")
        let n = encoder.layers.count
        let i = index < 0 ? n + 1 + index : index
        require(i >= 0 && i <= n, "CLIPTextTransformer: hidden state \(index) does not exist for \(n) layers")
        let bias = CLIPTextTransformer.attentionBias(length: ids.shape[1], attentionMask: attentionMask)
        return encoder(embeddings(ids), bias: bias, count: i)
    }

    /// Each row's pooling position: the first eos_token_id, or the largest id when eos_token_id is 2
    /// (configs from before transformers PR #24773). A row without the end token pools position 0, as
    /// argmax over all-zero flags does.
    public func poolingPositions(_ ids: Tensor) -> [Int] {
        let (b, l) = (ids.shape[0], ids.shape[1])
        let v = ids.toArray()
        return (0..<b).map { r in
            let row = v[(r * l)..<((r + 1) * l)]
            if config.eosTokenID == 2 {
                var best = row.startIndex // torch.argmax: the first of equal maxima
                for j in row.indices where row[j] > row[best] { best = j }
                return best - r * l
            }
            return (row.firstIndex(of: Float(config.eosTokenID)) ?? r * l) - r * l
        }
    }

    /// The rows of `states` (B, L, D) at `positions` -> (B, D).
    public static func pool(_ states: Tensor, at positions: [Int]) -> Tensor {
        let (b, l, d) = (states.shape[0], states.shape[1], states.shape[2])
        let index = Tensor(positions.enumerated().map { Float($0.offset * l + $0.element) }, shape: [b])
        return states.reshape([b * l, d]).indexSelect(axis: 0, index)
    }

    /// final_layer_norm of the last hidden state (or, with `penultimate`, of `hiddenStates(at: -2)`, as
    /// Stable Diffusion 2 and diffusers' clip_skip use it; the last layer is then not run), and its row at
    /// each end token. ids: (B, L) -> lastHiddenState (B, L, D), pooled (B, D). With `penultimate`, pooled is
    /// taken from the penultimate states (transformers' pooler_output always comes from the last layer).
    public func callAsFunction(ids: Tensor, attentionMask: Tensor? = nil, penultimate: Bool = false)
        -> (lastHiddenState: Tensor, pooled: Tensor) {
        let h = final_layer_norm(hiddenStates(ids: ids, at: penultimate ? -2 : -1, attentionMask: attentionMask))
        return (h, CLIPTextTransformer.pool(h, at: poolingPositions(ids)))
    }
}

/// transformers CLIPTextModel: the text transformer under `text_model`.
public final class CLIPTextModel: Module {
    public let text_model: CLIPTextTransformer
    public var config: CLIPTextConfig { text_model.config }

    public init(_ config: CLIPTextConfig, rng: RandomGenerator = RandomGenerator(seed: 0)) {
        text_model = CLIPTextTransformer(config, rng: rng)
        super.init()
        registerModule("text_model", text_model)
    }

    /// See CLIPTextTransformer.callAsFunction. ids: (B, L) integer-valued floats.
    public func callAsFunction(ids: Tensor, attentionMask: Tensor? = nil, penultimate: Bool = false)
        -> (lastHiddenState: Tensor, pooled: Tensor) {
        text_model(ids: ids, attentionMask: attentionMask, penultimate: penultimate)
    }

    /// Token ids as integers, one row per prompt (each of the same length, e.g. CLIPTokenizer.encode's 77).
    public func callAsFunction(ids: [[Int]], penultimate: Bool = false) -> (lastHiddenState: Tensor, pooled: Tensor) {
        text_model(ids: clipIDsTensor(ids), penultimate: penultimate)
    }
}

/// transformers CLIPTextModelWithProjection: text_model and text_projection (no bias).
public final class CLIPTextModelWithProjection: Module {
    public let text_model: CLIPTextTransformer
    public let text_projection: Linear
    public var config: CLIPTextConfig { text_model.config }

    public init(_ config: CLIPTextConfig, rng: RandomGenerator = RandomGenerator(seed: 0)) {
        text_model = CLIPTextTransformer(config, rng: rng)
        text_projection = Linear(config.hiddenSize, config.projectionDim, bias: false, rng: rng)
        super.init()
        registerModule("text_model", text_model)
        registerModule("text_projection", text_projection)
    }

    /// text_embeds (B, projection_dim, not normalized) and last_hidden_state (B, L, D).
    public func callAsFunction(ids: Tensor, attentionMask: Tensor? = nil) -> (textEmbeds: Tensor, lastHiddenState: Tensor) {
        let out = text_model(ids: ids, attentionMask: attentionMask)
        return (text_projection(out.pooled), out.lastHiddenState)
    }
}

/// Rows of equal length -> (B, L) integer-valued floats.
func clipIDsTensor(_ ids: [[Int]]) -> Tensor {
    let l = ids.first?.count ?? 0
    require(!ids.isEmpty && ids.allSatisfy { $0.count == l }, "CLIP text model: ids must be non-empty rows of equal length")
    return Tensor(ids.flatMap { $0.map(Float.init) }, shape: [ids.count, l])
}
