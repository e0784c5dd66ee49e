// diffusers UNetMidBlock2DCrossAttn (models/unets/unet_2d_blocks.py): resnets.0, then for each layer a
// Transformer2DModel (attentions.i) and another ResnetBlock2D (resnets.i+1), at the lowest resolution. (diffusers
// applies mid_block_only_cross_attention only to UNetMidBlock2DSimpleCrossAttn, so this block never uses it.)
import TensorCore

public final class UNetMidBlock2DCrossAttn: Module {
    public let resnets: ModuleList<ResnetBlock2D>
    public let attentions: ModuleList<Transformer2DModel>

    public init(inChannels: Int, numLayers: Int = 1, heads: Int, transformerLayers: Int = 1, crossAttentionDim: Int,
                outputScaleFactor: Float = 1, settings s: UNetBlockSettings,
                rng: RandomGenerator) {
        var r = [s.resnet(inChannels, inChannels, scale: outputScaleFactor, rng: rng)]
        var a: [Transformer2DModel] = []
        for _ in 0..<numLayers {
            a.append(s.transformer(inChannels, heads: heads, layers: transformerLayers, crossAttentionDim: crossAttentionDim,
                                   onlyCrossAttention: false, rng: rng))
            r.append(s.resnet(inChannels, inChannels, scale: outputScaleFactor, rng: rng))
        }
        resnets = ModuleList(r)
        attentions = ModuleList(a)
        super.init()
        registerModule("attentions", attentions)
        registerModule("resnets", resnets)
    }

    /// x (B, C, H, W), temb (B, T) -> (B, C, H, W).
    public func callAsFunction(_ x: Tensor, temb: Tensor, text: TextConditioning) -> Tensor {
        var h = resnets[0](x, temb: temb)
        for (i, attn) in attentions.enumerated() {
            h = attn(h, encoderHiddenStates: text.states, encoderKeyMask: text.keyMask)
            h = resnets[i + 1](h, temb: temb)
        }
        return h
    }
}
