// The three GEMM-based convolution kernels (Caffe's BaseConvolutionLayer: forward_cpu_gemm,
// backward_cpu_gemm, weight_cpu_gemm), per batch item and group, on one ConvShape:
//   convolution:           out (og, P)   = W (og, K) · cols (K, P)        cols = im2col(image)
//   transposed:            cols (K, P)   = Wᵀ (K, og) · x (og, P)         image = col2im(cols)
//   weight gradient:       gW (og, K)   += gy (og, P) · colsᵀ (P, K)      summed over the batch
// with K = C/groups · kh · kw and P = oh · ow. A 1x1 stride-1 unpadded convolution skips im2col: the image
// is its own column matrix. When P is small (deep, low-resolution layers) the batch items are laid side by
// side instead, one GEMM of N · P columns per group, so the GEMM is not too narrow to run well.
// Naive direct twins below are the references the tests compare against.

/// Runs body(task, scratch) for every task in 0..<tasks. Large problems go one after another, each GEMM
/// using every thread; many small ones are spread over the threads, one scratch buffer per thread.
/// `work` is one task's multiply-adds; `scratch` the floats one task needs.
func forEachConvTask(_ tasks: Int, scratch: Int, work: Int, _ body: (Int, UnsafeMutablePointer<Float>) -> Void) {
    let threads = Parallel.active ? 1 : Swift.min(Parallel.threadCount, tasks)
    if threads > 1 && tasks >= 2 * threads && work < 1 << 22 {
        let ws = Storage(count: threads * Swift.max(scratch, 1))
        withExtendedLifetime(ws) {
            let base = ws.base
            parallelFor(threads) { t in
                for task in tasks * t / threads ..< tasks * (t + 1) / threads { body(task, base + t * scratch) }
            }
        }
    } else {
        let ws = Storage(count: Swift.max(scratch, 1))
        withExtendedLifetime(ws) {
            for task in 0..<tasks { body(task, ws.base) }
        }
    }
}

/// Whether to put the batch items side by side (one GEMM of N · P columns): each item's own GEMM would be
/// narrow, and the columns of all items fit in 16M floats.
func batchesColumns(_ s: ConvShape) -> Bool {
    s.n > 1 && s.positions < 1024 && s.kdim * s.n * s.positions <= 1 << 24
}

/// dst[r, b·p + j] = src[b, r0 + r, j]: the same rows of every item, items side by side.
// src: (N, channels, p) -> dst: (rows, N · p)
func gatherItems(_ src: UnsafePointer<Float>, n: Int, channels: Int, r0: Int, rows: Int, p: Int, _ dst: UnsafeMutablePointer<Float>) {
    parallelRanges(rows * n, grain: Swift.max(1, 16384 / p)) { range in
        for t in range {
            let r = t / n, b = t % n
            (dst + r * n * p + b * p).update(from: src + (b * channels + r0 + r) * p, count: p)
        }
    }
}

/// The inverse of gatherItems, adding bias[r]: dst[b, r0 + r, j] = src[r, b·p + j] + bias[r].
// src: (rows, N · p) -> dst: (N, channels, p)
func scatterItems(_ src: UnsafePointer<Float>, n: Int, channels: Int, r0: Int, rows: Int, p: Int,
                  _ bias: UnsafePointer<Float>?, _ dst: UnsafeMutablePointer<Float>) {
    parallelRanges(rows * n, grain: Swift.max(1, 16384 / p)) { range in
        for t in range {
            let r = t / n, b = t % n
            let d = dst + (b * channels + r0 + r) * p, sr = src + r * n * p + b * p
            if let bias {
                let v = bias[r]
                for j in 0..<p { d[j] = sr[j] + v }
            } else {
                d.update(from: sr, count: p)
            }
        }
    }
}

/// Writes bias[i] (or 0) over `rows` rows of `count` floats.
@inline(__always) func fillRows(_ dst: UnsafeMutablePointer<Float>, rows: Int, count: Int, _ bias: UnsafePointer<Float>?) {
    for r in 0..<rows { (dst + r * count).initialize(repeating: bias?[r] ?? 0, count: count) }
}

/// Convolution: out = conv(image, w) + bias.
// x: (N, C, ih, iw), w: (O, C/groups, kh, kw), bias: (O) -> out: (N, O, oh, ow), all dense
func convForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                 _ s: ConvShape, _ out: UnsafeMutablePointer<Float>) {
    let k = s.kdim, p = s.positions, pointwise = s.isPointwise
    if batchesColumns(s) {
        let np = s.n * p, ws = Storage(count: (k + s.og) * np)
        withExtendedLifetime(ws) {
            let cols = ws.base, tmp = ws.base + k * np
            for g in 0..<s.groups {
                for b in 0..<s.n { im2col(x + (b * s.c + g * s.cg) * s.imagePlane, channels: s.cg, s, cols + b * p, ld: np) }
                gemm(m: s.og, n: np, k: k, MatrixRef(w + g * s.og * k, rs: k, cs: 1), MatrixRef(cols, rs: np, cs: 1), tmp, ldc: np)
                scatterItems(tmp, n: s.n, channels: s.o, r0: g * s.og, rows: s.og, p: p, bias.map { $0 + g * s.og }, out)
            }
        }
        return
    }
    // Implicit GEMM: the column panels are packed straight from the image (im2colPanel), so no column
    // matrix is written and read back. The output positions go in chunks of `columns`, each one GEMM whose
    // packed panels (kc x columns) stay in a core's L2 and whose output block stays in cache across the K
    // blocks; with enough chunks each thread runs whole chunks (no synchronisation inside a GEMM). Without
    // chunks a 128-channel 512x512 layer would pack 256 MB of panels per K block and stream them from memory.
    let columns = convColumnChunk(k: k, p: p)
    let chunks = (p + columns - 1) / columns
    let tasks = s.n * s.groups * chunks
    let threads = Parallel.active ? 1 : Swift.min(Parallel.threadCount, tasks)
    let run: (Int) -> Void = { task in
        let bg = task / chunks, j0 = (task % chunks) * columns, nc = Swift.min(columns, p - j0)
        let b = bg / s.groups, g = bg % s.groups
        let img = x + (b * s.c + g * s.cg) * s.imagePlane
        let dst = out + (b * s.o + g * s.og) * p + j0
        if let bias { for r in 0..<s.og { (dst + r * p).initialize(repeating: bias[g * s.og + r], count: nc) } }
        let wg = MatrixRef(w + g * s.og * k, rs: k, cs: 1)
        if pointwise {
            gemm(m: s.og, n: nc, k: k, wg, MatrixRef(img + j0, rs: p, cs: 1), dst, ldc: p, accumulate: bias != nil)
        } else {
            gemm(m: s.og, n: nc, k: k, wg, dst, ldc: p, accumulate: bias != nil) { k0, kc, jj, count, panels in
                for q in 0..<count { im2colPanel(img, s, k0: k0, kc: kc, j0: j0 + jj + q * gemmNR, panels + q * kc * gemmNR) }
            }
        }
    }
    if threads > 1 && tasks >= 4 * threads { parallelFor(tasks, run) } else { for t in 0..<tasks { run(t) } }
}

/// Output positions per implicit-GEMM chunk: packed panels of about 512 KB (half a typical L2) at the
/// GEMM's K block, a multiple of the panel width, at least 8 panels.
func convColumnChunk(k: Int, p: Int) -> Int {
    let perColumn = Swift.min(k, gemmKC)
    let fit = (1 << 17) / perColumn / gemmNR * gemmNR
    return Swift.min(Swift.max(fit, 8 * gemmNR), Swift.max(p, gemmNR))
}

/// Transposed convolution (the adjoint of convForward in the image): image = convᵀ(x, w) + bias.
// x: (N, O, oh, ow), w: (O, C/groups, kh, kw), bias: (C) -> image: (N, C, ih, iw), all dense
func convTransposeForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                          _ s: ConvShape, _ image: UnsafeMutablePointer<Float>) {
    let k = s.kdim, p = s.positions, pointwise = s.isPointwise
    if batchesColumns(s) {
        let np = s.n * p, ws = Storage(count: (k + s.og) * np)
        withExtendedLifetime(ws) {
            let cols = ws.base, xg = ws.base + k * np
            for g in 0..<s.groups {
                gatherItems(x, n: s.n, channels: s.o, r0: g * s.og, rows: s.og, p: p, xg)
                gemm(m: k, n: np, k: s.og, MatrixRef(w + g * s.og * k, rs: 1, cs: k), MatrixRef(xg, rs: np, cs: 1), cols, ldc: np)
                for b in 0..<s.n {
                    let dst = image + (b * s.c + g * s.cg) * s.imagePlane
                    fillRows(dst, rows: s.cg, count: s.imagePlane, bias.map { $0 + g * s.cg })
                    col2im(cols + b * p, channels: s.cg, s, dst, ld: np)
                }
            }
        }
        return
    }
    // The column matrix is made a band of input rows at a time (at most transposedColumnBudget floats), so a
    // large transposed convolution (EG3D's 256² → 512² up-convolution: 1152 × 65536 columns) needs tens of MB
    // of scratch instead of hundreds. Each band's col2im adds into the image; the bands cover every row once.
    let bandRows = Swift.max(1, Swift.min(s.oh, transposedColumnBudget / Swift.max(k * s.ow, 1)))
    forEachConvTask(s.n * s.groups, scratch: pointwise ? 0 : k * bandRows * s.ow, work: s.og * k * p) { task, cols in
        let b = task / s.groups, g = task % s.groups
        let src = x + (b * s.o + g * s.og) * p
        let dst = image + (b * s.c + g * s.cg) * s.imagePlane
        fillRows(dst, rows: s.cg, count: s.imagePlane, bias.map { $0 + g * s.cg })
        let wt = MatrixRef(w + g * s.og * k, rs: 1, cs: k)   // Wᵀ: (K, og)
        if pointwise {
            gemm(m: k, n: p, k: s.og, wt, MatrixRef(src, rs: p, cs: 1), dst, ldc: p, accumulate: true)
        } else {
            for y0 in stride(from: 0, to: s.oh, by: bandRows) {
                let rows = Swift.min(bandRows, s.oh - y0), bp = rows * s.ow
                // Input rows y0 ..< y0 + rows as a convolution of their own: shift the padding by y0 strides.
                let band = ConvShape(n: s.n, c: s.c, o: s.o, groups: s.groups, ih: s.ih, iw: s.iw, oh: rows, ow: s.ow,
                                     kh: s.kh, kw: s.kw, sh: s.sh, sw: s.sw, ph: s.ph - y0 * s.sh, pw: s.pw, dh: s.dh, dw: s.dw)
                gemm(m: k, n: bp, k: s.og, wt, MatrixRef(src + y0 * s.ow, rs: p, cs: 1), cols, ldc: bp)
                col2im(cols, channels: s.cg, band, dst)
            }
        }
    }
}

/// The most floats of column matrix a transposed convolution makes at once (8M: 32 MB); tests lower it.
nonisolated(unsafe) var transposedColumnBudget = 1 << 23

/// Output channels per group up to which the weight gradient takes its dot products row against row (`gemmNT`:
/// gy and the im2col columns both run over positions, so the packed GEMM would transpose both); tests change it.
nonisolated(unsafe) var weightGradDotProductMaxChannels = 16

/// gw (og × k) (+)= gy (og × positions, rows lda apart) · cols (k × positions)ᵀ: dot products for narrow layers,
/// else the packed GEMM.
func weightGradProduct(_ s: ConvShape, k: Int, positions: Int, _ gy: UnsafePointer<Float>, _ cols: UnsafePointer<Float>,
                       _ gw: UnsafeMutablePointer<Float>, accumulate: Bool) {
    if s.og <= weightGradDotProductMaxChannels {
        gemmNT(m: s.og, n: k, k: positions, gy, lda: positions, cols, ldb: positions, gw, ldc: k, accumulate: accumulate)
    } else {
        gemm(m: s.og, n: k, k: positions, MatrixRef(gy, rs: positions, cs: 1), MatrixRef(cols, rs: 1, cs: positions), gw, ldc: k,
             accumulate: accumulate)
    }
}

/// Weight gradient: gw = Σ over the batch of gy · im2col(image)ᵀ.
// x: (N, C, ih, iw), gy: (N, O, oh, ow) -> gw: (O, C/groups, kh, kw), all dense
func convWeightGrad(_ x: UnsafePointer<Float>, _ gy: UnsafePointer<Float>, _ s: ConvShape, _ gw: UnsafeMutablePointer<Float>) {
    let k = s.kdim, p = s.positions, pointwise = s.isPointwise
    if s.n == 0 { gw.initialize(repeating: 0, count: s.o * k); return }
    if batchesColumns(s) {
        let np = s.n * p, ws = Storage(count: (k + s.og) * np)
        withExtendedLifetime(ws) {
            let cols = ws.base, gyg = ws.base + k * np
            for g in 0..<s.groups {
                gatherItems(gy, n: s.n, channels: s.o, r0: g * s.og, rows: s.og, p: p, gyg)
                for b in 0..<s.n { im2col(x + (b * s.c + g * s.cg) * s.imagePlane, channels: s.cg, s, cols + b * p, ld: np) }
                weightGradProduct(s, k: k, positions: np, gyg, cols, gw + g * s.og * k, accumulate: false)
            }
        }
        return
    }
    forEachConvTask(s.groups, scratch: pointwise ? 0 : k * p, work: s.og * k * p * s.n) { g, cols in
        for b in 0..<s.n {
            let img = x + (b * s.c + g * s.cg) * s.imagePlane
            if !pointwise { im2col(img, channels: s.cg, s, cols) }
            weightGradProduct(s, k: k, positions: p, gy + (b * s.o + g * s.og) * p, pointwise ? img : UnsafePointer(cols),
                              gw + g * s.og * k, accumulate: b > 0)
        }
    }
}

// MARK: - Naive references (direct loops, Float64 sums)

/// Calls body(column-side index, image index, weight index) for every tap that lands inside the image.
func forEachConvTap(_ s: ConvShape, _ body: (Int, Int, Int) -> Void) {
    for b in 0..<s.n { for g in 0..<s.groups { for oc in 0..<s.og { for c in 0..<s.cg {
        for ky in 0..<s.kh { for kx in 0..<s.kw { for oy in 0..<s.oh { for ox in 0..<s.ow {
            let iy = oy * s.sh - s.ph + ky * s.dh, ix = ox * s.sw - s.pw + kx * s.dw
            if iy < 0 || iy >= s.ih || ix < 0 || ix >= s.iw { continue }
            let o = g * s.og + oc, ci = g * s.cg + c
            body(((b * s.o + o) * s.oh + oy) * s.ow + ox, ((b * s.c + ci) * s.ih + iy) * s.iw + ix,
                 ((o * s.cg + c) * s.kh + ky) * s.kw + kx)
        } } } }
    } } } }
}

/// Naive convolution.
func convForwardReference(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                          _ s: ConvShape, _ out: UnsafeMutablePointer<Float>) {
    var acc = [Double](repeating: 0, count: s.n * s.o * s.positions)
    forEachConvTap(s) { o, i, k in acc[o] += Double(x[i]) * Double(w[k]) }
    for (i, v) in acc.enumerated() { out[i] = Float(v + Double(bias?[(i / s.positions) % s.o] ?? 0)) }
}

/// Naive transposed convolution.
func convTransposeReference(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                            _ s: ConvShape, _ image: UnsafeMutablePointer<Float>) {
    var acc = [Double](repeating: 0, count: s.n * s.c * s.imagePlane)
    forEachConvTap(s) { o, i, k in acc[i] += Double(x[o]) * Double(w[k]) }
    for (i, v) in acc.enumerated() { image[i] = Float(v + Double(bias?[(i / s.imagePlane) % s.c] ?? 0)) }
}

/// Naive weight gradient.
func convWeightGradReference(_ x: UnsafePointer<Float>, _ gy: UnsafePointer<Float>, _ s: ConvShape, _ gw: UnsafeMutablePointer<Float>) {
    var acc = [Double](repeating: 0, count: s.o * s.kdim)
    forEachConvTap(s) { o, i, k in acc[k] += Double(gy[o]) * Double(x[i]) }
    for (i, v) in acc.enumerated() { gw[i] = Float(v) }
}
