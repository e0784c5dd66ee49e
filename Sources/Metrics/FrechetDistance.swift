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
    // Σ1^½ = V diag(√max(λ, 0)) Vᵀ.
    let (l1, v1) = try symmetricEigen(a.covariance, n: n, vectors: true)
    let v = v1!
    var scaled = [Double](repeating: 0, count: n * n)       // rows: √λᵢ vᵢ
    for i in 0..<n { let s = max(l1[i], 0).squareRoot(); for k in 0..<n { scaled[i * n + k] = s * v[i * n + k] } }
    let root = multiply(transposeOf: v, scaled, n)            // Vᵀ·(diag √λ V) = V diag(√λ) Vᵀ as stored
    let m = multiply(root, multiply(b.covariance, root, n), n)
    let (l2, _) = try symmetricEigen(m, n: n, vectors: false)
    var traceRoot = 0.0
    for x in l2 { traceRoot += max(x, 0).squareRoot() }
    return meanTerm + traces - 2 * traceRoot
}

/// C = A · B for n x n row-major Float64 matrices (rows in parallel, SIMD over columns).
func multiply(_ a: [Double], _ b: [Double], _ n: Int) -> [Double] {
    var c = [Double](repeating: 0, count: n * n)
    a.withUnsafeBufferPointer { ab in b.withUnsafeBufferPointer { bb in c.withUnsafeMutableBufferPointer { cb in
        let pa = ab.baseAddress!, pb = bb.baseAddress!, pc = cb.baseAddress!
        parallelRanges(n, grain: 8) { rows in
            for i in rows {
                let out = pc + i * n
                for k in 0..<n {
                    let s = pa[i * n + k]
                    if s == 0 { continue }
                    let row = pb + k * n, vs = SIMD8<Double>(repeating: s)
                    var j = 0
                    while j + 8 <= n {
                        let acc = UnsafeRawPointer(out + j).loadUnaligned(as: SIMD8<Double>.self)
                        let x = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Double>.self)
                        UnsafeMutableRawPointer(out + j).storeBytes(of: acc.addingProduct(x, vs), as: SIMD8<Double>.self)
                        j += 8
                    }
                    while j < n { out[j] += s * row[j]; j += 1 }
                }
            }
        }
    } } }
    return c
}

/// C = Aᵀ · B.
func multiply(transposeOf a: [Double], _ b: [Double], _ n: Int) -> [Double] {
    var t = [Double](repeating: 0, count: n * n)
    for i in 0..<n { for j in 0..<n { t[j * n + i] = a[i * n + j] } }
    return multiply(t, b, n)
}
