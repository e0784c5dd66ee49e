// diffusers UNet2DConditionModel (models/unets/unet_2d_condition.py) for the Stable Diffusion 1.x / 2.x family:
// conv_in, the sinusoidal time embedding and its MLP, down blocks that keep skip states, the cross-attention mid
// block, up blocks that concatenate the skips, then conv_norm_out, conv_act and conv_out. Predicts the noise
// (or v) for a latent, timesteps and text states.
import Foundation
import TensorCore

public final class UNet2DConditionModel: Module {
    public let config: UNet2DConditionConfig
    public let layout: UNetLayout
    public let convIn: Conv2d
    public let timeProj: Timesteps
    public let timeEmbedding: TimestepEmbedding
    public let downBlocks: ModuleList<DownBlock2D>
    public let midBlock: UNetMidBlock2DCrossAttn?
    public let upBlocks: ModuleList<UpBlock2D>
    public let convNormOut: GroupNorm
    public let convOut: Conv2d

    /// Builds the network for `config` with random weights (PyTorch's default initialisation ranges) from `rng`.
    /// Throws UnsupportedConfig naming any block type or option this implementation does not have.
    public init(config: UNet2DConditionConfig, rng: RandomGenerator = RandomGenerator(seed: 0)) throws {
        let l = try config.layout()
        self.config = config
        self.layout = l
        let ch = config.blockOutChannels, n = ch.count
        convIn = Conv2d(config.inChannels, ch[0], kernelSize: config.convInKernel, padding: (config.convInKernel - 1) / 2, rng: rng)
        let timeDim = config.timeEmbeddingDim ?? ch[0] * 4
        timeProj = Timesteps(numChannels: ch[0], flipSinToCos: config.flipSinToCos, downscaleFreqShift: config.freqShift)
        timeEmbedding = TimestepEmbedding(inChannels: ch[0], timeEmbedDim: timeDim, act: l.activation, rng: rng)
        var s = UNetBlockSettings(tembChannels: timeDim, eps: config.normEps, groups: l.groups, activation: l.activation)
        s.timeEmbeddingNorm = l.timeEmbeddingNorm
        s.skipTimeAct = config.resnetSkipTimeAct
        s.outputScaleFactor = config.resnetOutScaleFactor
        s.useLinearProjection = config.useLinearProjection
        s.upcastAttention = config.upcastAttention

        var downs: [DownBlock2D] = []
        var output = ch[0]
        for (i, kind) in config.downBlockTypes.enumerated() {
            let input = output
            output = ch[i]
            let cross = kind == "CrossAttnDownBlock2D"
            downs.append(DownBlock2D(inChannels: input, outChannels: output, numLayers: l.layersPerBlock[i],
                                     addDownsample: i != n - 1, downsamplePadding: config.downsamplePadding,
                                     heads: cross ? l.heads[i] : nil, transformerLayers: l.transformerLayers[i],
                                     crossAttentionDim: l.crossAttentionDims[i], onlyCrossAttention: l.onlyCrossAttention[i],
                                     settings: s, rng: rng))
        }
        downBlocks = ModuleList(downs)
        midBlock = config.midBlockType == nil ? nil
            : UNetMidBlock2DCrossAttn(inChannels: ch[n - 1], heads: l.heads[n - 1], transformerLayers: l.transformerLayers[n - 1],
                                      crossAttentionDim: l.crossAttentionDims[n - 1],
                                      outputScaleFactor: config.midBlockScaleFactor, settings: s, rng: rng)
        var ups: [UpBlock2D] = []
        let rch = Array(ch.reversed())
        output = rch[0]
        for (i, kind) in config.upBlockTypes.enumerated() {
            let prev = output
            output = rch[i]
            let input = rch[min(i + 1, n - 1)]
            let cross = kind == "CrossAttnUpBlock2D"
            let j = n - 1 - i  // the per-block options, reversed
            ups.append(UpBlock2D(inChannels: input, prevOutputChannels: prev, outChannels: output,
                                 numLayers: l.layersPerBlock[j] + 1, addUpsample: i != n - 1,
                                 heads: cross ? l.heads[j] : nil, transformerLayers: l.transformerLayers[j],
                                 crossAttentionDim: l.crossAttentionDims[j], onlyCrossAttention: l.onlyCrossAttention[j],
                                 settings: s, rng: rng))
        }
        upBlocks = ModuleList(ups)
        convNormOut = GroupNorm(groups: l.groups, channels: ch[0], eps: config.normEps)
        convOut = Conv2d(ch[0], config.outChannels, kernelSize: config.convOutKernel, padding: (config.convOutKernel - 1) / 2, rng: rng)
        super.init()
        registerModule("conv_in", convIn)
        registerModule("time_proj", timeProj)
        registerModule("time_embedding", timeEmbedding)
        registerModule("down_blocks", downBlocks)
        if let midBlock { registerModule("mid_block", midBlock) }
        registerModule("up_blocks", upBlocks)
        registerModule("conv_norm_out", convNormOut)
        registerModule("conv_out", convOut)
    }

    /// The time embedding (B, timeEmbedDim) for timesteps (B) (or one timestep for every sample).
    public func timeEmbedding(_ timestep: Tensor, batch: Int) -> Tensor {
        require(timestep.rank == 0 || timestep.shape == [batch] || timestep.shape == [1],
                "UNet2DConditionModel: timestep \(timestep.shape) must be a scalar or (\(batch))")
        let t = timestep.count == batch ? timestep.reshape([batch]) : timestep.reshape([1]).expand([batch])
        return timeEmbedding(timeProj(t))
    }

    /// The noise prediction for `sample` (B, in_channels, H, W) at `timestep` (scalar or (B)) given text states
    /// `encoderHiddenStates` (B, L, cross_attention_dim). `encoderAttentionMask` (B, L): 1 for tokens to attend to,
    /// 0 for padding (nil: all). Returns (B, out_channels, H, W). Under `withNoGrad` every intermediate is freed
    /// as soon as it is consumed; only the skip states wait for the up path.
    public func callAsFunction(_ sample: Tensor, timestep: Tensor, encoderHiddenStates: Tensor,
                               encoderAttentionMask: Tensor? = nil) -> Tensor {
        require(sample.rank == 4 && sample.shape[1] == config.inChannels,
                "UNet2DConditionModel: sample \(sample.shape) must be (B, \(config.inChannels), H, W)")
        let b = sample.shape[0]
        require(encoderHiddenStates.rank == 3 && encoderHiddenStates.shape[0] == b,
                "UNet2DConditionModel: encoder hidden states \(encoderHiddenStates.shape) must be (\(b), L, D)")
        if let m = encoderAttentionMask {
            require(m.shape == [b, encoderHiddenStates.shape[1]],
                    "UNet2DConditionModel: encoder attention mask \(m.shape) must be (\(b), \(encoderHiddenStates.shape[1]))")
        }
        let text = TextConditioning(states: encoderHiddenStates, keyMask: encoderAttentionMask)
        // An explicit upsampling size when H or W is not a multiple of 2^upsamplers, as diffusers.
        let factor = 1 << (upBlocks.count - 1)
        let forwardUpsampleSize = sample.shape[2] % factor != 0 || sample.shape[3] % factor != 0
        let emb = timeEmbedding(timestep, batch: b)

        var h = convIn(config.centerInputSample ? sample * 2 - 1 : sample)
        var skips = [h]
        for block in downBlocks {
            let (out, states) = block(h, temb: emb, text: block.hasCrossAttention ? text : nil)
            h = out
            skips += states
        }
        if let midBlock { h = midBlock(h, temb: emb, text: text) }
        for (i, block) in upBlocks.enumerated() {
            let isFinal = i == upBlocks.count - 1
            var mine = Array(skips.suffix(block.resnets.count))
            skips.removeLast(block.resnets.count)
            let size = !isFinal && forwardUpsampleSize ? (skips.last!.shape[2], skips.last!.shape[3]) : nil
            h = block(h, temb: emb, skips: &mine, text: block.hasCrossAttention ? text : nil, upsampleSize: size)
        }
        return convOut(layout.activation(convNormOut(h)))
    }

    /// The same with one timestep value for the whole batch.
    public func callAsFunction(_ sample: Tensor, timestep: Float, encoderHiddenStates: Tensor,
                               encoderAttentionMask: Tensor? = nil) -> Tensor {
        self(sample, timestep: Tensor(scalar: timestep), encoderHiddenStates: encoderHiddenStates,
             encoderAttentionMask: encoderAttentionMask)
    }
}
