// EqualizedLinear: StyleGAN2 / EG3D's FullyConnectedLayer (training/networks_stylegan2.py; spec §2.1), the
// equalised-learning-rate linear layer of D's epilogue (`b4.fc`, `b4.out`) and camera mapping (`mapping.*`).
import Foundation
import TensorCore

/// y = act(x · (weight · λ/√in)ᵀ + bias · λ) · gain_act, with the raw (stored) weight and bias as parameters.
/// Parameter names are the official keys: `weight` (out, in), `bias` (out).
public final class EqualizedLinear: Module {
    public let inFeatures: Int, outFeatures: Int
    public let activation: BiasActivation
    /// (out, in), initialised N(0, 1) / λ.
    public let weight: Tensor
    /// (out), initialised to `biasInit`; nil when built with bias: false.
    public let bias: Tensor?
    /// λ / √in and λ: the scales applied at run time (the equalised learning rate).
    public let weightGain: Float, biasGain: Float

    /// - Parameters:
    ///   - lrMultiplier: λ (0.01 in the mapping networks, 1 elsewhere).
    ///   - activation: bias_act activation, applied with its default gain (lrelu: √2, slope 0.2).
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, activation: BiasActivation = .linear,
                lrMultiplier: Float = 1, biasInit: Float = 0, rng: RandomGenerator) {
        require(inFeatures >= 1 && outFeatures >= 1, "EqualizedLinear: features must be positive, got \(inFeatures) -> \(outFeatures)")
        require(lrMultiplier > 0, "EqualizedLinear: lr_multiplier must be positive, got \(lrMultiplier)")
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.activation = activation
        weight = withNoGrad { rng.normal([outFeatures, inFeatures]) / lrMultiplier }
        self.bias = bias ? Tensor.full([outFeatures], biasInit) : nil
        weightGain = Float(Double(lrMultiplier) / Double(inFeatures).squareRoot())
        biasGain = lrMultiplier
        super.init()
        registerParameter("weight", weight)
        if let b = self.bias { registerParameter("bias", b) }
    }

    /// x: (N, in) -> (N, out).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        require(x.rank == 2 && x.shape[1] == inFeatures, "EqualizedLinear: input \(x.shape) must be (N, \(inFeatures))")
        let w = weight * weightGain
        let b = bias.map { biasGain == 1 ? $0 : $0 * biasGain }
        if activation == .linear, let b { return x.linear(w, b) }   // addmm
        return biasAct(x.linear(w), b, dim: 1, act: activation)
    }
}
