// The three GEMM-based convolution kernels (Caffe's BaseConvolutionLayer: forward_cpu_gemm,
// backward_cpu_gemm, weight_cpu_gemm), per batch item and group, on one ConvShape:
//   convolution:           out (og, P)   = W (og, K) · cols (K, P)        cols = im2col(image)
//   transposed:            cols (K, P)   = Wᵀ (K, og) · x (og, P)         image = col2im(cols)
//   weight gradient:       gW (og, K)   += gy (og, P) · colsᵀ (P, K)      summed over the batch
// with K = C/groups · kh · kw and P = oh · ow. A 1x1 stride-1 unpadded convolution skips im2col: the image
// is its own column matrix. Naive direct twins below are the references the tests compare against.

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

/// Writes bias[i] (or 0) over `rows` rows of `count` floats.
@inline(__always) func fillRows(_ dst: UnsafeMutablePointer<Float>, rows: Int, count: Int, _ bias: UnsafePointer<Float>?) {
    for r in 0..<rows { (dst + r * count).initialize(repeating: bias?[r] ?? 0, count: count) }
}

/// Convolution: out = conv(image, w) + bias.
// x: (N, C, ih, iw), w: (O, C/groups, kh, kw), bias: (O) -> out: (N, O, oh, ow), all dense
func convForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                 _ s: ConvShape, _ out: UnsafeMutablePointer<Float>) {
    let k = s.kdim, p = s.positions, pointwise = s.isPointwise
    forEachConvTask(s.n * s.groups, scratch: pointwise ? 0 : k * p, work: s.og * k * p) { task, cols in
        let b = task / s.groups, g = task % s.groups
        let img = x + (b * s.c + g * s.cg) * s.imagePlane
        let dst = out + (b * s.o + g * s.og) * p
        if let bias { fillRows(dst, rows: s.og, count: p, bias + g * s.og) }
        if !pointwise { im2col(img, channels: s.cg, s, cols) }
        gemm(m: s.og, n: p, k: k, MatrixRef(w + g * s.og * k, rs: k, cs: 1),
             MatrixRef(pointwise ? img : UnsafePointer(cols), rs: p, cs: 1), dst, ldc: p, accumulate: bias != nil)
    }
}

/// Transposed convolution (the adjoint of convForward in the image): image = convᵀ(x, w) + bias.
// x: (N, O, oh, ow), w: (O, C/groups, kh, kw), bias: (C) -> image: (N, C, ih, iw), all dense
func convTransposeForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                          _ s: ConvShape, _ image: UnsafeMutablePointer<Float>) {
    let k = s.kdim, p = s.positions, pointwise = s.isPointwise
    forEachConvTask(s.n * s.groups, scratch: pointwise ? 0 : k * p, work: s.og * k * p) { task, cols in
        let b = task / s.groups, g = task % s.groups
        let src = x + (b * s.o + g * s.og) * p
        let dst = image + (b * s.c + g * s.cg) * s.imagePlane
        fillRows(dst, rows: s.cg, count: s.imagePlane, bias.map { $0 + g * s.cg })
        let wt = MatrixRef(w + g * s.og * k, rs: 1, cs: k)   // Wᵀ: (K, og)
        if pointwise {
            gemm(m: k, n: p, k: s.og, wt, MatrixRef(src, rs: p, cs: 1), dst, ldc: p, accumulate: true)
        } else {
            gemm(m: k, n: p, k: s.og, wt, MatrixRef(src, rs: p, cs: 1), cols, ldc: p)
            col2im(cols, channels: s.cg, s, dst)
        }
    }
}

/// Weight gradient: gw = Σ over the batch of gy · im2col(image)ᵀ.
// x: (N, C, ih, iw), gy: (N, O, oh, ow) -> gw: (O, C/groups, kh, kw), all dense
func convWeightGrad(_ x: UnsafePointer<Float>, _ gy: UnsafePointer<Float>, _ s: ConvShape, _ gw: UnsafeMutablePointer<Float>) {
    let k = s.kdim, p = s.positions, pointwise = s.isPointwise
    if s.n == 0 { gw.initialize(repeating: 0, count: s.o * k); return }
    forEachConvTask(s.groups, scratch: pointwise ? 0 : k * p, work: s.og * k * p * s.n) { g, cols in
        for b in 0..<s.n {
            let img = x + (b * s.c + g * s.cg) * s.imagePlane
            if !pointwise { im2col(img, channels: s.cg, s, cols) }
            gemm(m: s.og, n: k, k: p, MatrixRef(gy + (b * s.o + g * s.og) * p, rs: p, cs: 1),
                 MatrixRef(pointwise ? img : UnsafePointer(cols), rs: 1, cs: p), gw + g * s.og * k, ldc: k, accumulate: b > 0)
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
