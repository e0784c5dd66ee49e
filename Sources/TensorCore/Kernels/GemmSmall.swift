// Small GEMMs without packing: C (M x N) = A · B (or C += A · B) for products of at most gemmSmallWork multiply-adds
// whose B rows are dense (unit column stride) and N a multiple of vWidth, the 64x64 linear layers of the small models
// the project trains (`bench overhead`'s chain, attention projections on a few tokens). The packed path
// (Gemm.swift) copies B into panels and A into strips before its register tile runs; at 64³ that copying and the
// partial edge tiles cost as much as the multiply-adds. Here a register block of 4 rows × 4 vectors (× 1 with AVX2's
// 16 registers, where a 16-lane vector is two) reads B's rows in place and broadcasts A's elements from any strides:
//
//   C[i, j0 + l] = Σ_p A[i, p] · B[p, j0 + l]        (l < vWidth, p in order: the packed path's summation order)
//
// The reference is gemmReference (Gemm.swift).

/// Multiply-adds up to which a GEMM with dense B rows takes the unpacked kernel (64³ = 2^18: `bench overhead`'s chain).
nonisolated(unsafe) var gemmSmallWork = 1 << 18

#if TENSORCORE_AVX512
let gemmSmallVectors = 4
#else
let gemmSmallVectors = 1
#endif

/// Whether `gemm` runs this product unpacked.
@inline(__always) func gemmTakesSmallPath(m: Int, n: Int, k: Int, _ b: MatrixRef) -> Bool {
    b.cs == 1 && n % vWidth == 0 && m * n * k <= gemmSmallWork && k > 0
}

// a: (m, k) any strides, b: (k, n) with unit column stride -> c: (m, n) row stride ldc
func gemmSmall(m: Int, n: Int, k: Int, _ a: MatrixRef, _ b: MatrixRef, _ c: UnsafeMutablePointer<Float>, ldc: Int,
               accumulate: Bool) {
    let span = gemmSmallVectors * vWidth
    for i0 in stride(from: 0, to: m, by: 4) {
        for j0 in stride(from: 0, to: n, by: span) {
            gemmSmallBlock(m: m, n: n, k: k, a, b, c, ldc: ldc, accumulate: accumulate, i0: i0, j0: j0)
        }
    }
}

/// Rows i0 ..< i0 + 4 × columns j0 ..< j0 + gemmSmallVectors · vWidth. Rows and vectors past the end are computed on
/// the last valid one and not stored.
@inline(__always)
func gemmSmallBlock(m: Int, n: Int, k: Int, _ a: MatrixRef, _ b: MatrixRef, _ c: UnsafeMutablePointer<Float>, ldc: Int,
                    accumulate: Bool, i0: Int, j0: Int) {
    let c0 = j0
    #if TENSORCORE_AVX512
    let lastVector = n - vWidth
    let c1 = Swift.min(j0 + vWidth, lastVector), c2 = Swift.min(j0 + 2 * vWidth, lastVector)
    let c3 = Swift.min(j0 + 3 * vWidth, lastVector)
    #endif
    let a0 = a.base + i0 * a.rs, a1 = a.base + Swift.min(i0 + 1, m - 1) * a.rs
    let a2 = a.base + Swift.min(i0 + 2, m - 1) * a.rs, a3 = a.base + Swift.min(i0 + 3, m - 1) * a.rs
    // s<row><vector>
    var s00 = V(), s10 = V(), s20 = V(), s30 = V()
    #if TENSORCORE_AVX512
    var s01 = V(), s11 = V(), s21 = V(), s31 = V(), s02 = V(), s12 = V(), s22 = V(), s32 = V()
    var s03 = V(), s13 = V(), s23 = V(), s33 = V()
    #endif
    var bp = b.base, ap = 0
    for _ in 0..<k {
        let x0 = V(repeating: a0[ap]), x1 = V(repeating: a1[ap]), x2 = V(repeating: a2[ap]), x3 = V(repeating: a3[ap])
        let b0 = vload(bp + c0)
        s00 = s00.addingProduct(x0, b0); s10 = s10.addingProduct(x1, b0)
        s20 = s20.addingProduct(x2, b0); s30 = s30.addingProduct(x3, b0)
        #if TENSORCORE_AVX512
        let b1 = vload(bp + c1), b2 = vload(bp + c2), b3 = vload(bp + c3)
        s01 = s01.addingProduct(x0, b1); s11 = s11.addingProduct(x1, b1)
        s21 = s21.addingProduct(x2, b1); s31 = s31.addingProduct(x3, b1)
        s02 = s02.addingProduct(x0, b2); s12 = s12.addingProduct(x1, b2)
        s22 = s22.addingProduct(x2, b2); s32 = s32.addingProduct(x3, b2)
        s03 = s03.addingProduct(x0, b3); s13 = s13.addingProduct(x1, b3)
        s23 = s23.addingProduct(x2, b3); s33 = s33.addingProduct(x3, b3)
        #endif
        bp += b.rs; ap += a.cs
    }
    @inline(__always) func store(_ v: V, _ r: Int, _ q: Int) {
        let col = j0 + q * vWidth
        guard i0 + r < m && col < n else { return }
        let dst = c + (i0 + r) * ldc + col
        vstore(accumulate ? vload(dst) + v : v, dst)
    }
    store(s00, 0, 0); store(s10, 1, 0); store(s20, 2, 0); store(s30, 3, 0)
    #if TENSORCORE_AVX512
    store(s01, 0, 1); store(s11, 1, 1); store(s21, 2, 1); store(s31, 3, 1)
    store(s02, 0, 2); store(s12, 1, 2); store(s22, 2, 2); store(s32, 3, 2)
    store(s03, 0, 3); store(s13, 1, 3); store(s23, 2, 3); store(s33, 3, 3)
    #endif
}
