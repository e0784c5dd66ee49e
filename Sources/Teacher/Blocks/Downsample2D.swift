// diffusers Downsample2D (models/downsampling.py): a stride-2 3×3 conv (`conv`), or 2×2 average pooling without
// a conv. With padding 0 (the VAE encoder) the input is first padded by one row and column at the bottom/right.
import TensorCore

public final class Downsample2D: Module {
    public let conv: Conv2d?
    public let channels: Int
    public let padding: Int

    /// Arguments as diffusers': `useConv` false pools (and needs out = in); `padding` of the conv.
    public init(channels: Int, useConv: Bool = false, outChannels: Int? = nil, padding: Int = 1,
                kernelSize: Int = 3, bias: Bool = true, rng: RandomGenerator) {
        let out = outChannels ?? channels
        self.channels = channels
        self.padding = padding
        if useConv {
            conv = Conv2d(channels, out, kernelSize: kernelSize, stride: 2, padding: padding, bias: bias, rng: rng)
        } else {
            require(out == channels, "Downsample2D: pooling without a conv cannot change channels \(channels) -> \(out)")
            conv = nil
        }
        super.init()
        if let conv { registerModule("conv", conv) }
    }

    /// x (N, C, H, W) -> (N, out, ⌊(H + 2p - 3) / 2⌋ + 1, ...) (H / 2 for even H).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        require(x.rank == 4 && x.shape[1] == channels, "Downsample2D: input \(x.shape) must be (N, \(channels), H, W)")
        guard let conv else { return avgPool2d(x, kernel: (2, 2), stride: (2, 2)) }
        if padding == 0 { return conv(x.pad([(0, 0), (0, 0), (0, 1), (0, 1)])) }
        return conv(x)
    }
}
