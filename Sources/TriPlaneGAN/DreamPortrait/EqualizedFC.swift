// EG3D's FullyConnectedLayer (equalised learning rate), docs/eg3d-spec.md §2.1, as the DreamPortrait semantics
// mapping network uses it (paper Appendix A: "EG3D-style" mapping layers; method doc §3). A local copy under its
// own name so this folder builds on its own; it computes exactly what the EG3D layer computes.
import Foundation
import TensorCore

/// A fully connected layer with equalised learning rate (StyleGAN2 / EG3D `FullyConnectedLayer`).
///
/// Stored: `weight` (out, in), initialised N(0, 1) / λ, and `bias` (out), initialised `biasInit`.
/// Forward: W_eff = weight · λ / √in, b_eff = bias · λ; linear: y = x·W_effᵀ + b_eff; lrelu (or any other
/// `bias_act` activation): y = act(x·W_effᵀ + b_eff) · gain (√2 for lrelu, slope 0.2).
/// Checkpoint keys: `weight`, `bias` (the raw stored values, as EG3D's state_dict).
public final class EqualizedFC: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let inFeatures: Int
    public let outFeatures: Int
    public let activation: BiasActivation
    /// λ: scales the stored weight and bias in the forward pass (and so the effective learning rate).
    public let lrMultiplier: Float

    /// - Parameters:
    ///   - zeroInit: store an all-zero weight instead of N(0,1)/λ (and `biasInit` is used as given), so the layer
    ///     outputs exactly act(b_eff) at initialisation (exactly 0 with the default bias 0: a zero-initialised
    ///     residual branch).
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, activation: BiasActivation = .linear,
                lrMultiplier: Float = 1, biasInit: Float = 0, zeroInit: Bool = false, rng: RandomGenerator) {
        require(inFeatures >= 1 && outFeatures >= 1, "EqualizedFC: sizes must be positive, got \(inFeatures) -> \(outFeatures)")
        require(lrMultiplier > 0 && lrMultiplier.isFinite, "EqualizedFC: lrMultiplier must be positive and finite, got \(lrMultiplier)")
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.activation = activation
        self.lrMultiplier = lrMultiplier
        weight = zeroInit ? Tensor.zeros([outFeatures, inFeatures]) : rng.normal([outFeatures, inFeatures]) * (1 / lrMultiplier)
        self.bias = bias ? Tensor.full([outFeatures], biasInit) : nil
        super.init()
        registerParameter("weight", weight)
        if let b = self.bias { registerParameter("bias", b) }
    }

    /// The weight gain λ / √in applied in the forward pass.
    public var weightGain: Float { lrMultiplier / Float(inFeatures).squareRoot() }

    /// x: (..., in) -> (..., out).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        require(x.rank >= 1 && x.shape.last == inFeatures, "EqualizedFC: input \(x.shape) must end in \(inFeatures) features")
        let w = weight * weightGain                                   // (out, in)
        let b = bias.map { lrMultiplier == 1 ? $0 : $0 * lrMultiplier } // (out)
        if activation == .linear { return x.linear(w, b) }            // (..., out)
        let lead = Array(x.shape.dropLast())
        let y = x.reshape([-1, inFeatures]).linear(w)                 // (M, out)
        return biasAct(y, b, dim: 1, act: activation).reshape(lead + [outFeatures])
    }
}
