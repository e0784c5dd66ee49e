// The torch.nn layers the VAE is built from (torch/nn/modules/conv.py Conv2d, normalization.py GroupNorm,
// container.py ModuleList), with PyTorch's parameter names and default initialisation, so diffusers'
// checkpoints load by key. Prefixed `VAE` until the shared blocks of Sources/Teacher/Blocks/ are merged.
import TensorCore

/// torch.nn.Conv2d (square kernel, groups 1): weight (out, in, k, k), bias (out).
/// Initialised as PyTorch's default: U(-1/√fan_in, 1/√fan_in) for weight and bias.
public final class VAEConv2d: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: Int
    public let padding: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                bias: Bool = true, rng: RandomGenerator) {
        let bound = 1 / Float(inChannels * kernelSize * kernelSize).squareRoot()
        weight = rng.uniform([outChannels, inChannels, kernelSize, kernelSize], low: -bound, high: bound)
        self.bias = bias ? rng.uniform([outChannels], low: -bound, high: bound) : nil
        self.stride = stride
        self.padding = padding
        super.init()
        registerParameter("weight", weight)
        if let b = self.bias { registerParameter("bias", b) }
    }

    public var inChannels: Int { weight.shape[1] }
    public var outChannels: Int { weight.shape[0] }

    /// x: (N, in, H, W) -> (N, out, H', W').
    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv2d(x, weight, bias: bias, stride: (stride, stride), padding: (padding, padding))
    }
}

/// torch.nn.GroupNorm with affine parameters: weight (C) initialised to 1, bias (C) to 0.
public final class VAEGroupNorm: Module {
    public let weight: Tensor
    public let bias: Tensor
    public let groups: Int
    public let eps: Float

    public init(groups: Int, channels: Int, eps: Float) {
        require(groups >= 1 && channels % groups == 0, "VAEGroupNorm: \(channels) channels do not split into \(groups) groups")
        weight = Tensor.ones([channels])
        bias = Tensor.zeros([channels])
        self.groups = groups
        self.eps = eps
        super.init()
        registerParameter("weight", weight)
        registerParameter("bias", bias)
    }

    /// x: (N, C, *) -> same shape.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        groupNorm(x, groups: groups, weight: weight, bias: bias, eps: eps)
    }

    /// silu(self(x)), fused in inference (TensorCore's groupNormSiLU).
    public func silu(_ x: Tensor) -> Tensor {
        groupNormSiLU(x, groups: groups, weight: weight, bias: bias, eps: eps)
    }
}

/// torch.nn.ModuleList: children registered under "0", "1", ... (checkpoint keys `resnets.0.conv1.weight`).
public final class VAEModuleList<M: Module>: Module {
    public let items: [M]

    public init(_ items: [M]) {
        self.items = items
        super.init()
        for (i, m) in items.enumerated() { registerModule(String(i), m) }
    }

    public var count: Int { items.count }
    public subscript(i: Int) -> M { items[i] }
}
