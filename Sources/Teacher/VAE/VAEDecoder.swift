// The VAE decoder: diffusers Decoder (models/autoencoders/vae.py) with UNetMidBlock2D and UpDecoderBlock2D
// (models/unets/unet_2d_blocks.py), as AutoencoderKL builds them (group norm, layers_per_block + 1 resnets
// per up block, nearest ×2 upsamplers, resnet eps 1e-6), from the shared blocks of Sources/Teacher/Blocks.
import TensorCore

/// diffusers UpDecoderBlock2D: `layers` resnets, then (except in the last block) a ×2 upsampler.
/// Keys: resnets.<i>, upsamplers.0.conv.
public final class UpDecoderBlock2D: Module {
    public let resnets: ModuleList<ResnetBlock2D>
    public let upsamplers: ModuleList<Upsample2D>?

    public init(inChannels: Int, outChannels: Int, layers: Int, groups: Int, addUpsample: Bool, rng: RandomGenerator) {
        resnets = ModuleList((0..<layers).map {
            ResnetBlock2D(inChannels: $0 == 0 ? inChannels : outChannels, outChannels: outChannels, tembChannels: nil,
                          groups: groups, eps: 1e-6, rng: rng)
        })
        upsamplers = addUpsample ? ModuleList([Upsample2D(channels: outChannels, useConv: true, rng: rng)]) : nil
        super.init()
        registerModule("resnets", resnets)
        if let u = upsamplers { registerModule("upsamplers", u) }
    }

    /// x: (N, in, H, W) -> (N, out, 2H, 2W), or (N, out, H, W) without an upsampler.
    public func callAsFunction(_ x: consuming Tensor) -> Tensor {
        var h = consume x
        for r in resnets { h = r(consume h) }
        if let u = upsamplers { h = u[0](h) }
        return h
    }
}

/// diffusers Decoder: conv_in, mid block, up blocks (channels reversed), conv_norm_out, SiLU, conv_out.
public final class VAEDecoder: Module {
    public let convIn: Conv2d
    public let midBlock: UNetMidBlock2D
    public let upBlocks: ModuleList<UpDecoderBlock2D>
    public let convNormOut: GroupNorm
    public let convOut: Conv2d

    public init(_ c: AutoencoderKLConfig, rng: RandomGenerator) {
        let rev = Array(c.blockOutChannels.reversed())
        convIn = Conv2d(c.latentChannels, rev[0], kernelSize: 3, padding: 1, rng: rng)
        midBlock = UNetMidBlock2D(channels: rev[0], groups: c.normNumGroups, addAttention: c.midBlockAddAttention, rng: rng)
        upBlocks = ModuleList(rev.indices.map { i in
            UpDecoderBlock2D(inChannels: i == 0 ? rev[0] : rev[i - 1], outChannels: rev[i], layers: c.layersPerBlock + 1,
                             groups: c.normNumGroups, addUpsample: i < rev.count - 1, rng: rng)
        })
        convNormOut = GroupNorm(groups: c.normNumGroups, channels: rev[rev.count - 1], eps: 1e-6)
        convOut = Conv2d(rev[rev.count - 1], c.outChannels, kernelSize: 3, padding: 1, rng: rng)
        super.init()
        registerModule("conv_in", convIn)
        registerModule("up_blocks", upBlocks)
        registerModule("mid_block", midBlock)
        registerModule("conv_norm_out", convNormOut)
        registerModule("conv_out", convOut)
    }

    /// z: (N, latent, h, w) -> (N, out, h · f, w · f).
    public func callAsFunction(_ z: Tensor) -> Tensor {
        var h = midBlock(convIn(z))
        for b in upBlocks { h = b(consume h) }
        return convOut(convNormOut.silu(h))
    }
}
