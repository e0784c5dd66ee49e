// Fused normalisation kernels shared by layer norm and group norm (llm.c's layernorm_forward/backward pair,
// generalised to groups). Rows of length D = segments · S are normalised to zero mean and unit variance
// (biased variance, as PyTorch), then scaled and shifted per affine parameter: row r belongs to group
// r % G, and element j uses parameter (r % G) · segments + j / S. Layer norm: G = 1, S = 1 (one parameter per
// element). Group norm over (N, C, spatial): G groups, segments = C / G channels of S spatial elements.

struct NormLayout {
    let rows: Int, groups: Int, segments: Int, segmentLength: Int
    var rowLength: Int { segments * segmentLength }
    var parameters: Int { groups * segments }
}

/// Mean and 1/sqrt(var + eps) of one row: two passes, four SIMD accumulators each.
@inline(__always) func rowMoments(_ p: UnsafePointer<Float>, _ n: Int, eps: Float) -> (Float, Float) {
    let mean = sumRow(p, n) / Float(n)
    let vm = V(repeating: mean)
    var a0 = V(), a1 = V(), a2 = V(), a3 = V()
    var i = 0
    while i + 4 * vWidth <= n {
        let d0 = vload(p + i) - vm, d1 = vload(p + i + vWidth) - vm
        let d2 = vload(p + i + 2 * vWidth) - vm, d3 = vload(p + i + 3 * vWidth) - vm
        a0 = a0.addingProduct(d0, d0); a1 = a1.addingProduct(d1, d1)
        a2 = a2.addingProduct(d2, d2); a3 = a3.addingProduct(d3, d3)
        i += 4 * vWidth
    }
    while i + vWidth <= n { let d = vload(p + i) - vm; a0 = a0.addingProduct(d, d); i += vWidth }
    var s = ((a0 + a1) + (a2 + a3)).sum()
    while i < n { let d = p[i] - mean; s += d * d; i += 1 }
    return (mean, 1 / (s / Float(n) + eps).squareRoot())
}

/// x (rows, D) -> y (rows, D), mean (rows), rstd (rows). w, b: (parameters).
func normForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ l: NormLayout,
                 eps: Float, _ y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>) {
    let d = l.rowLength, s = l.segmentLength
    parallelRanges(l.rows, grain: Swift.max(1, 16384 / Swift.max(d, 1))) { range in
        for r in range {
            let xr = x + r * d, yr = y + r * d
            let (m, rs) = rowMoments(xr, d, eps: eps)
            mean[r] = m; rstd[r] = rs
            let pw = w + (r % l.groups) * l.segments, pb = b + (r % l.groups) * l.segments
            if s == 1 {
                // y = (x - m) · rs · w + b, parameters vary along the row.
                let vm = V(repeating: m), vr = V(repeating: rs)
                var i = 0
                while i + vWidth <= d {
                    let xh: V = (vload(xr + i) - vm) * vr
                    vstore(vload(pb + i).addingProduct(xh, vload(pw + i)), yr + i)
                    i += vWidth
                }
                while i < d { yr[i] = (xr[i] - m) * rs * pw[i] + pb[i]; i += 1 }
            } else {
                // Per segment: y = x · a + c with a = rs · w, c = b - m · a.
                for seg in 0..<l.segments {
                    let a = rs * pw[seg], c = pb[seg] - m * a
                    let va = V(repeating: a), vc = V(repeating: c)
                    let xs = xr + seg * s, ys = yr + seg * s
                    var i = 0
                    while i + vWidth <= s { vstore(vc.addingProduct(vload(xs + i), va), ys + i); i += vWidth }
                    while i < s { ys[i] = c.addingProduct(xs[i], a); i += 1 }
                }
            }
        }
    }
}

/// Backward of `normForward` for cotangent g (rows, D). Overwrites dx (rows, D), dw and db (parameters)
/// when given. With xh = (x - mean) · rstd and dxh = g · w:
///   dx = rstd · (dxh - mean(dxh) - xh · mean(dxh · xh)),  dw = Σ g · xh,  db = Σ g  (over rows and segments).
/// Rows are split into chunks, each with private dw/db partial sums added up at the end.
func normBackward(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ l: NormLayout,
                  mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                  dx: UnsafeMutablePointer<Float>?, dw: UnsafeMutablePointer<Float>?, db: UnsafeMutablePointer<Float>?) {
    let d = l.rowLength, s = l.segmentLength, np = l.parameters
    let threads = Parallel.active ? 1 : Parallel.threadCount
    let wantParams = dw != nil || db != nil
    let chunks = Swift.max(1, Swift.min(l.rows, threads == 1 ? 1 : 4 * threads, Swift.max(1, l.rows * d / 8192)))
    // Partial sums per chunk: [dw (np) | db (np)].
    let partial = UnsafeMutablePointer<Float>.allocate(capacity: wantParams ? chunks * 2 * np : 1)
    defer { partial.deallocate() }
    if wantParams { partial.initialize(repeating: 0, count: chunks * 2 * np) }
    parallelFor(chunks) { chunk in
        let pdw = partial + chunk * 2 * np, pdb = pdw + np
        for r in (l.rows * chunk / chunks)..<(l.rows * (chunk + 1) / chunks) {
            let gr = g + r * d, xr = x + r * d, m = mean[r], rs = rstd[r]
            let p0 = (r % l.groups) * l.segments, pw = w + p0
            var s1: Float = 0, s2: Float = 0
            if s == 1 {
                let vm = V(repeating: m), vr = V(repeating: rs)
                var a1 = V(), a2 = V()
                var i = 0
                while i + vWidth <= d {
                    let gv = vload(gr + i), xh: V = (vload(xr + i) - vm) * vr, dxh: V = gv * vload(pw + i)
                    a1 += dxh
                    a2 = a2.addingProduct(dxh, xh)
                    if wantParams {
                        vstore(vload(pdw + p0 + i).addingProduct(gv, xh), pdw + p0 + i)
                        vstore(vload(pdb + p0 + i) + gv, pdb + p0 + i)
                    }
                    i += vWidth
                }
                s1 = a1.sum(); s2 = a2.sum()
                while i < d {
                    let xh = (xr[i] - m) * rs, dxh = gr[i] * pw[i]
                    s1 += dxh; s2 += dxh * xh
                    if wantParams { pdw[p0 + i] += gr[i] * xh; pdb[p0 + i] += gr[i] }
                    i += 1
                }
            } else {
                for seg in 0..<l.segments {
                    let gs = gr + seg * s, xs = xr + seg * s
                    let sg = sumRow(gs, s), sgx = dotRow(gs, xs, s)
                    let gxh = rs * (sgx - m * sg)          // Σ g · xh over the segment
                    s1 += pw[seg] * sg; s2 += pw[seg] * gxh
                    if wantParams { pdw[p0 + seg] += gxh; pdb[p0 + seg] += sg }
                }
            }
            guard let dx else { continue }
            let c1 = s1 / Float(d), c2 = s2 / Float(d), dr = dx + r * d
            if s == 1 {
                let vm = V(repeating: m), vr = V(repeating: rs), v1 = V(repeating: c1), v2 = V(repeating: c2)
                var i = 0
                while i + vWidth <= d {
                    let xh: V = (vload(xr + i) - vm) * vr
                    let t: V = vload(gr + i) * vload(pw + i) - v1 - xh * v2
                    vstore(t * vr, dr + i)
                    i += vWidth
                }
                while i < d { dr[i] = rs * (gr[i] * pw[i] - c1 - (xr[i] - m) * rs * c2); i += 1 }
            } else {
                // dx = g · (rs · w) + x · (-rs² · c2) + rs · (m · rs · c2 - c1), per segment.
                let bx = -rs * rs * c2, cc = rs * (m * rs * c2 - c1)
                for seg in 0..<l.segments {
                    let a = rs * pw[seg], gs = gr + seg * s, xs = xr + seg * s, ds = dr + seg * s
                    let va = V(repeating: a), vb = V(repeating: bx), vc = V(repeating: cc)
                    var i = 0
                    while i + vWidth <= s {
                        vstore(vc.addingProduct(vload(gs + i), va).addingProduct(vload(xs + i), vb), ds + i)
                        i += vWidth
                    }
                    while i < s { ds[i] = cc.addingProduct(gs[i], a).addingProduct(xs[i], bx); i += 1 }
                }
            }
        }
    }
    guard wantParams else { return }
    for p in 0..<np {
        var sw: Float = 0, sb: Float = 0
        for chunk in 0..<chunks { sw += partial[chunk * 2 * np + p]; sb += partial[chunk * 2 * np + np + p] }
        dw?[p] = sw; db?[p] = sb
    }
}

/// Naive reference for `normForward` and `normBackward` (Float64): returns y, dx, dw, db.
func normReference(_ x: [Float], _ w: [Float], _ b: [Float], _ l: NormLayout, eps: Float, g: [Float])
    -> (y: [Float], dx: [Float], dw: [Float], db: [Float]) {
    let d = l.rowLength
    var y = [Float](repeating: 0, count: x.count), dx = y
    var dw = [Double](repeating: 0, count: l.parameters), db = dw
    for r in 0..<l.rows {
        let row = (0..<d).map { Double(x[r * d + $0]) }
        let m = row.reduce(0, +) / Double(d)
        let v = row.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(d)
        let rs = 1 / (v + Double(eps)).squareRoot()
        let pidx = (0..<d).map { (r % l.groups) * l.segments + $0 / l.segmentLength }
        let xh = row.map { ($0 - m) * rs }
        let dxh = (0..<d).map { Double(g[r * d + $0]) * Double(w[pidx[$0]]) }
        let c1 = dxh.reduce(0, +) / Double(d)
        let c2 = zip(dxh, xh).map { $0 * $1 }.reduce(0, +) / Double(d)
        for j in 0..<d {
            y[r * d + j] = Float(xh[j] * Double(w[pidx[j]]) + Double(b[pidx[j]]))
            dx[r * d + j] = Float(rs * (dxh[j] - c1 - xh[j] * c2))
            dw[pidx[j]] += Double(g[r * d + j]) * xh[j]
            db[pidx[j]] += Double(g[r * d + j])
        }
    }
    return (y, dx, dw.map { Float($0) }, db.map { Float($0) })
}
