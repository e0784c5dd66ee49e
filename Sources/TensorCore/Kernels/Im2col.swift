// im2col / col2im: unfolding an image into the columns of a GEMM, and its adjoint (Caffe's im2col_cpu and
// col2im_cpu; Chellapilla, Puri & Simard 2006). One `ConvShape` describes a 2-D convolution from the
// image's side: the image (C, ih, iw) unfolds into columns (C/groups · kh · kw, oh · ow) per group. A
// transposed convolution is the same shape read backwards (its output is the image). Each fast kernel has
// a naive twin below it, compared on odd sizes in ConvTests.

/// The sizes of one 2-D convolution. `c` channels of image (ih, iw); `o` channels on the column side
/// (oh, ow): a conv2d's output, a conv_transpose2d's input. Weights are (o, c / groups, kh, kw) for both.
struct ConvShape {
    let n: Int, c: Int, o: Int, groups: Int
    let ih: Int, iw: Int, oh: Int, ow: Int
    let kh: Int, kw: Int, sh: Int, sw: Int, ph: Int, pw: Int, dh: Int, dw: Int

    var cg: Int { c / groups }
    var og: Int { o / groups }
    /// Rows of the column matrix per group: cg · kh · kw.
    var kdim: Int { cg * kh * kw }
    var positions: Int { oh * ow }
    /// Multiply-adds of the convolution (and of each of its gradients).
    var multiplyAdds: Int { n * o * positions * kdim }
    var imagePlane: Int { ih * iw }
    var weightShape: [Int] { [o, cg, kh, kw] }
    /// A 1x1, stride-1, unpadded convolution: the image already is its column matrix.
    var isPointwise: Bool { kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0 && oh == ih && ow == iw }

    /// torch's output size, floor((i + 2p - d(k - 1) - 1) / s) + 1, or a value < 1 when the kernel does not fit.
    static func outputSize(_ i: Int, k: Int, s: Int, p: Int, d: Int) -> Int {
        let span = i + 2 * p - d * (k - 1) - 1
        return span < 0 ? 0 : span / s + 1
    }

    /// The ox with 0 <= ox·sw - pw + kx·dw < iw, as lo..<hi (possibly empty).
    @inline(__always) func columnRange(_ kx: Int) -> (Int, Int) {
        let off = kx * dw - pw
        let lo = Swift.min(ow, Swift.max(0, ceilDiv(-off, sw)))
        let hi = Swift.min(ow, Swift.max(lo, floorDiv(iw - 1 - off, sw) + 1))
        return (lo, hi)
    }
}

@inline(__always) func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
@inline(__always) func ceilDiv(_ a: Int, _ b: Int) -> Int { -floorDiv(-a, b) }

/// Unfolds `channels` planes of the image: cols[(c, ky, kx), (oy, ox)] = img[c, oy·sh - ph + ky·dh,
/// ox·sw - pw + kx·dw], zero outside the image. Rows run in parallel. `ld`: the row stride of cols
/// (default oh · ow; larger when several batch items sit side by side).
// img: (channels, ih, iw) dense -> cols: (channels · kh · kw, oh · ow), row stride ld
func im2col(_ img: UnsafePointer<Float>, channels: Int, _ s: ConvShape, _ cols: UnsafeMutablePointer<Float>, ld: Int? = nil) {
    let taps = s.kh * s.kw, p = s.positions, ld = ld ?? p
    parallelRanges(channels * taps, grain: Swift.max(1, 16384 / Swift.max(p, 1))) { rows in
        for row in rows {
            let c = row / taps, ky = (row % taps) / s.kw, kx = row % s.kw
            let (lo, hi) = s.columnRange(kx)
            let xoff = kx * s.dw - s.pw
            for oy in 0..<s.oh {
                let dst = cols + row * ld + oy * s.ow
                let iy = oy * s.sh - s.ph + ky * s.dh
                if iy < 0 || iy >= s.ih || lo >= hi { dst.initialize(repeating: 0, count: s.ow); continue }
                if lo > 0 { dst.initialize(repeating: 0, count: lo) }
                let src = img + (c * s.ih + iy) * s.iw
                if s.sw == 1 {
                    (dst + lo).update(from: src + (lo + xoff), count: hi - lo)
                } else {
                    for ox in lo..<hi { dst[ox] = src[ox * s.sw + xoff] }
                }
                if hi < s.ow { (dst + hi).initialize(repeating: 0, count: s.ow - hi) }
            }
        }
    }
}

/// The adjoint of im2col: img[c, iy, ix] += every column entry that im2col read from there. Written as a
/// gather over image rows, so each task owns its rows and no two threads add into the same element.
// cols: (channels · kh · kw, oh · ow), row stride ld -> img: (channels, ih, iw) dense, accumulated
func col2im(_ cols: UnsafePointer<Float>, channels: Int, _ s: ConvShape, _ img: UnsafeMutablePointer<Float>, ld: Int? = nil) {
    let ld = ld ?? s.positions
    parallelRanges(channels * s.ih, grain: Swift.max(1, 16384 / Swift.max(s.iw * s.kh * s.kw, 1))) { rows in
        for r in rows {
            let c = r / s.ih, iy = r % s.ih
            let dst = img + r * s.iw
            for ky in 0..<s.kh {
                let t = iy + s.ph - ky * s.dh
                if t < 0 || t % s.sh != 0 || t / s.sh >= s.oh { continue }
                let oy = t / s.sh
                for kx in 0..<s.kw {
                    let (lo, hi) = s.columnRange(kx)
                    if lo >= hi { continue }
                    let xoff = kx * s.dw - s.pw
                    let src = cols + ((c * s.kh + ky) * s.kw + kx) * ld + oy * s.ow
                    if s.sw == 1 {
                        let d = dst + xoff
                        var ox = lo
                        while ox + vWidth <= hi { vstore(vload(d + ox) + vload(src + ox), d + ox); ox += vWidth }
                        while ox < hi { d[ox] += src[ox]; ox += 1 }
                    } else {
                        for ox in lo..<hi { dst[ox * s.sw + xoff] += src[ox] }
                    }
                }
            }
        }
    }
}

/// Naive im2col: every element from its definition.
func im2colReference(_ img: UnsafePointer<Float>, channels: Int, _ s: ConvShape, _ cols: UnsafeMutablePointer<Float>) {
    for c in 0..<channels { for ky in 0..<s.kh { for kx in 0..<s.kw { for oy in 0..<s.oh { for ox in 0..<s.ow {
        let iy = oy * s.sh - s.ph + ky * s.dh, ix = ox * s.sw - s.pw + kx * s.dw
        let inside = iy >= 0 && iy < s.ih && ix >= 0 && ix < s.iw
        cols[((c * s.kh + ky) * s.kw + kx) * s.positions + oy * s.ow + ox] = inside ? img[(c * s.ih + iy) * s.iw + ix] : 0
    } } } } }
}

/// Naive col2im: scatters every column entry back (accumulating).
func col2imReference(_ cols: UnsafePointer<Float>, channels: Int, _ s: ConvShape, _ img: UnsafeMutablePointer<Float>) {
    for c in 0..<channels { for ky in 0..<s.kh { for kx in 0..<s.kw { for oy in 0..<s.oh { for ox in 0..<s.ow {
        let iy = oy * s.sh - s.ph + ky * s.dh, ix = ox * s.sw - s.pw + kx * s.dw
        if iy >= 0 && iy < s.ih && ix >= 0 && ix < s.iw {
            img[(c * s.ih + iy) * s.iw + ix] += cols[((c * s.kh + ky) * s.kw + kx) * s.positions + oy * s.ow + ox]
        }
    } } } } }
}

/// One GEMM panel of im2col's columns, written straight from the image (implicit GEMM): dst[kk · NR + j] =
/// cols[k0 + kk, j0 + j], zero past column `s.positions`. The same values as im2col, without the column matrix.
// img: (cg, ih, iw) dense -> dst: (kc, NR)
@inline(__always)
func im2colPanel(_ img: UnsafePointer<Float>, _ s: ConvShape, k0: Int, kc: Int, j0: Int, _ dst: UnsafeMutablePointer<Float>) {
    let taps = s.kh * s.kw, nr = Swift.min(gemmNR, s.positions - j0)
    let oy0 = j0 / s.ow, ox0 = j0 % s.ow
    // Common case: the panel lies in one output row, so each column row reads one image row.
    let oneRow = ox0 + nr <= s.ow
    // Row k0 + kk is (channel c, tap ky, kx); stepped incrementally (no divisions per row).
    var c = k0 / taps, ky = (k0 % taps) / s.kw, kx = k0 % s.kw
    if oneRow {
        for kk in 0..<kc {
            let d = dst + kk * gemmNR
            let iy = oy0 * s.sh - s.ph + ky * s.dh
            let x0 = ox0 * s.sw - s.pw + kx * s.dw
            let row = img + c * s.imagePlane + iy * s.iw
            if iy < 0 || iy >= s.ih {
                d.initialize(repeating: 0, count: gemmNR)
            } else if s.sw == 1 && x0 >= 0 && nr == gemmNR && x0 + gemmNR <= s.iw {
                // Interior panel row: whole vectors, no call into memcpy (the packing is a large share of a
                // 128-channel layer's time otherwise).
                for v in stride(from: 0, to: gemmNR, by: vWidth) { vstore(vload(row + x0 + v), d + v) }
            } else if s.sw == 2 && x0 >= 0 && nr == gemmNR && x0 + 2 * gemmNR <= s.iw {
                // Stride 2 (downsampling convolutions): the even lanes of double-width loads.
                for v in stride(from: 0, to: gemmNR, by: vWidth) {
                    let pair = UnsafeRawPointer(row + x0 + 2 * v).loadUnaligned(as: SIMD32<Float>.self)
                    vstore(pair.evenHalf, d + v)
                }
            } else if s.sw == 1 {
                let lo = Swift.max(0, -x0), hi = Swift.min(nr, s.iw - x0)
                if lo > 0 { d.initialize(repeating: 0, count: Swift.min(lo, gemmNR)) }
                if hi > lo { (d + lo).update(from: row + x0 + lo, count: hi - lo) }
                let tail = Swift.max(hi, lo)
                if tail < gemmNR { (d + tail).initialize(repeating: 0, count: gemmNR - tail) }
            } else {
                for j in 0..<nr { let ix = x0 + j * s.sw; d[j] = ix >= 0 && ix < s.iw ? row[ix] : 0 }
                if nr < gemmNR { (d + nr).initialize(repeating: 0, count: gemmNR - nr) }
            }
            kx += 1
            if kx == s.kw { kx = 0; ky += 1; if ky == s.kh { ky = 0; c += 1 } }
        }
        return
    }
    withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * gemmNR) { buf in
        let ys = buf.baseAddress!, xs = ys + gemmNR
        for j in 0..<nr { let p = j0 + j; ys[j] = (p / s.ow) * s.sh - s.ph; xs[j] = (p % s.ow) * s.sw - s.pw }
        for kk in 0..<kc {
            let d = dst + kk * gemmNR
            let plane = img + c * s.imagePlane
            let dy = ky * s.dh, dx = kx * s.dw
            for j in 0..<nr {
                let iy = ys[j] + dy, ix = xs[j] + dx
                d[j] = iy >= 0 && iy < s.ih && ix >= 0 && ix < s.iw ? plane[iy * s.iw + ix] : 0
            }
            if nr < gemmNR { (d + nr).initialize(repeating: 0, count: gemmNR - nr) }
            kx += 1
            if kx == s.kw { kx = 0; ky += 1; if ky == s.kh { ky = 0; c += 1 } }
        }
    }
}
