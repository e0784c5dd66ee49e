// torch.nn.GroupNorm and torch.nn.LayerNorm as modules (torch/nn/modules/normalization.py), with their
// `weight` / `bias` keys (affine: ones and zeros at construction), for the diffusers blocks.
import TensorCore

/// torch.nn.GroupNorm(num_groups, num_channels, eps, affine=True). x (N, C, *) -> same shape.
public final class GroupNorm: Module {
    public let weight: Tensor
    public let bias: Tensor
    public let groups: Int
    public let eps: Float

    public init(groups: Int, channels: Int, eps: Float = 1e-5) {
        require(groups >= 1 && channels % groups == 0, "GroupNorm: \(channels) channels do not split into \(groups) groups")
        weight = Tensor.ones([channels])
        bias = Tensor.zeros([channels])
        self.groups = groups
        self.eps = eps
        super.init()
        registerParameter("weight", weight)
        registerParameter("bias", bias)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { groupNorm(x, groups: groups, weight: weight, bias: bias, eps: eps) }

    /// silu(self(x)); in inference the SiLU is applied in place (TensorCore's groupNormSiLU), otherwise it is
    /// exactly the composition and differentiates as such.
    public func silu(_ x: Tensor) -> Tensor { groupNormSiLU(x, groups: groups, weight: weight, bias: bias, eps: eps) }
}

/// torch.nn.LayerNorm(dim, eps, elementwise_affine) over the last axis. x (..., dim) -> same shape.
public final class LayerNorm: Module {
    public let weight: Tensor?
    public let bias: Tensor?
    public let dim: Int
    public let eps: Float

    public init(_ dim: Int, eps: Float = 1e-5, elementwiseAffine: Bool = true) {
        weight = elementwiseAffine ? Tensor.ones([dim]) : nil
        bias = elementwiseAffine ? Tensor.zeros([dim]) : nil
        self.dim = dim
        self.eps = eps
        super.init()
        if let weight { registerParameter("weight", weight) }
        if let bias { registerParameter("bias", bias) }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        layerNorm(x, normalizedShape: [dim], weight: weight, bias: bias, eps: eps)
    }
}
