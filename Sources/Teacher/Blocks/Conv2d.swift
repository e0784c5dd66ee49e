// torch.nn.Conv2d as a module (torch/nn/modules/conv.py), with its `weight` / `bias` keys and PyTorch's default
// initialisation, for the diffusers blocks (conv_in, ResnetBlock2D.conv1, Downsample2D.conv, ...).
import TensorCore

/// torch.nn.Conv2d: weight (out, in / groups, k, k), bias (out). x (N, in, H, W) -> (N, out, Ho, Wo). TensorCore's
/// conv2d picks the execution path (Winograd, tap GEMMs, implicit GEMM) by its own measured rules.
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

    /// x (N, in, H, W) -> (N, out, Ho, Wo).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        return conv2d(x, weight, bias: bias, stride: (stride, stride), padding: (padding, padding), groups: groups)
    }
}
