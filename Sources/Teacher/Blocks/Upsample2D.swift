// diffusers Upsample2D (models/upsampling.py): nearest-neighbour ×2 (or to an explicit output size, which the
// U-Net passes when the latent size is not a multiple of 2^upsamplers), then an optional 3×3 conv (`conv`).
import TensorCore

public final class Upsample2D: Module {
    public let conv: Conv2d?
    public let channels: Int

    /// Arguments as diffusers' (the transposed-conv variant is not supported).
    public init(channels: Int, useConv: Bool = false, outChannels: Int? = nil, kernelSize: Int = 3, padding: Int = 1,
                bias: Bool = true, rng: RandomGenerator) {
        self.channels = channels
        conv = useConv ? Conv2d(channels, outChannels ?? channels, kernelSize: kernelSize, padding: padding, bias: bias, rng: rng) : nil
        super.init()
        if let conv { registerModule("conv", conv) }
    }

    /// x (N, C, H, W) -> (N, out, 2H, 2W), or (N, out, outputSize.0, outputSize.1) when given.
    public func callAsFunction(_ x: Tensor, outputSize: (Int, Int)? = nil) -> Tensor {
        require(x.rank == 4 && x.shape[1] == channels, "Upsample2D: input \(x.shape) must be (N, \(channels), H, W)")
        let up = interpolate(x, size: outputSize ?? (2 * x.shape[2], 2 * x.shape[3]), mode: .nearest)
        return conv.map { $0(up) } ?? up
    }
}
