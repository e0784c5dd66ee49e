// transformers' CLIPAttention, CLIPMLP, CLIPEncoderLayer and CLIPEncoder (models/clip/modeling_clip.py):
// pre-layer-norm transformer blocks shared by the text and vision towers, with the checkpoint's names
// (`layers.0.self_attn.q_proj.weight`, `layers.0.layer_norm1.bias`, `layers.0.mlp.fc1.weight`, ...).
import TensorCore

/// torch.nn.LayerNorm over the last axis: weight (D), bias (D).
public final class CLIPLayerNorm: Module {
    public let weight: Tensor
    public let bias: Tensor
    public let eps: Float

    public init(_ dim: Int, eps: Float) {
        weight = Tensor.ones([dim]); bias = Tensor.zeros([dim]); self.eps = eps
        super.init()
        registerParameter("weight", weight)
        registerParameter("bias", bias)
    }

    /// x: (..., D) -> (..., D)
    public func callAsFunction(_ x: Tensor) -> Tensor { layerNorm(x, normalizedShape: [weight.count], weight: weight, bias: bias, eps: eps) }
}

/// Multi-head self-attention with q/k/v/out projections (CLIPAttention), scale head_dim^-0.5.
public final class CLIPAttention: Module {
    public let q_proj: Linear, k_proj: Linear, v_proj: Linear, out_proj: Linear
    public let heads: Int

    public init(hidden: Int, heads: Int, rng: RandomGenerator) {
        require(hidden % heads == 0, "CLIPAttention: hidden size \(hidden) is not divisible by \(heads) heads")
        self.heads = heads
        k_proj = Linear(hidden, hidden, rng: rng); v_proj = Linear(hidden, hidden, rng: rng)
        q_proj = Linear(hidden, hidden, rng: rng); out_proj = Linear(hidden, hidden, rng: rng)
        super.init()
        registerModule("k_proj", k_proj); registerModule("v_proj", v_proj)
        registerModule("q_proj", q_proj); registerModule("out_proj", out_proj)
    }

    /// x: (B, L, D) -> (B, L, D). `bias`: an additive mask broadcasting to (B, heads, L, L) (0 keeps a key,
    /// a very negative value drops it), or nil for full attention (the fused kernel).
    public func callAsFunction(_ x: Tensor, bias: Tensor? = nil) -> Tensor {
        let (b, l, d) = (x.shape[0], x.shape[1], x.shape[2])
        let hd = d / heads
        func split(_ t: Tensor) -> Tensor { t.reshape([b, l, heads, hd]).transpose(1, 2) } // (B, H, L, hd)
        let q = split(q_proj(x)), k = split(k_proj(x)), v = split(v_proj(x))
        let scale = 1 / Float(hd).squareRoot()
        let o: Tensor
        if let bias {
            // eager_attention_forward: softmax(q kᵀ · scale + mask) v
            let p = (q.matmul(k.transpose(-1, -2)) * scale + bias).softmax(axis: -1)
            o = p.matmul(v)
        } else {
            o = scaledDotProductAttention(q: q, k: k, v: v, scale: scale)
        }
        return out_proj(o.transpose(1, 2).reshape([b, l, d]))
    }
}

/// fc1, activation, fc2 (CLIPMLP).
public final class CLIPMLP: Module {
    public let fc1: Linear, fc2: Linear
    public let activation: CLIPActivation

    public init(hidden: Int, intermediate: Int, activation: CLIPActivation, rng: RandomGenerator) {
        fc1 = Linear(hidden, intermediate, rng: rng); fc2 = Linear(intermediate, hidden, rng: rng)
        self.activation = activation
        super.init()
        registerModule("fc1", fc1); registerModule("fc2", fc2)
    }

    /// (..., D) -> (..., D)
    public func callAsFunction(_ x: Tensor) -> Tensor { fc2(activation(fc1(x))) }
}

/// x + attn(ln1(x)), then x + mlp(ln2(x)) (CLIPEncoderLayer).
public final class CLIPEncoderLayer: Module {
    public let self_attn: CLIPAttention, layer_norm1: CLIPLayerNorm, mlp: CLIPMLP, layer_norm2: CLIPLayerNorm

    public init(_ config: CLIPTowerConfig, rng: RandomGenerator) {
        self_attn = CLIPAttention(hidden: config.hiddenSize, heads: config.numAttentionHeads, rng: rng)
        layer_norm1 = CLIPLayerNorm(config.hiddenSize, eps: config.layerNormEps)
        mlp = CLIPMLP(hidden: config.hiddenSize, intermediate: config.intermediateSize, activation: config.hiddenAct, rng: rng)
        layer_norm2 = CLIPLayerNorm(config.hiddenSize, eps: config.layerNormEps)
        super.init()
        registerModule("self_attn", self_attn); registerModule("layer_norm1", layer_norm1)
        registerModule("mlp", mlp); registerModule("layer_norm2", layer_norm2)
    }

    /// x: (B, L, D) -> (B, L, D)
    public func callAsFunction(_ x: Tensor, bias: Tensor? = nil) -> Tensor {
        let h = x + self_attn(layer_norm1(x), bias: bias)
        return h + mlp(layer_norm2(h))
    }
}

/// The stack of encoder layers, registered as `layers.0`, `layers.1`, ... (CLIPEncoder).
public final class CLIPEncoder: Module {
    public let layers: [CLIPEncoderLayer]

    public init(_ config: CLIPTowerConfig, rng: RandomGenerator) {
        layers = (0..<config.numHiddenLayers).map { _ in CLIPEncoderLayer(config, rng: rng) }
        super.init()
        let list = Module()
        for (i, l) in layers.enumerated() { list.registerModule("\(i)", l) }
        registerModule("layers", list)
    }

    /// Runs the first `count` layers (all by default). x: (B, L, D) -> (B, L, D)
    public func callAsFunction(_ x: Tensor, bias: Tensor? = nil, count: Int? = nil) -> Tensor {
        let n = count ?? layers.count
        require(n >= 0 && n <= layers.count, "CLIPEncoder: cannot run \(n) of \(layers.count) layers")
        var h = x
        for l in layers.prefix(n) { h = l(h, bias: bias) }
        return h
    }
}
