// diffusers CrossAttnDownBlock2D and DownBlock2D (models/unets/unet_2d_blocks.py): ResnetBlock2Ds (each followed
// by a Transformer2DModel in the cross-attention block), then an optional stride-2 Downsample2D. Each returns the
// new hidden states and the skip states the up path concatenates (one per layer, plus the downsampled output).
import TensorCore

/// The settings every U-Net block shares (diffusers passes them to each get_*_block call).
public struct UNetBlockSettings: Sendable {
    public var tembChannels: Int
    public var eps: Float
    public var groups: Int
    public var activation: Activation
    public var timeEmbeddingNorm: ResnetBlock2D.TimeEmbeddingNorm = .default
    public var skipTimeAct = false
    public var outputScaleFactor: Float = 1
    public var useLinearProjection = false
    public var upcastAttention = false

    func resnet(_ inChannels: Int, _ outChannels: Int, scale: Float? = nil, rng: RandomGenerator) -> ResnetBlock2D {
        ResnetBlock2D(inChannels: inChannels, outChannels: outChannels, tembChannels: tembChannels, groups: groups,
                      eps: eps, nonLinearity: activation, skipTimeAct: skipTimeAct, timeEmbeddingNorm: timeEmbeddingNorm,
                      outputScaleFactor: scale ?? outputScaleFactor, rng: rng)
    }

    func transformer(_ channels: Int, heads: Int, layers: Int, crossAttentionDim: Int, onlyCrossAttention: Bool,
                     rng: RandomGenerator) -> Transformer2DModel {
        Transformer2DModel(numAttentionHeads: heads, attentionHeadDim: channels / heads, inChannels: channels,
                           numLayers: layers, normNumGroups: groups, crossAttentionDim: crossAttentionDim,
                           useLinearProjection: useLinearProjection, onlyCrossAttention: onlyCrossAttention,
                           upcastAttention: upcastAttention, rng: rng)
    }
}

/// The text conditioning passed down every cross-attention block.
public struct TextConditioning {
    /// (B, Lk, crossAttentionDim)
    public var states: Tensor
    /// (B, Lk): 1 keeps a token, 0 masks it; nil keeps all.
    public var keyMask: Tensor?
    public init(states: Tensor, keyMask: Tensor? = nil) { self.states = states; self.keyMask = keyMask }
}

/// diffusers CrossAttnDownBlock2D, or DownBlock2D when built without attention (`heads` nil).
public final class DownBlock2D: Module {
    public let resnets: ModuleList<ResnetBlock2D>
    public let attentions: ModuleList<Transformer2DModel>?
    public let downsamplers: ModuleList<Downsample2D>?

    /// `heads` nil builds a DownBlock2D (no attentions); otherwise a CrossAttnDownBlock2D with Transformer2DModels
    /// of `heads` heads of size outChannels / heads and `transformerLayers` blocks each.
    public init(inChannels: Int, outChannels: Int, numLayers: Int, addDownsample: Bool, downsamplePadding: Int = 1,
                heads: Int? = nil, transformerLayers: Int = 1, crossAttentionDim: Int = 1280,
                onlyCrossAttention: Bool = false, settings s: UNetBlockSettings, rng: RandomGenerator) {
        resnets = ModuleList((0..<numLayers).map { i in s.resnet(i == 0 ? inChannels : outChannels, outChannels, rng: rng) })
        attentions = heads.map { h in
            ModuleList((0..<numLayers).map { _ in
                s.transformer(outChannels, heads: h, layers: transformerLayers, crossAttentionDim: crossAttentionDim,
                              onlyCrossAttention: onlyCrossAttention, rng: rng)
            })
        }
        downsamplers = addDownsample
            ? ModuleList([Downsample2D(channels: outChannels, useConv: true, outChannels: outChannels, padding: downsamplePadding, rng: rng)])
            : nil
        super.init()
        if let attentions { registerModule("attentions", attentions) }
        registerModule("resnets", resnets)
        if let downsamplers { registerModule("downsamplers", downsamplers) }
    }

    public var hasCrossAttention: Bool { attentions != nil }

    /// x (B, in, H, W), temb (B, T) -> (hidden (B, out, H', W'), skip states in order).
    public func callAsFunction(_ x: Tensor, temb: Tensor, text: TextConditioning?) -> (Tensor, [Tensor]) {
        var h = x
        var skips: [Tensor] = []
        for (i, resnet) in resnets.enumerated() {
            h = resnet(h, temb: temb)
            if let attentions {
                require(text != nil, "CrossAttnDownBlock2D: encoder hidden states are required")
                h = attentions[i](h, encoderHiddenStates: text!.states, encoderKeyMask: text!.keyMask)
            }
            skips.append(h)
        }
        if let down = downsamplers?[0] {
            h = down(h)
            skips.append(h)
        }
        return (h, skips)
    }
}
