// The Fréchet distance between two Gaussians (Heusel et al. 2017; pytorch-fid's calculate_frechet_distance):
//   d² = |μ1 − μ2|² + tr(Σ1) + tr(Σ2) − 2 tr((Σ1 Σ2)^½).
// pytorch-fid takes scipy's sqrtm of the non-symmetric Σ1Σ2. Here tr((Σ1Σ2)^½) is computed as Σ √λᵢ over the
// eigenvalues of the symmetric positive semi-definite Σ1^½ Σ2 Σ1^½ (similar to Σ1Σ2, so the same spectrum),
// which stays real and finite for near-singular covariances where sqrtm needs pytorch-fid's ε·I retry.
import Foundation
import TensorCore

/// FID between two Gaussians. Throws if the dimensions differ or the eigensolver fails.
public func frechetDistance(_ a: GaussianStatistics, _ b: GaussianStatistics) throws -> Double {
    guard a.dimension == b.dimension else {
        throw EigenError(message: "Fréchet distance: statistics of dimension \(a.dimension) and \(b.dimension)")
    }
    let n = a.dimension
    var meanTerm = 0.0
    for i in 0..<n { let t = a.mean[i] - b.mean[i]; meanTerm += t * t }
    var traces = 0.0
    for i in 0..<n { traces += a.covariance[i * n + i] + b.covariance[i * n + i] }
    // Σ1 = V Λ Vᵀ; with S = Λ^½ Vᵀ (rows √λᵢ vᵢ), Σ1^½ Σ2 Σ1^½ = V (S Σ2 Sᵀ) Vᵀ, so its eigenvalues are those of
    // S Σ2 Sᵀ, and rows with λᵢ ≤ 0 (zero after clamping) only add zero eigenvalues: they are left out.
    let (l1, v1) = try symmetricEigen(a.covariance, n: n, vectors: true)
    let v = v1!
    let kept = (0..<n).filter { l1[$0] > 0 }
    let r = kept.count
    var scaled = [Double](repeating: 0, count: r * n)        // S: r x n
    for (row, i) in kept.enumerated() { let s = l1[i].squareRoot(); for k in 0..<n { scaled[row * n + k] = s * v[i * n + k] } }
    let m = r == 0 ? [] : congruence(scaled, b.covariance, rows: r, n: n)
    let (l2, _) = try symmetricEigen(m, n: r, vectors: false)
    var traceRoot = 0.0
    for x in l2 { traceRoot += max(x, 0).squareRoot() }
    return meanTerm + traces - 2 * traceRoot
}
