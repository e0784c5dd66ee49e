// torch.nn.Conv2d as a module (torch/nn/modules/conv.py), with its `weight` / `bias` keys and PyTorch's default
// initialisation, for the diffusers blocks (conv_in, ResnetBlock2D.conv1, Downsample2D.conv, ...).
import TensorCore

/// torch.nn.Conv2d: weight (out, in / groups, k, k), bias (out). x (N, in, H, W) -> (N, out, Ho, Wo).
/// Initialised as PyTorch's default (kaiming_uniform with a = √5): U(-1/√fanIn, 1/√fanIn) for weight and bias.
public final class Conv2d: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: Int
    public let padding: Int
    public let groups: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                groups: Int = 1, bias: Bool = true, rng: RandomGenerator) {
        require(inChannels % groups == 0 && outChannels % groups == 0,
                "Conv2d: channels \(inChannels) -> \(outChannels) do not divide into \(groups) groups")
        let fanIn = inChannels / groups * kernelSize * kernelSize
        let bound = 1 / Float(fanIn).squareRoot()
        weight = rng.uniform([outChannels, inChannels / groups, kernelSize, kernelSize], low: -bound, high: bound)
        self.bias = bias ? rng.uniform([outChannels], low: -bound, high: bound) : nil
        self.stride = stride
        self.padding = padding
        self.groups = groups
        super.init()
        registerParameter("weight", weight)
        if let b = self.bias { registerParameter("bias", b) }
    }

    public var inChannels: Int { weight.shape[1] * groups }
    public var outChannels: Int { weight.shape[0] }

    /// 3×3, stride-1, padding-1 convolutions over at least this many output positions (N · H · W) use Winograd's
    /// F(2×2, 3×3) (TensorCore's conv2dWinograd: the same result up to rounding with 2.25× fewer multiplies; below
    /// it, transforming the weights costs more than it saves). nil: always the GEMM convolution.
    nonisolated(unsafe) public static var winogradMinimumPositions: Int? = 512

    /// x (N, in, H, W) -> (N, out, Ho, Wo).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        if let minimum = Conv2d.winogradMinimumPositions, stride == 1, padding == 1, groups == 1,
           winogradApplies(x, weight, minimumPositions: minimum) {
            return conv2dWinograd(x, weight, bias: bias)
        }
        return conv2d(x, weight, bias: bias, stride: (stride, stride), padding: (padding, padding), groups: groups)
    }
}
