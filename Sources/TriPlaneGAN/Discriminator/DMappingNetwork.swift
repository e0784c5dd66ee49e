// DMappingNetwork: the camera-label mapping of EG3D's DualDiscriminator (`D.mapping`): StyleGAN2's
// MappingNetwork (training/networks_stylegan2.py) built with z_dim 0, num_ws None, w_avg_beta None
// (spec §3, §11.4). No latent, no broadcast, no w_avg, no truncation.
import Foundation
import TensorCore

/// cmap = fc[L-1](…fc0(normalize_2nd_moment(embed(c)))), each fc lrelu·√2 with learning-rate multiplier λ.
/// Children: `embed` (c_dim → embed), `fc0` … `fc{L-1}` (→ w_dim).
public final class DMappingNetwork: Module {
    public let cDim: Int, wDim: Int, numLayers: Int
    public let embed: EqualizedLinear
    public let layers: [EqualizedLinear]

    /// - Parameters:
    ///   - embedFeatures, layerFeatures: nil = wDim (the official defaults).
    ///   - lrMultiplier: λ of the fc layers (the embed uses 1).
    public init(cDim: Int, wDim: Int, numLayers: Int = 8, embedFeatures: Int? = nil, layerFeatures: Int? = nil,
                activation: BiasActivation = .lrelu, lrMultiplier: Float = 0.01, rng: RandomGenerator) {
        require(cDim >= 1 && wDim >= 1 && numLayers >= 1,
                "DMappingNetwork: c_dim \(cDim), w_dim \(wDim) and num_layers \(numLayers) must be positive")
        self.cDim = cDim
        self.wDim = wDim
        self.numLayers = numLayers
        let e = embedFeatures ?? wDim, l = layerFeatures ?? wDim
        let features = [e] + Array(repeating: l, count: numLayers - 1) + [wDim]
        embed = EqualizedLinear(cDim, e, rng: rng)
        layers = (0..<numLayers).map {
            EqualizedLinear(features[$0], features[$0 + 1], activation: activation, lrMultiplier: lrMultiplier, rng: rng)
        }
        super.init()
        registerModule("embed", embed)
        for (i, layer) in layers.enumerated() { registerModule("fc\(i)", layer) }
    }

    /// x · (mean over features of x² + 1e-8)^(-1/2), per sample (normalize_2nd_moment, spec §2.3). x: (N, F).
    public static func normalize2ndMoment(_ x: Tensor, eps: Float = 1e-8) -> Tensor {
        x * ((x * x).mean(axis: 1, keepDims: true) + eps).rsqrt()
    }

    /// c: (N, c_dim) -> (N, w_dim).
    public func callAsFunction(_ c: Tensor) -> Tensor {
        require(c.rank == 2 && c.shape[1] == cDim, "DMappingNetwork: label \(c.shape) must be (N, \(cDim))")
        var x = Self.normalize2ndMoment(embed(c))
        for layer in layers { x = layer(x) }
        return x
    }
}
