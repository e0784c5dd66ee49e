// diffusers Attention with AttnProcessor2_0 (models/attention_processor.py): to_q / to_k / to_v projections,
// multi-head scaled dot-product attention (TensorCore's fused kernel), to_out.0 projection; optional group_norm
// before the projections, residual connection and output rescaling (the VAE mid-block attention). Self-attention
// when no encoder states are given, cross-attention otherwise; padded text keys can be masked.
import TensorCore

public final class Attention: Module {
    public let toQ: Linear
    public let toK: Linear
    public let toV: Linear
    /// to_out is a ModuleList [Linear, Dropout] in diffusers; only index 0 has weights (`to_out.0.weight`).
    public let toOut: ModuleList<Linear>
    public let groupNorm: GroupNorm?
    public let heads: Int
    public let dimHead: Int
    public let scale: Float
    public let residualConnection: Bool
    public let rescaleOutputFactor: Float
    public let queryDim: Int
    public let crossAttentionDim: Int

    /// Arguments as diffusers': `crossAttentionDim` nil means self-attention (keys from the query input);
    /// `bias` for to_q/k/v, `outBias` for to_out.0; `scaleQK` false uses scale 1; `outDim` sets the inner size
    /// (heads = outDim / dimHead) and the output size; `normNumGroups` adds a group_norm over the query input.
    /// `upcastAttention` / `upcastSoftmax` are accepted for config compatibility: everything runs in Float32.
    public init(queryDim: Int, crossAttentionDim: Int? = nil, heads: Int = 8, dimHead: Int = 64,
                bias: Bool = false, upcastAttention: Bool = false, upcastSoftmax: Bool = false,
                outBias: Bool = true, scaleQK: Bool = true, outDim: Int? = nil, normNumGroups: Int? = nil,
                eps: Float = 1e-5, residualConnection: Bool = false, rescaleOutputFactor: Float = 1,
                rng: RandomGenerator) {
        let inner = outDim ?? dimHead * heads
        let kvDim = crossAttentionDim ?? queryDim
        self.heads = outDim.map { $0 / dimHead } ?? heads
        self.dimHead = dimHead
        self.scale = scaleQK ? 1 / Float(dimHead).squareRoot() : 1
        self.residualConnection = residualConnection
        self.rescaleOutputFactor = rescaleOutputFactor
        self.queryDim = queryDim
        self.crossAttentionDim = kvDim
        require(self.heads * dimHead == inner, "Attention: inner dim \(inner) is not heads \(self.heads) × dim_head \(dimHead)")
        groupNorm = normNumGroups.map { GroupNorm(groups: $0, channels: queryDim, eps: eps) }
        toQ = Linear(queryDim, inner, bias: bias, rng: rng)
        toK = Linear(kvDim, inner, bias: bias, rng: rng)
        toV = Linear(kvDim, inner, bias: bias, rng: rng)
        toOut = ModuleList([Linear(inner, outDim ?? queryDim, bias: outBias, rng: rng)])
        super.init()
        if let groupNorm { registerModule("group_norm", groupNorm) }
        registerModule("to_q", toQ)
        registerModule("to_k", toK)
        registerModule("to_v", toV)
        registerModule("to_out", toOut)
    }

    /// hiddenStates (B, L, queryDim) or (B, queryDim, H, W) (flattened to H·W tokens and restored);
    /// encoderHiddenStates (B, Lk, crossAttentionDim) or nil for self-attention; keyMask (B, Lk): 1 keeps a
    /// key, 0 masks it (diffusers' encoder_attention_mask before its conversion to a -10000 bias).
    /// Returns the input's shape.
    public func callAsFunction(_ hiddenStates: Tensor, encoderHiddenStates: Tensor? = nil, keyMask: Tensor? = nil) -> Tensor {
        let input = hiddenStates
        let spatial = input.rank == 4
        require((spatial || input.rank == 3) && input.shape[1 + (spatial ? 0 : 1)] == queryDim,
                "Attention: input \(input.shape) must be (B, L, \(queryDim)) or (B, \(queryDim), H, W)")
        let b = input.shape[0]
        // (B, C, H, W) -> (B, H·W, C)
        var x = spatial ? input.reshape([b, queryDim, -1]).transpose(1, 2) : input
        // Normalised over the channels, then made dense once for the three projections.
        if let groupNorm { x = groupNorm(x.transpose(1, 2)).transpose(1, 2).contiguous() }
        let context = encoderHiddenStates ?? x
        require(context.rank == 3 && context.shape[0] == b && context.shape[2] == crossAttentionDim,
                "Attention: encoder hidden states \(context.shape) must be (\(b), L, \(crossAttentionDim))")
        let lq = x.shape[1], lk = context.shape[1]
        // (B, L, heads·dimHead) -> (B, heads, L, dimHead), views.
        func split(_ t: Tensor, _ l: Int) -> Tensor { t.reshape([b, l, heads, dimHead]).permute([0, 2, 1, 3]) }
        let q = split(toQ(x), lq), k = split(toK(context), lk), v = split(toV(context), lk)
        let o = scaledDotProductAttention(q: q, k: k, v: v, keyMask: keyMask, scale: scale)
        var out = toOut[0](o.permute([0, 2, 1, 3]).reshape([b, lq, heads * dimHead]))
        if spatial { out = out.transpose(1, 2).reshape([b, out.shape[2]] + Array(input.shape[2...])) }
        if residualConnection { out = out + input }
        return rescaleOutputFactor == 1 ? out : out / rescaleOutputFactor
    }
}
