// The tri-plane feature decoder (spec §6, §2.1): OSGDecoder of eg3d/training/triplane.py, a two-layer MLP of
// equalised-learning-rate FullyConnectedLayers (training/networks_stylegan2.py) with a softplus between.
// Parameter names are the official state_dict keys under `decoder`: net.0.weight [64, 32], net.0.bias [64],
// net.2.weight [33, 64], net.2.bias [33].
import Foundation
import TensorCore

/// Maps the plane-averaged feature of a point to raw density σ (no activation) and 32 colour features
/// rgb = sigmoid(·)·(1 + 2·0.001) − 0.001. Ray directions are not inputs (EG3D has no view dependence).
public final class OSGDecoder: Module {
    /// FullyConnectedLayer with a linear activation: y = x·(W·λ/√in)ᵀ + b·λ. Stored weight [out, in], bias [out].
    public final class FullyConnected: Module {
        public let weight: Tensor
        public let bias: Tensor
        public let lrMultiplier: Float

        /// Weight N(0, 1)/λ, bias 0 (the official initialisation).
        public init(inFeatures: Int, outFeatures: Int, lrMultiplier: Float, rng: RandomGenerator) {
            self.lrMultiplier = lrMultiplier
            weight = rng.normal([outFeatures, inFeatures], std: 1 / lrMultiplier)
            bias = Tensor.zeros([outFeatures])
            super.init()
            registerParameter("weight", weight)
            registerParameter("bias", bias)
        }

        /// The weight actually applied, W·(λ/√in): (out, in).
        public var effectiveWeight: Tensor {
            weight * Float(Double(lrMultiplier) / Double(weight.shape[1]).squareRoot())
        }
        /// The bias actually applied, b·λ (the official code skips the multiply when λ = 1).
        public var effectiveBias: Tensor { lrMultiplier == 1 ? bias : bias * lrMultiplier }

        /// x (..., in) -> (..., out): one matmul over all rows.
        public func callAsFunction(_ x: Tensor) -> Tensor { x.linear(effectiveWeight, effectiveBias) }
    }

    /// The official `torch.nn.Sequential(FC, Softplus, FC)`: children "0" and "2" (index 1, the softplus, has no parameters).
    public final class Net: Module {
        public let layer0: FullyConnected
        public let layer2: FullyConnected
        init(_ l0: FullyConnected, _ l2: FullyConnected) {
            layer0 = l0
            layer2 = l2
            super.init()
            registerModule("0", layer0)
            registerModule("2", layer2)
        }
    }

    public let net: Net
    /// Input width (the plane channels), hidden width and colour-feature outputs.
    public let inputFeatures: Int, hiddenFeatures: Int, outputFeatures: Int

    public init(inputFeatures: Int = 32, hiddenFeatures: Int = 64, outputFeatures: Int = 32, lrMultiplier: Float = 1,
                rng: RandomGenerator) {
        require(inputFeatures > 0 && hiddenFeatures > 0 && outputFeatures > 0,
                "OSGDecoder: sizes must be positive, got \(inputFeatures), \(hiddenFeatures), \(outputFeatures)")
        self.inputFeatures = inputFeatures
        self.hiddenFeatures = hiddenFeatures
        self.outputFeatures = outputFeatures
        net = Net(FullyConnected(inFeatures: inputFeatures, outFeatures: hiddenFeatures, lrMultiplier: lrMultiplier, rng: rng),
                  FullyConnected(inFeatures: hiddenFeatures, outFeatures: 1 + outputFeatures, lrMultiplier: lrMultiplier, rng: rng))
        super.init()
        registerModule("net", net)
    }

    /// A decoder sized by the rendering options (plane channels → hidden → 1 + output).
    public convenience init(options: RendererSettings, rng: RandomGenerator) {
        self.init(inputFeatures: options.planeChannels, hiddenFeatures: options.decoderHidden,
                  outputFeatures: options.decoderOutput, lrMultiplier: options.decoderLRMultiplier, rng: rng)
    }

    /// The MLP on plane-averaged features: x (rows, C) -> raw output (rows, 1 + output): FC, softplus, FC.
    public func mlp(_ x: Tensor) -> Tensor {
        require(x.shape.last == inputFeatures, "OSGDecoder: features must end in \(inputFeatures) channels, got \(x.shape)")
        return net.layer2(net.layer0(x).softplus())
    }

    /// Splits a raw output (..., 1 + output) into σ (..., 1), raw, and rgb (..., output) = sigmoid·1.002 − 0.001.
    public func activate(_ raw: Tensor) -> (sigma: Tensor, rgb: Tensor) {
        let last = raw.rank - 1
        let sigma = raw.slice(axis: last, start: 0, end: 1)
        let rgb = raw.slice(axis: last, start: 1).sigmoid() * OSGDecoder.rgbScale - OSGDecoder.rgbShift
        return (sigma, rgb)
    }

    /// OSGDecoder.forward: sampled features (N, 3, P, C) are averaged over the planes, then decoded.
    /// - Returns: σ (N, P, 1) raw and rgb (N, P, output).
    public func callAsFunction(_ sampledFeatures: Tensor) -> (sigma: Tensor, rgb: Tensor) {
        require(sampledFeatures.rank == 4 && sampledFeatures.shape[1] == 3,
                "OSGDecoder: sampled features must be (N, 3, P, C), got \(sampledFeatures.shape)")
        let (n, p) = (sampledFeatures.shape[0], sampledFeatures.shape[2])
        let x = TriPlane.aggregate(sampledFeatures).reshape([n * p, inputFeatures])
        return activate(mlp(x).reshape([n, p, 1 + outputFeatures]))
    }

    /// The MipNeRF sigmoid clamp: 1 + 2·0.001 and 0.001 as float32.
    static let rgbScale = Float(1 + 2 * 0.001), rgbShift = Float(0.001)
}
