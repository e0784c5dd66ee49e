// The global text injection: DreamPortrait §3.2 (Hierarchical Latent Condition: w and t_EOT are fused by an
// additional mapping network M into w_t, which modulates the synthesis convolutions) and Appendix A (two mapping
// layers for the text token, two for the style code, one fusion layer, EG3D-style), in the residual,
// identity-at-initialisation form of our method doc (docs/dreamportrait-method.md) §3:
//
//     w_t = w + Fuse( concat( MLP_w(w), MLP_t(t_EOT) ) ),   Fuse zero-initialised.
//
// With `whitenEOT` (ours), MLP_t reads (t_EOT − μ)·A instead, a fixed whitening fitted on the training captions.
import TensorCore

/// Sizes and learning-rate multipliers of the semantics mapping network.
public struct SemanticsMappingConfig: Sendable, Equatable {
    /// Size of w (EG3D: 512).
    public var wDim: Int
    /// Size of t_EOT: 1024 for Stable Diffusion 2's OpenCLIP ViT-H/14 text encoder, 512 for smaller encoders.
    public var textDim: Int
    /// Width of the two style layers and the two text layers (the fusion layer reads 2 · hiddenDim).
    public var hiddenDim: Int
    /// λ of every layer (EG3D's mapping layers use 0.01).
    public var lrMultiplier: Float
    /// The fusion layer's activation. Linear by default: it is a residual branch onto w, so its output must
    /// reach both signs freely. (With lrelu it is still exactly zero at initialisation.)
    public var fuseActivation: BiasActivation
    /// Ours: MLP_t reads the whitened t_EOT, (t_EOT − eot_mean)·eot_whitening (buffers, set by `setWhitening`).
    public var whitenEOT: Bool

    public init(wDim: Int = 512, textDim: Int = 1024, hiddenDim: Int = 512, lrMultiplier: Float = 0.01,
                fuseActivation: BiasActivation = .linear, whitenEOT: Bool = false) {
        self.wDim = wDim
        self.textDim = textDim
        self.hiddenDim = hiddenDim
        self.lrMultiplier = lrMultiplier
        self.fuseActivation = fuseActivation
        self.whitenEOT = whitenEOT
    }
}

/// M: (w, t_EOT) -> w_t = w + Fuse(concat(MLP_w(w), MLP_t(t_EOT))).
///
/// MLP_w = `w_fc0`, `w_fc1` (wDim -> hidden -> hidden) and MLP_t = `t_fc0`, `t_fc1` (textDim -> hidden -> hidden)
/// are EG3D fully connected layers with lrelu (gain √2) and equalised learning rate λ; `fuse` (2·hidden -> wDim)
/// has weight and bias initialised to zero, so a fresh network returns w bit for bit (x·0 + 0 is exactly 0 for
/// finite x, and w + 0 = w). Checkpoint keys: `w_fc0.weight`, `w_fc0.bias`, …, `fuse.weight`, `fuse.bias`, and with
/// `whitenEOT` the buffers `eot_mean` (textDim) and `eot_whitening` (textDim, textDim), 0 and I until set.
///
/// The camera conditioning of EG3D's own mapping is untouched: this network runs on its output ws.
public final class SemanticsMappingNetwork: Module {
    public let config: SemanticsMappingConfig
    public let wFC0: FullyConnectedLayer
    public let wFC1: FullyConnectedLayer
    public let tFC0: FullyConnectedLayer
    public let tFC1: FullyConnectedLayer
    public let fuse: FullyConnectedLayer
    /// The whitening of t_EOT (`whitenEOT` only): μ (textDim) and A (textDim, textDim).
    public let eotMean: Tensor?, eotWhitening: Tensor?

    public init(_ config: SemanticsMappingConfig, rng: RandomGenerator) {
        require(config.wDim >= 1 && config.textDim >= 1 && config.hiddenDim >= 1,
                "SemanticsMappingNetwork: sizes must be positive, got w \(config.wDim), text \(config.textDim), hidden \(config.hiddenDim)")
        self.config = config
        let (h, lr) = (config.hiddenDim, config.lrMultiplier)
        wFC0 = FullyConnectedLayer(config.wDim, h, activation: .lrelu, lrMultiplier: lr, rng: rng)
        wFC1 = FullyConnectedLayer(h, h, activation: .lrelu, lrMultiplier: lr, rng: rng)
        tFC0 = FullyConnectedLayer(config.textDim, h, activation: .lrelu, lrMultiplier: lr, rng: rng)
        tFC1 = FullyConnectedLayer(h, h, activation: .lrelu, lrMultiplier: lr, rng: rng)
        fuse = FullyConnectedLayer(2 * h, config.wDim, activation: config.fuseActivation, lrMultiplier: lr, zeroInit: true, rng: rng)
        let d = config.textDim
        eotMean = config.whitenEOT ? Tensor.zeros([d]) : nil
        eotWhitening = config.whitenEOT ? Tensor((0..<d * d).map { $0 / d == $0 % d ? Float(1) : 0 }, shape: [d, d]) : nil
        super.init()
        if let m = eotMean, let a = eotWhitening { registerBuffer("eot_mean", m); registerBuffer("eot_whitening", a) }
        registerModule("w_fc0", wFC0)
        registerModule("w_fc1", wFC1)
        registerModule("t_fc0", tFC0)
        registerModule("t_fc1", tFC1)
        registerModule("fuse", fuse)
    }

    /// Maps EG3D's ws to the text-conditioned w_t.
    ///
    /// - Parameters:
    ///   - ws: (N, num_ws, wDim), the (possibly truncated) output of EG3D's mapping, or (N, wDim) for one w per sample.
    ///   - eot: (N, textDim), t_EOT.
    /// - Returns: the same shape as `ws`.
    ///
    /// Each row of ws is mapped on its own: row j becomes ws[:, j] + Fuse(MLP_w(ws[:, j]), MLP_t(t_EOT)). EG3D's
    /// mapping broadcasts one w to every row, so untruncated rows are equal and the same w_t replaces every row,
    /// as method doc §3 says. Truncation (ψ ≠ 1, with a cutoff) may leave rows that differ; each row is then
    /// conditioned separately (the truncated ones are the truncated w, mapped as they are: truncation happens
    /// first, as the method doc prescribes, "w is computed (and truncated) as in EG3D").
    public func callAsFunction(_ ws: Tensor, eot: Tensor) -> Tensor {
        require(ws.rank == 2 || ws.rank == 3, "SemanticsMappingNetwork: ws must be (N, num_ws, \(config.wDim)) or (N, \(config.wDim)), got \(ws.shape)")
        require(ws.shape.last == config.wDim, "SemanticsMappingNetwork: ws \(ws.shape) must end in wDim = \(config.wDim)")
        require(eot.rank == 2 && eot.shape == [ws.shape[0], config.textDim],
                "SemanticsMappingNetwork: eot must be (N, textDim) = [\(ws.shape[0]), \(config.textDim)] for ws \(ws.shape), got \(eot.shape)")
        let n = ws.shape[0], rows = ws.rank == 3 ? ws.shape[1] : 1
        let hw = wFC1(wFC0(ws.reshape([n * rows, config.wDim])))              // (N·rows, hidden)
        let ht = tFC1(tFC0(whitened(eot)))                                     // (N, hidden): once per sample
        let htRows = rows == 1 ? ht : ht.unsqueeze(1).expand([n, rows, config.hiddenDim])
            .reshape([n * rows, config.hiddenDim])                             // (N·rows, hidden)
        let delta = fuse(Tensor.concat([hw, htRows], axis: 1))                 // (N·rows, wDim)
        return ws + delta.reshape(ws.shape)                                    // ws's shape
    }

    /// (N, textDim) -> (N, textDim): (t_EOT − μ)·A with `whitenEOT`, else t_EOT itself.
    public func whitened(_ eot: Tensor) -> Tensor {
        guard let m = eotMean, let a = eotWhitening else { return eot }
        return (eot - m.unsqueeze(0)).matmul(a)
    }

    /// Sets the whitening (`whitenEOT` only): `mean` of textDim values, `matrix` textDim² values, row-major.
    public func setWhitening(mean: [Float], matrix: [Float]) {
        let d = config.textDim
        require(eotMean != nil, "SemanticsMappingNetwork: setWhitening on a network without whitenEOT")
        require(mean.count == d && matrix.count == d * d,
                "SemanticsMappingNetwork: whitening needs \(d) + \(d * d) values, got \(mean.count) + \(matrix.count)")
        eotMean!.copyIn(Tensor(mean, shape: [d]))
        eotWhitening!.copyIn(Tensor(matrix, shape: [d, d]))
    }

    /// Convenience for a batch of prompts: `self(ws, eot: text.eot)`.
    public func callAsFunction(_ ws: Tensor, text: TextConditioning) -> Tensor {
        callAsFunction(ws, eot: text.eot)
    }
}
