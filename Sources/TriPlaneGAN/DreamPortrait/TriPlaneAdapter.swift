// The local text injection: DreamPortrait §3.3 (3D-aware Gated Cross-Attention, Eq. 3: v = v + β·tanh(γ)·
// 3D-CrossAttn(t_3D, t_word), β = 1 and γ = 0 at initialisation; patch size 1×1, one token per texel; queries from
// the 3-D tokens, keys and values from the word tokens), §3.2 ("local adapters use zero initialization [62, 1]":
// ControlNet's zero convolution and Flamingo's tanh gate) and Appendix A (adapters inserted residually between
// synthesis blocks), as our method doc (docs/dreamportrait-method.md) §4 steps 1-5 fixes them.
import Foundation
import TensorCore

/// Sizes of one adapter.
public struct AdapterConfig: Sendable, Equatable {
    /// C, the channels of the synthesis block output the adapter reads and writes.
    public var channels: Int
    /// d, the channels of each of the three adapter planes (Proj_in gives 3·d; tokens have 3·d features).
    public var dim: Int
    /// Attention heads.
    public var heads: Int
    /// Width of the query/key/value projections (heads · head size); nil: 3·d. Must divide by `heads`.
    public var innerDim: Int?
    /// Dt, the word-token feature size.
    public var textDim: Int
    /// The adapter planes' axes (the generator's own tri-plane layout by default).
    public var axes: TriPlaneAxes
    /// LayerNorm epsilon (torch's default).
    public var layerNormEps: Float
    /// Ablations (paper Table 2): without 3-D pooling a token is its own plane's d features only ("w/o 3D"); without
    /// the gate the attention output is added as it is (no β·tanh(γ), no `beta`/`gamma` parameters; "w/o gate").
    public var pool3D: Bool = true
    public var gated: Bool = true

    public init(channels: Int, dim: Int = 32, heads: Int = 4, innerDim: Int? = nil, textDim: Int = 1024,
                axes: TriPlaneAxes = .eg3d, layerNormEps: Float = 1e-5, pool3D: Bool = true, gated: Bool = true) {
        self.pool3D = pool3D
        self.gated = gated
        self.channels = channels
        self.dim = dim
        self.heads = heads
        self.innerDim = innerDim
        self.textDim = textDim
        self.axes = axes
        self.layerNormEps = layerNormEps
    }

    /// The attention width actually used: `innerDim ?? 3·dim`.
    public var attentionDim: Int { innerDim ?? 3 * dim }
    /// Features per token: 3·d with the 3-D pooling, d without.
    public var tokenDim: Int { pool3D ? 3 * dim : dim }
}

/// A 1×1 convolution's parameters, `weight` (out, in, 1, 1) and `bias` (out) (torch.nn.Conv2d's keys).
public final class PointwiseConv: Module {
    public let weight: Tensor
    public let bias: Tensor

    /// torch.nn.Conv2d's default initialisation (U(-1/√in, 1/√in) for both), or all zeros.
    public init(_ inChannels: Int, _ outChannels: Int, zeroInit: Bool = false, rng: RandomGenerator) {
        let bound = 1 / Float(inChannels).squareRoot()
        weight = zeroInit ? Tensor.zeros([outChannels, inChannels, 1, 1])
            : rng.uniform([outChannels, inChannels, 1, 1], low: -bound, high: bound)
        bias = zeroInit ? Tensor.zeros([outChannels]) : rng.uniform([outChannels], low: -bound, high: bound)
        super.init()
        registerParameter("weight", weight)
        registerParameter("bias", bias)
    }

    /// x: (N, in, H, W) -> (N, out, H, W).
    public func callAsFunction(_ x: Tensor) -> Tensor { conv2d(x, weight, bias: bias) }
}

/// LayerNorm's affine parameters, `weight` (ones) and `bias` (zeros) of shape (features) (torch.nn.LayerNorm's keys).
public final class LayerNormParameters: Module {
    public let weight: Tensor
    public let bias: Tensor
    public let eps: Float

    public init(_ features: Int, eps: Float = 1e-5) {
        weight = Tensor.ones([features])
        bias = Tensor.zeros([features])
        self.eps = eps
        super.init()
        registerParameter("weight", weight)
        registerParameter("bias", bias)
    }

    /// x: (..., features) -> (..., features), normalised over the last axis.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        layerNorm(x, normalizedShape: [weight.shape[0]], weight: weight, bias: bias, eps: eps)
    }
}

/// The 3D-aware gated cross-attention adapter: x -> x + Proj_out(v), v = f + β·tanh(γ)·CrossAttn(t_3D, t_word).
///
/// For a block output x (N, C, H, W):
/// 1. f = Proj_in(x), a 1×1 convolution to 3·d channels, read as three planes f_k (channels [k·d, (k+1)·d)) with
///    the axes of `config.axes` (EG3D's XY, XZ, ZX by default, as the generator's final tri-plane).
/// 2-3. t_3D: `TriPlanePooling`, per plane [pooled from plane (k+2)%3, f_k, pooled from plane (k+1)%3], one
///    token of 3·d features per texel of every plane: 3·H·W query tokens per sample.
/// 4. Pre-LayerNorm over the 3·d features; multi-head cross-attention with queries `to_q`(LN(t_3D)), keys
///    `to_k`(words), values `to_v`(words) (no biases, as Stable Diffusion's cross-attention), the padding masked,
///    scale 1/√(head size); heads concatenated and projected by `to_out` (with bias) to d features per token.
/// 5. The gate adds the attention output onto the token's own plane feature, v_k = f_k + β·tanh(γ)·attn_k, and
///    `proj_out` (1×1, 3·d -> C) maps the three planes back: out = x + Proj_out(v).
///
/// A sample with no words (every slot masked, or L = 0) attends to nothing: its attention output before `to_out` is
/// zero (TensorCore's and PyTorch's convention), so its gated term is β·tanh(γ)·to_out.bias, the same for every
/// empty prompt.
///
/// Identity at initialisation, bit for bit and for any text. Two zeros are needed because v carries f = Proj_in(x)
/// as well as the gated attention: γ = 0 makes the gated term 0·attn = 0 (attention outputs are finite), so the
/// text has no effect (the gate is closed), and `proj_out` is zero-initialised (weight and bias: the paper's "zero
/// initialization [62]", ControlNet's zero convolution), so Proj_out(v) is exactly 0 and x + 0 returns x's values
/// unchanged; x itself is added, never recomputed. In training `proj_out` receives a gradient at once (through f),
/// and γ as soon as `proj_out` is non-zero.
///
/// Checkpoint keys: `proj_in.{weight,bias}`, `norm.{weight,bias}`, `to_q.weight`, `to_k.weight`, `to_v.weight`,
/// `to_out.{weight,bias}`, `proj_out.{weight,bias}`, `beta` (1), `gamma` (1).
public final class GatedCrossAttentionAdapter: Module {
    public let config: AdapterConfig
    public let pooling: TriPlanePooling
    public let projIn: PointwiseConv
    public let norm: LayerNormParameters
    public let toQ: Linear
    public let toK: Linear
    public let toV: Linear
    public let toOut: Linear
    public let projOut: PointwiseConv
    /// β, initialised to 1.
    public let beta: Tensor
    /// γ, initialised to 0 (the gate tanh(γ) starts closed).
    public let gamma: Tensor

    public init(_ config: AdapterConfig, rng: RandomGenerator) {
        let (c, d, inner) = (config.channels, config.dim, config.attentionDim)
        require(c >= 1 && d >= 1 && config.textDim >= 1, "GatedCrossAttentionAdapter: sizes must be positive, got C \(c), d \(d), Dt \(config.textDim)")
        require(config.heads >= 1 && inner >= config.heads && inner % config.heads == 0,
                "GatedCrossAttentionAdapter: attention width \(inner) must be a positive multiple of heads = \(config.heads)")
        self.config = config
        pooling = TriPlanePooling(axes: config.axes)
        projIn = PointwiseConv(c, 3 * d, rng: rng)
        norm = LayerNormParameters(config.tokenDim, eps: config.layerNormEps)
        toQ = Linear(config.tokenDim, inner, bias: false, rng: rng)
        toK = Linear(config.textDim, inner, bias: false, rng: rng)
        toV = Linear(config.textDim, inner, bias: false, rng: rng)
        toOut = Linear(inner, d, rng: rng)
        projOut = PointwiseConv(3 * d, c, zeroInit: true, rng: rng)
        beta = Tensor.ones([1])
        gamma = Tensor.zeros([1])
        super.init()
        registerModule("proj_in", projIn)
        registerModule("norm", norm)
        registerModule("to_q", toQ)
        registerModule("to_k", toK)
        registerModule("to_v", toV)
        registerModule("to_out", toOut)
        registerModule("proj_out", projOut)
        if config.gated {
            registerParameter("beta", beta)
            registerParameter("gamma", gamma)
        }
    }

    /// The gate value β·tanh(γ), shape (1).
    public var gate: Tensor { beta * gamma.tanh() }

    /// Opens the gate to `value` = tanh(γ) (β stays 1), for a fresh adapter (ours, `train --gate-init`; the paper
    /// starts at γ = 0). The adapter stays the identity, because `proj_out` is still zero; what changes is that the
    /// attention's own weights get a gradient from the first step on (∝ tanh(γ)·proj_out, where with γ = 0 they get
    /// none until γ drifts, and γ's gradient is the correlation of a random attention output with the loss's: no
    /// steady sign, so the gate stays shut over short schedules).
    public func openGate(to value: Float) {
        require(config.gated, "GatedCrossAttentionAdapter.openGate: this adapter has no gate (--no-gate)")
        require(value >= 0 && value < 1, "GatedCrossAttentionAdapter.openGate: tanh(γ) must be in [0, 1), got \(value)")
        gamma.data[0] = Float(atanh(Double(value)))
    }

    /// The cross-attention of step 4 alone: 3-D tokens (N, T, 3d) attending to the words -> (N, T, d).
    public func crossAttention(tokens: Tensor, text: TextConditioning) -> Tensor {
        let (n, t) = (tokens.shape[0], tokens.shape[1])
        let (heads, inner, l) = (config.heads, config.attentionDim, text.length)
        let hd = inner / heads
        let q = toQ(norm(tokens)).reshape([n, t, heads, hd]).permute([0, 2, 1, 3])   // (N, heads, T, hd)
        let k = toK(text.words).reshape([n, l, heads, hd]).permute([0, 2, 1, 3])     // (N, heads, L, hd)
        let v = toV(text.words).reshape([n, l, heads, hd]).permute([0, 2, 1, 3])     // (N, heads, L, hd)
        let a = scaledDotProductAttention(q: q, k: k, v: v, keyMask: text.mask)     // (N, heads, T, hd)
        return toOut(a.permute([0, 2, 1, 3]).reshape([n, t, inner]))                // (N, T, d)
    }

    /// x: (N, C, H, W) (a synthesis block's output), text: N prompts with Dt = config.textDim -> (N, C, H, W).
    public func callAsFunction(_ x: Tensor, text: TextConditioning) -> Tensor {
        let (c, d) = (config.channels, config.dim)
        require(x.rank == 4 && x.shape[1] == c, "GatedCrossAttentionAdapter: x must be (N, \(c), H, W), got \(x.shape)")
        require(text.batch == x.shape[0], "GatedCrossAttentionAdapter: \(text.batch) prompts for a batch of \(x.shape[0]) (expand the text to the batch)")
        require(text.dim == config.textDim, "GatedCrossAttentionAdapter: word tokens have \(text.dim) features, the adapter expects \(config.textDim)")
        let (n, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        let f = projIn(x)                                                           // (N, 3d, H, W)
        let planes = f.chunk(3, axis: 1)                                            // 3 × (N, d, H, W)
        let features = config.pool3D ? pooling(planes) : planes                     // 3 × (N, 3d or d, H, W)
        let tokens = Tensor.concat(features.map {                                  // plane-major: one copy
            $0.reshape([n, config.tokenDim, h * w]).permute([0, 2, 1])              // 3 × (N, HW, 3d or d) views
        }, axis: 1)                                                                 // (N, 3HW, 3d or d)
        let attn = crossAttention(tokens: tokens, text: text)                       // (N, 3HW, d)
        let update = attn.reshape([n, 3, h, w, d]).permute([0, 1, 4, 2, 3])
            .reshape([n, 3 * d, h, w])                                              // (N, 3d, H, W)
        let v = config.gated ? f + update * gate.reshape([1, 1, 1, 1]) : f + update // (N, 3d, H, W)
        return x + projOut(v)                                                       // (N, C, H, W)
    }
}
