// C = A · Bᵀ with both operands stored k-contiguous (rows of A (m × k) and rows of B (n × k)): a convolution's weight
// gradient has exactly this shape (gy's rows against im2col's rows, both running over output positions). The packed
// GEMM (Gemm.swift) would transpose both into its panels; here each result is a dot product of two contiguous rows,
// 3 rows of A against 2 rows of B at a time (6 vector accumulators, 5 loads per 6 FMAs), then one horizontal sum.
// Best where M is small against the register tile (16 output channels: 25% of a 12-row tile's second strip is used).
// The naive reference is `gemmReference` with MatrixRef(a, rs: lda, cs: 1), MatrixRef(b, rs: 1, cs: ldb).

/// c[i · ldc + j] (+)= Σ_p a[i · lda + p] · b[j · ldb + p], for i < m, j < n, p < k. Rows of A in blocks of 3 go to
/// the worker threads (products under gemmSerialWork multiply-adds stay on the calling thread).
// a: (m, lda ≥ k), b: (n, ldb ≥ k) -> c: (m, ldc ≥ n)
func gemmNT(m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
            _ c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
    if m == 0 || n == 0 { return }
    let blocks = (m + 2) / 3, kv = k / vWidth * vWidth
    let body: (Range<Int>) -> Void = { range in
        for ib in range {
            let i0 = 3 * ib, ri = Swift.min(3, m - i0)
            // Rows past m repeat row i0: their sums are computed and dropped.
            let a0 = a + i0 * lda, a1 = ri > 1 ? a0 + lda : a0, a2 = ri > 2 ? a0 + 2 * lda : a0
            var j0 = 0
            while j0 < n {
                let rj = Swift.min(2, n - j0)
                let b0 = b + j0 * ldb, b1 = rj > 1 ? b0 + ldb : b0
                var s00 = V(), s01 = V(), s10 = V(), s11 = V(), s20 = V(), s21 = V()
                var p = 0
                while p < kv {
                    let x0 = vload(a0 + p), x1 = vload(a1 + p), x2 = vload(a2 + p), y0 = vload(b0 + p), y1 = vload(b1 + p)
                    s00 = s00.addingProduct(x0, y0); s01 = s01.addingProduct(x0, y1)
                    s10 = s10.addingProduct(x1, y0); s11 = s11.addingProduct(x1, y1)
                    s20 = s20.addingProduct(x2, y0); s21 = s21.addingProduct(x2, y1)
                    p += vWidth
                }
                @inline(__always) func put(_ r: Int, _ q: Int, _ s: V, _ ar: UnsafePointer<Float>, _ br: UnsafePointer<Float>) {
                    guard r < ri && q < rj else { return }
                    var v = s.sum()
                    for t in kv..<k { v += ar[t] * br[t] }
                    let d = c + (i0 + r) * ldc + j0 + q
                    d.pointee = accumulate ? d.pointee + v : v
                }
                put(0, 0, s00, a0, b0); put(0, 1, s01, a0, b1)
                put(1, 0, s10, a1, b0); put(1, 1, s11, a1, b1)
                put(2, 0, s20, a2, b0); put(2, 1, s21, a2, b1)
                j0 += 2
            }
        }
    }
    if Parallel.active || Parallel.threadCount == 1 || m * n * k < gemmSerialWork { body(0..<blocks) }
    else { parallelRanges(blocks, grain: 1, body) }
}
