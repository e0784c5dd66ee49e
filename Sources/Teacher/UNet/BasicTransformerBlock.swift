// diffusers BasicTransformerBlock with norm_type "layer_norm" (models/attention.py): pre-norm self-attention
// (attn1), cross-attention on the text (attn2), and the GEGLU feed-forward (ff), each added to its input.
import TensorCore

public final class BasicTransformerBlock: Module {
    public let norm1: LayerNorm
    public let attn1: Attention
    public let norm2: LayerNorm?
    public let attn2: Attention?
    public let norm3: LayerNorm
    public let ff: FeedForward
    public let onlyCrossAttention: Bool

    /// Arguments as diffusers': `dim` = heads × headDim; `crossAttentionDim` nil gives no attn2 (unless
    /// `doubleSelfAttention`); `onlyCrossAttention` makes attn1 attend to the text as well.
    public init(dim: Int, numAttentionHeads: Int, attentionHeadDim: Int, crossAttentionDim: Int? = nil,
                activation: FeedForward.ActivationKind = .geglu, attentionBias: Bool = false,
                onlyCrossAttention: Bool = false, doubleSelfAttention: Bool = false, upcastAttention: Bool = false,
                normElementwiseAffine: Bool = true, normEps: Float = 1e-5, ffInnerDim: Int? = nil, ffBias: Bool = true,
                attentionOutBias: Bool = true, rng: RandomGenerator) {
        self.onlyCrossAttention = onlyCrossAttention
        norm1 = LayerNorm(dim, eps: normEps, elementwiseAffine: normElementwiseAffine)
        attn1 = Attention(queryDim: dim, crossAttentionDim: onlyCrossAttention ? crossAttentionDim : nil,
                          heads: numAttentionHeads, dimHead: attentionHeadDim, bias: attentionBias,
                          upcastAttention: upcastAttention, outBias: attentionOutBias, rng: rng)
        if crossAttentionDim != nil || doubleSelfAttention {
            norm2 = LayerNorm(dim, eps: normEps, elementwiseAffine: normElementwiseAffine)
            attn2 = Attention(queryDim: dim, crossAttentionDim: doubleSelfAttention ? nil : crossAttentionDim,
                              heads: numAttentionHeads, dimHead: attentionHeadDim, bias: attentionBias,
                              upcastAttention: upcastAttention, outBias: attentionOutBias, rng: rng)
        } else {
            norm2 = nil
            attn2 = nil
        }
        norm3 = LayerNorm(dim, eps: normEps, elementwiseAffine: normElementwiseAffine)
        ff = FeedForward(dim: dim, activation: activation, innerDim: ffInnerDim, bias: ffBias, rng: rng)
        super.init()
        registerModule("norm1", norm1)
        registerModule("attn1", attn1)
        if let norm2, let attn2 { registerModule("norm2", norm2); registerModule("attn2", attn2) }
        registerModule("norm3", norm3)
        registerModule("ff", ff)
    }

    /// x (B, L, dim), encoderHiddenStates (B, Lk, crossAttentionDim), encoderKeyMask (B, Lk) -> (B, L, dim).
    public func callAsFunction(_ x: Tensor, encoderHiddenStates: Tensor?, encoderKeyMask: Tensor? = nil) -> Tensor {
        var h = x
        h = attn1(norm1(h), encoderHiddenStates: onlyCrossAttention ? encoderHiddenStates : nil) + h
        if let attn2, let norm2 {
            h = attn2(norm2(h), encoderHiddenStates: encoderHiddenStates, keyMask: encoderKeyMask) + h
        }
        return ff(norm3(h)) + h
    }
}
