// The VAE encoder: diffusers Encoder (models/autoencoders/vae.py) with DownEncoderBlock2D and
// UNetMidBlock2D (models/unets/unet_2d_blocks.py), as AutoencoderKL builds them (resnet eps 1e-6,
// downsample_padding 0, attention head dim = channels, output scale 1, double_z).
import TensorCore

/// diffusers DownEncoderBlock2D: `layers` resnets, then (except in the last block) a stride-2 downsampler.
/// Keys: resnets.<i>, downsamplers.0.conv.
public final class VAEDownEncoderBlock: Module {
    public let resnets: VAEModuleList<VAEResnetBlock>
    public let downsamplers: VAEModuleList<VAEDownsample>?

    public init(inChannels: Int, outChannels: Int, layers: Int, groups: Int, addDownsample: Bool, rng: RandomGenerator) {
        resnets = VAEModuleList((0..<layers).map {
            VAEResnetBlock(inChannels: $0 == 0 ? inChannels : outChannels, outChannels: outChannels, groups: groups, rng: rng)
        })
        downsamplers = addDownsample ? VAEModuleList([VAEDownsample(channels: outChannels, padding: 0, rng: rng)]) : nil
        super.init()
        registerModule("resnets", resnets)
        if let d = downsamplers { registerModule("downsamplers", d) }
    }

    /// x: (N, in, H, W) -> (N, out, H/2, W/2), or (N, out, H, W) without a downsampler.
    public func callAsFunction(_ x: consuming Tensor) -> Tensor {
        var h = consume x
        for r in resnets.items { h = r(consume h) }
        if let d = downsamplers { h = d[0](h) }
        return h
    }
}

/// diffusers UNetMidBlock2D with temb None: resnet, then (attention, resnet) once.
/// Keys: resnets.0, attentions.0, resnets.1.
public final class VAEMidBlock: Module {
    public let resnets: VAEModuleList<VAEResnetBlock>
    public let attentions: VAEModuleList<VAEAttention>?

    public init(channels: Int, groups: Int, addAttention: Bool, rng: RandomGenerator) {
        resnets = VAEModuleList([VAEResnetBlock(inChannels: channels, outChannels: channels, groups: groups, rng: rng),
                                 VAEResnetBlock(inChannels: channels, outChannels: channels, groups: groups, rng: rng)])
        attentions = addAttention ? VAEModuleList([VAEAttention(channels: channels, headDim: channels, groups: groups, rng: rng)]) : nil
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
    public let convIn: VAEConv2d
    public let downBlocks: VAEModuleList<VAEDownEncoderBlock>
    public let midBlock: VAEMidBlock
    public let convNormOut: VAEGroupNorm
    public let convOut: VAEConv2d

    public init(_ c: AutoencoderKLConfig, rng: RandomGenerator) {
        let ch = c.blockOutChannels
        convIn = VAEConv2d(c.inChannels, ch[0], kernelSize: 3, padding: 1, rng: rng)
        downBlocks = VAEModuleList(ch.indices.map { i in
            VAEDownEncoderBlock(inChannels: i == 0 ? ch[0] : ch[i - 1], outChannels: ch[i], layers: c.layersPerBlock,
                                groups: c.normNumGroups, addDownsample: i < ch.count - 1, rng: rng)
        })
        midBlock = VAEMidBlock(channels: ch[ch.count - 1], groups: c.normNumGroups, addAttention: c.midBlockAddAttention, rng: rng)
        convNormOut = VAEGroupNorm(groups: c.normNumGroups, channels: ch[ch.count - 1], eps: 1e-6)
        convOut = VAEConv2d(ch[ch.count - 1], 2 * c.latentChannels, kernelSize: 3, padding: 1, rng: rng)
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
        for b in downBlocks.items { h = b(consume h) }
        h = midBlock(consume h)
        return convOut(convNormOut.silu(h))
    }
}
