// Basic layers as torch.nn defines them (torch/nn/modules/linear.py, sparse.py), with the same parameter
// names and default initialisation ranges, so checkpoints load by key.

/// torch.nn.Linear: y = x · Wᵀ + b. weight: (out, in), bias: (out). x: (..., in) -> (..., out).
/// Initialised as PyTorch's default: U(-1/√in, 1/√in) for both.
public final class Linear: Module {
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, rng: RandomGenerator) {
        let bound = 1 / Float(inFeatures).squareRoot()
        weight = rng.uniform([outFeatures, inFeatures], low: -bound, high: bound)
        self.bias = bias ? rng.uniform([outFeatures], low: -bound, high: bound) : nil
        super.init()
        registerParameter("weight", weight)
        if let b = self.bias { registerParameter("bias", b) }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.linear(weight, bias) }
}

/// torch.nn.Embedding: rows of weight (count, dim) picked by integer-valued indices; initialised N(0, 1).
public final class Embedding: Module {
    public let weight: Tensor

    public init(_ count: Int, _ dim: Int, rng: RandomGenerator) {
        weight = rng.normal([count, dim])
        super.init()
        registerParameter("weight", weight)
    }

    /// indices: (...) -> (..., dim)
    public func callAsFunction(_ indices: Tensor) -> Tensor { embedding(weight, indices) }
}
