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
        let keepShape = (0..<rank).map { ax.contains($0) ? 1 : shape[$0] }
        let out: Tensor
        if let last = ax.last, last < rank - 1, isContiguous, ax.count == last - ax[0] + 1 {
            // Consecutive axes with kept axes after them (a bias gradient over rows, a mean over planes): view as
            // (outer, r, inner) and add rows along inner, with no transpose.
            out = Tensor(uninitializedShape: keepDims ? keepShape : keepShape.enumerated().filter { !ax.contains($0.offset) }.map(\.element))
            let outer = shape[..<ax[0]].reduce(1, *), r = ax.map { shape[$0] }.reduce(1, *), inner = shape[(last + 1)...].reduce(1, *)
            sumMiddleAxis(data, outer: outer, r: r, inner: inner, out.storage.base)
        } else if isContiguous, let k0 = ax.first == 0 ? (0..<rank).first(where: { !ax.contains($0) }) : nil,
                  let k1 = (k0..<rank).last(where: { k in (k0...k).allSatisfy { !ax.contains($0) } }),
                  ax == Array(0..<k0) + Array((k1 + 1)..<rank) {
            // Reduced axes on both sides of one block of kept axes (a bias gradient over (N, C, H, W)): view as
            // (a, k, b) and add, for each k, the row sums over b in a's order (in Float64), with no permuted copy.
            let a = shape[..<k0].reduce(1, *), k = shape[k0...k1].reduce(1, *), b = shape[(k1 + 1)...].reduce(1, *)
            out = Tensor(uninitializedShape: keepDims ? keepShape : Array(shape[k0...k1]))
            let src = UnsafePointer(data), dst = out.storage.base
            parallelRanges(k, grain: Swift.max(1, 16384 / Swift.max(1, a * b))) { range in
                for j in range {
                    var total = 0.0
                    for i in 0..<a { total += Double(sumRow(src + (i * k + j) * b, b)) }
                    dst[j] = Float(total)
                }
            }
        } else {
            let (rows, _, dropShape) = rowsForReduction(ax)
            out = Tensor(uninitializedShape: keepDims ? keepShape : dropShape)
            let r = rows.shape[1], src = rows.data, dst = out.storage.base
            parallelRanges(rows.shape[0], grain: Swift.max(1, 16384 / Swift.max(r, 1))) { range in
                for i in range { dst[i] = sumRow(src + i * r, r) }
            }
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
        return out.recordedUsingOutput(isMax ? "max" : "min", [x]) { g, _, out in
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
/// Rows per partial sum of sumMiddleAxis.
let sumMiddleBlockRows = 256

/// x (outer, r, inner) dense → dst (outer, inner) = Σ over r. Work items are (outer, inner tile, block of
/// `sumMiddleBlockRows` rows); each block's partial sum is added in block order afterwards, so the result depends
/// on the shape only (never on the thread count) and long sums stay accurate (≤ 256 terms per partial).
/// Naive reference: dst[o·inner + i] = Σ_k x[(o·r + k)·inner + i], see `sumMiddleAxisReference`.
func sumMiddleAxis(_ x: UnsafePointer<Float>, outer: Int, r: Int, inner: Int, _ dst: UnsafeMutablePointer<Float>) {
    let blocks = Swift.max(1, (r + sumMiddleBlockRows - 1) / sumMiddleBlockRows)
    // About 16k floats per work item (a function of the shape only).
    let sumMiddleTile = Swift.max(256, (16384 / Swift.max(1, Swift.min(r, sumMiddleBlockRows)) + vWidth - 1) / vWidth * vWidth)
    let tiles = (inner + sumMiddleTile - 1) / sumMiddleTile
    // Block partials: (outer, blocks, inner); with one block the partial is the result.
    let scratch = blocks == 1 ? dst : UnsafeMutablePointer<Float>.allocate(capacity: outer * blocks * inner)
    defer { if blocks > 1 { scratch.deallocate() } }
    parallelFor(outer * tiles * blocks) { item in
        let b = item % blocks, t = (item / blocks) % tiles, o = item / (blocks * tiles)
        let i0 = t * sumMiddleTile, w = Swift.min(sumMiddleTile, inner - i0)
        let k0 = b * sumMiddleBlockRows, k1 = Swift.min(r, k0 + sumMiddleBlockRows)
        let out = scratch + (o * blocks + b) * inner + i0
        out.initialize(repeating: 0, count: w)
        for k in k0..<k1 {
            let row = x + (o * r + k) * inner + i0
            var i = 0
            while i + vWidth <= w { vstore(vload(out + i) + vload(row + i), out + i); i += vWidth }
            while i < w { out[i] += row[i]; i += 1 }
        }
    }
    guard blocks > 1 else { return }
    parallelFor(outer * tiles) { item in
        let t = item % tiles, o = item / tiles
        let i0 = t * sumMiddleTile, w = Swift.min(sumMiddleTile, inner - i0)
        let out = dst + o * inner + i0
        out.update(from: scratch + o * blocks * inner + i0, count: w)
        for b in 1..<blocks {
            let p = scratch + (o * blocks + b) * inner + i0
            var i = 0
            while i + vWidth <= w { vstore(vload(out + i) + vload(p + i), out + i); i += vWidth }
            while i < w { out[i] += p[i]; i += 1 }
        }
    }
}

/// The plain loop sumMiddleAxis must equal up to summation order (tests).
func sumMiddleAxisReference(_ x: UnsafePointer<Float>, outer: Int, r: Int, inner: Int, _ dst: UnsafeMutablePointer<Float>) {
    for o in 0..<outer {
        for i in 0..<inner {
            var s: Double = 0
            for k in 0..<r { s += Double(x[(o * r + k) * inner + i]) }
            dst[o * inner + i] = Float(s)
        }
    }
}

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
