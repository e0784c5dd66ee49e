// Bilinear grid sampling with zero padding (torch.nn.functional.grid_sample, mode='bilinear',
// padding_mode='zeros'), following aten/src/ATen/native/cpu/GridSamplerKernel.cpp: unnormalize
// ((g + 1) · (size - 1) / 2 with align_corners, else (g + 1) · size / 2 - 0.5), floor, distances
// w = x - x0, n = y - y0, e = 1 - w, s = 1 - n, weights nw = s·e, ne = s·w, sw = n·e, se = n·w.
// The fast kernels work channels-last, (N, H, W, C), so each sample reads four contiguous C-vectors
// (EG3D's tri-plane sampler: C = 32, hundreds of thousands of samples per plane).

/// The four neighbours of one sample: pixel indices y * W + x (-1 when outside) and weights (0 when outside).
struct BilinearPoint {
    var pix = SIMD4<Int>(repeating: -1)   // nw, ne, sw, se
    var wt = SIMD4<Float>(repeating: 0)
    var fx: Float = 0, fy: Float = 0      // w = x - x0 and n = y - y0 (for the grid gradient)

    /// scale/shift unnormalize: ix = (gx + 1) * scaleX - shift.
    @inline(__always) init(gx: Float, gy: Float, h: Int, w: Int, scaleX: Float, scaleY: Float, shift: Float) {
        let ix = (gx + 1) * scaleX - shift, iy = (gy + 1) * scaleY - shift
        let x0f = ix.rounded(.down), y0f = iy.rounded(.down)
        // Far outside (or NaN): every neighbour is padding. Also keeps Int() conversions in range.
        guard x0f >= -1 && x0f < Float(w) && y0f >= -1 && y0f < Float(h) else { return }
        let x0 = Int(x0f), y0 = Int(y0f)
        let fw = ix - x0f, fn = iy - y0f, fe = 1 - fw, fs = 1 - fn
        fx = fw; fy = fn
        let xs = (x0, x0 + 1, x0, x0 + 1), ys = (y0, y0, y0 + 1, y0 + 1)
        let ws = (fs * fe, fs * fw, fn * fe, fn * fw)
        if xs.0 >= 0 && ys.0 >= 0 { pix[0] = ys.0 * w + xs.0; wt[0] = ws.0 }
        if xs.1 < w && ys.1 >= 0 { pix[1] = ys.1 * w + xs.1; wt[1] = ws.1 }
        if xs.2 >= 0 && ys.2 < h { pix[2] = ys.2 * w + xs.2; wt[2] = ws.2 }
        if xs.3 < w && ys.3 < h { pix[3] = ys.3 * w + xs.3; wt[3] = ws.3 }
    }
}

/// Unnormalize constants (scale, shift) for one axis of `size` pixels.
@inline(__always) func gridScale(_ size: Int, alignCorners: Bool) -> (Float, Float) {
    alignCorners ? (Float(size - 1) / 2, 0) : (Float(size) / 2, 0.5)
}

/// x (N, H, W, C) dense, grid (N, P, 2) dense -> out (N, P, C). Parallel over the N·P samples.
func gridSampleForward(_ x: UnsafePointer<Float>, n: Int, h: Int, w: Int, c: Int,
                       _ grid: UnsafePointer<Float>, points: Int, alignCorners: Bool, _ out: UnsafeMutablePointer<Float>) {
    let (sx, shift) = gridScale(w, alignCorners: alignCorners), (sy, _) = gridScale(h, alignCorners: alignCorners)
    parallelRanges(n * points, grain: Swift.max(1, 8192 / Swift.max(c, 1))) { range in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: c) { zbuf in
            let zero = UnsafePointer(zbuf.baseAddress!)
            zbuf.baseAddress!.initialize(repeating: 0, count: c)
            for p in range {
                let b = BilinearPoint(gx: grid[2 * p], gy: grid[2 * p + 1], h: h, w: w, scaleX: sx, scaleY: sy, shift: shift)
                let xb = x + (p / points) * h * w * c, o = out + p * c
                // Padding neighbours read a zero row, so the channel loop has no branches.
                let p0 = b.pix[0] >= 0 ? xb + b.pix[0] * c : zero, p1 = b.pix[1] >= 0 ? xb + b.pix[1] * c : zero
                let p2 = b.pix[2] >= 0 ? xb + b.pix[2] * c : zero, p3 = b.pix[3] >= 0 ? xb + b.pix[3] * c : zero
                let w0 = b.wt[0], w1 = b.wt[1], w2 = b.wt[2], w3 = b.wt[3]
                var i = 0
                while i + vWidth <= c {
                    var acc = vload(p0 + i) * w0
                    acc = acc.addingProduct(vload(p1 + i), V(repeating: w1))
                    acc = acc.addingProduct(vload(p2 + i), V(repeating: w2))
                    acc = acc.addingProduct(vload(p3 + i), V(repeating: w3))
                    vstore(acc, o + i)
                    i += vWidth
                }
                while i < c {
                    var acc = p0[i] * w0
                    acc = acc.addingProduct(p1[i], w1)
                    acc = acc.addingProduct(p2[i], w2)
                    acc = acc.addingProduct(p3[i], w3)
                    o[i] = acc
                    i += 1
                }
            }
        }
    }
}

/// Backward of `gridSampleForward`. g (N, P, C) dense. dx (N, H, W, C) is overwritten when given;
/// dgrid (N, P, 2) is overwritten when given. Samples of one image scatter into shared pixels, so each
/// task owns a private dx slab (one per image when there are enough images) summed at the end.
func gridSampleBackward(_ x: UnsafePointer<Float>, n: Int, h: Int, w: Int, c: Int,
                        _ grid: UnsafePointer<Float>, points: Int, alignCorners: Bool, _ g: UnsafePointer<Float>,
                        dx: UnsafeMutablePointer<Float>?, dgrid: UnsafeMutablePointer<Float>?) {
    let (sx, shift) = gridScale(w, alignCorners: alignCorners), (sy, _) = gridScale(h, alignCorners: alignCorners)
    let threads = Parallel.active ? 1 : Parallel.threadCount
    let slab = h * w * c
    // Split each image's samples into `parts` partial sums when there are few images. The split (and so the
    // order of every sum into dx) depends only on the shapes, never on the thread count, so results are the same
    // on any number of threads (training resumes and runs bit for bit anywhere).
    let parts = dx == nil || n >= 8 ? 1 : Swift.max(1, Swift.min((8 + n - 1) / n, points / 1024))
    let extra = parts > 1 ? UnsafeMutablePointer<Float>.allocate(capacity: n * (parts - 1) * slab) : nil
    defer { extra?.deallocate() }
    if let dx { dx.initialize(repeating: 0, count: n * slab) }
    extra?.initialize(repeating: 0, count: n * (parts - 1) * slab)
    // Without dx there is nothing shared: split freely.
    let tasksPerImage = dx == nil ? Swift.max(1, Swift.min(points / 2048, 4 * threads)) : parts
    parallelFor(n * tasksPerImage) { task in
        let img = task / tasksPerImage, part = task % tasksPerImage
        let lo = points * part / tasksPerImage, hi = points * (part + 1) / tasksPerImage
        let xb = x + img * slab
        let db: UnsafeMutablePointer<Float>? = dx.map { part == 0 ? $0 + img * slab : extra! + (img * (parts - 1) + part - 1) * slab }
        for q in lo..<hi {
            let p = img * points + q
            let b = BilinearPoint(gx: grid[2 * p], gy: grid[2 * p + 1], h: h, w: w, scaleX: sx, scaleY: sy, shift: shift)
            let gp = g + p * c
            if let db {
                for k in 0..<4 where b.pix[k] >= 0 {
                    let d = db + b.pix[k] * c, wk = b.wt[k], vw = V(repeating: wk)
                    var i = 0
                    while i + vWidth <= c { vstore(vload(d + i).addingProduct(vload(gp + i), vw), d + i); i += vWidth }
                    while i < c { d[i] = d[i].addingProduct(gp[i], wk); i += 1 }
                }
            }
            if let dgrid {
                var dots = SIMD4<Float>(repeating: 0)
                for k in 0..<4 where b.pix[k] >= 0 { dots[k] = dotRow(gp, xb + b.pix[k] * c, c) }
                let fw = b.fx, fn = b.fy, fe = 1 - fw, fs = 1 - fn
                let gx = (dots[1] - dots[0]) * fs + (dots[3] - dots[2]) * fn
                let gy = (dots[2] - dots[0]) * fe + (dots[3] - dots[1]) * fw
                dgrid[2 * p] = gx * sx
                dgrid[2 * p + 1] = gy * sy
            }
        }
    }
    if let dx, let extra {
        parallelRanges(slab, grain: 16384) { r in
            for img in 0..<n {
                let d = dx + img * slab
                for part in 1..<parts {
                    let e = UnsafePointer(extra + (img * (parts - 1) + part - 1) * slab)
                    var i = r.lowerBound
                    while i + vWidth <= r.upperBound { vstore(vload(d + i) + vload(e + i), d + i); i += vWidth }
                    while i < r.upperBound { d[i] += e[i]; i += 1 }
                }
            }
        }
    }
}

/// Dot product of n floats (two SIMD accumulators, scalar tail).
@inline(__always) func dotRow(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var a0 = V(), a1 = V()
    var i = 0
    while i + 2 * vWidth <= n {
        a0 = a0.addingProduct(vload(a + i), vload(b + i))
        a1 = a1.addingProduct(vload(a + i + vWidth), vload(b + i + vWidth))
        i += 2 * vWidth
    }
    while i + vWidth <= n { a0 = a0.addingProduct(vload(a + i), vload(b + i)); i += vWidth }
    var s = (a0 + a1).sum()
    while i < n { s += a[i] * b[i]; i += 1 }
    return s
}

/// Naive reference, NCHW: x (N, C, H, W), grid (N, Ho, Wo, 2) -> out (N, C, Ho, Wo), and the backward
/// (dx, dgrid) for cotangent g (N, C, Ho, Wo), straight from PyTorch's scalar formulas in Float64.
func gridSampleReference(_ x: [Float], _ shape: [Int], _ grid: [Float], ho: Int, wo: Int, alignCorners: Bool,
                         g: [Float]) -> (out: [Float], dx: [Float], dgrid: [Float]) {
    let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
    var out = [Float](repeating: 0, count: n * c * ho * wo), dx = [Double](repeating: 0, count: x.count)
    var dgrid = [Float](repeating: 0, count: grid.count)
    func unnorm(_ v: Double, _ size: Int) -> Double {
        alignCorners ? (v + 1) / 2 * Double(size - 1) : ((v + 1) * Double(size) - 1) / 2
    }
    for b in 0..<n {
        for p in 0..<(ho * wo) {
            let gi = (b * ho * wo + p) * 2
            let ix = unnorm(Double(grid[gi]), w), iy = unnorm(Double(grid[gi + 1]), h)
            let x0 = Int(ix.rounded(.down)), y0 = Int(iy.rounded(.down))
            let fw = ix - Double(x0), fn = iy - Double(y0)
            let corners = [(x0, y0, (1 - fw) * (1 - fn)), (x0 + 1, y0, fw * (1 - fn)), (x0, y0 + 1, (1 - fw) * fn), (x0 + 1, y0 + 1, fw * fn)]
            // d(weight)/d(ix), d(weight)/d(iy) per corner.
            let dwx = [-(1 - fn), 1 - fn, -fn, fn], dwy = [-(1 - fw), -fw, 1 - fw, fw]
            var gix = 0.0, giy = 0.0
            for ch in 0..<c {
                var acc = 0.0
                let go = Double(g[((b * c + ch) * ho * wo) + p])
                for (k, (cx, cy, wk)) in corners.enumerated() where cx >= 0 && cx < w && cy >= 0 && cy < h {
                    let xi = ((b * c + ch) * h + cy) * w + cx
                    acc += wk * Double(x[xi])
                    dx[xi] += wk * go
                    gix += dwx[k] * Double(x[xi]) * go
                    giy += dwy[k] * Double(x[xi]) * go
                }
                out[((b * c + ch) * ho * wo) + p] = Float(acc)
            }
            dgrid[gi] = Float(gix * (alignCorners ? Double(w - 1) / 2 : Double(w) / 2))
            dgrid[gi + 1] = Float(giy * (alignCorners ? Double(h - 1) / 2 : Double(h) / 2))
        }
    }
    return (out, dx.map { Float($0) }, dgrid)
}
