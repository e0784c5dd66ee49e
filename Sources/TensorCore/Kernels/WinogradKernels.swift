// Winograd's minimal filtering F(2×2, 3×3) for 3×3, stride-1, padding-1 convolutions (Lavin & Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2016): each 2×2 output tile is Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d Bᵀᵀ)] A for the
// 4×4 input tile d around it, so the 9 multiplies per output become 4. Summed over input channels, each of the 16
// transformed positions ξ is one GEMM: M_ξ (O × tiles) = U_ξ (O × C) · V_ξ (C × tiles). The transforms use only
// additions and halvings, so the result differs from direct convolution by rounding only.
//   Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1],  Aᵀ = [1 1 1 0; 0 1 -1 -1]
// Tiles are processed a band of tile rows at a time and output channels a block at a time, so the transformed
// operands stay within a fixed budget whatever the image size.

/// One Winograd convolution: x (n, c, h, w) -> out (n, o, h, w), 2×2 output tiles.
struct WinogradShape {
    let n: Int, c: Int, o: Int, h: Int, w: Int
    var tilesH: Int { (h + 1) / 2 }
    var tilesW: Int { (w + 1) / 2 }
}

/// U[ξ][oi][ci] = (G g Gᵀ)[ξ] for output channels o0 ..< o0 + ob. w: (o, c, 3, 3) dense; u: (16, ob, c).
func winogradTransformWeights(_ w: UnsafePointer<Float>, c: Int, o0: Int, ob: Int, _ u: UnsafeMutablePointer<Float>) {
    let plane = ob * c
    parallelRanges(ob, grain: Swift.max(1, 2048 / Swift.max(c, 1))) { range in
        for oi in range {
            for ci in 0..<c {
                let g = w + ((o0 + oi) * c + ci) * 9
                // G g: rows g0, (g0 + g1 + g2)/2, (g0 - g1 + g2)/2, g2 (each a row of 3 taps).
                let g0 = SIMD4<Float>(g[0], g[1], g[2], 0), g1 = SIMD4<Float>(g[3], g[4], g[5], 0)
                let g2 = SIMD4<Float>(g[6], g[7], g[8], 0)
                let rows = (g0, (g0 + g1 + g2) * 0.5, (g0 - g1 + g2) * 0.5, g2)
                let dst = u + oi * c + ci
                @inline(__always) func put(_ k: Int, _ v: SIMD4<Float>) {
                    // (G g) Gᵀ along the row: a, (a + b + c)/2, (a - b + c)/2, c.
                    dst[(4 * k + 0) * plane] = v[0]
                    dst[(4 * k + 1) * plane] = (v[0] + v[1] + v[2]) * 0.5
                    dst[(4 * k + 2) * plane] = (v[0] - v[1] + v[2]) * 0.5
                    dst[(4 * k + 3) * plane] = v[2]
                }
                put(0, rows.0); put(1, rows.1); put(2, rows.2); put(3, rows.3)
            }
        }
    }
}

/// V[ξ][ci][t] = (Bᵀ d B)[ξ] for the tiles of tile rows `rows` (tile row = b · tilesH + ty; t = (row - first) ·
/// tilesW + tx), zero padding outside the image. x: (n, c, h, w) dense; v: (16, c, rows.count · tilesW).
func winogradTransformInput(_ x: UnsafePointer<Float>, _ s: WinogradShape, rows: Range<Int>, _ v: UnsafeMutablePointer<Float>) {
    let tw = s.tilesW, tc = rows.count * tw, wp = 2 * tw + 2
    parallelRanges(s.c, grain: 1) { channels in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 8 * wp) { buf in
            let pad = buf.baseAddress!, e = pad + 4 * wp
            for ci in channels {
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
                    // (Bᵀ d) B along the columns of each tile; 16 tiles at a time from even/odd columns.
                    let base = ri * tw
                    for k in 0..<4 {
                        let ek = e + k * wp
                        let o0 = v + ((4 * k) * s.c + ci) * tc + base, o1 = o0 + s.c * tc
                        let o2 = o1 + s.c * tc, o3 = o2 + s.c * tc
                        var t0 = 0
                        while t0 + vWidth <= tw && 2 * t0 + 2 * vWidth + 2 <= wp {
                            let lo = UnsafeRawPointer(ek + 2 * t0).loadUnaligned(as: SIMD32<Float>.self)
                            let hi = UnsafeRawPointer(ek + 2 * t0 + 2).loadUnaligned(as: SIMD32<Float>.self)
                            let a = lo.evenHalf, b1 = lo.oddHalf, c1 = hi.evenHalf, d = hi.oddHalf
                            vstore(a - c1, o0 + t0)
                            vstore(b1 + c1, o1 + t0)
                            vstore(c1 - b1, o2 + t0)
                            vstore(b1 - d, o3 + t0)
                            t0 += vWidth
                        }
                        for tx in t0..<tw {
                            let a = ek[2 * tx], b1 = ek[2 * tx + 1], c1 = ek[2 * tx + 2], d = ek[2 * tx + 3]
                            o0[tx] = a - c1
                            o1[tx] = b1 + c1
                            o2[tx] = c1 - b1
                            o3[tx] = b1 - d
                        }
                    }
                }
            }
        }
    }
}

/// out[b, o0 + oi, 2ty + i, 2tx + j] = (Aᵀ M A)[i][j] + bias for the tiles of `rows`, cropped to the image.
/// m: (16, ob, rows.count · tilesW); out: (n, o, h, w) dense.
func winogradTransformOutput(_ m: UnsafePointer<Float>, _ s: WinogradShape, o0: Int, ob: Int, rows: Range<Int>,
                             bias: UnsafePointer<Float>?, _ out: UnsafeMutablePointer<Float>) {
    let tw = s.tilesW, tc = rows.count * tw, plane = ob * tc
    parallelRanges(ob * rows.count, grain: Swift.max(1, 1024 / Swift.max(tw, 1))) { jobs in
        for job in jobs {
            let oi = job / rows.count, ri = job % rows.count
            let row = rows.lowerBound + ri, b = row / s.tilesH, ty = row % s.tilesH
            let bv = bias?[o0 + oi] ?? 0
            let src = m + oi * tc + ri * tw
            let y0 = 2 * ty, twoRows = y0 + 1 < s.h
            let d0 = out + ((b * s.o + o0 + oi) * s.h + y0) * s.w, d1 = d0 + s.w
            for tx in 0..<tw {
                let p = src + tx
                // Aᵀ M: r0 = M0 + M1 + M2, r1 = M1 - M2 - M3 (rows of M), then the same along the columns.
                let m0 = SIMD4<Float>(p[0], p[plane], p[2 * plane], p[3 * plane])
                let m1 = SIMD4<Float>(p[4 * plane], p[5 * plane], p[6 * plane], p[7 * plane])
                let m2 = SIMD4<Float>(p[8 * plane], p[9 * plane], p[10 * plane], p[11 * plane])
                let m3 = SIMD4<Float>(p[12 * plane], p[13 * plane], p[14 * plane], p[15 * plane])
                let r0 = m0 + m1 + m2, r1 = m1 - m2 - m3
                let x0 = 2 * tx
                d0[x0] = r0[0] + r0[1] + r0[2] + bv
                if twoRows { d1[x0] = r1[0] + r1[1] + r1[2] + bv }
                if x0 + 1 < s.w {
                    d0[x0 + 1] = r0[1] - r0[2] - r0[3] + bv
                    if twoRows { d1[x0 + 1] = r1[1] - r1[2] - r1[3] + bv }
                }
            }
        }
    }
}

/// Tiles per band and floats per operand budget of winogradConvForward.
let winogradBandTiles = 512
let winogradWeightBudget = 1 << 24

/// out = conv2d(x, w, padding 1) + bias by F(2×2, 3×3). x: (n, c, h, w), w: (o, c, 3, 3), bias: (o), all dense.
func winogradConvForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                         _ s: WinogradShape, _ out: UnsafeMutablePointer<Float>) {
    let tw = s.tilesW, rowsTotal = s.n * s.tilesH
    let bandRows = Swift.max(1, Swift.min(rowsTotal, winogradBandTiles / tw))
    let maxTiles = bandRows * tw
    // Output channels per block: all of them unless the transformed weights would pass the budget.
    let ob = Swift.min(s.o, Swift.max(32, winogradWeightBudget / (16 * s.c)))
    let u = UnsafeMutablePointer<Float>.allocate(capacity: 16 * ob * s.c)
    let v = UnsafeMutablePointer<Float>.allocate(capacity: 16 * s.c * maxTiles)
    let m = UnsafeMutablePointer<Float>.allocate(capacity: 16 * ob * maxTiles)
    defer { u.deallocate(); v.deallocate(); m.deallocate() }
    var o0 = 0
    while o0 < s.o {
        let obb = Swift.min(ob, s.o - o0)
        winogradTransformWeights(w, c: s.c, o0: o0, ob: obb, u)
        var r0 = 0
        while r0 < rowsTotal {
            let rows = r0..<Swift.min(rowsTotal, r0 + bandRows), tc = rows.count * tw
            winogradTransformInput(x, s, rows: rows, v)
            // The 16 products are independent: one per task, each GEMM on one thread.
            parallelFor(16) { xi in
                gemm(m: obb, n: tc, k: s.c, MatrixRef(u + xi * obb * s.c, rs: s.c, cs: 1),
                     MatrixRef(v + xi * s.c * tc, rs: tc, cs: 1), m + xi * obb * tc, ldc: tc)
            }
            winogradTransformOutput(m, s, o0: o0, ob: obb, rows: rows, bias: bias, out)
            r0 = rows.upperBound
        }
        o0 += obb
    }
}
