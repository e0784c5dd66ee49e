// Fused scaled-dot-product attention with a key-padding mask, flash-attention style (Dao et al. 2022,
// Algorithms 1 and 2, on the CPU): queries in blocks, keys in blocks, scores by GEMM into a small tile,
// streamed ("online") softmax with running max m and sum l, so no Lq × Lk matrix exists. The forward keeps
// lse = m + log l per query; the backward recomputes each score tile from it. Score tiles are padded to whole
// vectors (padding and masked keys -inf via keep flags). When every key fits one block of <= 64 (a prompt's words),
// the forward skips the GEMMs: `attentionForwardFewKeys` works row by row in registers.
// Fully masked query rows give 0 output and 0 gradients (PyTorch's CPU kernels do the same).
import Foundation

/// Sizes and element strides of q (B, H, Lq, D), k (B, H, Lk, D), v (B, H, Lk, Dv), any views. `lk` keys are
/// visited, of `keyRows` (the mask's row length and the rows per (b, h) of dk and dv; keys past lk get 0 gradients).
struct AttentionGeometry {
    let b: Int, h: Int, lq: Int, lk: Int, keyRows: Int, d: Int, dv: Int
    let qs: [Int], ks: [Int], vs: [Int]
    let scale: Float
    let queryBlock: Int, keyBlock: Int
}

/// The key block's keep flags over its padded width np = roundUp(kn, vWidth): 1 for a kept key (mask nonzero, or no
/// mask), 0 for a masked one and for the padding columns kn..<np, so every score row is processed in whole vectors.
@inline(__always) func fillKeep(_ keep: UnsafeMutablePointer<Float>, _ kn: Int, _ np: Int, _ mask: UnsafePointer<Float>?) {
    for j in 0..<kn { keep[j] = mask.map { $0[j] == 0 ? 0 : 1 } ?? 1 }
    for j in kn..<np { keep[j] = 0 }
}

/// Columns a score row is processed over: kn rounded up to whole vectors (the tiles' row stride holds them).
@inline(__always) func paddedWidth(_ kn: Int) -> Int { (kn + vWidth - 1) / vWidth * vWidth }

/// One row of scores over np (a multiple of vWidth) columns: scale, -inf where keep is 0 (masked keys and the
/// padding), then the row max. Whole vectors only: a row of a dozen keys (a prompt's words) used to spend most of
/// its time in the scalar tail.
@inline(__always) func scaleMaskRow(_ s: UnsafeMutablePointer<Float>, _ np: Int, _ scale: Float,
                                    _ keep: UnsafePointer<Float>) -> Float {
    let vs = V(repeating: scale), ninf = V(repeating: -.infinity)
    var vm = ninf
    var j = 0
    while j < np {
        let x = (vload(s + j) * vs).replacing(with: ninf, where: vload(keep + j) .== 0)
        vstore(x, s + j); vm = vmax(vm, x); j += vWidth
    }
    return vmaxAcross(vm)
}

/// s[j] = exp(s[j] - m) in place over np (a multiple of vWidth) columns; returns the sum. exp(-inf) = 0, so masked
/// keys and the padding drop out (the lane sums are those of the unpadded row: the padding adds exact zeros).
@inline(__always) func expRow(_ s: UnsafeMutablePointer<Float>, _ np: Int, _ m: Float) -> Float {
    let vm = V(repeating: m)
    var acc = V()
    var j = 0
    while j < np { let e = vexp(vload(s + j) - vm); vstore(e, s + j); acc += e; j += vWidth }
    return acc.sum()
}

/// out (B, H, Lq, Dv) dense, lse (B, H, Lq). mask (B, Lk) dense or nil. Parallel over (b, h, query block).
func attentionForward(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                      _ mask: UnsafePointer<Float>?, _ g: AttentionGeometry,
                      out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>) {
    if g.lk <= Swift.min(g.keyBlock, fewKeysLimit) {
        attentionForwardFewKeys(q, k, v, mask, g, out: out, lse: lse)
        return
    }
    let bq = g.queryBlock, bk = Swift.min(g.keyBlock, Swift.max(g.lk, 1)), ld = paddedWidth(bk)
    let qBlocks = (g.lq + bq - 1) / bq
    parallelFor(g.b * g.h * qBlocks) { task in
        let bh = task / qBlocks, q0 = (task % qBlocks) * bq, rows = Swift.min(bq, g.lq - q0)
        let bi = bh / g.h, hi = bh % g.h
        let qp = q + bi * g.qs[0] + hi * g.qs[1] + q0 * g.qs[2]
        let kp = k + bi * g.ks[0] + hi * g.ks[1], vp = v + bi * g.vs[0] + hi * g.vs[1]
        let op = out + (bh * g.lq + q0) * g.dv, lp = lse + bh * g.lq + q0
        let mp = mask.map { $0 + bi * g.keyRows }
        // Scratch on the heap: tiles of up to 128 KB are too large for worker-thread stacks.
        // S tile (bq, ld), running max and sum, the key block's keep flags (ld).
        let s = UnsafeMutablePointer<Float>.allocate(capacity: bq * ld + 2 * bq + ld)
        defer { s.deallocate() }
        do {
            let m = s + bq * ld, l = m + bq, keep = l + bq
            m.initialize(repeating: -.infinity, count: rows); l.initialize(repeating: 0, count: rows)
            var k0 = 0
            while k0 < g.lk {
                let kn = Swift.min(bk, g.lk - k0), np = paddedWidth(kn)
                fillKeep(keep, kn, np, mp.map { $0 + k0 })
                // S = Q · K[k0..<k0+kn]ᵀ
                gemm(m: rows, n: kn, k: g.d, MatrixRef(qp, rs: g.qs[2], cs: g.qs[3]),
                     MatrixRef(kp + k0 * g.ks[2], rs: g.ks[3], cs: g.ks[2]), s, ldc: ld)
                for i in 0..<rows {
                    let si = s + i * ld
                    let mNew = Swift.max(m[i], scaleMaskRow(si, np, g.scale, keep))
                    if mNew == -.infinity { si.initialize(repeating: 0, count: kn); continue } // nothing kept yet
                    let alpha = m[i] == -.infinity ? 0 : vexp(V(repeating: m[i] - mNew))[0]
                    l[i] = l[i] * alpha + expRow(si, np, mNew)
                    if k0 > 0 && alpha != 1 {
                        let o = op + i * g.dv
                        for c in 0..<g.dv { o[c] *= alpha }
                    }
                    m[i] = mNew
                }
                // O (+)= P · V[k0..<k0+kn]
                gemm(m: rows, n: g.dv, k: kn, MatrixRef(s, rs: ld, cs: 1),
                     MatrixRef(vp + k0 * g.vs[2], rs: g.vs[2], cs: g.vs[3]), op, ldc: g.dv, accumulate: k0 > 0)
                k0 += kn
            }
            for i in 0..<rows {
                let o = op + i * g.dv
                if l[i] == 0 { o.initialize(repeating: 0, count: g.dv); lp[i] = .infinity; continue }
                let inv = 1 / l[i]
                for c in 0..<g.dv { o[c] *= inv }
                lp[i] = m[i] + Foundation.log(l[i])
            }
        }
    }
}

/// Keys up to which the forward takes `attentionForwardFewKeys`.
let fewKeysLimit = 64

/// The forward when every key fits one block of at most `fewKeysLimit` (cross-attention on a prompt's words: a dozen
/// keys for thousands of tri-plane tokens), row by row in registers: scores as Σ_c q[c]·Kᵀ[c, :] over whole vectors
/// of keys, the exact softmax, out = Σ_j p[j]·V[j, :] over whole vectors of channels. The blocked path ran two GEMMs
/// of 128 × 12 × 24 per query block there, mostly packing (9 ms of a 55 ms generate forward on AVX2). Same outputs and
/// lse up to rounding (the reference is the blocked path and the composite op, in the tests).
func attentionForwardFewKeys(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                             _ mask: UnsafePointer<Float>?, _ g: AttentionGeometry,
                             out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>) {
    let bq = g.queryBlock, np = paddedWidth(g.lk), dp = paddedWidth(g.dv)
    let (lk, d, dv, lq, heads, scale, keyRows) = (g.lk, g.d, g.dv, g.lq, g.h, g.scale, g.keyRows)
    // Strides as locals: array subscripts in the inner loops cost bounds checks and retains.
    let (qs0, qs1, qs2, qs3) = (g.qs[0], g.qs[1], g.qs[2], g.qs[3])
    let (ks0, ks1, ks2, ks3) = (g.ks[0], g.ks[1], g.ks[2], g.ks[3])
    let (vs0, vs1, vs2, vs3) = (g.vs[0], g.vs[1], g.vs[2], g.vs[3])
    // Per (b, h), once: Kᵀ (d, np) and V (lk, dp), zero-padded, and the keep flags (np).
    let nbh = g.b * heads, kvSize = d * np + lk * dp + np
    let shared = UnsafeMutablePointer<Float>.allocate(capacity: nbh * kvSize)
    defer { shared.deallocate() }
    parallelFor(nbh) { bh in
        let bi = bh / heads, hi = bh % heads
        let kp = k + bi * ks0 + hi * ks1, vp = v + bi * vs0 + hi * vs1
        let kt = shared + bh * kvSize, vpad = kt + d * np, keep = vpad + lk * dp
        kt.initialize(repeating: 0, count: d * np)
        vpad.initialize(repeating: 0, count: lk * dp)
        for j in 0..<lk {
            for c in 0..<d { kt[c * np + j] = kp[j * ks2 + c * ks3] }
            for c in 0..<dv { vpad[j * dp + c] = vp[j * vs2 + c * vs3] }
        }
        fillKeep(keep, lk, np, mask.map { $0 + bi * keyRows })
    }
    let qBlocks = (lq + bq - 1) / bq
    parallelFor(nbh * qBlocks) { task in
        let bh = task / qBlocks, q0 = (task % qBlocks) * bq, rows = Swift.min(bq, lq - q0)
        let bi = bh / heads, hi = bh % heads
        let qp = q + bi * qs0 + hi * qs1 + q0 * qs2
        let op = out + (bh * lq + q0) * dv, lp = lse + bh * lq + q0
        let kt = UnsafePointer(shared + bh * kvSize), vpad = kt + d * np, keep = vpad + lk * dp
        // Four q rows (4, d), four score rows (4, np), one output row (dp).
        let buf = UnsafeMutablePointer<Float>.allocate(capacity: 4 * d + 4 * np + dp)
        defer { buf.deallocate() }
        let qrows = buf, srows = qrows + 4 * d, orow = srows + 4 * np
        // Four query rows at a time: four independent FMA chains per key vector (one chain waits on FMA latency).
        var i0 = 0
        while i0 < rows {
            let nr = Swift.min(4, rows - i0)
            for r in 0..<4 {
                let qi = qp + (i0 + Swift.min(r, nr - 1)) * qs2     // a short group repeats its last row
                if qs3 == 1 { (qrows + r * d).update(from: qi, count: d) } else { for c in 0..<d { qrows[r * d + c] = qi[c * qs3] } }
            }
            // s_r = q_r · Kᵀ
            var j = 0
            while j < np {
                let (a0, a1, a2, a3) = fourRowProduct(UnsafePointer(qrows), lda: d, kt + j, ldb: np, count: d)
                vstore(a0, srows + j); vstore(a1, srows + np + j); vstore(a2, srows + 2 * np + j); vstore(a3, srows + 3 * np + j)
                j += vWidth
            }
            // Softmax per row; a row with every key masked gets p = 0 (its output is written as zeros below).
            var inv = SIMD4<Float>(repeating: 0)
            for r in 0..<nr {
                let sr = srows + r * np
                let m = scaleMaskRow(sr, np, scale, keep)
                if m == -.infinity { sr.initialize(repeating: 0, count: np); lp[i0 + r] = .infinity; continue }
                let l = expRow(sr, np, m)
                lp[i0 + r] = m + Foundation.log(l)
                inv[r] = 1 / l
            }
            // o_r = (Σ_j p_r[j] · V[j]) / l_r
            var c = 0
            while c < dp {
                let (a0, a1, a2, a3) = fourRowProduct(UnsafePointer(srows), lda: np, vpad + c, ldb: dp, count: lk)
                for r in 0..<nr {
                    let a = r == 0 ? a0 : r == 1 ? a1 : r == 2 ? a2 : a3
                    // A row with every key masked writes zeros (not 0 · V, which is NaN where V is infinite).
                    vstore(lp[i0 + r] == .infinity ? V() : a * V(repeating: inv[r]), orow)
                    (op + (i0 + r) * dv + c).update(from: orow, count: Swift.min(vWidth, dv - c))
                }
                c += vWidth
            }
            i0 += nr
        }
    }
}

/// One vector of columns of a four-row product: row r = Σ_t a[r·lda + t] · b[t·ldb ..< t·ldb + vWidth] over t < count,
/// as four independent FMA chains (one chain would wait on the FMA latency at every step).
@inline(__always) func fourRowProduct(_ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                                      count: Int) -> (V, V, V, V) {
    var a0 = V(), a1 = V(), a2 = V(), a3 = V()
    for t in 0..<count {
        let bv = vload(b + t * ldb)
        a0 = a0.addingProduct(V(repeating: a[t]), bv)
        a1 = a1.addingProduct(V(repeating: a[lda + t]), bv)
        a2 = a2.addingProduct(V(repeating: a[2 * lda + t]), bv)
        a3 = a3.addingProduct(V(repeating: a[3 * lda + t]), bv)
    }
    return (a0, a1, a2, a3)
}

/// Backward (flash-attention Algorithm 2): dO (B, H, Lq, Dv) and out dense; dq (B, H, Lq, D), dk (B, H, Lk, D),
/// dv (B, H, Lk, Dv) dense, overwritten. Each (b, h) is split into query chunks when there are few heads;
/// every chunk after the first accumulates dk, dv privately, summed at the end.
func attentionBackward(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                       _ mask: UnsafePointer<Float>?, _ g: AttentionGeometry, out: UnsafePointer<Float>,
                       lse: UnsafePointer<Float>, dout: UnsafePointer<Float>,
                       dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>) {
    let bq = g.queryBlock, bk = Swift.min(g.keyBlock, Swift.max(g.lk, 1)), ld = paddedWidth(bk), nbh = g.b * g.h
    let qBlocks = (g.lq + bq - 1) / bq
    let threads = Parallel.active ? 1 : Parallel.threadCount
    let parts = nbh >= 2 * threads ? 1 : Swift.max(1, Swift.min(qBlocks, (2 * threads + nbh - 1) / nbh))
    let kvSize = g.lk * (g.d + g.dv)
    let extra = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, nbh * (parts - 1) * kvSize))
    defer { extra.deallocate() }
    extra.initialize(repeating: 0, count: nbh * (parts - 1) * kvSize)
    dk.initialize(repeating: 0, count: nbh * g.keyRows * g.d)
    dv.initialize(repeating: 0, count: nbh * g.keyRows * g.dv)
    parallelFor(nbh * parts) { task in
        let bh = task / parts, part = task % parts
        let bi = bh / g.h, hi = bh % g.h
        let kp = k + bi * g.ks[0] + hi * g.ks[1], vp = v + bi * g.vs[0] + hi * g.vs[1]
        let mp = mask.map { $0 + bi * g.keyRows }
        let priv = extra + (bh * (parts - 1) + part - 1) * kvSize
        let dkp = part == 0 ? dk + bh * g.keyRows * g.d : priv, dvp = part == 0 ? dv + bh * g.keyRows * g.dv : priv + g.lk * g.d
        // P and dS tiles (bq, ld), Δ (bq), the key block's keep flags (ld).
        let p = UnsafeMutablePointer<Float>.allocate(capacity: 2 * bq * ld + bq + ld)
        defer { p.deallocate() }
        do {
            let ds = p + bq * ld, delta = ds + bq * ld, keep = delta + bq
            for blk in (qBlocks * part / parts)..<(qBlocks * (part + 1) / parts) {
                let q0 = blk * bq, rows = Swift.min(bq, g.lq - q0)
                let qp = q + bi * g.qs[0] + hi * g.qs[1] + q0 * g.qs[2]
                let row0 = bh * g.lq + q0
                let dop = dout + row0 * g.dv, dqp = dq + row0 * g.d
                for i in 0..<rows { delta[i] = dotRow(dop + i * g.dv, out + (row0 + i) * g.dv, g.dv) }
                var k0 = 0
                while k0 < g.lk {
                    let kn = Swift.min(bk, g.lk - k0), np = paddedWidth(kn)
                    fillKeep(keep, kn, np, mp.map { $0 + k0 })
                    // P = exp(scale · Q Kᵀ - lse), masked -> 0
                    gemm(m: rows, n: kn, k: g.d, MatrixRef(qp, rs: g.qs[2], cs: g.qs[3]),
                         MatrixRef(kp + k0 * g.ks[2], rs: g.ks[3], cs: g.ks[2]), p, ldc: ld)
                    for i in 0..<rows {
                        let pi = p + i * ld
                        _ = scaleMaskRow(pi, np, g.scale, keep)
                        _ = expRow(pi, np, lse[row0 + i])
                    }
                    // dV += Pᵀ · dO ;  dP = dO · Vᵀ
                    gemm(m: kn, n: g.dv, k: rows, MatrixRef(p, rs: 1, cs: ld), MatrixRef(dop, rs: g.dv, cs: 1),
                         dvp + k0 * g.dv, ldc: g.dv, accumulate: true)
                    gemm(m: rows, n: kn, k: g.dv, MatrixRef(dop, rs: g.dv, cs: 1),
                         MatrixRef(vp + k0 * g.vs[2], rs: g.vs[3], cs: g.vs[2]), ds, ldc: ld)
                    // dS = P ⊙ (dP - Δ) · scale
                    for i in 0..<rows {
                        let pi = p + i * ld, di = ds + i * ld, dl = delta[i], sc = g.scale
                        for j in 0..<kn { di[j] = pi[j] * (di[j] - dl) * sc }
                    }
                    // dQ (+)= dS · K ;  dK += dSᵀ · Q
                    gemm(m: rows, n: g.d, k: kn, MatrixRef(ds, rs: ld, cs: 1),
                         MatrixRef(kp + k0 * g.ks[2], rs: g.ks[2], cs: g.ks[3]), dqp, ldc: g.d, accumulate: k0 > 0)
                    gemm(m: kn, n: g.d, k: rows, MatrixRef(ds, rs: 1, cs: ld), MatrixRef(qp, rs: g.qs[2], cs: g.qs[3]),
                         dkp + k0 * g.d, ldc: g.d, accumulate: true)
                    k0 += kn
                }
            }
        }
    }
    if parts > 1 {
        parallelFor(nbh) { bh in
            let dkp = dk + bh * g.keyRows * g.d, dvp = dv + bh * g.keyRows * g.dv
            for part in 1..<parts {
                let priv = extra + (bh * (parts - 1) + part - 1) * kvSize
                for i in 0..<(g.lk * g.d) { dkp[i] += priv[i] }
                for i in 0..<(g.lk * g.dv) { dvp[i] += priv[g.lk * g.d + i] }
            }
        }
    }
}
