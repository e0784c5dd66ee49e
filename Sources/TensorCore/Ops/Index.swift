// Indexing by integer-valued float tensors: embedding (F.embedding), indexSelect (torch.index_select),
// gather (torch.gather), and their adjoints indexAdd (torch.index_add) and scatterAdd (torch.scatter_add).
// The pairs are each other's backward (indexSelect <-> indexAdd, gather <-> scatterAdd), so every one of
// them differentiates twice. Every index is checked before any element is read: an out-of-range or
// non-integer index stops with a message naming the op, the value and the bound.

extension Tensor {
    /// A dense copy of integer-valued indices, each checked to lie in 0..<bound. No graph.
    func checkedIndices(bound: Int, _ op: String, axis a: Int, of shape: [Int]) -> Tensor {
        let idx = withNoGrad { contiguous() }
        if let problem = indexProblem(idx, bound: bound, op, axis: a, of: shape) { fatalError(problem) }
        return idx
    }

    /// (product of sizes before axis, size of axis, product of sizes after axis).
    func axisLayout(_ a: Int) -> (outer: Int, n: Int, inner: Int) {
        (shape[..<a].reduce(1, *), shape[a], shape[(a + 1)...].reduce(1, *))
    }

    /// torch.index_select: the slices of `self` at `indices` (1-D) along `axis`, in that order.
    /// self: (..., n, ...), indices: (k), out: (..., k, ...). Backward: indexAdd into zeros.
    public func indexSelect(axis ax: Int, _ indices: Tensor) -> Tensor {
        indexSelect(axis: ax, indices, op: "indexSelect")
    }

    func indexSelect(axis ax: Int, _ indices: Tensor, op: String) -> Tensor {
        require(rank >= 1, "\(op): input must have at least one axis, got shape \(shape)")
        let a = axis(ax, op)
        require(indices.rank <= 1, "\(op): indices must be 0-D or 1-D, got shape \(indices.shape)")
        let idx = indices.checkedIndices(bound: shape[a], op, axis: a, of: shape)
        let k = idx.count
        let (outer, n, inner) = axisLayout(a)
        var s = shape; s[a] = k
        let out = Tensor(uninitializedShape: s)
        let x = withNoGrad { contiguous() }
        let src = x.storage.base + x.offset, dst = out.storage.base, ip = idx.storage.base + idx.offset
        parallelRanges(outer * k, grain: Swift.max(1, 16384 / Swift.max(inner, 1))) { rows in
            for row in rows {
                let o = row / k, j = row % k
                (dst + row * inner).update(from: src + (o * n + Int(ip[j])) * inner, count: inner)
            }
        }
        let inShape = shape
        return out.recorded(op, [self]) { g, _ in [Tensor.zeros(inShape).indexAdd(axis: a, idx, g)] }
    }

    /// torch.index_add (out of place): a copy of `self` with `source`'s slices added at `indices` along
    /// `axis`; repeated indices accumulate. self: (..., n, ...), indices: (k), source: (..., k, ...).
    /// Backward: self <- g, source <- g.indexSelect(axis, indices).
    public func indexAdd(axis ax: Int, _ indices: Tensor, _ source: Tensor) -> Tensor {
        require(rank >= 1, "indexAdd: input must have at least one axis, got shape \(shape)")
        let a = axis(ax, "indexAdd")
        require(indices.rank <= 1, "indexAdd: indices must be 0-D or 1-D, got shape \(indices.shape)")
        let k = indices.count
        var expected = shape; expected[a] = k
        require(source.shape == expected,
                "indexAdd: source \(source.shape) must be \(expected) (self \(shape) with axis \(a) of size \(k), the number of indices)")
        let idx = indices.checkedIndices(bound: shape[a], "indexAdd", axis: a, of: shape)
        let out = Tensor(uninitializedShape: shape)
        out.copyIn(self)
        let (outer, n, inner) = axisLayout(a)
        let src = withNoGrad { source.contiguous() }
        let sp = src.storage.base + src.offset, dst = out.storage.base, ip = idx.storage.base + idx.offset
        // Tasks own disjoint (outer row, column block) pairs, so no two threads add into the same element;
        // within a task the indices are visited in order, as PyTorch's CPU kernel does.
        let block = 256, blocks = (inner + block - 1) / block
        parallelRanges(outer * blocks, grain: Swift.max(1, 4096 / Swift.max(k * Swift.min(inner, block), 1))) { tasks in
            for t in tasks {
                let o = t / blocks, c0 = (t % blocks) * block, c1 = Swift.min(c0 + block, inner)
                for j in 0..<k {
                    let d = dst + (o * n + Int(ip[j])) * inner, s = sp + (o * k + j) * inner
                    for c in c0..<c1 { d[c] += s[c] }
                }
            }
        }
        return out.recorded("indexAdd", [self, source]) { g, needs in
            [needs[0] ? g : nil, needs[1] ? g.indexSelect(axis: a, idx) : nil]
        }
    }

    /// torch.gather: out[i][j][k] = self[i][index[i][j][k]][k] for axis 1 (likewise for other axes).
    /// index has self's rank and index.shape[d] <= shape[d] off the axis; out has index's shape.
    /// Backward: scatterAdd into zeros.
    public func gather(axis ax: Int, _ index: Tensor) -> Tensor {
        require(rank >= 1, "gather: input must have at least one axis, got shape \(shape)")
        let a = axis(ax, "gather")
        require(index.rank == rank && (0..<rank).allSatisfy { $0 == a || index.shape[$0] <= shape[$0] },
                "gather: index \(index.shape) must have the rank of input \(shape) and no larger size off axis \(a)")
        let idx = index.checkedIndices(bound: shape[a], "gather", axis: a, of: shape)
        let out = Tensor(uninitializedShape: index.shape)
        // Rows run along the axis (moved last), so each row reads one line of self.
        let perm = (0..<rank).filter { $0 != a } + [a]
        let rowShape = perm.map { index.shape[$0] }
        let xs = perm.map { $0 == a ? 0 : strides[$0] }, ist = perm.map { idx.strides[$0] }, ost = perm.map { out.strides[$0] }
        let sa = strides[a], inner = rowShape[rank - 1], di = ist[rank - 1], dout = ost[rank - 1]
        let xb = storage.base + offset, ib = idx.storage.base + idx.offset, ob = out.storage.base
        forEachRow(rowShape, [xs, ist, ost], grain: elementwiseGrain) { offs, _ in
            let x = xb + offs[0], i = ib + offs[1], o = ob + offs[2]
            for t in 0..<inner { o[t * dout] = x[Int(i[t * di]) * sa] }
        }
        let inShape = shape
        return out.recorded("gather", [self]) { g, _ in [Tensor.zeros(inShape).scatterAdd(axis: a, idx, g)] }
    }

    /// torch.scatter_add (out of place): a copy of `self` with source[i][j][k] added at
    /// [i][index[i][j][k]][k] for axis 1 (likewise for other axes); repeated targets accumulate.
    /// index, source and self share a rank; index.shape[d] <= source.shape[d], and <= shape[d] off the axis.
    /// Backward: self <- g, source <- g.gather(axis, index) (zero where source extends past index).
    public func scatterAdd(axis ax: Int, _ index: Tensor, _ source: Tensor) -> Tensor {
        require(rank >= 1, "scatterAdd: input must have at least one axis, got shape \(shape)")
        let a = axis(ax, "scatterAdd")
        require(index.rank == rank && source.rank == rank
                && (0..<rank).allSatisfy { index.shape[$0] <= source.shape[$0] && ($0 == a || index.shape[$0] <= shape[$0]) },
                "scatterAdd: index \(index.shape) must have the rank of self \(shape) and source \(source.shape), be no larger than source, and no larger than self off axis \(a)")
        let idx = index.checkedIndices(bound: shape[a], "scatterAdd", axis: a, of: shape)
        let out = Tensor(uninitializedShape: shape)
        out.copyIn(self)
        // Rows run along the axis (moved last): rows differ off the axis, so they write disjoint elements
        // and can run in parallel.
        let perm = (0..<rank).filter { $0 != a } + [a]
        let rowShape = perm.map { idx.shape[$0] }
        let os = perm.map { $0 == a ? 0 : out.strides[$0] }, ist = perm.map { idx.strides[$0] }, sst = perm.map { source.strides[$0] }
        let oa = out.strides[a], inner = rowShape[rank - 1], di = ist[rank - 1], ds = sst[rank - 1]
        let ob = out.storage.base, ib = idx.storage.base + idx.offset, sb = source.storage.base + source.offset
        forEachRow(rowShape, [os, ist, sst], grain: elementwiseGrain) { offs, _ in
            let o = ob + offs[0], i = ib + offs[1], s = sb + offs[2]
            for t in 0..<inner { o[Int(i[t * di]) * oa] += s[t * ds] }
        }
        let srcShape = source.shape
        return out.recorded("scatterAdd", [self, source]) { g, needs in
            guard needs[1] else { return [g, nil] }
            let picked = g.gather(axis: a, idx)
            let pads = (0..<srcShape.count).map { (0, srcShape[$0] - idx.shape[$0]) }
            return [needs[0] ? g : nil, pads.allSatisfy { $0.1 == 0 } ? picked : picked.pad(pads)]
        }
    }
}

/// F.embedding: the rows of weight (V, D) picked by integer-valued indices of any shape.
/// weight: (V, D), indices: (...), out: (..., D). Backward: indexAdd of the rows into zeros (V, D).
public func embedding(_ weight: Tensor, _ indices: Tensor) -> Tensor {
    require(weight.rank == 2, "embedding: weight must be (num_embeddings, dim), got shape \(weight.shape)")
    return weight.indexSelect(axis: 0, indices.detach().reshape([-1]), op: "embedding")
        .reshape(indices.shape + [weight.shape[1]])
}

/// Why the dense indices `idx` are not valid for an axis of size `bound`, naming the op, the first bad
/// value and the bound; nil when every index is an integer in 0..<bound.
func indexProblem(_ idx: Tensor, bound: Int, _ op: String, axis a: Int, of shape: [Int]) -> String? {
    let p = idx.data
    if indicesAllValid(p, count: idx.count, bound: bound) { return nil }
    // Reference check, which also names the first bad index.
    for i in 0..<idx.count {
        let v = p[i]
        if v.rounded() != v { return "\(op): index \(v) at position \(i) is not an integer" }
        let k = Int(exactly: v)
        if k == nil || k! < 0 || k! >= bound {
            let shown = k.map(String.init) ?? "\(v)"
            return "\(op): index \(shown) is out of range for axis \(a) of size \(bound) (shape \(shape))"
        }
    }
    return nil
}

/// Whether every index is an integer in 0..<bound, eight at a time (the scalar check above alone was 1.8% of a
/// world-supervised stage-0 step: the renderer's gathers). Never true for an invalid index: the largest float below
/// Float(bound) is below bound (Float(bound) is within half a unit of it), and NaN fails every test. It may be false
/// for valid ones next to a bound past 2^24 (Float(bound) rounded down), where indexProblem checks one by one.
@inline(__always)
func indicesAllValid(_ p: UnsafeMutablePointer<Float>, count: Int, bound: Int) -> Bool {
    let hi = Float(bound)
    var ok = SIMDMask<SIMD8<Int32>>(repeating: true)
    var i = 0
    while i + 8 <= count {
        let v = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
        ok .&= (v.rounded(.toNearestOrEven) .== v) .& (v .>= 0) .& (v .< hi)
        i += 8
    }
    guard all(ok) else { return false }
    while i < count {
        let v = p[i]
        guard v.rounded(.toNearestOrEven) == v, v >= 0, v < hi else { return false }
        i += 1
    }
    return true
}
