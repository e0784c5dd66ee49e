// Dense Float64 matrix products for the Fréchet distance (n = 2048 for FID): C = A·B, row-major, blocked for
// the caches (a 128-column x 256-deep panel of B stays in L2) with a 4 x 8 register tile (BLIS-style
// micro-kernel: four rows of C held in SIMD registers while k runs). Rows of C are split over the threads;
// every element is summed in the same k order whatever the split, so results do not depend on the thread count.
import TensorCore

/// C = A · B for row-major Float64 matrices: A (m x k), B (k x p) -> C (m x p).
func multiply(_ a: [Double], _ b: [Double], m: Int, k: Int, p: Int) -> [Double] {
    precondition(a.count == m * k && b.count == k * p, "multiply: \(a.count) and \(b.count) values for (\(m) x \(k)) · (\(k) x \(p))")
    var c = [Double](repeating: 0, count: m * p)
    if m == 0 || p == 0 || k == 0 { return c }
    a.withUnsafeBufferPointer { ab in b.withUnsafeBufferPointer { bb in c.withUnsafeMutableBufferPointer { cb in
        gemm64(ab.baseAddress!, bb.baseAddress!, cb.baseAddress!, m: m, k: k, p: p)
    } } }
    return c
}

/// C = A · B for n x n matrices.
func multiply(_ a: [Double], _ b: [Double], _ n: Int) -> [Double] { multiply(a, b, m: n, k: n, p: n) }

/// S · Σ · Sᵀ for S (rows x n) and Σ (n x n): (rows x rows).
func congruence(_ s: [Double], _ sigma: [Double], rows: Int, n: Int) -> [Double] {
    multiply(multiply(s, sigma, m: rows, k: n, p: n), transposed(s, rows: rows, columns: n), m: rows, k: n, p: rows)
}

/// The transpose of a row-major (rows x columns) matrix, in 32 x 32 tiles.
func transposed(_ a: [Double], rows: Int, columns: Int) -> [Double] {
    var t = [Double](repeating: 0, count: rows * columns)
    a.withUnsafeBufferPointer { ab in t.withUnsafeMutableBufferPointer { tb in
        let src = ab.baseAddress!, dst = tb.baseAddress!
        parallelRanges((rows + 31) / 32, grain: 1) { tiles in
            for bi in tiles {
                for bj in stride(from: 0, to: columns, by: 32) {
                    for i in (bi * 32)..<Swift.min(rows, bi * 32 + 32) {
                        for j in bj..<Swift.min(columns, bj + 32) { dst[j * rows + i] = src[i * columns + j] }
                    }
                }
            }
        }
    } }
    return t
}

/// c (m x p, zero on entry) += a (m x k) · b (k x p).
private func gemm64(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ c: UnsafeMutablePointer<Double>, m: Int, k: Int, p: Int) {
    let kc = 256, nc = 128
    parallelRanges((m + 3) / 4, grain: 4) { blocks in
        for j0 in stride(from: 0, to: p, by: nc) {
            let j1 = Swift.min(p, j0 + nc)
            for k0 in stride(from: 0, to: k, by: kc) {
                let k1 = Swift.min(k, k0 + kc)
                for rb in blocks {
                    let i0 = rb * 4, rows = Swift.min(4, m - i0)
                    var j = j0
                    if rows == 4 {
                        while j + 8 <= j1 { tile4x8(a + i0 * k, b, c + i0 * p, k, p, k0, k1, j); j += 8 }
                    }
                    // Edges: fewer than 4 rows or 8 columns.
                    let jStart = rows == 4 ? j : j0
                    if jStart < j1 {
                        for i in i0..<(i0 + rows) {
                            for kk in k0..<k1 {
                                let s = a[i * k + kk]
                                for jj in jStart..<j1 { c[i * p + jj] += s * b[kk * p + jj] }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// c[r][j..<j+8] += Σ_{k0 ≤ k < k1} a[r][k] · b[k][j..<j+8] for r in 0..<4 (a, c point at row 0 of the tile;
/// rows of a are `lda` long, rows of b and c `ldc`).
@inline(__always) private func tile4x8(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ c: UnsafeMutablePointer<Double>,
                                       _ lda: Int, _ ldc: Int, _ k0: Int, _ k1: Int, _ j: Int) {
    typealias V = SIMD8<Double>
    let n = ldc
    let c0 = c + j, c1 = c + n + j, c2 = c + 2 * n + j, c3 = c + 3 * n + j
    var acc0 = UnsafeRawPointer(c0).loadUnaligned(as: V.self), acc1 = UnsafeRawPointer(c1).loadUnaligned(as: V.self)
    var acc2 = UnsafeRawPointer(c2).loadUnaligned(as: V.self), acc3 = UnsafeRawPointer(c3).loadUnaligned(as: V.self)
    let a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda
    for k in k0..<k1 {
        let bv = UnsafeRawPointer(b + k * n + j).loadUnaligned(as: V.self)
        acc0 = acc0.addingProduct(V(repeating: a0[k]), bv)
        acc1 = acc1.addingProduct(V(repeating: a1[k]), bv)
        acc2 = acc2.addingProduct(V(repeating: a2[k]), bv)
        acc3 = acc3.addingProduct(V(repeating: a3[k]), bv)
    }
    UnsafeMutableRawPointer(c0).storeBytes(of: acc0, as: V.self)
    UnsafeMutableRawPointer(c1).storeBytes(of: acc1, as: V.self)
    UnsafeMutableRawPointer(c2).storeBytes(of: acc2, as: V.self)
    UnsafeMutableRawPointer(c3).storeBytes(of: acc3, as: V.self)
}
