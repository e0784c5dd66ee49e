// Winograd's minimal filtering F(2×2, 3×3) for 3×3, stride-1, padding-1 convolutions (Lavin & Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2016): each 2×2 output tile is Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A for the
// 4×4 input tile d around it, so the 9 multiplies per output become 4. Summed over input channels, each of the 16
// transformed positions ξ = 4·i + j is one GEMM: M_ξ (O × tiles) = U_ξ (O × C) · V_ξ (C × tiles). The transforms use
// only additions and halvings, so the result differs from direct convolution by rounding only.
//   Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1],  Aᵀ = [1 1 1 0; 0 1 -1 -1]
// The fast kernel is fused around the GEMM register tile (GemmTile.swift) so that no transformed operand is packed
// twice and M never goes to memory:
//   * the input transform writes V straight in the tile's packed-B layout (panels of NR tiles);
//   * U is made per block of output-channel strips and input channels, straight in the packed-A layout, into a
//     thread's own scratch (it stays in L2 while every panel of tiles streams past it);
//   * the 16 register-tile products of one (strip, panel) land in a 16 · MR · NR scratch and go through the
//     output transform at once (vectorised over 16 tiles); as Aᵀ M A is linear in M, the input-channel blocks add
//     their transformed partial sums into the output.
// Images of many tiles go a band of tile rows at a time, so V stays near winogradBandBudget floats.

/// One Winograd convolution: x (n, c, h, w) -> out (n, o, h, w), 2×2 output tiles.
struct WinogradShape {
    let n: Int, c: Int, o: Int, h: Int, w: Int
    var tilesH: Int { (h + 1) / 2 }
    var tilesW: Int { (w + 1) / 2 }
    /// Tile rows over the batch: tile row = b · tilesH + ty.
    var tileRows: Int { n * tilesH }
}

/// Input channels per block of U (the register tile's K per call).
nonisolated(unsafe) var winogradKC = 128
/// Output-channel strips (of gemmMR rows) per block of U: each packed-B panel is reused for these from L1/L2.
nonisolated(unsafe) var winogradStrips = 4
/// Floats of V per band of tile rows (8 MB); tests lower it.
nonisolated(unsafe) var winogradBandBudget = 1 << 21

// MARK: - Transforms of one tile

/// U = G g Gᵀ for one 3×3 filter g (row-major): put(ξ, U_ξ) for ξ = 4·i + j.
@inline(__always) func winogradFilterTile(_ g: UnsafePointer<Float>, _ put: (Int, Float) -> Void) {
    // X_k = G · (column k of g): a, (a + b + c)/2, (a - b + c)/2, c; then column j of U from X_0, X_1, X_2 likewise.
    let half = SIMD4<Float>(1, 0.5, 0.5, 1)
    let x0 = SIMD4<Float>(g[0], g[0] + g[3] + g[6], g[0] - g[3] + g[6], g[6]) * half
    let x1 = SIMD4<Float>(g[1], g[1] + g[4] + g[7], g[1] - g[4] + g[7], g[7]) * half
    let x2 = SIMD4<Float>(g[2], g[2] + g[5] + g[8], g[2] - g[5] + g[8], g[8]) * half
    let u1 = (x0 + x1 + x2) * 0.5, u2 = (x0 - x1 + x2) * 0.5
    for i in 0..<4 {
        put(4 * i + 0, x0[i])
        put(4 * i + 1, u1[i])
        put(4 * i + 2, u2[i])
        put(4 * i + 3, x2[i])
    }
}

/// Y = Aᵀ M A for 16 tiles' products m(ξ) at once: (y00, y01, y10, y11).
@inline(__always) func winogradOutputTiles(_ m: (Int) -> V) -> (V, V, V, V) {
    // Rows: R0 = M0 + M1 + M2, R1 = M1 - M2 - M3 (M_i = row i of M, 4 entries), then the same along the columns.
    let r00 = m(0) + m(4) + m(8), r01 = m(1) + m(5) + m(9), r02 = m(2) + m(6) + m(10), r03 = m(3) + m(7) + m(11)
    let r10 = m(4) - m(8) - m(12), r11 = m(5) - m(9) - m(13), r12 = m(6) - m(10) - m(14), r13 = m(7) - m(11) - m(15)
    return (r00 + r01 + r02, r01 - r02 - r03, r10 + r11 + r12, r11 - r12 - r13)
}

// MARK: - Packing

/// ap[((si · 16 + ξ) · aStride) + kk · MR + r] = U_ξ[o, k0 + kk] for o = (strip0 + si) · MR + r, zero for o ≥ s.o:
/// the packed-A operand of the register tile for `strips` strips and input channels k0 ..< k0 + kc.
// w: (o, c, 3, 3) dense -> ap: (strips, 16, aStride) with aStride >= kc · MR
func winogradPackFilters(_ w: UnsafePointer<Float>, _ s: WinogradShape, strip0: Int, strips: Int, k0: Int, kc: Int,
                         _ ap: UnsafeMutablePointer<Float>, aStride: Int) {
    for si in 0..<strips {
        let dst = ap + si * 16 * aStride, o0 = (strip0 + si) * gemmMR, mr = Swift.max(0, Swift.min(gemmMR, s.o - o0))
        // Channel by channel, the strip's MR filters: each of the 16 planes gets MR consecutive floats (in L1).
        for kk in 0..<kc {
            let d = dst + kk * gemmMR, g = w + (o0 * s.c + k0 + kk) * 9
            for r in 0..<mr {
                winogradFilterTile(g + r * s.c * 9) { xi, v in d[xi * aStride + r] = v }
            }
            for r in mr..<gemmMR { for xi in 0..<16 { d[xi * aStride + r] = 0 } }
        }
    }
}

/// bp[((p · 16 + ξ) · c + ci) · NR + j] = V_ξ[ci, t] (Bᵀ d B) for tile t = p · NR + j of the tile rows `rows`
/// (t = (row - rows.lowerBound) · tilesW + tx), zero padding outside the image and past the last tile.
// x: (n, c, h, w) dense -> bp: (panels, 16, c, NR)
func winogradPackInput(_ x: UnsafePointer<Float>, _ s: WinogradShape, rows: Range<Int>, _ bp: UnsafeMutablePointer<Float>) {
    let tw = s.tilesW, tiles = rows.count * tw, nr = gemmNR
    let panels = (tiles + nr - 1) / nr
    // Padded row width: room for whole vectors of 16 tiles (4 + 2·15 columns each) past the last tile.
    let wp = 2 * ((tw + vWidth - 1) / vWidth) * vWidth + 2
    parallelRanges(s.c, grain: 1) { channels in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 8 * wp) { buf in
            let pad = buf.baseAddress!, e = pad + 4 * wp
            for ci in channels {
                // V_ξ of tile t: its address in the panels.
                @inline(__always) func at(_ xi: Int, _ t: Int) -> UnsafeMutablePointer<Float> {
                    bp + (((t / nr) * 16 + xi) * s.c + ci) * nr + t % nr
                }
                // Lanes 0 ..< count of v to V_ξ of tiles t ..< t + count.
                @inline(__always) func put(_ xi: Int, _ t: Int, _ v: V, _ count: Int) {
                    if t % nr + count <= nr {
                        // In one panel: contiguous.
                        let d = at(xi, t)
                        if count == vWidth { vstore(v, d); return }
                        if count >= vWidth / 2 {
                            UnsafeMutableRawPointer(d).storeBytes(of: v.lowHalf, as: SIMD8<Float>.self)
                            for l in vWidth / 2 ..< count { d[l] = v[l] }
                            return
                        }
                        for l in 0..<count { d[l] = v[l] }
                        return
                    }
                    for l in 0..<count { at(xi, t + l).pointee = v[l] }
                }
                for (ri, row) in rows.enumerated() {
                    let b = row / s.tilesH, ty = row % s.tilesH
                    let img = x + (b * s.c + ci) * s.h * s.w
                    // The 4 input rows of this tile row, padded: padded column px holds image column px - 1.
                    for k in 0..<4 {
                        let y = 2 * ty - 1 + k, dst = pad + k * wp
                        if y >= 0 && y < s.h {
                            dst[0] = 0
                            (dst + 1).update(from: img + y * s.w, count: s.w)
                            (dst + 1 + s.w).initialize(repeating: 0, count: wp - 1 - s.w)
                        } else {
                            dst.initialize(repeating: 0, count: wp)
                        }
                    }
                    // Bᵀ d along the rows, for every column at once.
                    for xx in 0..<wp {
                        let a = pad[xx], b1 = pad[wp + xx], c1 = pad[2 * wp + xx], d = pad[3 * wp + xx]
                        e[xx] = a - c1
                        e[wp + xx] = b1 + c1
                        e[2 * wp + xx] = c1 - b1
                        e[3 * wp + xx] = b1 - d
                    }
                    // (Bᵀ d) B along the columns of each tile, 16 tiles at a time from even/odd columns.
                    let base = ri * tw
                    for k in 0..<4 {
                        let ek = e + k * wp
                        for t0 in stride(from: 0, to: tw, by: vWidth) {
                            let lo = UnsafeRawPointer(ek + 2 * t0).loadUnaligned(as: SIMD32<Float>.self)
                            let hi = UnsafeRawPointer(ek + 2 * t0 + 2).loadUnaligned(as: SIMD32<Float>.self)
                            let a = lo.evenHalf, b1 = lo.oddHalf, c1 = hi.evenHalf, d = hi.oddHalf
                            let count = Swift.min(vWidth, tw - t0)
                            put(4 * k + 0, base + t0, a - c1, count)
                            put(4 * k + 1, base + t0, b1 + c1, count)
                            put(4 * k + 2, base + t0, c1 - b1, count)
                            put(4 * k + 3, base + t0, b1 - d, count)
                        }
                    }
                }
                // The last panel's columns past the last tile.
                for t in tiles..<panels * nr { for xi in 0..<16 { at(xi, t).pointee = 0 } }
            }
        }
    }
}

// MARK: - Output

/// (a0, b0, a1, b1, ..., a7, b7), (a8, b8, ..., a15, b15). Spelled lane by lane, which compiles to two shuffles
/// (assigning SIMD32's evenHalf / oddHalf went through the stack lane by lane).
@inline(__always) func interleave(_ a: V, _ b: V) -> (V, V) {
    (V(a[0], b[0], a[1], b[1], a[2], b[2], a[3], b[3], a[4], b[4], a[5], b[5], a[6], b[6], a[7], b[7]),
     V(a[8], b[8], a[9], b[9], a[10], b[10], a[11], b[11], a[12], b[12], a[13], b[13], a[14], b[14], a[15], b[15]))
}

/// out[b, o0 + r, 2ty + i, 2tx + j] (+)= (Aᵀ M A)[i][j] (+ bias) for rows r < mr of one strip and the `tiles` tiles
/// of one panel from global tile index t0 (t = (b · tilesH + ty) · tilesW + tx), cropped to the image.
/// accumulate: add into out (a later input-channel block), else write with the bias.
// m: (16, MR, NR) register-tile products -> out: (n, o, h, w) dense
func winogradStoreTiles(_ m: UnsafePointer<Float>, _ s: WinogradShape, o0: Int, mr: Int, t0: Int, tiles: Int,
                        bias: UnsafePointer<Float>?, accumulate: Bool, _ out: UnsafeMutablePointer<Float>) {
    let tw = s.tilesW, xiStride = gemmMR * gemmNR
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * vWidth) { buf in
        // Two output rows of 16 tiles (32 floats each), then copied out run by run of tiles in one tile row.
        let top = buf.baseAddress!, bottom = top + 2 * vWidth
        for r in 0..<mr {
            let oc = o0 + r, bv: Float = accumulate ? 0 : (bias?[oc] ?? 0)
            // dst[i] (+)= src[i] (+ bias) for i < count.
            @inline(__always) func put(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ count: Int) {
                var i = 0
                if accumulate {
                    while i + vWidth <= count { vstore(vload(dst + i) + vload(src + i), dst + i); i += vWidth }
                    while i < count { dst[i] += src[i]; i += 1 }
                } else {
                    let bb = V(repeating: bv)
                    while i + vWidth <= count { vstore(vload(src + i) + bb, dst + i); i += vWidth }
                    while i < count { dst[i] = src[i] + bv; i += 1 }
                }
            }
            // 16 tiles at a time (the scratch row has NR >= 16 columns, so lanes past `tiles` read scratch).
            for j in stride(from: 0, to: tiles, by: vWidth) {
                let p = m + r * gemmNR + j
                let (y00, y01, y10, y11) = winogradOutputTiles { vload(p + $0 * xiStride) }
                let (u0, u1) = interleave(y00, y01), (l0, l1) = interleave(y10, y11)
                vstore(u0, top); vstore(u1, top + vWidth); vstore(l0, bottom); vstore(l1, bottom + vWidth)
                let count = Swift.min(vWidth, tiles - j)
                var l = 0
                while l < count {
                    let t = t0 + j + l, row = t / tw, tx = t % tw, b = row / s.tilesH, ty = row % s.tilesH
                    let run = Swift.min(count - l, tw - tx), x0 = 2 * tx, y0 = 2 * ty
                    let columns = Swift.min(2 * run, s.w - x0)
                    let d0 = out + ((b * s.o + oc) * s.h + y0) * s.w + x0
                    put(d0, top + 2 * l, columns)
                    if y0 + 1 < s.h { put(d0 + s.w, bottom + 2 * l, columns) }
                    l += run
                }
            }
        }
    }
}

// MARK: - The convolution

/// out = conv2d(x, w, padding 1) + bias by F(2×2, 3×3). x: (n, c, h, w), w: (o, c, 3, 3), bias: (o), all dense.
func winogradConvForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                         _ s: WinogradShape, _ out: UnsafeMutablePointer<Float>) {
    let tw = s.tilesW, mr = gemmMR, nr = gemmNR
    let bandRows = Swift.max(1, Swift.min(s.tileRows, winogradBandBudget / (16 * s.c * tw)))
    let maxPanels = (bandRows * tw + nr - 1) / nr
    let strips = (s.o + mr - 1) / mr
    let kc = Swift.min(s.c, winogradKC), aStride = kc * mr + 16   // padded: the 16 planes do not share cache sets
    let threads = Parallel.active ? 1 : Parallel.threadCount
    let bp = UnsafeMutablePointer<Float>.allocate(capacity: maxPanels * 16 * s.c * nr)
    defer { bp.deallocate() }
    var r0 = 0
    while r0 < s.tileRows {
        let rows = r0..<Swift.min(s.tileRows, r0 + bandRows), tiles = rows.count * tw
        let panels = (tiles + nr - 1) / nr
        winogradPackInput(x, s, rows: rows, bp)
        // Tasks: a grid of strip ranges × panel ranges, by strips while there are enough of them.
        let stripChunks = Swift.max(1, Swift.min(threads, strips / winogradStrips))
        let panelChunks = Swift.min(panels, (threads + stripChunks - 1) / stripChunks)
        parallelFor(stripChunks * panelChunks) { task in
            let sc = task / panelChunks, pc = task % panelChunks
            let sLo = strips * sc / stripChunks, sHi = strips * (sc + 1) / stripChunks
            let pLo = panels * pc / panelChunks, pHi = panels * (pc + 1) / panelChunks
            withUnsafeTemporaryAllocation(of: Float.self, capacity: winogradStrips * 16 * aStride + 16 * mr * nr) { buf in
                let ap = buf.baseAddress!, m = ap + winogradStrips * 16 * aStride
                for g0 in stride(from: sLo, to: sHi, by: winogradStrips) {
                    let gs = Swift.min(winogradStrips, sHi - g0)
                    for k0 in stride(from: 0, to: s.c, by: kc) {
                        let kcc = Swift.min(kc, s.c - k0)
                        winogradPackFilters(w, s, strip0: g0, strips: gs, k0: k0, kc: kcc, ap, aStride: aStride)
                        for p in pLo..<pHi {
                            for si in 0..<gs {
                                let a = ap + si * 16 * aStride
                                for xi in 0..<16 {
                                    microKernel(kcc, a + xi * aStride, bp + ((p * 16 + xi) * s.c + k0) * nr, m + xi * mr * nr, nr, false)
                                }
                                let o0 = (g0 + si) * mr
                                winogradStoreTiles(m, s, o0: o0, mr: Swift.min(mr, s.o - o0), t0: rows.lowerBound * tw + p * nr,
                                                   tiles: Swift.min(nr, tiles - p * nr), bias: bias, accumulate: k0 > 0, out)
                            }
                        }
                    }
                }
            }
        }
        r0 = rows.upperBound
    }
}

// MARK: - Naive reference

/// The F(2×2, 3×3) algorithm from its matrices, tile by tile, with Float64 sums: the reference the fused kernel is
/// tested against (and, through conv2d, against direct convolution).
// x: (n, c, h, w), w: (o, c, 3, 3), bias: (o) -> out: (n, o, h, w), all dense
func winogradConvReference(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                           _ s: WinogradShape, _ out: UnsafeMutablePointer<Float>) {
    let bt: [[Double]] = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
    let g: [[Double]] = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]
    let at: [[Double]] = [[1, 1, 1, 0], [0, 1, -1, -1]]
    // a (p × q) · b (q × r)
    func mul(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
        a.map { row in (0..<b[0].count).map { j in zip(row, b).reduce(0) { $0 + $1.0 * $1.1[j] } } }
    }
    func transpose(_ a: [[Double]]) -> [[Double]] { (0..<a[0].count).map { j in a.map { $0[j] } } }
    let u: [[[Double]]] = (0..<s.o * s.c).map { i in
        mul(mul(g, (0..<3).map { r in (0..<3).map { Double(w[i * 9 + r * 3 + $0]) } }), transpose(g))
    }
    for b in 0..<s.n { for ty in 0..<s.tilesH { for tx in 0..<s.tilesW {
        let v: [[[Double]]] = (0..<s.c).map { ci in
            let d = (0..<4).map { i in (0..<4).map { j -> Double in
                let y = 2 * ty - 1 + i, xx = 2 * tx - 1 + j
                return y >= 0 && y < s.h && xx >= 0 && xx < s.w ? Double(x[((b * s.c + ci) * s.h + y) * s.w + xx]) : 0
            } }
            return mul(mul(bt, d), transpose(bt))
        }
        for oc in 0..<s.o {
            var m = [[Double]](repeating: [Double](repeating: 0, count: 4), count: 4)
            for ci in 0..<s.c { for i in 0..<4 { for j in 0..<4 { m[i][j] += u[oc * s.c + ci][i][j] * v[ci][i][j] } } }
            let y = mul(mul(at, m), transpose(at))
            for i in 0..<2 { for j in 0..<2 where 2 * ty + i < s.h && 2 * tx + j < s.w {
                out[((b * s.o + oc) * s.h + 2 * ty + i) * s.w + 2 * tx + j] = Float(y[i][j] + Double(bias?[oc] ?? 0))
            } }
        }
    } } }
}
