// The VAE encoder: diffusers Encoder (models/autoencoders/vae.py) with DownEncoderBlock2D and UNetMidBlock2D
// (models/unets/unet_2d_blocks.py), as AutoencoderKL builds them (resnet eps 1e-6, no time embedding,
// downsample_padding 0, one attention head of the full width, output scale 1, double_z), from the shared
// blocks of Sources/Teacher/Blocks (ResnetBlock2D, Attention, Downsample2D, Conv2d, GroupNorm), whose module
// names give diffusers' AutoencoderKL keys.
import TensorCore

/// diffusers DownEncoderBlock2D: `layers` resnets, then (except in the last block) a stride-2 downsampler.
/// Keys: resnets.<i>, downsamplers.0.conv.
public final class DownEncoderBlock2D: Module {
    public let resnets: ModuleList<ResnetBlock2D>
    public let downsamplers: ModuleList<Downsample2D>?

    public init(inChannels: Int, outChannels: Int, layers: Int, groups: Int, addDownsample: Bool, rng: RandomGenerator) {
        resnets = ModuleList((0..<layers).map {
            ResnetBlock2D(inChannels: $0 == 0 ? inChannels : outChannels, outChannels: outChannels, tembChannels: nil,
                          groups: groups, eps: 1e-6, rng: rng)
        })
        downsamplers = addDownsample ? ModuleList([Downsample2D(channels: outChannels, useConv: true, padding: 0, rng: rng)]) : nil
        super.init()
        registerModule("resnets", resnets)
        if let d = downsamplers { registerModule("downsamplers", d) }
    }

    /// x: (N, in, H, W) -> (N, out, H/2, W/2), or (N, out, H, W) without a downsampler.
    public func callAsFunction(_ x: consuming Tensor) -> Tensor {
        var h = consume x
        for r in resnets { h = r(consume h) }
        if let d = downsamplers { h = d[0](h) }
        return h
    }
}

/// diffusers UNetMidBlock2D with temb None: resnet, then (attention, resnet) once. The attention is diffusers'
/// Attention with group_norm, biased projections, residual connection and one head of the full width.
/// Keys: resnets.0, attentions.0 (group_norm, to_q, to_k, to_v, to_out.0), resnets.1.
public final class UNetMidBlock2D: Module {
    public let resnets: ModuleList<ResnetBlock2D>
    public let attentions: ModuleList<Attention>?

    public init(channels: Int, groups: Int, addAttention: Bool, rng: RandomGenerator) {
        resnets = ModuleList((0..<2).map { _ in
            ResnetBlock2D(inChannels: channels, outChannels: channels, tembChannels: nil, groups: groups, eps: 1e-6, rng: rng)
        })
        attentions = addAttention
            ? ModuleList([Attention(queryDim: channels, heads: 1, dimHead: channels, bias: true, upcastSoftmax: true,
                                    normNumGroups: groups, eps: 1e-6, residualConnection: true, rng: rng)])
            : nil
        super.init()
        if let a = attentions { registerModule("attentions", a) }
        registerModule("resnets", resnets)
    }

    /// x: (N, C, H, W) -> (N, C, H, W).
    public func callAsFunction(_ x: consuming Tensor) -> Tensor {
        var h = resnets[0](consume x)
        if let a = attentions { h = a[0](h) }
        return resnets[1](consume h)
    }
}

/// diffusers Encoder: conv_in, down blocks, mid block, conv_norm_out, SiLU, conv_out to 2 · latent channels
/// (mean and log-variance).
public final class VAEEncoder: Module {
    public let convIn: Conv2d
    public let downBlocks: ModuleList<DownEncoderBlock2D>
    public let midBlock: UNetMidBlock2D
    public let convNormOut: GroupNorm
    public let convOut: Conv2d

    public init(_ c: AutoencoderKLConfig, rng: RandomGenerator) {
        let ch = c.blockOutChannels
        convIn = Conv2d(c.inChannels, ch[0], kernelSize: 3, padding: 1, rng: rng)
        downBlocks = ModuleList(ch.indices.map { i in
            DownEncoderBlock2D(inChannels: i == 0 ? ch[0] : ch[i - 1], outChannels: ch[i], layers: c.layersPerBlock,
                               groups: c.normNumGroups, addDownsample: i < ch.count - 1, rng: rng)
        })
        midBlock = UNetMidBlock2D(channels: ch[ch.count - 1], groups: c.normNumGroups, addAttention: c.midBlockAddAttention, rng: rng)
        convNormOut = GroupNorm(groups: c.normNumGroups, channels: ch[ch.count - 1], eps: 1e-6)
        convOut = Conv2d(ch[ch.count - 1], 2 * c.latentChannels, kernelSize: 3, padding: 1, rng: rng)
        super.init()
        registerModule("conv_in", convIn)
        registerModule("down_blocks", downBlocks)
        registerModule("mid_block", midBlock)
        registerModule("conv_norm_out", convNormOut)
        registerModule("conv_out", convOut)
    }

    /// x: (N, in, H, W) -> (N, 2 · latent, H / f, W / f) with f the downsampling factor.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = convIn(x)
        for b in downBlocks { h = b(consume h) }
        h = midBlock(consume h)
        return convOut(convNormOut.silu(h))
    }
}
