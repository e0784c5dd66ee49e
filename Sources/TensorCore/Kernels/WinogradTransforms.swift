// The transforms of the fused Winograd F(2×2, 3×3) kernel (WinogradKernels.swift), each writing or reading the
// register tile's operand layouts directly: filters G g Gᵀ into packed A (16 × 16 transposes), input tiles Bᵀ d B into
// packed B panels, and the 16 tile products through Aᵀ M A into the output image.

// MARK: - Transforms of one tile

/// Y = Aᵀ M A for 16 tiles' products m(ξ) at once: (y00, y01, y10, y11).
@inline(__always) func winogradOutputTiles(_ m: (Int) -> V) -> (V, V, V, V) {
    // Rows: R0 = M0 + M1 + M2, R1 = M1 - M2 - M3 (M_i = row i of M, 4 entries), then the same along the columns.
    let r00 = m(0) + m(4) + m(8), r01 = m(1) + m(5) + m(9), r02 = m(2) + m(6) + m(10), r03 = m(3) + m(7) + m(11)
    let r10 = m(4) - m(8) - m(12), r11 = m(5) - m(9) - m(13), r12 = m(6) - m(10) - m(14), r13 = m(7) - m(11) - m(15)
    return (r00 + r01 + r02, r01 - r02 - r03, r10 + r11 + r12, r11 - r12 - r13)
}

// MARK: - Packing

/// One perfect shuffle of 16 vectors: rows i and i + 8 interleaved into rows 2i, 2i + 1. Four of them transpose
/// a 16 × 16 block (row l, lane j -> row j, lane l).
typealias V16 = (V, V, V, V, V, V, V, V, V, V, V, V, V, V, V, V)
@inline(__always) func perfectShuffle(_ r: V16) -> V16 {
    let (a0, a1) = interleave(r.0, r.8), (a2, a3) = interleave(r.1, r.9)
    let (a4, a5) = interleave(r.2, r.10), (a6, a7) = interleave(r.3, r.11)
    let (a8, a9) = interleave(r.4, r.12), (a10, a11) = interleave(r.5, r.13)
    let (a12, a13) = interleave(r.6, r.14), (a14, a15) = interleave(r.7, r.15)
    return (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15)
}

/// ap[(si · 16 + ξ) · aStride + kk · MR + r] = U_ξ[o, k0 + kk] for o = (strip0 + si) · MR + r, zero for o ≥ s.o:
/// the packed-A operand of the register tile for `strips` strips and input channels k0 ..< k0 + kc. aStride must
/// be at least kc · MR rounded up to 16. flipped: the filter of (o, ci) is w[ci, o] rotated by 180° (a transposed
/// convolution, conv2d's input gradient).
// w: (o, c, 3, 3), or (c, o, 3, 3) when flipped, dense -> ap: (strips, 16, aStride)
func winogradPackFilters(_ w: UnsafePointer<Float>, _ s: WinogradShape, flipped: Bool, strip0: Int, strips: Int,
                         k0: Int, kc: Int, _ ap: UnsafeMutablePointer<Float>, aStride: Int) {
    let flat = kc * gemmMR, wEnd = w + s.o * s.c * 9
    withUnsafeTemporaryAllocation(of: Float.self, capacity: vWidth) { buf in
        let spare = buf.baseAddress!
        for si in 0..<strips {
            let dst = ap + si * 16 * aStride, o0 = (strip0 + si) * gemmMR, mr = Swift.min(gemmMR, s.o - o0)
            // The 9 taps of the l-th (kk, r) pair of the packed order from f0 on, as one vector (lanes 9... unused).
            @inline(__always) func taps(_ f0: Int, _ l: Int) -> V {
                let f = f0 + l, kk = f / gemmMR, r = f % gemmMR
                if f >= flat || r >= mr { return V() }
                let g = w + (flipped ? (k0 + kk) * s.o + o0 + r : (o0 + r) * s.c + k0 + kk) * 9
                if g + vWidth <= wEnd { return vload(g) }
                spare.update(from: g, count: 9)   // the last filters: no vector read past the weights
                return vload(spare)
            }
            // 16 pairs at a time: transposed so that tap k of all 16 is one vector, then G g Gᵀ on those vectors, so
            // each ξ plane gets 16 consecutive floats.
            for f0 in stride(from: 0, to: flat, by: 16) {
                var r: V16 = (taps(f0, 0), taps(f0, 1), taps(f0, 2), taps(f0, 3), taps(f0, 4), taps(f0, 5), taps(f0, 6),
                              taps(f0, 7), taps(f0, 8), taps(f0, 9), taps(f0, 10), taps(f0, 11), taps(f0, 12),
                              taps(f0, 13), taps(f0, 14), taps(f0, 15))
                r = perfectShuffle(perfectShuffle(perfectShuffle(perfectShuffle(r))))
                if flipped { r = (r.8, r.7, r.6, r.5, r.4, r.3, r.2, r.1, r.0, r.9, r.10, r.11, r.12, r.13, r.14, r.15) }
                // X_k = G · (column k of g): a, (a + b + c)/2, (a - b + c)/2, c; then row i of U = G · (X_0, X_1, X_2)[i].
                let x01 = (r.0 + r.3 + r.6) * 0.5, x02 = (r.0 - r.3 + r.6) * 0.5
                let x11 = (r.1 + r.4 + r.7) * 0.5, x12 = (r.1 - r.4 + r.7) * 0.5
                let x21 = (r.2 + r.5 + r.8) * 0.5, x22 = (r.2 - r.5 + r.8) * 0.5
                @inline(__always) func row(_ i: Int, _ a: V, _ b: V, _ c: V) {
                    let d = dst + 4 * i * aStride + f0
                    vstore(a, d)
                    vstore((a + b + c) * 0.5, d + aStride)
                    vstore((a - b + c) * 0.5, d + 2 * aStride)
                    vstore(c, d + 3 * aStride)
                }
                row(0, r.0, r.1, r.2)
                row(1, x01, x11, x21)
                row(2, x02, x12, x22)
                row(3, r.6, r.7, r.8)
            }
        }
    }
}

/// Floats per (panel, ξ) plane of packed V: c · NR, padded by a cache line so that the 16 planes written together do
/// not fall in one cache set (C · NR floats is a multiple of 4 KB for the usual channel counts).
func winogradPlane(_ s: WinogradShape) -> Int { s.c * gemmNR + 16 }

/// bp[(p · 16 + ξ) · winogradPlane(s) + ci · NR + j] = V_ξ[ci, t] (Bᵀ d B) for tile t = p · NR + j of the tile rows `rows`
/// (t = (row - rows.lowerBound) · tilesW + tx), zero padding outside the image and past the last tile.
// x: (n, c, h, w) dense -> bp: (panels, 16, winogradPlane(s))
func winogradPackInput(_ x: UnsafePointer<Float>, _ s: WinogradShape, rows: Range<Int>, _ bp: UnsafeMutablePointer<Float>) {
    let tw = s.tilesW, tiles = rows.count * tw, nr = gemmNR, plane = winogradPlane(s)
    let panels = (tiles + nr - 1) / nr
    // Padded row width: room for whole vectors of 16 tiles (4 + 2·15 columns each) past the last tile, and whole
    // vectors for the row pass.
    let wp = (2 * ((tw + vWidth - 1) / vWidth) * vWidth + 2 + vWidth - 1) / vWidth * vWidth
    // Images of fewer tiles a row than a vector has lanes (and dividing it): several tile rows per vector.
    let narrow = tw < vWidth && vWidth % tw == 0
    parallelRanges(s.c, grain: 1) { channels in
        // rb: one tile row's V_ξ, 16 rows of whole vectors, for tile rows whose vectors would straddle panels.
        let rbs = (tw + vWidth - 1) / vWidth * vWidth
        withUnsafeTemporaryAllocation(of: Float.self, capacity: Swift.max(8 * wp + 16 * rbs, 16 * 2 * vWidth)) { buf in
            let pad = buf.baseAddress!, e = pad + 4 * wp, rb = e + 4 * wp
            for ci in channels {
                // V_ξ of tile t: its address in the panels.
                @inline(__always) func at(_ xi: Int, _ t: Int) -> UnsafeMutablePointer<Float> {
                    bp + ((t / nr) * 16 + xi) * plane + ci * nr + t % nr
                }
                if narrow {
                    winogradPackNarrowRows(x, s, rows: rows, ci: ci, scratch: pad, at)
                    for t in tiles..<panels * nr { for xi in 0..<16 { at(xi, t).pointee = 0 } }
                    continue
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
                    for xx in stride(from: 0, to: wp, by: vWidth) {
                        let a = vload(pad + xx), b1 = vload(pad + wp + xx), c1 = vload(pad + 2 * wp + xx), d = vload(pad + 3 * wp + xx)
                        vstore(a - c1, e + xx)
                        vstore(b1 + c1, e + wp + xx)
                        vstore(c1 - b1, e + 2 * wp + xx)
                        vstore(b1 - d, e + 3 * wp + xx)
                    }
                    // (Bᵀ d) B along the columns of each tile, 16 tiles at a time from even/odd columns: straight into
                    // the panels when the row's vectors are whole and panel-aligned, else into rb and copied out in
                    // runs that end at panel boundaries.
                    let base = ri * tw, direct = tw % vWidth == 0 && base % vWidth == 0
                    for k in 0..<4 {
                        let ek = e + k * wp
                        for t0 in stride(from: 0, to: tw, by: vWidth) {
                            let lo = UnsafeRawPointer(ek + 2 * t0).loadUnaligned(as: SIMD32<Float>.self)
                            let hi = UnsafeRawPointer(ek + 2 * t0 + 2).loadUnaligned(as: SIMD32<Float>.self)
                            let a = lo.evenHalf, b1 = lo.oddHalf, c1 = hi.evenHalf, d = hi.oddHalf
                            let v = (a - c1, b1 + c1, c1 - b1, b1 - d)
                            if direct {
                                vstore(v.0, at(4 * k, base + t0)); vstore(v.1, at(4 * k + 1, base + t0))
                                vstore(v.2, at(4 * k + 2, base + t0)); vstore(v.3, at(4 * k + 3, base + t0))
                            } else {
                                let r = rb + 4 * k * rbs + t0
                                vstore(v.0, r); vstore(v.1, r + rbs); vstore(v.2, r + 2 * rbs); vstore(v.3, r + 3 * rbs)
                            }
                        }
                    }
                    if direct { continue }
                    for xi in 0..<16 {
                        var t = base
                        while t < base + tw {
                            let n = Swift.min(nr - t % nr, base + tw - t)
                            let src = rb + xi * rbs + (t - base), dst = at(xi, t)
                            var i = 0
                            while i + vWidth <= n { vstore(vload(src + i), dst + i); i += vWidth }
                            while i < n { dst[i] = src[i]; i += 1 }
                            t += n
                        }
                    }
                }
                // The last panel's columns past the last tile.
                for t in tiles..<panels * nr { for xi in 0..<16 { at(xi, t).pointee = 0 } }
            }
        }
    }
}

/// winogradPackInput for images whose tile rows are narrower than a vector (tilesW divides vWidth, e.g. 8 tiles of a
/// 16-wide image): the vWidth / tilesW tile rows of one vector are transformed together, so every store is a whole
/// vector inside one panel (band-relative tile indices of a group start at a multiple of vWidth, and NR is one).
/// Each input row is kept twice, as padded columns 0 ..< 2·tilesW (lo) and 2 ..< 2·tilesW + 2 (hi), so that tile t
/// of every row of the group reads (lo[2t], lo[2t + 1], hi[2t], hi[2t + 1]) with even/odd halves of whole loads.
/// Lanes past the last tile row hold zeros (the caller zeroes the last panel's tail anyway).
// x: (n, c, h, w) dense; scratch: 16 · 2 · vWidth floats -> at(ξ, t): V_ξ of channel ci, band tile t
@inline(__always)
func winogradPackNarrowRows(_ x: UnsafePointer<Float>, _ s: WinogradShape, rows: Range<Int>, ci: Int,
                            scratch: UnsafeMutablePointer<Float>, _ at: (Int, Int) -> UnsafeMutablePointer<Float>) {
    let tw = s.tilesW, group = vWidth / tw, span = 2 * vWidth, rowWidth = 2 * tw
    let lo = scratch, hi = scratch + 4 * span, elo = hi + 4 * span, ehi = elo + 4 * span
    let img = x + ci * s.h * s.w, imageStride = s.c * s.h * s.w
    let loCount = Swift.min(s.w, rowWidth - 1), hiCount = Swift.min(s.w - 1, rowWidth)
    var g0 = 0
    while g0 < rows.count {
        for gi in 0..<group {
            let ri = g0 + gi, row = rows.lowerBound + ri, b = row / s.tilesH, ty = row % s.tilesH
            for k in 0..<4 {
                let l = lo + k * span + gi * rowWidth, h = hi + k * span + gi * rowWidth
                let y = 2 * ty - 1 + k
                guard ri < rows.count && y >= 0 && y < s.h else {
                    l.initialize(repeating: 0, count: rowWidth); h.initialize(repeating: 0, count: rowWidth); continue
                }
                let src = img + b * imageStride + y * s.w
                l[0] = 0   // padded column 0 = image column -1
                (l + 1).update(from: src, count: loCount)
                (l + 1 + loCount).initialize(repeating: 0, count: rowWidth - 1 - loCount)
                if hiCount > 0 { h.update(from: src + 1, count: hiCount) }
                (h + hiCount).initialize(repeating: 0, count: rowWidth - hiCount)
            }
        }
        // Bᵀ d along the rows (the 4 input rows of each tile row), for both copies.
        @inline(__always) func rowTransform(_ src: UnsafeMutablePointer<Float>, _ dst: UnsafeMutablePointer<Float>) {
            for xx in stride(from: 0, to: span, by: vWidth) {
                let a = vload(src + xx), b1 = vload(src + span + xx), c1 = vload(src + 2 * span + xx), d = vload(src + 3 * span + xx)
                vstore(a - c1, dst + xx); vstore(b1 + c1, dst + span + xx)
                vstore(c1 - b1, dst + 2 * span + xx); vstore(b1 - d, dst + 3 * span + xx)
            }
        }
        rowTransform(lo, elo); rowTransform(hi, ehi)
        // (Bᵀ d) B along the columns: 16 tiles (group tile rows) per vector, stored whole.
        let t0 = g0 * tw
        for k in 0..<4 {
            let l = UnsafeRawPointer(elo + k * span).loadUnaligned(as: SIMD32<Float>.self)
            let h = UnsafeRawPointer(ehi + k * span).loadUnaligned(as: SIMD32<Float>.self)
            let a = l.evenHalf, b1 = l.oddHalf, c1 = h.evenHalf, d = h.oddHalf
            vstore(a - c1, at(4 * k, t0)); vstore(b1 + c1, at(4 * k + 1, t0))
            vstore(c1 - b1, at(4 * k + 2, t0)); vstore(b1 - d, at(4 * k + 3, t0))
        }
        g0 += group
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
    let tw = s.tilesW, xiStride = gemmMR * gemmNR, plane = s.h * s.w
    // Per chunk of 16 tiles, its runs of tiles within one tile row: first lane, output offset at channel 0,
    // columns inside the image, whether the tile row's second output row is inside.
    withUnsafeTemporaryAllocation(of: Int.self, capacity: 4 * vWidth) { runBuf in
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * vWidth) { buf in
        let lanes = runBuf.baseAddress!, offsets = lanes + vWidth, columns = offsets + vWidth, second = columns + vWidth
        // Two output rows of 16 tiles (32 floats each) when a chunk goes out run by run.
        let top = buf.baseAddress!, bottom = top + 2 * vWidth
        for j in stride(from: 0, to: tiles, by: vWidth) {
            let count = Swift.min(vWidth, tiles - j)
            var runs = 0, l = 0
            while l < count {
                let t = t0 + j + l, row = t / tw, tx = t % tw, b = row / s.tilesH, ty = row % s.tilesH
                let run = Swift.min(count - l, tw - tx)
                lanes[runs] = l
                offsets[runs] = (b * s.o + o0) * plane + 2 * ty * s.w + 2 * tx
                columns[runs] = Swift.min(2 * run, s.w - 2 * tx)
                second[runs] = 2 * ty + 1 < s.h ? 1 : 0
                runs += 1; l += run
            }
            // The common case: 16 whole tiles of one tile row, both output rows inside.
            let whole = runs == 1 && columns[0] == 2 * vWidth && second[0] == 1
            for r in 0..<mr {
                let bv: Float = accumulate ? 0 : (bias?[o0 + r] ?? 0)
                let p = m + r * gemmNR + j   // the scratch row has NR >= 16 columns, so lanes past `tiles` read scratch
                let (y00, y01, y10, y11) = winogradOutputTiles { vload(p + $0 * xiStride) }
                let (u0, u1) = interleave(y00, y01), (l0, l1) = interleave(y10, y11)
                if whole {
                    let d0 = out + offsets[0] + r * plane, d1 = d0 + s.w
                    if accumulate {
                        vstore(vload(d0) + u0, d0); vstore(vload(d0 + vWidth) + u1, d0 + vWidth)
                        vstore(vload(d1) + l0, d1); vstore(vload(d1 + vWidth) + l1, d1 + vWidth)
                    } else {
                        let bb = V(repeating: bv)
                        vstore(u0 + bb, d0); vstore(u1 + bb, d0 + vWidth)
                        vstore(l0 + bb, d1); vstore(l1 + bb, d1 + vWidth)
                    }
                    continue
                }
                vstore(u0, top); vstore(u1, top + vWidth); vstore(l0, bottom); vstore(l1, bottom + vWidth)
                // dst[i] (+)= src[i] (+ bias) for i < n.
                @inline(__always) func put(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int) {
                    var i = 0
                    if accumulate {
                        while i + vWidth <= n { vstore(vload(dst + i) + vload(src + i), dst + i); i += vWidth }
                        while i < n { dst[i] += src[i]; i += 1 }
                    } else {
                        while i + vWidth <= n { vstore(vload(src + i) + V(repeating: bv), dst + i); i += vWidth }
                        while i < n { dst[i] = src[i] + bv; i += 1 }
                    }
                }
                for k in 0..<runs {
                    let d0 = out + offsets[k] + r * plane
                    put(d0, top + 2 * lanes[k], columns[k])
                    if second[k] == 1 { put(d0 + s.w, bottom + 2 * lanes[k], columns[k]) }
                }
            }
        }
    }
    }
}
