// Shape and movement ops. Views (reshape of dense data, permute, expand, slice) share storage and copy
// nothing; concat, pad and contiguous copy. Backward of each view is the inverse view (or a scatter).

extension Tensor {
    /// A dense copy when this view is not already dense.
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        let out = Tensor(uninitializedShape: shape)
        stridedCopy(shape: shape, storage.base + offset, strides, out.storage.base, out.strides)
        return out.recorded("contiguous", [self]) { g, _ in [g] }
    }

    /// Same elements, new shape (one entry may be -1). A view when the data is dense.
    public func reshape(_ newShape: [Int]) -> Tensor {
        var s = newShape
        let known = s.filter { $0 != -1 }.reduce(1, *)
        if let i = s.firstIndex(of: -1) {
            require(known > 0 && count % known == 0, "reshape: cannot reshape \(shape) to \(newShape)")
            s[i] = count / known
        }
        require(s.reduce(1, *) == count, "reshape: cannot reshape \(shape) (\(count) elements) to \(newShape)")
        if s == shape { return self }
        let src = contiguous()
        let inShape = shape
        return Tensor(storage: src.storage, shape: s, offset: src.offset)
            .recorded("reshape", [src]) { g, _ in [g.reshape(inShape)] }
    }

    public func flatten(from start: Int = 0) -> Tensor {
        let a = axis(start, "flatten")
        return reshape(Array(shape[..<a]) + [shape[a...].reduce(1, *)])
    }
    public func unsqueeze(_ at: Int) -> Tensor {
        let a = at < 0 ? at + rank + 1 : at
        require(a >= 0 && a <= rank, "unsqueeze: axis \(at) out of range for shape \(shape)")
        var s = shape; s.insert(1, at: a)
        var st = strides; st.insert(a < rank ? strides[a] * shape[a] : 1, at: a)
        return Tensor(storage: storage, shape: s, strides: st, offset: offset)
            .recorded("unsqueeze", [self]) { g, _ in [g.squeeze(a)] }
    }
    public func squeeze(_ at: Int) -> Tensor {
        let a = axis(at, "squeeze")
        require(shape[a] == 1, "squeeze: axis \(at) of shape \(shape) has size \(shape[a]), not 1")
        var s = shape; s.remove(at: a)
        var st = strides; st.remove(at: a)
        return Tensor(storage: storage, shape: s, strides: st, offset: offset)
            .recorded("squeeze", [self]) { g, _ in [g.unsqueeze(a)] }
    }

    /// Reorders axes (a view).
    public func permute(_ dims: [Int]) -> Tensor {
        require(dims.count == rank && Set(dims) == Set(0..<rank), "permute: \(dims) is not a permutation of the axes of \(shape)")
        var inverse = [Int](repeating: 0, count: rank)
        for (i, d) in dims.enumerated() { inverse[d] = i }
        return Tensor(storage: storage, shape: dims.map { shape[$0] }, strides: dims.map { strides[$0] }, offset: offset)
            .recorded("permute", [self]) { g, _ in [g.permute(inverse)] }
    }
    public func transpose(_ a: Int, _ b: Int) -> Tensor {
        var d = Array(0..<rank)
        d.swapAt(axis(a, "transpose"), axis(b, "transpose"))
        return permute(d)
    }

    /// Broadcasts size-1 axes (and new leading axes) to `newShape` without copying (stride 0).
    public func expand(_ newShape: [Int]) -> Tensor {
        require(newShape.count >= rank, "expand: cannot expand \(shape) to fewer dimensions \(newShape)")
        let lead = newShape.count - rank
        for i in 0..<rank {
            require(shape[i] == newShape[lead + i] || shape[i] == 1, "expand: cannot expand \(shape) to \(newShape)")
        }
        if newShape == shape { return self }
        return Tensor(storage: storage, shape: newShape, strides: broadcastStrides(to: newShape), offset: offset)
            .recorded("expand", [self]) { g, _ in [g] } // the walk sums g back to self's shape
    }

    /// Elements start, start+step, ... < end along `axis` (a view). Negative start/end count from the end.
    public func slice(axis ax: Int, start: Int = 0, end: Int? = nil, step: Int = 1) -> Tensor {
        let a = axis(ax, "slice")
        let n = shape[a]
        var lo = start < 0 ? start + n : start, hi = end.map { $0 < 0 ? $0 + n : $0 } ?? n
        lo = Swift.min(Swift.max(lo, 0), n); hi = Swift.min(Swift.max(hi, lo), n)
        require(step >= 1, "slice: step must be positive, got \(step)")
        var s = shape; s[a] = (hi - lo + step - 1) / step
        var st = strides; st[a] = strides[a] * step
        let inShape = shape
        return Tensor(storage: storage, shape: s, strides: st, offset: offset + lo * strides[a])
            .recorded("slice", [self]) { g, _ in [g.sliceScatter(into: inShape, axis: a, start: lo, step: step)] }
    }

    /// Zeros of `shape` with self written at start, start+step, ... along `axis` (the adjoint of slice).
    func sliceScatter(into full: [Int], axis a: Int, start: Int, step: Int) -> Tensor {
        let out = Tensor.zeros(full)
        let view = Tensor(storage: out.storage, shape: shape,
                          strides: out.strides.enumerated().map { $0.offset == a ? $0.element * step : $0.element },
                          offset: start * out.strides[a])
        view.copyIn(self)
        let n = shape[a]
        return out.recorded("slice_scatter", [self]) { g, _ in [g.slice(axis: a, start: start, end: start + (n - 1) * step + 1, step: step)] }
    }

    /// Writes `src`'s values into this view's memory in place (no graph): kernels assembling outputs, and
    /// setting parameter values (loading, EMA) without replacing the tensor. Keeps `src` alive while copying.
    public func copyIn(_ src: Tensor) {
        require(src.shape == shape, "copy: source \(src.shape) does not match destination \(shape)")
        withExtendedLifetime(src) { stridedCopy(shape: shape, src.storage.base + src.offset, src.strides, storage.base + offset, strides) }
    }

    public func split(_ sizes: [Int], axis ax: Int) -> [Tensor] {
        let a = axis(ax, "split")
        require(sizes.reduce(0, +) == shape[a], "split: sizes \(sizes) do not add up to \(shape[a]) along axis \(ax) of \(shape)")
        var start = 0
        return sizes.map { n in defer { start += n }; return slice(axis: a, start: start, end: start + n) }
    }
    public func chunk(_ parts: Int, axis ax: Int) -> [Tensor] {
        let a = axis(ax, "chunk")
        require(shape[a] % parts == 0, "chunk: axis \(ax) of \(shape) does not divide into \(parts)")
        return split([Int](repeating: shape[a] / parts, count: parts), axis: a)
    }

    /// Joins tensors along an existing axis.
    public static func concat(_ ts: [Tensor], axis ax: Int) -> Tensor {
        require(!ts.isEmpty, "concat: no tensors")
        let a = ts[0].axis(ax, "concat")
        for t in ts {
            require(t.rank == ts[0].rank && (0..<t.rank).allSatisfy { $0 == a || t.shape[$0] == ts[0].shape[$0] },
                         "concat: shapes \(ts.map(\.shape)) differ off axis \(ax)")
        }
        var s = ts[0].shape; s[a] = ts.map { $0.shape[a] }.reduce(0, +)
        let out = Tensor(uninitializedShape: s)
        var start = 0
        for t in ts {
            var st = out.strides
            let view = Tensor(storage: out.storage, shape: t.shape, strides: st, offset: start * out.strides[a])
            view.copyIn(t)
            start += t.shape[a]
            st = []
        }
        let sizes = ts.map { $0.shape[a] }
        return out.recorded("concat", ts) { g, needs in
            let parts = g.split(sizes, axis: a)
            return (0..<ts.count).map { needs[$0] ? parts[$0] : nil }
        }
    }
    public static func stack(_ ts: [Tensor], axis ax: Int = 0) -> Tensor {
        concat(ts.map { $0.unsqueeze(ax) }, axis: ax)
    }

    /// Constant padding. `pads[i]` = (before, after) for axis i; negative values crop.
    public func pad(_ pads: [(Int, Int)], value: Float = 0) -> Tensor {
        require(pads.count == rank, "pad: \(pads.count) pad pairs for shape \(shape)")
        var x = self
        for (i, p) in pads.enumerated() {
            if p.0 < 0 || p.1 < 0 { x = x.slice(axis: i, start: Swift.max(-p.0, 0), end: x.shape[i] - Swift.max(-p.1, 0)) }
        }
        let before = pads.map { Swift.max($0.0, 0) }, after = pads.map { Swift.max($0.1, 0) }
        if before.allSatisfy({ $0 == 0 }) && after.allSatisfy({ $0 == 0 }) { return x }
        let s = (0..<rank).map { x.shape[$0] + before[$0] + after[$0] }
        let out = Tensor.full(s, value)
        let off = zip(before, out.strides).map { $0 * $1 }.reduce(0, +)
        Tensor(storage: out.storage, shape: x.shape, strides: out.strides, offset: off).copyIn(x)
        let inner = x.shape
        return out.recorded("pad", [x]) { g, _ in
            var r = g
            for i in 0..<inner.count where before[i] != 0 || after[i] != 0 {
                r = r.slice(axis: i, start: before[i], end: before[i] + inner[i])
            }
            return [r]
        }
    }

    /// Tiles the tensor `counts[i]` times along axis i (torch.Tensor.repeat).
    public func `repeat`(_ counts: [Int]) -> Tensor {
        require(counts.count >= rank, "repeat: \(counts.count) counts for shape \(shape)")
        let x = counts.count > rank ? reshape([Int](repeating: 1, count: counts.count - rank) + shape) : self
        var inter: [Int] = [], expanded: [Int] = []
        for (c, n) in zip(counts, x.shape) { inter += [1, n]; expanded += [c, n] }
        return x.reshape(inter).expand(expanded).contiguous().reshape(zip(counts, x.shape).map { $0 * $1 })
    }
}
