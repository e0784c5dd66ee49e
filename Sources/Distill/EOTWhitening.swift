// The whitening of t_EOT for the semantics mapping (ours, session 28; `ConditioningConfig.whitenEOT`, `train
// --whiten-eot`). The mapping's MLP_t learns first what t_EOT varies most along. A text encoder trained with the
// U-Net (session 27) came to vary along gender 4× more than along hair colour (class-mean gaps 1.01 and 0.26 of the
// RMS over training captions), so a stage 2 on it steered gender and lost every hair colour; the contrastive
// encoder before it was the other way round (0.61 and 1.56). Whitened, both sit at the same scale (0.23, 0.32).
// ZCA: μ the captions' mean, A = U·diag(1/√max(λ, floor·λ_max))·Uᵀ from the covariance's eigendecomposition, so
// (t − μ)·A has unit variance along every direction above the floor and stays as near t's orientation as whitening
// allows.
import Foundation
import TensorCore
import Metrics

public enum EOTWhitening {
    /// Fits μ (d) and A (d × d, row-major) on `rows` (n × d, row-major: one t_EOT per caption).
    public static func fit(_ rows: [Float], count n: Int, dim d: Int, floor: Double = 1e-3) throws -> (mean: [Float], matrix: [Float]) {
        require(n >= 2 && rows.count == n * d, "EOTWhitening: \(rows.count) values for \(n) rows of \(d)")
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { mean[j] += Double(rows[i * d + j]) } }
        for j in 0..<d { mean[j] /= Double(n) }
        var cov = [Double](repeating: 0, count: d * d)                    // (d, d), lower triangle filled
        var x = [Double](repeating: 0, count: d)
        for i in 0..<n {
            for j in 0..<d { x[j] = Double(rows[i * d + j]) - mean[j] }
            for a in 0..<d { let xa = x[a]; for b in 0...a { cov[a * d + b] += xa * x[b] } }
        }
        for a in 0..<d { for b in 0...a { cov[a * d + b] /= Double(n); cov[b * d + a] = cov[a * d + b] } }
        let (values, vectors) = try symmetricEigen(cov, n: d, vectors: true)
        let v = vectors!                                                   // row k: the eigenvector of values[k]
        let top = values.max() ?? 0
        guard top > 0 && top.isFinite else { throw TrainingError.data("--whiten-eot: the training captions' t_EOT do not vary (largest variance \(top))") }
        let scale = values.map { 1 / sqrt(Swift.max($0, floor * top)) }
        var a = [Double](repeating: 0, count: d * d)                      // A = Σ_k s_k u_k u_kᵀ
        for k in 0..<d {
            let s = scale[k], u = k * d
            for r in 0..<d { let f = s * v[u + r]; if f == 0 { continue }; for c in 0..<d { a[r * d + c] += f * v[u + c] } }
        }
        return (mean.map(Float.init), a.map(Float.init))
    }
}
