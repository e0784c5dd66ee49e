// Separable linear resampling of image planes: out = Wh · x · Wwᵀ, with one sparse filter matrix per axis
// (PyTorch's UpSampleKernel.cpp computes each mode as such per-axis index/weight tables). One kernel serves
// nearest, bilinear and antialiased bilinear, and their adjoints (the transposed filters).

/// A sparse (outSize × inSize) matrix along one axis: output o reads `count[o]` consecutive inputs from
/// `start[o]` with weights `weights[o * taps ..< o * taps + count[o]]`.
struct AxisFilter: Sendable {
    let inSize: Int, outSize: Int, taps: Int
    let start: [Int], count: [Int], weights: [Float]

    /// Output o copies input o.
    var isIdentity: Bool {
        inSize == outSize && (0..<outSize).allSatisfy { start[$0] == $0 && count[$0] == 1 && weights[$0 * taps] == 1 }
    }

    /// Builds a filter from (start, weights) per output. Zero weights are kept (they fix the read range).
    init(inSize: Int, rows: [(Int, [Float])]) {
        self.inSize = inSize
        outSize = rows.count
        let t = Swift.max(1, rows.map { $0.1.count }.max() ?? 1)
        taps = t
        var w = [Float](repeating: 0, count: rows.count * t)
        for (o, r) in rows.enumerated() {
            require(r.1.isEmpty || (r.0 >= 0 && r.0 + r.1.count <= inSize), "AxisFilter: taps \(r.0)..<\(r.0 + r.1.count) outside 0..<\(inSize)")
            for (k, v) in r.1.enumerated() { w[o * t + k] = v }
        }
        start = rows.map { $0.0 }
        count = rows.map { $0.1.count }
        weights = w
    }

    /// The adjoint (inSize × outSize): input i gathers from every output that reads it.
    func transposed() -> AxisFilter {
        var lo = [Int](repeating: Int.max, count: inSize), hi = [Int](repeating: -1, count: inSize)
        for o in 0..<outSize {
            for k in 0..<count[o] { let i = start[o] + k; lo[i] = Swift.min(lo[i], o); hi[i] = Swift.max(hi[i], o) }
        }
        var rows: [(Int, [Float])] = []
        rows.reserveCapacity(inSize)
        for i in 0..<inSize {
            if hi[i] < 0 { rows.append((0, [])); continue }
            var w = [Float](repeating: 0, count: hi[i] - lo[i] + 1)
            for o in lo[i]...hi[i] {
                let k = i - start[o]
                if k >= 0 && k < count[o] { w[o - lo[i]] += weights[o * taps + k] }
            }
            rows.append((lo[i], w))
        }
        return AxisFilter(inSize: outSize, rows: rows)
    }
}

/// src (planes, fh.inSize, fw.inSize) dense -> dst (planes, fh.outSize, fw.outSize) dense.
/// Runs the two 1-D passes in the cheaper order, skipping identity axes; parallel over rows.
func resamplePlanes(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, planes: Int,
                    _ fh: AxisFilter, _ fw: AxisFilter) {
    let h = fh.inSize, w = fw.inSize, ho = fh.outSize, wo = fw.outSize
    let idH = fh.isIdentity, idW = fw.isIdentity
    if idH && idW { dst.update(from: src, count: planes * h * w); return }
    if idW { verticalPass(src, dst, planes: planes, fh, rowLength: w); return }
    if idH { horizontalPass(src, dst, rows: planes * h, fw); return }
    // Cost in multiply-adds of each order (W first: H·Wo·tw + Ho·Wo·th; H first: Ho·W·th + Ho·Wo·tw).
    let wFirst = h * wo * fw.taps + ho * wo * fh.taps <= ho * w * fh.taps + ho * wo * fw.taps
    if wFirst {
        let tmp = UnsafeMutablePointer<Float>.allocate(capacity: planes * h * wo)
        defer { tmp.deallocate() }
        horizontalPass(src, tmp, rows: planes * h, fw)
        verticalPass(tmp, dst, planes: planes, fh, rowLength: wo)
    } else {
        let tmp = UnsafeMutablePointer<Float>.allocate(capacity: planes * ho * w)
        defer { tmp.deallocate() }
        verticalPass(src, tmp, planes: planes, fh, rowLength: w)
        horizontalPass(tmp, dst, rows: planes * ho, fw)
    }
}

/// Along the last axis: src (rows, fw.inSize) -> dst (rows, fw.outSize).
func horizontalPass(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, rows: Int, _ fw: AxisFilter) {
    let w = fw.inSize, wo = fw.outSize, taps = fw.taps
    fw.start.withUnsafeBufferPointer { st in
        fw.count.withUnsafeBufferPointer { ct in
            fw.weights.withUnsafeBufferPointer { wt in
                let st = st.baseAddress!, ct = ct.baseAddress!, wt = wt.baseAddress!
                parallelRanges(rows, grain: Swift.max(1, 32768 / Swift.max(wo * taps, 1))) { range in
                    for r in range {
                        let s = src + r * w, d = dst + r * wo
                        for o in 0..<wo {
                            let p = s + st[o], q = wt + o * taps
                            var acc: Float = 0
                            for k in 0..<ct[o] { acc = acc.addingProduct(q[k], p[k]) }
                            d[o] = acc
                        }
                    }
                }
            }
        }
    }
}

/// Along the second-to-last axis: src (planes, fh.inSize, L) -> dst (planes, fh.outSize, L), SIMD along L.
func verticalPass(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, planes: Int,
                  _ fh: AxisFilter, rowLength l: Int) {
    let h = fh.inSize, ho = fh.outSize, taps = fh.taps
    fh.start.withUnsafeBufferPointer { st in
        fh.count.withUnsafeBufferPointer { ct in
            fh.weights.withUnsafeBufferPointer { wt in
                let st = st.baseAddress!, ct = ct.baseAddress!, wt = wt.baseAddress!
                parallelRanges(planes * ho, grain: Swift.max(1, 32768 / Swift.max(l * taps, 1))) { range in
                    for r in range {
                        let plane = r / ho, o = r % ho
                        let s = src + plane * h * l + st[o] * l, d = dst + r * l, q = wt + o * taps, n = ct[o]
                        if n == 0 { d.initialize(repeating: 0, count: l); continue }
                        var i = 0
                        while i + vWidth <= l {
                            var acc = vload(s + i) * q[0]
                            for k in 1..<Swift.max(n, 1) { acc = acc.addingProduct(V(repeating: q[k]), vload(s + k * l + i)) }
                            vstore(acc, d + i)
                            i += vWidth
                        }
                        while i < l {
                            var acc = s[i] * q[0]
                            for k in 1..<Swift.max(n, 1) { acc = acc.addingProduct(q[k], s[k * l + i]) }
                            d[i] = acc
                            i += 1
                        }
                    }
                }
            }
        }
    }
}

/// Naive reference for `resamplePlanes`: each output is the double sum over both filters' taps (Float64).
func resamplePlanesReference(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, planes: Int,
                             _ fh: AxisFilter, _ fw: AxisFilter) {
    let h = fh.inSize, w = fw.inSize, ho = fh.outSize, wo = fw.outSize
    for p in 0..<planes {
        for oy in 0..<ho {
            for ox in 0..<wo {
                var acc = 0.0
                for ky in 0..<fh.count[oy] {
                    for kx in 0..<fw.count[ox] {
                        let v = src[p * h * w + (fh.start[oy] + ky) * w + fw.start[ox] + kx]
                        acc += Double(fh.weights[oy * fh.taps + ky]) * Double(fw.weights[ox * fw.taps + kx]) * Double(v)
                    }
                }
                dst[(p * ho + oy) * wo + ox] = Float(acc)
            }
        }
    }
}
