// diffusers CrossAttnUpBlock2D and UpBlock2D (models/unets/unet_2d_blocks.py): each layer concatenates the
// newest remaining skip state to the hidden states along channels ([hidden, skip]), runs a ResnetBlock2D (and a
// Transformer2DModel in the cross-attention block); then an optional Upsample2D (nearest ×2 or to a given size).
import TensorCore

/// diffusers CrossAttnUpBlock2D, or UpBlock2D when built without attention (`heads` nil).
public final class UpBlock2D: Module {
    public let resnets: ModuleList<ResnetBlock2D>
    public let attentions: ModuleList<Transformer2DModel>?
    public let upsamplers: ModuleList<Upsample2D>?

    /// Channels as diffusers': layer i takes (i == 0 ? prevOutputChannels : outChannels) plus the skip's channels
    /// (inChannels for the last layer, outChannels otherwise).
    public init(inChannels: Int, prevOutputChannels: Int, outChannels: Int, numLayers: Int, addUpsample: Bool,
                heads: Int? = nil, transformerLayers: Int = 1, crossAttentionDim: Int = 1280,
                onlyCrossAttention: Bool = false, settings s: UNetBlockSettings, rng: RandomGenerator) {
        resnets = ModuleList((0..<numLayers).map { i in
            let skip = i == numLayers - 1 ? inChannels : outChannels
            let resIn = i == 0 ? prevOutputChannels : outChannels
            return s.resnet(resIn + skip, outChannels, rng: rng)
        })
        attentions = heads.map { h in
            ModuleList((0..<numLayers).map { _ in
                s.transformer(outChannels, heads: h, layers: transformerLayers, crossAttentionDim: crossAttentionDim,
                              onlyCrossAttention: onlyCrossAttention, rng: rng)
            })
        }
        upsamplers = addUpsample ? ModuleList([Upsample2D(channels: outChannels, useConv: true, outChannels: outChannels, rng: rng)]) : nil
        super.init()
        if let attentions { registerModule("attentions", attentions) }
        registerModule("resnets", resnets)
        if let upsamplers { registerModule("upsamplers", upsamplers) }
    }

    public var hasCrossAttention: Bool { attentions != nil }

    /// x (B, C, H, W), `skips` popped from the end (the newest first), one per resnet; `upsampleSize` the explicit
    /// output size diffusers forwards for odd latent sizes. -> (B, out, 2H, 2W) with an upsampler.
    public func callAsFunction(_ x: Tensor, temb: Tensor, skips: inout [Tensor], text: TextConditioning?,
                               upsampleSize: (Int, Int)? = nil) -> Tensor {
        var h = x
        for (i, resnet) in resnets.enumerated() {
            let skip = skips.removeLast()
            h = resnet(Tensor.concat([h, skip], axis: 1), temb: temb)
            if let attentions {
                require(text != nil, "CrossAttnUpBlock2D: encoder hidden states are required")
                h = attentions[i](h, encoderHiddenStates: text!.states, encoderKeyMask: text!.keyMask)
            }
        }
        if let up = upsamplers?[0] { h = up(h, outputSize: upsampleSize) }
        return h
    }
}
