// Reductions over axes: sum, mean, var, max, min, logsumexp, argmax. The reduced axes are moved last and
// each output element reduces one dense row (SIMD with four accumulators: float sums never auto-vectorise).

extension Tensor {
    func normalizedAxes(_ axes: [Int], _ op: String) -> [Int] {
        let a = axes.isEmpty ? Array(0..<rank) : axes.map { axis($0, op) }
        require(Set(a).count == a.count, "\(op): repeated axis in \(axes) for shape \(shape)")
        return a.sorted()
    }

    /// (rows as a dense (outer, R) view, output shape with kept dims, output shape without).
    func rowsForReduction(_ axes: [Int]) -> (Tensor, [Int], [Int]) {
        let kept = (0..<rank).filter { !axes.contains($0) }
        let moved = kept + axes == Array(0..<rank) ? self : permute(kept + axes)
        let r = axes.map { shape[$0] }.reduce(1, *)
        let rows = withNoGrad { moved.contiguous().reshape([kept.map { shape[$0] }.reduce(1, *), r]) }
        let keepShape = (0..<rank).map { axes.contains($0) ? 1 : shape[$0] }
        return (rows, keepShape, kept.map { shape[$0] })
    }

    public func sum(axes: [Int] = [], keepDims: Bool = false) -> Tensor {
        let ax = normalizedAxes(axes, "sum")
        let (rows, keepShape, dropShape) = rowsForReduction(ax)
        let out = Tensor(uninitializedShape: keepDims ? keepShape : dropShape)
        let r = rows.shape[1], src = rows.data, dst = out.storage.base
        parallelRanges(rows.shape[0], grain: Swift.max(1, 16384 / Swift.max(r, 1))) { range in
            for i in range { dst[i] = sumRow(src + i * r, r) }
        }
        let inShape = shape
        return out.recorded("sum", [self]) { g, _ in
            [(keepDims ? g : g.reshape(keepShape)).expand(inShape)]
        }
    }
    public func sum(axis: Int, keepDims: Bool = false) -> Tensor { sum(axes: [axis], keepDims: keepDims) }

    public func mean(axes: [Int] = [], keepDims: Bool = false) -> Tensor {
        let ax = normalizedAxes(axes, "mean")
        let n = ax.map { shape[$0] }.reduce(1, *)
        return sum(axes: ax, keepDims: keepDims) * (1 / Float(n))
    }
    public func mean(axis: Int, keepDims: Bool = false) -> Tensor { mean(axes: [axis], keepDims: keepDims) }

    /// Variance with `correction` (1: unbiased, torch.var's default; 0: population).
    public func variance(axes: [Int] = [], correction: Int = 1, keepDims: Bool = false) -> Tensor {
        let ax = normalizedAxes(axes, "var")
        let n = ax.map { shape[$0] }.reduce(1, *)
        let d = self - mean(axes: ax, keepDims: true)
        return (d * d).sum(axes: ax, keepDims: keepDims) * (1 / Float(Swift.max(n - correction, 0)))
    }

    public func max(axes: [Int] = [], keepDims: Bool = false) -> Tensor { extreme(axes, keepDims, isMax: true) }
    public func min(axes: [Int] = [], keepDims: Bool = false) -> Tensor { extreme(axes, keepDims, isMax: false) }

    /// amax/amin semantics: the gradient is shared evenly among tied extremes.
    func extreme(_ axes: [Int], _ keepDims: Bool, isMax: Bool) -> Tensor {
        let ax = normalizedAxes(axes, isMax ? "max" : "min")
        let (rows, keepShape, dropShape) = rowsForReduction(ax)
        require(rows.shape[1] > 0, "\(isMax ? "max" : "min"): empty reduction over shape \(shape)")
        let out = Tensor(uninitializedShape: keepDims ? keepShape : dropShape)
        let r = rows.shape[1], src = rows.data, dst = out.storage.base
        parallelRanges(rows.shape[0], grain: Swift.max(1, 16384 / r)) { range in
            for i in range { dst[i] = isMax ? maxRow(src + i * r, r) : -maxRow(src + i * r, r, negate: true) }
        }
        let x = self
        return out.recorded(isMax ? "max" : "min", [x]) { [unowned out] g, _ in
            let m = (keepDims ? out : out.reshape(keepShape)).detach()
            let mask = x.eq(m)
            return [(keepDims ? g : g.reshape(keepShape)) * mask / mask.sum(axes: ax, keepDims: true)]
        }
    }

    public func logsumexp(axes: [Int], keepDims: Bool = false) -> Tensor {
        let ax = normalizedAxes(axes, "logsumexp")
        let m = withNoGrad { max(axes: ax, keepDims: true) }
        let finiteM = Tensor.where(m.abs().eq(.infinity), Tensor(scalar: 0), m)
        let s = (self - finiteM).exp().sum(axes: ax, keepDims: true).log() + finiteM
        return keepDims ? s : s.reshape((0..<rank).filter { !ax.contains($0) }.map { shape[$0] })
    }

    /// Index of the largest element along `axis` (first on ties), as integer-valued floats. No gradient.
    public func argmax(axis ax: Int, keepDims: Bool = false) -> Tensor {
        let a = axis(ax, "argmax")
        let (rows, keepShape, dropShape) = rowsForReduction([a])
        let out = Tensor(uninitializedShape: keepDims ? keepShape : dropShape)
        let r = rows.shape[1], src = rows.data, dst = out.storage.base
        for i in 0..<rows.shape[0] {
            var best = 0
            for j in 1..<Swift.max(r, 1) where src[i * r + j] > src[i * r + best] || (src[i * r + j].isNaN && !src[i * r + best].isNaN) { best = j }
            dst[i] = Float(best)
        }
        return out
    }
}

/// Sum of n floats: 4 SIMD accumulators, scalar tail.
@inline(__always) func sumRow(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var a0 = V(), a1 = V(), a2 = V(), a3 = V()
    var i = 0
    while i + 4 * vWidth <= n {
        a0 += vload(p + i); a1 += vload(p + i + vWidth); a2 += vload(p + i + 2 * vWidth); a3 += vload(p + i + 3 * vWidth)
        i += 4 * vWidth
    }
    while i + vWidth <= n { a0 += vload(p + i); i += vWidth }
    var s = ((a0 + a1) + (a2 + a3)).sum()
    while i < n { s += p[i]; i += 1 }
    return s
}

/// Largest of n floats (or of their negations). NaN propagates, as in PyTorch.
@inline(__always) func maxRow(_ p: UnsafePointer<Float>, _ n: Int, negate: Bool = false) -> Float {
    let sgn: Float = negate ? -1 : 1
    var m = V(repeating: -.infinity)
    var nan = false
    var i = 0
    while i + vWidth <= n {
        let v = vload(p + i) * sgn
        if any(v .!= v) { nan = true }
        m = vmax(m, v); i += vWidth
    }
    var s = vmaxAcross(m)
    while i < n { let v = p[i] * sgn; if v.isNaN { nan = true }; s = Swift.max(s, v); i += 1 }
    return nan ? .nan : s
}
