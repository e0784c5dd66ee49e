// networks_stylegan2.py FullyConnectedLayer (equalized learning rate) and normalize_2nd_moment (spec §2.1, §2.3).
// The one equalised-lr linear layer of the project: EG3D's mapping networks and affine layers, the
// DualDiscriminator's camera mapping and epilogue (`b4.fc`, `b4.out`), and DreamPortrait's semantics mapping
// network (method doc §3, whose zero-initialised `fuse` layer uses `zeroInit`).
import TensorCore

/// A fully connected layer with equalized learning rate: the stored weight is N(0, 1) / λ and is scaled by
/// λ / √in at run time, the stored bias by λ. y = act(x · (W·λ/√in)ᵀ + b·λ) · gain_act (bias_act: lrelu has
/// slope 0.2 and gain √2). Checkpoint keys: `weight` (out, in) and `bias` (out), the raw stored values.
public final class FullyConnectedLayer: Module {
    /// (out, in), stored unscaled.
    public let weight: Tensor
    /// (out), stored unscaled; nil when the layer has no bias.
    public let bias: Tensor?
    public let activation: BiasActivation
    public let inFeatures: Int, outFeatures: Int
    /// λ / √in and λ.
    public let weightGain: Float, biasGain: Float

    /// - Parameters:
    ///   - lrMultiplier: λ (0.01 in the mapping network, 1 elsewhere).
    ///   - biasInit: the bias's initial value (1 for every affine layer).
    ///   - zeroInit: store an all-zero weight instead of N(0, 1)/λ (no random numbers are drawn), so that the
    ///     layer outputs exactly act(biasInit·λ)·gain at initialisation: exactly 0 with the default bias, a
    ///     zero-initialised residual branch (DreamPortrait's `fuse`, method doc §3). Not an official option.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, activation: BiasActivation = .linear,
                lrMultiplier: Float = 1, biasInit: Float = 0, zeroInit: Bool = false, rng: RandomGenerator) {
        require(inFeatures > 0 && outFeatures > 0, "FullyConnectedLayer: sizes \(inFeatures) -> \(outFeatures) must be positive")
        require(lrMultiplier > 0 && lrMultiplier.isFinite,
                "FullyConnectedLayer: lr_multiplier must be positive and finite, got \(lrMultiplier)")
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.activation = activation
        weight = zeroInit ? Tensor.zeros([outFeatures, inFeatures]) : rng.normal([outFeatures, inFeatures], std: 1 / lrMultiplier)
        self.bias = bias ? Tensor.full([outFeatures], biasInit) : nil
        weightGain = lrMultiplier / Float(inFeatures).squareRoot()
        biasGain = lrMultiplier
        super.init()
        registerParameter("weight", weight)
        if let b = self.bias { registerParameter("bias", b) }
    }

    // x: (N, in) -> (N, out)
    public func callAsFunction(_ x: Tensor) -> Tensor {
        require(x.rank == 2 && x.shape[1] == inFeatures,
                "FullyConnectedLayer(\(inFeatures) -> \(outFeatures)): input must be (N, \(inFeatures)), got \(x.shape)")
        // The gain scales the (N, out) product rather than the (out, in) weight: fewer multiplies, same value.
        var y = x.matmul(weight.transpose(0, 1))
        if weightGain != 1 { y = y * weightGain }
        let b = bias.map { biasGain == 1 ? $0 : $0 * biasGain }
        return biasAct(y, b, dim: 1, act: activation)
    }
}

/// x · (mean over `dim` of x² + eps)^(−1/2), per sample (normalize_2nd_moment).
// x: (N, C) -> (N, C)
public func normalize2ndMoment(_ x: Tensor, dim: Int = 1, eps: Float = 1e-8) -> Tensor {
    x * ((x * x).mean(axis: dim, keepDims: true) + eps).rsqrt()
}
