// Copying one strided view into another: `contiguous()`, `copyIn` and so `concat`. Where both sides walk the last
// axis contiguously, whole rows are copied. Where the source is a transposed view (contiguous along another axis,
// strided along the last: a permute of the channel and position axes, as the adapters' tokens are), element by
// element in row order reads one source cache line per element; the fast kernel copies the two axes in square
// tiles instead, so that both sides are read and written a cache line at a time.

/// Naive reference: dst[index] = src[index] for every index of `shape`, in row-major order.
// shape: (d0, …, dr-1); src and dst element strides per axis (any, including 0 for a broadcast source)
func stridedCopyReference(shape: [Int], _ src: UnsafePointer<Float>, _ srcStrides: [Int],
                          _ dst: UnsafeMutablePointer<Float>, _ dstStrides: [Int]) {
    let count = shape.reduce(1, *)
    if count == 0 { return }
    var index = [Int](repeating: 0, count: shape.count)
    for _ in 0..<count {
        var s = 0, d = 0
        for a in 0..<shape.count { s += index[a] * srcStrides[a]; d += index[a] * dstStrides[a] }
        dst[d] = src[s]
        var a = shape.count - 1
        while a >= 0 { index[a] += 1; if index[a] < shape[a] { break }; index[a] = 0; a -= 1 }
    }
}

/// Tile side of the transposing copy: one vector (16 floats, a 64-byte line), so a whole tile is one register transpose
/// of 16 source rows into 16 destination rows.
let stridedCopyTile = vWidth

/// dst[index] = src[index] for every index of `shape`; the same result as `stridedCopyReference`, in parallel.
// shape: (d0, …, dr-1); src and dst element strides per axis. Size-1 axes and axes both sides walk contiguously
// are merged first (collapseAxes), so a permuted view is seen as the few axes that really move.
func stridedCopy(shape: [Int], _ src: UnsafePointer<Float>, _ srcStrides: [Int],
                 _ dst: UnsafeMutablePointer<Float>, _ dstStrides: [Int]) {
    if shape.contains(0) { return }
    let (s, st) = collapseAxes(shape, [srcStrides, dstStrides])
    guard let last = s.indices.last else { dst[0] = src[0]; return }   // one element
    let (ss, ds) = (st[0], st[1])
    if ss[last] != 1 && ds[last] == 1, let j = (0..<last).last(where: { ss[$0] == 1 }), s[j] > 1 {
        transposingCopy(s, ss, ds, j, src, dst)
        return
    }
    let inner = s[last], si = ss[last], di = ds[last]
    forEachRow(s, st, grain: elementwiseGrain) { offs, _ in
        let a = src + offs[0], b = dst + offs[1]
        if si == 1 && di == 1 { b.update(from: a, count: inner) } else { for i in 0..<inner { b[i * di] = a[i * si] } }
    }
}

/// The copy of `stridedCopy` when the source is contiguous along axis j and the destination along the last axis:
/// for each index of the other axes, the (d_j × d_last) block in tiles of stridedCopyTile², whole tiles transposed in
/// registers, partial ones element by element. Tasks are (outer index, block of j), spread over the threads.
// s: collapsed shape; ss, ds: its source and destination strides (ss[j] == 1, ds[last] == 1)
private func transposingCopy(_ s: [Int], _ ss: [Int], _ ds: [Int], _ j: Int,
                             _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>) {
    let last = s.count - 1, tile = stridedCopyTile
    let (nj, ni, si, dj) = (s[j], s[last], ss[last], ds[j])
    var outer: [Int] = [], os: [Int] = [], od: [Int] = []
    for a in 0..<last where a != j { outer.append(s[a]); os.append(ss[a]); od.append(ds[a]) }
    let outerCount = outer.reduce(1, *), jBlocks = (nj + tile - 1) / tile
    parallelRanges(outerCount * jBlocks, grain: Swift.max(1, elementwiseGrain / (tile * ni))) { tasks in
        for task in tasks {
            var o = task / jBlocks, so = 0, dO = 0
            var a = outer.count - 1
            while a >= 0 { let i = o % outer[a]; o /= outer[a]; so += i * os[a]; dO += i * od[a]; a -= 1 }
            let j0 = (task % jBlocks) * tile, j1 = Swift.min(nj, j0 + tile)
            var i0 = 0
            while i0 < ni {
                let i1 = Swift.min(ni, i0 + tile)
                if j1 - j0 == vWidth && i1 - i0 == vWidth {
                    // A whole tile: 16 source rows (16 consecutive j each) as vectors, transposed in registers, stored as
                    // 16 destination rows (16 consecutive i each). Each source line is read once, so the tile's 16
                    // lines need not stay in L1 together (at a power-of-two stride they share one set).
                    let c = src + (so + j0 + i0 * si)
                    var r: V16 = (vload(c), vload(c + si), vload(c + 2 * si), vload(c + 3 * si), vload(c + 4 * si),
                                  vload(c + 5 * si), vload(c + 6 * si), vload(c + 7 * si), vload(c + 8 * si), vload(c + 9 * si),
                                  vload(c + 10 * si), vload(c + 11 * si), vload(c + 12 * si), vload(c + 13 * si),
                                  vload(c + 14 * si), vload(c + 15 * si))
                    r = perfectShuffle(perfectShuffle(perfectShuffle(perfectShuffle(r))))   // row i, lane j -> row j, lane i
                    let o = dst + (dO + j0 * dj + i0)
                    vstore(r.0, o); vstore(r.1, o + dj); vstore(r.2, o + 2 * dj); vstore(r.3, o + 3 * dj)
                    vstore(r.4, o + 4 * dj); vstore(r.5, o + 5 * dj); vstore(r.6, o + 6 * dj); vstore(r.7, o + 7 * dj)
                    vstore(r.8, o + 8 * dj); vstore(r.9, o + 9 * dj); vstore(r.10, o + 10 * dj); vstore(r.11, o + 11 * dj)
                    vstore(r.12, o + 12 * dj); vstore(r.13, o + 13 * dj); vstore(r.14, o + 14 * dj); vstore(r.15, o + 15 * dj)
                } else {
                    for jj in j0..<j1 {
                        let sp = src + (so + jj), dp = dst + (dO + jj * dj)
                        for ii in i0..<i1 { dp[ii] = sp[ii * si] }
                    }
                }
                i0 = i1
            }
        }
    }
}
