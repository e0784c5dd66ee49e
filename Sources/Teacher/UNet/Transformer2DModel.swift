// diffusers Transformer2DModel for continuous (image) input (models/transformers/transformer_2d.py): GroupNorm
// (eps 1e-6), proj_in (linear on tokens, or a 1×1 conv, per use_linear_projection), the image as H·W tokens
// through BasicTransformerBlocks, proj_out back to channels, plus the input.
import TensorCore

public final class Transformer2DModel: Module {
    public let norm: GroupNorm
    /// Linear (use_linear_projection) or Conv2d 1×1.
    public let projIn: Module
    public let transformerBlocks: ModuleList<BasicTransformerBlock>
    public let projOut: Module
    public let useLinearProjection: Bool
    public let inChannels: Int
    public let innerDim: Int

    /// Arguments as diffusers': inner size numAttentionHeads × attentionHeadDim, `numLayers` blocks.
    public init(numAttentionHeads: Int, attentionHeadDim: Int, inChannels: Int, numLayers: Int = 1,
                normNumGroups: Int = 32, crossAttentionDim: Int? = nil, attentionBias: Bool = false,
                useLinearProjection: Bool = false, onlyCrossAttention: Bool = false, upcastAttention: Bool = false,
                normElementwiseAffine: Bool = true, normEps: Float = 1e-5, rng: RandomGenerator) {
        let inner = numAttentionHeads * attentionHeadDim
        self.inChannels = inChannels
        self.innerDim = inner
        self.useLinearProjection = useLinearProjection
        norm = GroupNorm(groups: normNumGroups, channels: inChannels, eps: 1e-6)
        projIn = useLinearProjection ? Linear(inChannels, inner, rng: rng) : Conv2d(inChannels, inner, kernelSize: 1, rng: rng)
        transformerBlocks = ModuleList((0..<numLayers).map { _ in
            BasicTransformerBlock(dim: inner, numAttentionHeads: numAttentionHeads, attentionHeadDim: attentionHeadDim,
                                  crossAttentionDim: crossAttentionDim, attentionBias: attentionBias,
                                  onlyCrossAttention: onlyCrossAttention, upcastAttention: upcastAttention,
                                  normElementwiseAffine: normElementwiseAffine, normEps: normEps, rng: rng)
        })
        projOut = useLinearProjection ? Linear(inner, inChannels, rng: rng) : Conv2d(inner, inChannels, kernelSize: 1, rng: rng)
        super.init()
        registerModule("norm", norm)
        registerModule("proj_in", projIn)
        registerModule("transformer_blocks", transformerBlocks)
        registerModule("proj_out", projOut)
    }

    /// x (B, C, H, W), encoderHiddenStates (B, Lk, D), encoderKeyMask (B, Lk) -> (B, C, H, W).
    public func callAsFunction(_ x: Tensor, encoderHiddenStates: Tensor?, encoderKeyMask: Tensor? = nil) -> Tensor {
        require(x.rank == 4 && x.shape[1] == inChannels, "Transformer2DModel: input \(x.shape) must be (B, \(inChannels), H, W)")
        let (b, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        var t: Tensor
        // (B, C, H, W) -> (B, H·W, inner)
        if let lin = projIn as? Linear {
            t = lin(norm(x).permute([0, 2, 3, 1]).reshape([b, h * w, inChannels]))
        } else {
            t = (projIn as! Conv2d)(norm(x)).permute([0, 2, 3, 1]).reshape([b, h * w, innerDim])
        }
        for block in transformerBlocks { t = block(t, encoderHiddenStates: encoderHiddenStates, encoderKeyMask: encoderKeyMask) }
        // (B, H·W, inner) -> (B, C, H, W)
        let out: Tensor
        if let lin = projOut as? Linear {
            out = lin(t).reshape([b, h, w, inChannels]).permute([0, 3, 1, 2])
        } else {
            out = (projOut as! Conv2d)(t.reshape([b, h, w, innerDim]).permute([0, 3, 1, 2]))
        }
        return out + x
    }
}
