// softmax and log_softmax along one axis, as torch.softmax / torch.log_softmax: one fused, numerically stable
// pass per row (max, then exp(x - max) with the SIMD exp and its sum, then scale), llm.c's softmax_forward.
// Backward: softmax y·(g - Σ g·y), log_softmax g - e^y · Σ g, one fused pass per row for the common first-order
// case (last axis), else in TensorCore ops, which differentiate again (createGraph).
import Foundation

extension Tensor {
    /// exp(x - max) / Σ exp(x - max) along `axis`.
    public func softmax(axis: Int) -> Tensor {
        let a = self.axis(axis, "softmax")
        let out = softmaxForward(self, axis: a, log: false)
        return out.recordedUsingOutput("softmax", [self]) { g, _, out in
            if let dx = softmaxBackwardFused(g, out, axis: a, log: false) { return [dx] }
            return [out * (g - (g * out).sum(axes: [a], keepDims: true))]
        }
    }

    /// x - max - log Σ exp(x - max) along `axis`.
    public func logSoftmax(axis: Int) -> Tensor {
        let a = self.axis(axis, "logSoftmax")
        let out = softmaxForward(self, axis: a, log: true)
        return out.recordedUsingOutput("log_softmax", [self]) { g, _, out in
            if let dx = softmaxBackwardFused(g, out, axis: a, log: true) { return [dx] }
            return [g - out.exp() * g.sum(axes: [a], keepDims: true)]
        }
    }
}

/// Runs the row kernel with `axis` moved last; returns a fresh dense tensor of x's shape (no graph).
func softmaxForward(_ x: Tensor, axis a: Int, log: Bool) -> Tensor {
    if x.count == 0 { return Tensor(uninitializedShape: x.shape) }
    return withNoGrad {
        let last = x.rank - 1
        let moved = a == last || x.rank == 0 ? x.contiguous() : x.transpose(a, last).contiguous()
        let n = x.rank == 0 ? 1 : x.shape[a], rows = x.count / n
        let y = Tensor(uninitializedShape: moved.shape)
        withExtendedLifetime(moved) { softmaxRows(moved.data, y.data, rows: rows, length: n, log: log) }
        if a == last || x.rank == 0 { return y }
        let back = y.transpose(a, last).contiguous()
        return back === y ? Tensor(storage: y.storage, shape: y.shape) : back
    }
}

/// src (rows, n) -> dst (rows, n): softmax or log-softmax of each row. Parallel over rows.
func softmaxRows(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, rows: Int, length n: Int, log: Bool) {
    parallelRanges(rows, grain: Swift.max(1, 8192 / Swift.max(n, 1))) { range in
        for r in range {
            let x = src + r * n, y = dst + r * n
            let m = maxRow(x, n)
            let vm = V(repeating: m)
            var a0 = V(), a1 = V()
            var i = 0
            while i + 2 * vWidth <= n {
                let e0 = vexp(vload(x + i) - vm), e1 = vexp(vload(x + i + vWidth) - vm)
                if !log { vstore(e0, y + i); vstore(e1, y + i + vWidth) }
                a0 += e0; a1 += e1
                i += 2 * vWidth
            }
            while i + vWidth <= n {
                let e = vexp(vload(x + i) - vm)
                if !log { vstore(e, y + i) }
                a0 += e; i += vWidth
            }
            var s = (a0 + a1).sum()
            while i < n {
                let e = Foundation.exp(x[i] - m)
                if !log { y[i] = e }
                s += e; i += 1
            }
            if log {
                let c = m + Foundation.log(s), vc = V(repeating: c)
                i = 0
                while i + vWidth <= n { vstore(vload(x + i) - vc, y + i); i += vWidth }
                while i < n { y[i] = x[i] - c; i += 1 }
            } else {
                let inv = 1 / s, vi = V(repeating: inv)
                i = 0
                while i + vWidth <= n { vstore(vload(y + i) * vi, y + i); i += vWidth }
                while i < n { y[i] *= inv; i += 1 }
            }
        }
    }
}

/// First-order backward in one pass per row, for the last axis outside createGraph (the op-composed form in
/// the closures is the reference, and the createGraph path): nil when it does not apply.
func softmaxBackwardFused(_ g: Tensor, _ y: Tensor, axis a: Int, log: Bool) -> Tensor? {
    guard !GradMode.isEnabled, a == y.rank - 1, y.isContiguous, y.count > 0 else { return nil }
    let gc = g.contiguous(), n = y.shape[a], rows = y.count / n
    let dx = Tensor(uninitializedShape: y.shape)
    let gp = gc.data, yp = y.data, dp = dx.data
    withExtendedLifetime((gc, y)) {
        parallelRanges(rows, grain: Swift.max(1, 8192 / n)) { range in
            for r in range {
                let gr = gp + r * n, yr = yp + r * n, dr = dp + r * n
                // softmax: dx = y · (g - Σ g·y);  log_softmax: dx = g - e^y · Σ g
                let s = log ? sumRow(gr, n) : dotRow(gr, yr, n), vs = V(repeating: s)
                var i = 0
                while i + vWidth <= n {
                    let gv = vload(gr + i), yv = vload(yr + i)
                    vstore(log ? gv - vexp(yv) * vs : yv * (gv - vs), dr + i)
                    i += vWidth
                }
                while i < n { dr[i] = log ? gr[i] - Foundation.exp(yr[i]) * s : yr[i] * (gr[i] - s); i += 1 }
            }
        }
    }
    return dx
}

/// Naive reference for `softmaxRows` (Float64).
func softmaxRowsReference(_ src: [Float], rows: Int, length n: Int, log: Bool) -> [Float] {
    var out = [Float](repeating: 0, count: src.count)
    for r in 0..<rows {
        let row = (0..<n).map { Double(src[r * n + $0]) }
        let m = row.max() ?? 0
        let s = row.map { Foundation.exp($0 - m) }.reduce(0, +)
        for j in 0..<n { out[r * n + j] = Float(log ? row[j] - m - Foundation.log(s) : Foundation.exp(row[j] - m) / s) }
    }
    return out
}
