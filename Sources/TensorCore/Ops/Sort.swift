// Sorting and binary search: sort / argsort (torch.sort(stable=True), torch.argsort(stable=True)) and
// searchsorted (torch.searchsorted). Indices come back as integer-valued floats (exact below 2^24).
// Order follows PyTorch: NaN is larger than every number (last ascending, first descending); equal
// elements (and -0/+0) keep their original order. Sorted values are gather(axis, indices), so their
// gradient is scattered back by the indices (scatterAdd), as torch.sort's backward does.

/// Sorts the row `v[0..<n]` by permuting `order` (which must hold 0..<n). Ties break by position,
/// which makes the order total and therefore stable whatever the algorithm.
@inline(__always) func argsortRow(_ v: UnsafePointer<Float>, _ buffer: UnsafeMutableBufferPointer<Int>, descending: Bool) {
    var order = buffer
    if descending {
        order.sort { i, j in
            let x = v[i], y = v[j]
            if x > y || (x.isNaN && !y.isNaN) { return true }
            if x == y || (x.isNaN && y.isNaN) { return i < j }
            return false
        }
    } else {
        order.sort { i, j in
            let x = v[i], y = v[j]
            if x < y || (!x.isNaN && y.isNaN) { return true }
            if x == y || (x.isNaN && y.isNaN) { return i < j }
            return false
        }
    }
}

extension Tensor {
    /// Stable sort along `axis`: (values, indices) with values = self.gather(axis, indices).
    /// self: (..., n, ...), both outputs the same shape. Values are differentiable; indices are not.
    public func sort(axis ax: Int = -1, descending: Bool = false) -> (values: Tensor, indices: Tensor) {
        let indices = argsort(axis: ax, descending: descending)
        return (gather(axis: axis(ax, "sort"), indices), indices)
    }

    /// Stable argsort along `axis`: the indices that sort self (as torch.argsort(stable=True)). No gradient.
    public func argsort(axis ax: Int = -1, descending: Bool = false) -> Tensor {
        require(rank >= 1, "argsort: input must have at least one axis, got shape \(shape)")
        let a = axis(ax, "argsort")
        // Rows along the axis: move it last, sort each dense row, move it back.
        let rows = withNoGrad { transpose(a, rank - 1).contiguous() }
        let n = shape[a], count = rows.count / Swift.max(n, 1)
        let out = Tensor(uninitializedShape: rows.shape)
        let src = rows.storage.base + rows.offset, dst = out.storage.base
        parallelRanges(n == 0 ? 0 : count, grain: Swift.max(1, 4096 / Swift.max(n, 1))) { range in
            let order = UnsafeMutableBufferPointer<Int>.allocate(capacity: n)
            defer { order.deallocate() }
            for r in range {
                for i in 0..<n { order[i] = i }
                argsortRow(src + r * n, order, descending: descending)
                for i in 0..<n { dst[r * n + i] = Float(order[i]) }
            }
        }
        return withNoGrad { out.transpose(a, rank - 1).contiguous() }
    }
}

/// torch.searchsorted: for each value, the index at which it would be inserted into the last axis of
/// `sortedSequence` to keep it sorted. Left (default): the first i with seq[i] >= v; right: the first i
/// with seq[i] > v. NaN values go to the end (PyTorch's `!(mid >= v)` comparison).
/// sortedSequence: (n) with values of any shape, or (..., n) with values (..., m) sharing the leading
/// axes. Out: values' shape, integer-valued floats. No gradient.
public func searchsorted(_ sortedSequence: Tensor, _ values: Tensor, right: Bool = false) -> Tensor {
    let seq = sortedSequence
    require(seq.rank >= 1, "searchsorted: sorted sequence must have at least one axis, got shape \(seq.shape)")
    let batched = seq.rank > 1
    if batched {
        require(values.rank == seq.rank && Array(values.shape.dropLast()) == Array(seq.shape.dropLast()),
                "searchsorted: sorted sequence \(seq.shape) must be 1-D or share all but its last axis with values \(values.shape)")
    }
    let n = seq.shape[seq.rank - 1]
    let s = withNoGrad { seq.contiguous() }, v = withNoGrad { values.contiguous() }
    let out = Tensor(uninitializedShape: values.shape)
    let m = batched ? values.shape[values.rank - 1] : Swift.max(values.count, 1)
    let ps = s.storage.base + s.offset, pv = v.storage.base + v.offset, po = out.storage.base
    parallelRanges(values.count, grain: 4096) { range in
        for i in range {
            let row = batched ? ps + (i / m) * n : ps
            let x = pv[i]
            var lo = 0, hi = n
            while lo < hi {
                let mid = lo + (hi - lo) >> 1
                let goRight = right ? !(row[mid] > x) : !(row[mid] >= x)
                if goRight { lo = mid + 1 } else { hi = mid }
            }
            po[i] = Float(lo)
        }
    }
    return out
}
