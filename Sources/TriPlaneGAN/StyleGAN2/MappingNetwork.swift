// networks_stylegan2.py MappingNetwork (spec §3): z and embedded c, each normalised by their second
// moment, concatenated (z first), fully connected layers with lr multiplier 0.01, broadcast to num_ws rows,
// truncation towards the tracked average w_avg, whose EMA is updated during training.
import TensorCore

/// Maps (z, c) to the intermediate latents ws. State keys: `embed.*` (when c_dim > 0), `fc0.*` … and the
/// `w_avg` buffer (when tracked).
public final class MappingNetwork: Module {
    public let zDim: Int, cDim: Int, wDim: Int
    /// Rows of the output; nil returns (N, w_dim) without broadcasting (DualDiscriminator's camera mapping).
    public let numWs: Int?
    public let numLayers: Int
    /// EMA decay of w_avg; nil: no w_avg (no truncation).
    public let wAvgBeta: Float?
    public let embed: FullyConnectedLayer?
    /// fc0, fc1, …
    public let layers: [FullyConnectedLayer]
    /// (w_dim) buffer: the truncation centre.
    public let wAvg: Tensor?

    public init(zDim: Int, cDim: Int, wDim: Int, numWs: Int?, numLayers: Int = 8, embedFeatures: Int? = nil,
                layerFeatures: Int? = nil, activation: BiasActivation = .lrelu, lrMultiplier: Float = 0.01,
                wAvgBeta: Float? = 0.998, rng: RandomGenerator) {
        require(zDim >= 0 && cDim >= 0 && zDim + cDim > 0 && numLayers >= 1,
                "MappingNetwork: z_dim \(zDim), c_dim \(cDim), num_layers \(numLayers) are invalid")
        self.zDim = zDim; self.cDim = cDim; self.wDim = wDim; self.numWs = numWs
        self.numLayers = numLayers; self.wAvgBeta = wAvgBeta
        let embedDim = cDim == 0 ? 0 : (embedFeatures ?? wDim)
        let hidden = layerFeatures ?? wDim
        let features = [zDim + embedDim] + Array(repeating: hidden, count: numLayers - 1) + [wDim]
        embed = cDim > 0 ? FullyConnectedLayer(cDim, embedDim, rng: rng) : nil
        layers = (0..<numLayers).map {
            FullyConnectedLayer(features[$0], features[$0 + 1], activation: activation, lrMultiplier: lrMultiplier, rng: rng)
        }
        wAvg = numWs != nil && wAvgBeta != nil ? Tensor.zeros([wDim]) : nil
        super.init()
        if let embed { registerModule("embed", embed) }
        for (i, l) in layers.enumerated() { registerModule("fc\(i)", l) }
        if let wAvg { registerBuffer("w_avg", wAvg) }
    }

    /// - Parameters:
    ///   - truncationPsi: ψ; rows are moved to w_avg + ψ·(w − w_avg) when ψ ≠ 1.
    ///   - truncationCutoff: truncate only the first rows (nil: all).
    ///   - updateEmas: training only: w_avg ← mean_batch(w) + β·(w_avg − mean_batch(w)) before truncation.
    // z: (N, z_dim) (nil when z_dim = 0), c: (N, c_dim) (nil when c_dim = 0) -> (N, num_ws, w_dim), or (N, w_dim)
    public func callAsFunction(_ z: Tensor?, _ c: Tensor?, truncationPsi: Float = 1, truncationCutoff: Int? = nil,
                               updateEmas: Bool = false) -> Tensor {
        var parts: [Tensor] = []
        if zDim > 0 {
            guard let z else { preconditionFailure("MappingNetwork: z is required (z_dim \(zDim))") }
            require(z.rank == 2 && z.shape[1] == zDim, "MappingNetwork: z must be (N, \(zDim)), got \(z.shape)")
            parts.append(normalize2ndMoment(z))
        }
        if let embed {
            guard let c else { preconditionFailure("MappingNetwork: c is required (c_dim \(cDim))") }
            require(c.rank == 2 && c.shape[1] == cDim, "MappingNetwork: c must be (N, \(cDim)), got \(c.shape)")
            if let first = parts.first {
                require(c.shape[0] == first.shape[0], "MappingNetwork: z \(first.shape) and c \(c.shape) differ in batch size")
            }
            parts.append(normalize2ndMoment(embed(c)))
        }
        var x = parts.count == 1 ? parts[0] : Tensor.concat(parts, axis: 1)
        for l in layers { x = l(x) }

        if updateEmas, let beta = wAvgBeta, let wAvg {
            withNoGrad {
                let mean = x.detach().mean(axis: 0)
                let updated = (mean + (wAvg - mean) * beta).contiguous()   // mean.lerp(w_avg, β)
                wAvg.data.update(from: updated.data, count: wDim)
            }
        }

        guard let numWs else {
            require(truncationPsi == 1, "MappingNetwork: truncation needs num_ws and w_avg")
            return x
        }
        let n = x.shape[0]
        let ws = x.unsqueeze(1).expand([n, numWs, wDim])
        if truncationPsi == 1 { return ws.contiguous() }
        guard let wAvg else { preconditionFailure("MappingNetwork: truncation needs w_avg (w_avg_beta is nil)") }
        let cut = Swift.min(truncationCutoff ?? numWs, numWs)
        require(cut >= 0, "MappingNetwork: truncation cutoff \(cut) must be non-negative")
        func lerp(_ t: Tensor) -> Tensor { wAvg + (t - wAvg) * truncationPsi }
        if cut == numWs { return lerp(ws) }
        if cut == 0 { return ws.contiguous() }
        return Tensor.concat([lerp(ws.slice(axis: 1, start: 0, end: cut)), ws.slice(axis: 1, start: cut, end: numWs)], axis: 1)
    }
}
