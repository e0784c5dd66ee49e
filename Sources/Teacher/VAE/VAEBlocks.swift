// The VAE's building blocks with diffusers' semantics and checkpoint keys: ResnetBlock2D without a time
// embedding (models/resnet.py), the spatial self-attention of the mid block (models/attention_processor.py
// Attention with group_norm, residual_connection, AttnProcessor2_0), Downsample2D (models/downsampling.py)
// and Upsample2D (models/upsampling.py). Prefixed `VAE` until the shared blocks of Sources/Teacher/Blocks/
// are merged.
import TensorCore

/// diffusers ResnetBlock2D with temb_channels=None, pre-norm, "default" time-embedding norm, SiLU:
/// out = (shortcut(x) + conv2(silu(norm2(conv1(silu(norm1(x))))))) / outputScaleFactor.
/// Keys: norm1, conv1, norm2, conv2, conv_shortcut (a 1x1 conv, only when in ≠ out channels).
public final class VAEResnetBlock: Module {
    public let norm1: VAEGroupNorm
    public let conv1: VAEConv2d
    public let norm2: VAEGroupNorm
    public let conv2: VAEConv2d
    public let convShortcut: VAEConv2d?
    public let outputScaleFactor: Float

    public init(inChannels: Int, outChannels: Int, groups: Int, eps: Float = 1e-6, outputScaleFactor: Float = 1,
                rng: RandomGenerator) {
        norm1 = VAEGroupNorm(groups: groups, channels: inChannels, eps: eps)
        conv1 = VAEConv2d(inChannels, outChannels, kernelSize: 3, padding: 1, rng: rng)
        norm2 = VAEGroupNorm(groups: groups, channels: outChannels, eps: eps)
        conv2 = VAEConv2d(outChannels, outChannels, kernelSize: 3, padding: 1, rng: rng)
        convShortcut = inChannels != outChannels ? VAEConv2d(inChannels, outChannels, kernelSize: 1, rng: rng) : nil
        self.outputScaleFactor = outputScaleFactor
        super.init()
        registerModule("norm1", norm1)
        registerModule("conv1", conv1)
        registerModule("norm2", norm2)
        registerModule("conv2", conv2)
        if let c = convShortcut { registerModule("conv_shortcut", c) }
    }

    /// x: (N, in, H, W) -> (N, out, H, W). `x` is consumed, so a caller that passes its last reference
    /// (`h = block(consume h)`) lets it go as soon as the shortcut has used it.
    public func callAsFunction(_ x: consuming Tensor) -> Tensor {
        // One statement per step, so each intermediate is released as soon as the next exists; norm and SiLU
        // fused in inference. At most x and two full-size tensors are alive at once.
        var h = norm1.silu(x)
        h = conv1(h)
        h = norm2.silu(h)
        h = conv2(h)
        let skip: Tensor
        if let c = convShortcut { skip = c(x) } else { skip = x }
        let out = skip + h
        return outputScaleFactor == 1 ? out : out / outputScaleFactor
    }
}

/// diffusers Attention as the VAE mid block builds it (`_from_deprecated_attn_block`): group norm over the
/// channels, self-attention over the H·W positions with `channels / headDim` heads (one in the VAE),
/// to_out projection, residual connection, division by `rescaleOutputFactor`.
/// Keys: group_norm, to_q, to_k, to_v, to_out.0 (older checkpoints' query/key/value/proj_attn are renamed
/// on load, see `AutoencoderKL.keyRemap`).
public final class VAEAttention: Module {
    public let groupNorm: VAEGroupNorm
    public let toQ: Linear
    public let toK: Linear
    public let toV: Linear
    public let toOut: VAEModuleList<Linear>
    public let heads: Int
    public let rescaleOutputFactor: Float

    public init(channels: Int, headDim: Int, groups: Int, eps: Float = 1e-6, rescaleOutputFactor: Float = 1,
                rng: RandomGenerator) {
        require(headDim >= 1 && channels % headDim == 0, "VAEAttention: \(channels) channels do not split into heads of \(headDim)")
        groupNorm = VAEGroupNorm(groups: groups, channels: channels, eps: eps)
        toQ = Linear(channels, channels, rng: rng)
        toK = Linear(channels, channels, rng: rng)
        toV = Linear(channels, channels, rng: rng)
        toOut = VAEModuleList([Linear(channels, channels, rng: rng)])
        heads = channels / headDim
        self.rescaleOutputFactor = rescaleOutputFactor
        super.init()
        registerModule("group_norm", groupNorm)
        registerModule("to_q", toQ)
        registerModule("to_k", toK)
        registerModule("to_v", toV)
        registerModule("to_out", toOut)
    }

    /// x: (N, C, H, W) -> (N, C, H, W).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let l = h * w, d = c / heads
        // (N, C, H·W) normalised, then positions as rows: (N, L, C), made dense once for the three projections.
        let hs = groupNorm(x.reshape([n, c, l])).transpose(1, 2).contiguous()
        func split(_ t: Tensor) -> Tensor { t.reshape([n, l, heads, d]).transpose(1, 2) }   // (N, heads, L, d)
        let q = split(toQ(hs)), k = split(toK(hs)), v = split(toV(hs))
        let a = scaledDotProductAttention(q: q, k: k, v: v)                                 // (N, heads, L, d)
        let o = toOut[0](a.transpose(1, 2).reshape([n, l, c]))                              // (N, L, C)
        let out = o.transpose(1, 2).reshape([n, c, h, w]) + x
        return rescaleOutputFactor == 1 ? out : out / rescaleOutputFactor
    }
}

/// diffusers Downsample2D with use_conv: a 3x3 stride-2 convolution. With padding 0 (the VAE's
/// `downsample_padding=0`) the input is first padded by one zero row at the bottom and one zero column at
/// the right (F.pad (0, 1, 0, 1)), so the output is ⌊H/2⌋ × ⌊W/2⌋ for even sizes. Key: conv.
public final class VAEDownsample: Module {
    public let conv: VAEConv2d
    public let padding: Int

    public init(channels: Int, outChannels: Int? = nil, padding: Int = 0, rng: RandomGenerator) {
        conv = VAEConv2d(channels, outChannels ?? channels, kernelSize: 3, stride: 2, padding: padding, rng: rng)
        self.padding = padding
        super.init()
        registerModule("conv", conv)
    }

    /// x: (N, C, H, W) -> (N, C', ⌈H/2⌉ or so, ...), exactly as diffusers.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv(padding == 0 ? x.pad([(0, 0), (0, 0), (0, 1), (0, 1)]) : x)
    }
}

/// diffusers Upsample2D with use_conv: nearest-neighbour ×2 (F.interpolate(scale_factor=2.0, mode="nearest"))
/// followed by a 3x3 convolution with padding 1. Key: conv.
public final class VAEUpsample: Module {
    public let conv: VAEConv2d

    public init(channels: Int, outChannels: Int? = nil, rng: RandomGenerator) {
        conv = VAEConv2d(channels, outChannels ?? channels, kernelSize: 3, padding: 1, rng: rng)
        super.init()
        registerModule("conv", conv)
    }

    /// x: (N, C, H, W) -> (N, C', 2H, 2W).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv(interpolate(x, size: (2 * x.shape[2], 2 * x.shape[3]), mode: .nearest))
    }
}
