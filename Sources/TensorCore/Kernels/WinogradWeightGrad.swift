// The weight gradient of a 3×3, stride-1, padding-1 convolution by Winograd's F(2×2, 3×3): the adjoint of the
// forward algorithm (WinogradKernels.swift). Forward, each 2×2 output tile is Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A, linear
// in the filter g, so for an output cotangent Ȳ
//   ḡ = Gᵀ [ Σ_tiles (A Ȳ Aᵀ) ⊙ (Bᵀ d B) ] G,
// and summed over the batch's tiles each of the 16 transformed positions ξ is one GEMM with the tiles as the
// reduction: dU_ξ (O × C) = M_ξ (O × T) · V_ξ(C × T)ᵀ, M = A Ȳ Aᵀ of the cotangent's tiles, V = Bᵀ d B of the input's.
// 16 · O · C · T multiply-adds against 9 · O · C · 4T for the im2col GEMM: 2.25× fewer. The transforms only add and
// halve, so the result differs from the direct sum by rounding. Tiles go in chunks of whole tile rows so that V and M
// stay near winogradGradBudget floats; the 16 GEMMs accumulate dU over the chunks.
//   Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  A = [1 0; 1 1; 1 -1; 0 -1],  Gᵀ = [1 ½ ½ 0; 0 ½ -½ 0; 0 ½ ½ 1]

/// Floats of V and of M per chunk of tiles (512 KB each, so that a chunk is still in L2 when its 16 GEMMs read it:
/// measured against 4 MB, whose chunks went to memory and back, 1.5–3.8× slower on 32–256 channels); tests lower it.
nonisolated(unsafe) var winogradGradBudget = 1 << 17
/// Tiles per chunk at least (the K of its 16 GEMMs), whatever the budget: each chunk's GEMMs read and write all of dU
/// (16 · O · C floats), so with many channels on small maps (256-512 channels at 4²-8², where the budget allowed 8-16
/// tiles) the GEMMs were bound by dU's traffic; tests lower it.
nonisolated(unsafe) var winogradGradMinimumTiles = 256
/// Input and output channels from which conv2d's weight gradient takes this path: at 16 (the overhead chain's 16-channel
/// 16² convolutions on the AVX2 build, where the row kernel does not take them) the dot-product GEMM was faster: the
/// chain's backward 1.6 → 5.8 ms per iteration.
nonisolated(unsafe) var winogradWeightGradMinimumChannels = 32
/// Off: conv2d's weight gradient never takes this path (bench conv compares, tests force both ways).
nonisolated(unsafe) public var winogradWeightGradEnabled = true

/// gw = ∂L/∂w of conv2d(x, w, padding 1) for the cotangent gy.
// x: (n, c, h, w), gy: (n, o, h, w), dense -> gw: (o, c, 3, 3)
func winogradWeightGrad(_ x: UnsafePointer<Float>, _ gy: UnsafePointer<Float>, _ s: WinogradShape, _ gw: UnsafeMutablePointer<Float>) {
    let tw = s.tilesW
    let budgetRows = winogradGradBudget / (16 * Swift.max(s.c, s.o) * tw)
    let rowsPerChunk = Swift.max(1, Swift.min(s.tileRows, Swift.max(budgetRows, (winogradGradMinimumTiles + tw - 1) / tw)))
    let tcMax = rowsPerChunk * tw
    let v = UnsafeMutablePointer<Float>.allocate(capacity: 16 * s.c * tcMax)
    let m = UnsafeMutablePointer<Float>.allocate(capacity: 16 * s.o * tcMax)
    let du = UnsafeMutablePointer<Float>.allocate(capacity: 16 * s.o * s.c)
    defer { v.deallocate(); m.deallocate(); du.deallocate() }
    var r0 = 0
    while r0 < s.tileRows {
        let rows = r0..<Swift.min(s.tileRows, r0 + rowsPerChunk), tc = rows.count * tw
        // V_ξ[c][t] and M_ξ[o][t], t = tile of the chunk (row-major over its tile rows).
        parallelFor(s.c + s.o) { q in
            if q < s.c { winogradGradInputTiles(x, s, channel: q, rows: rows, v + q * tc, xiStride: s.c * tc) }
            else { winogradGradOutputTiles(gy, s, channel: q - s.c, rows: rows, m + (q - s.c) * tc, xiStride: s.o * tc) }
        }
        // One GEMM per ξ on each thread: a chunk's GEMMs are small (O · C · tc under gemm's own threading threshold).
        parallelFor(16) { xi in
            gemm(m: s.o, n: s.c, k: tc, MatrixRef(m + xi * s.o * tc, rs: tc, cs: 1), MatrixRef(v + xi * s.c * tc, rs: 1, cs: tc),
                 du + xi * s.o * s.c, ldc: s.c, accumulate: r0 > 0)
        }
        r0 = rows.upperBound
    }
    // ḡ = Gᵀ dU G per (o, c).
    let oc = s.o * s.c
    parallelRanges(oc, grain: 256) { range in
        for i in range {
            @inline(__always) func u(_ xi: Int) -> Float { du[xi * oc + i] }
            // Gᵀ dU (3 × 4), column j: (u0 + ½(u1 + u2), ½(u1 − u2), ½(u1 + u2) + u3) of dU's column j.
            @inline(__always) func col(_ j: Int) -> (Float, Float, Float) {
                let u0 = u(j), u1 = u(4 + j), u2 = u(8 + j), u3 = u(12 + j)
                return (u0 + 0.5 * (u1 + u2), 0.5 * (u1 - u2), 0.5 * (u1 + u2) + u3)
            }
            let c0 = col(0), c1 = col(1), c2 = col(2), c3 = col(3)
            // · G on the rows.
            @inline(__always) func row(_ r: Int, _ t0: Float, _ t1: Float, _ t2: Float, _ t3: Float) {
                let g = gw + i * 9 + r * 3
                g[0] = t0 + 0.5 * (t1 + t2); g[1] = 0.5 * (t1 - t2); g[2] = 0.5 * (t1 + t2) + t3
            }
            row(0, c0.0, c1.0, c2.0, c3.0)
            row(1, c0.1, c1.1, c2.1, c3.1)
            row(2, c0.2, c1.2, c2.2, c3.2)
        }
    }
}

/// V_ξ = Bᵀ d B of channel `channel`'s 4×4 input tiles (rows 2ty − 1 … 2ty + 2, zero outside the image) for the tile
/// rows `rows`: dst[ξ · xiStride + t]. Vectorised over 16 tiles of a row: each input row is split once into its odd
/// and even columns (e[k] = x[2k − 1], o[k] = x[2k]), so tile k reads e[k], o[k], e[k + 1], o[k + 1].
// x: (n, c, h, w) dense -> dst: 16 planes xiStride apart, tiles contiguous
func winogradGradInputTiles(_ x: UnsafePointer<Float>, _ s: WinogradShape, channel: Int, rows: Range<Int>,
                            _ dst: UnsafeMutablePointer<Float>, xiStride: Int) {
    let tw = s.tilesW, lanes = (tw + vWidth - 1) / vWidth * vWidth + vWidth
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 8 * lanes) { buf in
        let eo = buf.baseAddress!
        eo.initialize(repeating: 0, count: 8 * lanes)
        for (ri, row) in rows.enumerated() {
            let b = row / s.tilesH, ty = row % s.tilesH
            let plane = x + (b * s.c + channel) * s.h * s.w
            for i in 0..<4 {
                let y = 2 * ty - 1 + i, e = eo + 2 * i * lanes, o = e + lanes
                if y < 0 || y >= s.h { e.update(repeating: 0, count: 2 * lanes); continue }
                let src = plane + y * s.w
                for k in 0...tw {
                    let xe = 2 * k - 1, xo = 2 * k
                    e[k] = xe >= 0 && xe < s.w ? src[xe] : 0
                    o[k] = xo < s.w ? src[xo] : 0
                }
            }
            let base = dst + ri * tw
            var k = 0
            while k < tw {
                // d[i][j] for 16 tiles: row i, column j.
                @inline(__always) func d(_ i: Int, _ j: Int) -> V {
                    let e = eo + 2 * i * lanes, o = e + lanes
                    switch j { case 0: return vload(e + k); case 1: return vload(o + k); case 2: return vload(e + k + 1); default: return vload(o + k + 1) }
                }
                // Bᵀ d: column j of the four rows (d0 − d2, d1 + d2, d2 − d1, d1 − d3).
                @inline(__always) func col(_ j: Int) -> (V, V, V, V) {
                    let d0 = d(0, j), d1 = d(1, j), d2 = d(2, j), d3 = d(3, j)
                    return (d0 - d2, d1 + d2, d2 - d1, d1 - d3)
                }
                let c0 = col(0), c1 = col(1), c2 = col(2), c3 = col(3)
                let n = Swift.min(vWidth, tw - k)
                // · B: row i of Bᵀ d is (q0, q1, q2, q3) -> (q0 − q2, q1 + q2, q2 − q1, q1 − q3) at ξ = 4i + j.
                @inline(__always) func row(_ i: Int, _ q0: V, _ q1: V, _ q2: V, _ q3: V) {
                    let p = base + 4 * i * xiStride + k
                    store(q0 - q2, p, n); store(q1 + q2, p + xiStride, n)
                    store(q2 - q1, p + 2 * xiStride, n); store(q1 - q3, p + 3 * xiStride, n)
                }
                row(0, c0.0, c1.0, c2.0, c3.0)
                row(1, c0.1, c1.1, c2.1, c3.1)
                row(2, c0.2, c1.2, c2.2, c3.2)
                row(3, c0.3, c1.3, c2.3, c3.3)
                k += vWidth
            }
        }
    }
}

/// M_ξ = A Ȳ Aᵀ of channel `channel`'s 2×2 cotangent tiles (zero past the image): dst[ξ · xiStride + t].
// gy: (n, o, h, w) dense -> dst: 16 planes xiStride apart, tiles contiguous
func winogradGradOutputTiles(_ gy: UnsafePointer<Float>, _ s: WinogradShape, channel: Int, rows: Range<Int>,
                             _ dst: UnsafeMutablePointer<Float>, xiStride: Int) {
    let tw = s.tilesW, lanes = (tw + vWidth - 1) / vWidth * vWidth
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * lanes) { buf in
        let eo = buf.baseAddress!
        eo.initialize(repeating: 0, count: 4 * lanes)
        for (ri, row) in rows.enumerated() {
            let b = row / s.tilesH, ty = row % s.tilesH
            let plane = gy + (b * s.o + channel) * s.h * s.w
            for i in 0..<2 {
                let y = 2 * ty + i, e = eo + 2 * i * lanes, o = e + lanes
                if y >= s.h { e.update(repeating: 0, count: 2 * lanes); continue }
                let src = plane + y * s.w
                for k in 0..<tw { e[k] = src[2 * k]; o[k] = 2 * k + 1 < s.w ? src[2 * k + 1] : 0 }
            }
            let base = dst + ri * tw
            var k = 0
            while k < tw {
                let y00 = vload(eo + k), y01 = vload(eo + lanes + k), y10 = vload(eo + 2 * lanes + k), y11 = vload(eo + 3 * lanes + k)
                // A Ȳ Aᵀ: rows (y0, y0 + y1, y0 − y1, −y1) of the 2 × 2 tile, each row (a, c) -> (a, a + c, a − c, −c).
                let n = Swift.min(vWidth, tw - k)
                @inline(__always) func row(_ i: Int, _ a: V, _ c: V) {
                    let p = base + 4 * i * xiStride + k
                    store(a, p, n); store(a + c, p + xiStride, n); store(a - c, p + 2 * xiStride, n); store(-c, p + 3 * xiStride, n)
                }
                row(0, y00, y01)
                row(1, y00 + y10, y01 + y11)
                row(2, y00 - y10, y01 - y11)
                row(3, -y10, -y11)
                k += vWidth
            }
        }
    }
}

/// The first n lanes of v to p.
@inline(__always) private func store(_ v: V, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
    if n == vWidth { vstore(v, p) } else { for l in 0..<n { p[l] = v[l] } }
}
