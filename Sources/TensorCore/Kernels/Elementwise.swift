// Elementwise drivers: a SIMD main loop with a scalar tail for dense operands (MLX's VectorVector), and a
// row-by-row strided walk for broadcast or non-contiguous views (MLX's General). The per-op math comes in
// as two closures, which specialise inline inside the module.

/// Broadcast shape of two shapes (NumPy rules), or nil when they are incompatible.
public func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let r = max(a.count, b.count)
    var out = [Int](repeating: 1, count: r)
    for i in 0..<r {
        let x = i < r - a.count ? 1 : a[i - (r - a.count)]
        let y = i < r - b.count ? 1 : b[i - (r - b.count)]
        if x == y || y == 1 { out[i] = x } else if x == 1 { out[i] = y } else { return nil }
    }
    return out
}

extension Tensor {
    /// Strides that read `self` as if it had the (broadcast) shape `target`: 0 on broadcast axes.
    func broadcastStrides(to target: [Int]) -> [Int] {
        let lead = target.count - rank
        return (0..<target.count).map { i in
            i < lead ? 0 : (shape[i - lead] == 1 && target[i] != 1 ? 0 : strides[i - lead])
        }
    }
}

/// Walks a shape row by row (the last axis is the row). For each row calls body(row offsets per operand).
/// Rows are split across threads when there are enough of them.
@inline(__always) func forEachRow(_ shape: [Int], _ strides: [[Int]], grain: Int,
                                 _ body: (_ offsets: UnsafeMutablePointer<Int>, _ row: Int) -> Void) {
    let rank = shape.count
    let inner = rank == 0 ? 1 : shape[rank - 1]
    let rows = rank <= 1 ? 1 : shape[0..<(rank - 1)].reduce(1, *)
    if rows == 0 || inner == 0 { return }
    let k = strides.count
    parallelRanges(rows, grain: max(1, grain / max(inner, 1))) { range in
        withUnsafeTemporaryAllocation(of: Int.self, capacity: k) { offs in
            for row in range {
                for j in 0..<k { offs[j] = 0 }
                var rem = row
                var d = rank - 2
                while d >= 0 {
                    let i = rem % shape[d]
                    rem /= shape[d]
                    for j in 0..<k { offs[j] += i * strides[j][d] }
                    d -= 1
                }
                body(offs.baseAddress!, row)
            }
        }
    }
}

/// Elements per parallel chunk of the element-wise and copy kernels (1 MiB of floats). These ops are bound by memory
/// bandwidth, which one core of this project's machines nearly fills, so a second thread mostly adds its wake-up: at
/// 32,768 the world teacher's U-Net step on 2 threads spent more time in add, reshape, contiguous and concat than on 1.
/// Raised to 262,144 (2026-12-05): U-Net step (2 threads) 0.524 -> 0.48 s best, generate and stage 0 the same wall time
/// at 4-10% less CPU time.
let elementwiseGrain = 262144

/// Merges adjacent axes that every operand walks contiguously as one axis (stride[d] == stride[d+1] · shape[d+1],
/// which includes broadcast runs of stride 0) and drops size-1 axes (MLX's collapse_contiguous_dims). The
/// row-major element order, and so a dense output's layout, is unchanged.
@inline(__always) func collapseAxes(_ shape: [Int], _ strides: [[Int]]) -> ([Int], [[Int]]) {
    if shape.count <= 1 { return (shape, strides) }
    var outShape: [Int] = [], outStrides = [[Int]](repeating: [], count: strides.count)
    outShape.reserveCapacity(shape.count)
    for d in 0..<shape.count where shape[d] != 1 {
        if let last = outShape.last,
           (0..<strides.count).allSatisfy({ outStrides[$0].last! == strides[$0][d] * shape[d] }) {
            outShape[outShape.count - 1] = last * shape[d]
            for j in 0..<strides.count { outStrides[j][outStrides[j].count - 1] = strides[j][d] }
        } else {
            outShape.append(shape[d])
            for j in 0..<strides.count { outStrides[j].append(strides[j][d]) }
        }
    }
    if outShape.isEmpty { return ([1], strides.map { _ in [0] }) }
    return (outShape, outStrides)
}

/// parallelRanges over n elements in ranges that start at multiples of vWidth, so which elements take a SIMD
/// path and which the scalar tail depends on the index alone, never on the thread count (a vectorised
/// transcendental and its scalar form may differ in the last bit).
@inline(__always) func parallelVectorRanges(_ n: Int, grain: Int, _ body: (Range<Int>) -> Void) {
    let blocks = (n + vWidth - 1) / vWidth
    parallelRanges(blocks, grain: Swift.max(1, grain / vWidth)) { r in
        body(r.lowerBound * vWidth ..< Swift.min(r.upperBound * vWidth, n))
    }
}

/// An elementwise function as a type: `vector` for 16 lanes, `scalar` for the tail. `mapUnary` and `mapBinary` are
/// generic over it, so each op's loop is specialised with its function inlined into the vector loop. Given as
/// closures, the functions stayed calls out of line from inside the parallel loop's own closure, every 16-lane
/// argument split over four XMM registers: GELU's forward took ~3 ns an element on AVX-512 (session 26).
protocol UnaryMap { func vector(_ x: V) -> V; func scalar(_ x: Float) -> Float }
protocol BinaryMap { func vector(_ a: V, _ b: V) -> V; func scalar(_ a: Float, _ b: Float) -> Float }

/// Closures as a map, for the ops whose speed does not matter (comparisons, sin, pow, ...): still calls out of line.
struct ClosureUnaryMap: UnaryMap {
    let v: (V) -> V, s: (Float) -> Float
    @inline(__always) func vector(_ x: V) -> V { v(x) }
    @inline(__always) func scalar(_ x: Float) -> Float { s(x) }
}
struct ClosureBinaryMap: BinaryMap {
    let v: (V, V) -> V, s: (Float, Float) -> Float
    @inline(__always) func vector(_ a: V, _ b: V) -> V { v(a, b) }
    @inline(__always) func scalar(_ a: Float, _ b: Float) -> Float { s(a, b) }
}

@inline(__always) func mapUnary(_ x: Tensor, _ vf: (V) -> V, _ sf: (Float) -> Float) -> Tensor {
    withoutActuallyEscaping(vf) { v in withoutActuallyEscaping(sf) { s in mapUnary(x, ClosureUnaryMap(v: v, s: s)) } }
}
@inline(__always) func mapBinary(_ a: Tensor, _ b: Tensor, _ op: String,
                                _ vf: (V, V) -> V, _ sf: (Float, Float) -> Float) -> Tensor {
    withoutActuallyEscaping(vf) { v in withoutActuallyEscaping(sf) { s in mapBinary(a, b, op, ClosureBinaryMap(v: v, s: s)) } }
}

/// out[i] = f(x[i]) for any view x.
@inline(__always) func mapUnary<F: UnaryMap>(_ x: Tensor, _ f: F) -> Tensor {
    let out = Tensor(uninitializedShape: x.shape)
    let n = x.count, o = out.storage.base
    if x.isContiguous {
        let src = x.storage.base + x.offset
        parallelVectorRanges(n, grain: elementwiseGrain) { r in
            var i = r.lowerBound
            while i + vWidth <= r.upperBound { vstore(f.vector(vload(src + i)), o + i); i += vWidth }
            while i < r.upperBound { o[i] = f.scalar(src[i]); i += 1 }
        }
        return out
    }
    let base = x.storage.base + x.offset
    let inner = x.rank == 0 ? 1 : x.shape[x.rank - 1]
    let st = x.rank == 0 ? 0 : x.strides[x.rank - 1]
    forEachRow(x.shape, [x.strides], grain: elementwiseGrain) { offs, row in
        let s = base + offs[0], d = o + row * inner
        var i = 0
        if st == 1 {  // rows of a view (a slice of the last axis, e.g. GEGLU's gate): whole vectors
            while i + vWidth <= inner { vstore(f.vector(vload(s + i)), d + i); i += vWidth }
        }
        while i < inner { d[i] = f.scalar(s[i * st]); i += 1 }
    }
    return out
}

/// out[i] = f(a[i], b[i]) with broadcasting and any views.
@inline(__always) func mapBinary<F: BinaryMap>(_ a: Tensor, _ b: Tensor, _ op: String, _ f: F) -> Tensor {
    guard let shape = broadcastShape(a.shape, b.shape) else {
        fatalError("\(op): shapes \(a.shape) and \(b.shape) do not broadcast")
    }
    let out = Tensor(uninitializedShape: shape)
    let n = out.count, o = out.storage.base
    let pa = a.storage.base + a.offset, pb = b.storage.base + b.offset
    if a.shape == b.shape && a.isContiguous && b.isContiguous {
        parallelVectorRanges(n, grain: elementwiseGrain) { r in
            var i = r.lowerBound
            while i + vWidth <= r.upperBound { vstore(f.vector(vload(pa + i), vload(pb + i)), o + i); i += vWidth }
            while i < r.upperBound { o[i] = f.scalar(pa[i], pb[i]); i += 1 }
        }
        return out
    }
    if b.count == 1 && a.shape == shape && a.isContiguous {
        let s = pb[0], vs = V(repeating: s)
        parallelVectorRanges(n, grain: elementwiseGrain) { r in
            var i = r.lowerBound
            while i + vWidth <= r.upperBound { vstore(f.vector(vload(pa + i), vs), o + i); i += vWidth }
            while i < r.upperBound { o[i] = f.scalar(pa[i], s); i += 1 }
        }
        return out
    }
    // Adjacent axes that both operands walk as one (a per-channel scale over (N, C, H, W) is (N, C, H·W)) are
    // merged first, so rows are long and the per-row index arithmetic is paid rarely.
    let (cshape, cs) = collapseAxes(shape, [a.broadcastStrides(to: shape), b.broadcastStrides(to: shape)])
    let sa = cs[0], sb = cs[1]
    let inner = cshape.isEmpty ? 1 : cshape[cshape.count - 1]
    let ia = sa.last ?? 0, ib = sb.last ?? 0
    forEachRow(cshape, [sa, sb], grain: elementwiseGrain) { offs, row in
        let x = pa + offs[0], y = pb + offs[1], d = o + row * inner
        if ia == 1 && ib == 1 {
            var i = 0
            while i + vWidth <= inner { vstore(f.vector(vload(x + i), vload(y + i)), d + i); i += vWidth }
            while i < inner { d[i] = f.scalar(x[i], y[i]); i += 1 }
        } else if ia == 1 && ib == 0 {
            let s = y[0], vs = V(repeating: s)
            var i = 0
            while i + vWidth <= inner { vstore(f.vector(vload(x + i), vs), d + i); i += vWidth }
            while i < inner { d[i] = f.scalar(x[i], s); i += 1 }
        } else if ia == 0 && ib == 1 {
            let s = x[0], vs = V(repeating: s)
            var i = 0
            while i + vWidth <= inner { vstore(f.vector(vs, vload(y + i)), d + i); i += vWidth }
            while i < inner { d[i] = f.scalar(s, y[i]); i += 1 }
        } else {
            for i in 0..<inner { d[i] = f.scalar(x[i * ia], y[i * ib]) }
        }
    }
    return out
}
