// diffusers ResnetBlock2D (models/resnet.py): GroupNorm, activation, 3×3 conv, the time embedding projected and
// added (or applied as scale and shift), GroupNorm, activation, 3×3 conv, plus a (1×1) shortcut when the channel
// count changes; the sum divided by output_scale_factor. Used by the U-Net (with temb) and the VAE (temb nil).
import TensorCore

public final class ResnetBlock2D: Module {
    /// diffusers' time_embedding_norm: "default" adds the projected embedding after conv1; "scale_shift" projects
    /// to 2 × out channels and applies h · (1 + scale) + shift after norm2.
    public enum TimeEmbeddingNorm: String, Sendable { case `default`, scaleShift = "scale_shift" }

    public let norm1: GroupNorm
    public let conv1: Conv2d
    public let timeEmbProj: Linear?
    public let norm2: GroupNorm
    public let conv2: Conv2d
    public let convShortcut: Conv2d?
    public let nonlinearity: Activation
    public let outputScaleFactor: Float
    public let timeEmbeddingNorm: TimeEmbeddingNorm
    public let skipTimeAct: Bool
    public let inChannels: Int
    public let outChannels: Int

    /// Arguments as diffusers' constructor: `tembChannels` nil for blocks without a time embedding (the VAE);
    /// `groupsOut` defaults to `groups`; `useInShortcut` defaults to in ≠ out; `convShortcut` true makes the
    /// shortcut a 3×3 conv instead of 1×1. Dropout is not needed at inference and is not modelled.
    public init(inChannels: Int, outChannels: Int? = nil, convShortcut: Bool = false, tembChannels: Int? = 512,
                groups: Int = 32, groupsOut: Int? = nil, eps: Float = 1e-6, nonLinearity: Activation = .swish,
                skipTimeAct: Bool = false, timeEmbeddingNorm: TimeEmbeddingNorm = .default,
                outputScaleFactor: Float = 1, useInShortcut: Bool? = nil, convShortcutBias: Bool = true,
                rng: RandomGenerator) {
        let out = outChannels ?? inChannels
        self.inChannels = inChannels
        self.outChannels = out
        norm1 = GroupNorm(groups: groups, channels: inChannels, eps: eps)
        conv1 = Conv2d(inChannels, out, kernelSize: 3, padding: 1, rng: rng)
        if let tembChannels {
            timeEmbProj = Linear(tembChannels, timeEmbeddingNorm == .scaleShift ? 2 * out : out, rng: rng)
        } else {
            timeEmbProj = nil
        }
        norm2 = GroupNorm(groups: groupsOut ?? groups, channels: out, eps: eps)
        conv2 = Conv2d(out, out, kernelSize: 3, padding: 1, rng: rng)
        if useInShortcut ?? (inChannels != out) {
            self.convShortcut = Conv2d(inChannels, out, kernelSize: convShortcut ? 3 : 1, padding: convShortcut ? 1 : 0,
                                       bias: convShortcutBias, rng: rng)
        } else {
            self.convShortcut = nil
        }
        nonlinearity = nonLinearity
        self.outputScaleFactor = outputScaleFactor
        self.timeEmbeddingNorm = timeEmbeddingNorm
        self.skipTimeAct = skipTimeAct
        super.init()
        registerModule("norm1", norm1)
        registerModule("conv1", conv1)
        if let timeEmbProj { registerModule("time_emb_proj", timeEmbProj) }
        registerModule("norm2", norm2)
        registerModule("conv2", conv2)
        if let c = self.convShortcut { registerModule("conv_shortcut", c) }
    }

    /// The activation of a group norm's output; norm and SiLU fused in inference.
    func activated(_ norm: GroupNorm, _ x: Tensor) -> Tensor {
        nonlinearity == .silu || nonlinearity == .swish ? norm.silu(x) : nonlinearity(norm(x))
    }

    /// x (N, in, H, W), temb (N, temb_channels) or nil -> (N, out, H, W). `x` is consumed, so a caller that passes
    /// its last reference (`h = block(consume h)`) lets it go as soon as the shortcut has used it; one statement
    /// per step, so at most x and two full-size tensors are alive at once in inference.
    public func callAsFunction(_ x: consuming Tensor, temb: Tensor? = nil) -> Tensor {
        let shape = x.shape
        require(shape.count == 4 && shape[1] == inChannels, "ResnetBlock2D: input \(shape) must be (N, \(inChannels), H, W)")
        var h = activated(norm1, x)
        h = conv1(h)
        var scaleShift: (Tensor, Tensor)?
        if let timeEmbProj, let temb {
            // (N, out) or (N, 2·out) -> broadcast over H, W.
            let t = timeEmbProj(skipTimeAct ? temb : nonlinearity(temb))
            let t4 = t.reshape([t.shape[0], t.shape[1], 1, 1])
            if timeEmbeddingNorm == .default { h = h + t4 } else {
                let parts = t4.chunk(2, axis: 1)
                scaleShift = (parts[0], parts[1])
            }
        } else {
            require(timeEmbProj == nil || timeEmbeddingNorm == .default,
                    "ResnetBlock2D: time_embedding_norm scale_shift needs a time embedding")
        }
        if let (scale, shift) = scaleShift {
            h = norm2(h)
            h = h * (scale + 1) + shift
            h = nonlinearity(h)
        } else {
            h = activated(norm2, h)
        }
        h = conv2(h)
        let shortcut: Tensor
        if let c = convShortcut { shortcut = c(x) } else { shortcut = x }
        let sum = shortcut + h
        return outputScaleFactor == 1 ? sum : sum / outputScaleFactor
    }
}
