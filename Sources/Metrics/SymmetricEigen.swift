// Eigenvalues (and optionally eigenvectors) of a real symmetric matrix in Float64: Householder reduction to
// tridiagonal form, then the implicit QL algorithm with Wilkinson-style shifts (EISPACK tred2/tql2; Golub &
// Van Loan, Matrix Computations, §8.3). O(n³).
// The arithmetic is tred2/tql2's; only the memory order differs, so that every inner loop runs along rows
// (the matrix is row-major) with SIMD, spread over the threads:
//   * the reduction's product p = A·u reads the lower triangle once, row by row (each row gives its own dot
//     product and scatters its axpy into the entries above the diagonal: a fused dsymv);
//   * the rank-2 update A −= u·qᵀ + q·uᵀ runs row by row;
//   * accumulating Q computes all of a step's dot products first (they do not depend on one another), then
//     applies the rank-1 update row by row;
//   * QL's rotations act on d and e alone; they are recorded and applied to the eigenvectors in batches,
//     each column block of the eigenvectors (kept in L2) taking a whole batch in turn.
// Work is split into a fixed number of blocks (not one per thread), so results do not depend on the thread count.
import Foundation
import TensorCore

public struct EigenError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Symmetric eigendecomposition A = V diag(λ) Vᵀ. `a`: n x n row-major (only its lower triangle is read).
/// Returns eigenvalues (unsorted) and, when asked, eigenvectors as the ROWS of `vectors` (row i pairs with λ[i]).
public func symmetricEigen(_ a: [Double], n: Int, vectors wantVectors: Bool) throws -> (values: [Double], vectors: [Double]?) {
    require(a.count == n * n, "symmetricEigen: \(a.count) values for a \(n)x\(n) matrix")
    if n == 0 { return ([], wantVectors ? [] : nil) }
    var z = a
    var d = [Double](repeating: 0, count: n), e = [Double](repeating: 0, count: n)
    z.withUnsafeMutableBufferPointer { zb in
        d.withUnsafeMutableBufferPointer { db in
            e.withUnsafeMutableBufferPointer { eb in
                tridiagonalize(zb.baseAddress!, n, db.baseAddress!, eb.baseAddress!, wantVectors)
            }
        }
    }
    // Eigenvectors are accumulated as rows of zT so the QL rotations touch contiguous memory.
    var zt: [Double] = []
    if wantVectors {
        zt = [Double](repeating: 0, count: n * n)
        z.withUnsafeBufferPointer { zb in
            zt.withUnsafeMutableBufferPointer { tb in
                let src = zb.baseAddress!, dst = tb.baseAddress!
                parallelRanges(n, grain: 64) { rows in
                    for j in rows { for i in 0..<n { dst[j * n + i] = src[i * n + j] } }
                }
            }
        }
    }
    try d.withUnsafeMutableBufferPointer { db in
        try e.withUnsafeMutableBufferPointer { eb in
            try zt.withUnsafeMutableBufferPointer { zb in
                try tridiagonalQL(db.baseAddress!, eb.baseAddress!, n, wantVectors ? zb.baseAddress : nil)
            }
        }
    }
    return (d, wantVectors ? zt : nil)
}

// MARK: - Row kernels

/// Σ a[k]·b[k] for k in 0..<count.
@inline(__always) private func dot(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ count: Int) -> Double {
    var acc = SIMD8<Double>(repeating: 0)
    var k = 0
    while k + 8 <= count {
        acc = acc.addingProduct(UnsafeRawPointer(a + k).loadUnaligned(as: SIMD8<Double>.self),
                                UnsafeRawPointer(b + k).loadUnaligned(as: SIMD8<Double>.self))
        k += 8
    }
    var s = acc.sum()
    while k < count { s += a[k] * b[k]; k += 1 }
    return s
}

/// y[k] += alpha · x[k] for k in 0..<count.
@inline(__always) private func axpy(_ alpha: Double, _ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, _ count: Int) {
    let va = SIMD8<Double>(repeating: alpha)
    var k = 0
    while k + 8 <= count {
        let yv = UnsafeRawPointer(y + k).loadUnaligned(as: SIMD8<Double>.self)
        let xv = UnsafeRawPointer(x + k).loadUnaligned(as: SIMD8<Double>.self)
        UnsafeMutableRawPointer(y + k).storeBytes(of: yv.addingProduct(xv, va), as: SIMD8<Double>.self)
        k += 8
    }
    while k < count { y[k] += alpha * x[k]; k += 1 }
}

/// Blocks of 0..<count of about equal work when item j costs ∝ j (rows of a lower triangle). At most 32; their
/// number depends only on `count`.
private func triangleBlocks(_ count: Int) -> [Range<Int>] {
    let parts = Swift.max(1, Swift.min(32, count / 48))
    var bounds = [0]
    for b in 1..<parts {
        bounds.append(Swift.min(count, Swift.max(bounds.last!, Int((Double(b) / Double(parts)).squareRoot() * Double(count)))))
    }
    bounds.append(count)
    return (0..<parts).map { bounds[$0]..<bounds[$0 + 1] }.filter { !$0.isEmpty }
}

/// Blocks of 0..<count of equal size; their number depends only on `count`.
private func evenBlocks(_ count: Int) -> [Range<Int>] {
    let parts = Swift.max(1, Swift.min(32, count / 64))
    return (0..<parts).map { (count * $0 / parts)..<(count * ($0 + 1) / parts) }.filter { !$0.isEmpty }
}

/// r[k] −= a·x[k] + b·y[k] for k in 0..<count (tred2's rank-2 update of one row, same expression).
@inline(__always) private func rankTwoRow(_ r: UnsafeMutablePointer<Double>, _ a: Double, _ x: UnsafePointer<Double>,
                                          _ b: Double, _ y: UnsafePointer<Double>, _ count: Int) {
    let va = SIMD8<Double>(repeating: a), vb = SIMD8<Double>(repeating: b)
    var k = 0
    while k + 8 <= count {
        let rv = UnsafeRawPointer(r + k).loadUnaligned(as: SIMD8<Double>.self)
        let xv = UnsafeRawPointer(x + k).loadUnaligned(as: SIMD8<Double>.self)
        let yv = UnsafeRawPointer(y + k).loadUnaligned(as: SIMD8<Double>.self)
        UnsafeMutableRawPointer(r + k).storeBytes(of: rv - (va * xv + vb * yv), as: SIMD8<Double>.self)
        k += 8
    }
    while k < count { r[k] -= a * x[k] + b * y[k]; k += 1 }
}

// MARK: - Householder tridiagonalisation (tred2)

/// Householder reduction of the symmetric matrix z (n x n, row-major) to tridiagonal form: diagonal d,
/// sub-diagonal e (e[i] couples i-1 and i; e[0] = 0). With `vectors`, z ends holding the orthogonal Q.
private func tridiagonalize(_ z: UnsafeMutablePointer<Double>, _ n: Int, _ d: UnsafeMutablePointer<Double>,
                            _ e: UnsafeMutablePointer<Double>, _ vectors: Bool) {
    // Per-block partial sums of the above-diagonal half of A·u, reduced in block order.
    let maxBlocks = 32
    let partial = UnsafeMutablePointer<Double>.allocate(capacity: maxBlocks * n)
    defer { partial.deallocate() }
    for i in stride(from: n - 1, to: 0, by: -1) {
        let l = i - 1
        var h = 0.0
        let ri = z + i * n
        if l > 0 {
            var scale = 0.0
            for k in 0...l { scale += abs(ri[k]) }
            if scale == 0 {
                e[i] = ri[l]
            } else {
                for k in 0...l { ri[k] /= scale; h += ri[k] * ri[k] }
                let f0 = ri[l]
                let g0 = f0 >= 0 ? -h.squareRoot() : h.squareRoot()
                e[i] = scale * g0
                h -= f0 * g0
                ri[l] = f0 - g0
                if vectors { for j in 0...l { z[j * n + i] = ri[j] / h } }
                // p = A·u over rows 0...l: row j's dot with u[0...j] plus Σ_{k>j} A[k][j]·u[k].
                let rows = l + 1
                let blocks = triangleBlocks(rows)
                parallelFor(blocks.count) { b in
                    let acc = partial + b * n
                    acc.initialize(repeating: 0, count: rows)
                    for j in blocks[b] {
                        let rj = z + j * n
                        e[j] = dot(rj, ri, j + 1)
                        axpy(ri[j], rj, acc, j)          // contributes A[j][k]·u[j] to p[k], k < j
                    }
                }
                var f = 0.0
                for j in 0...l {
                    var g = e[j]
                    for b in 0..<blocks.count { g += partial[b * n + j] }   // zero where block b has no row below j
                    e[j] = g / h
                    f += e[j] * ri[j]
                }
                let hh = f / (h + h)
                for j in 0...l { e[j] -= hh * ri[j] }
                // A[j][k] −= u[j]·q[k] + q[j]·u[k] for k ≤ j.
                parallelFor(blocks.count) { b in
                    for j in blocks[b] { rankTwoRow(z + j * n, ri[j], e, e[j], ri, j + 1) }
                }
            }
        } else {
            e[i] = ri[l]
        }
        d[i] = h
    }
    d[0] = 0
    e[0] = 0
    let g = UnsafeMutablePointer<Double>.allocate(capacity: n)
    defer { g.deallocate() }
    for i in 0..<n {
        if vectors {
            if d[i] != 0 {
                // g[j] = Σ_{k<i} Z[i][k]·Z[k][j] for all j < i (independent of one another), then
                // Z[k][j] −= g[j]·Z[k][i] for k, j < i.
                let columns = evenBlocks(i)
                let ri = z + i * n
                parallelFor(columns.count) { b in
                    let c = columns[b]
                    (g + c.lowerBound).initialize(repeating: 0, count: c.count)
                    for k in 0..<i { axpy(ri[k], z + k * n + c.lowerBound, g + c.lowerBound, c.count) }
                }
                parallelFor(columns.count) { b in
                    for k in columns[b] { axpy(-z[k * n + i], g, z + k * n, i) }
                }
            }
            d[i] = z[i * n + i]
            z[i * n + i] = 1
            for j in 0..<i { z[j * n + i] = 0; z[i * n + j] = 0 }
        } else {
            d[i] = z[i * n + i]
        }
    }
}

// MARK: - Implicit QL (tql2)

/// Implicit QL on the tridiagonal (d, e from tridiagonalize). d becomes the eigenvalues; with zt (the rows
/// of Qᵀ), its rows become the eigenvectors.
private func tridiagonalQL(_ d: UnsafeMutablePointer<Double>, _ e: UnsafeMutablePointer<Double>, _ n: Int,
                           _ zt: UnsafeMutablePointer<Double>?) throws {
    for i in 1..<max(n, 1) { e[i - 1] = e[i] }
    e[n - 1] = 0
    // Rotations (row i, c, s) in order. The iteration on d and e never reads the eigenvectors, so rotations
    // are collected and applied to zt in batches (each column block taking every rotation of a batch in turn).
    let batch = 1 << 15
    var rotations: [(Int, Double, Double)] = []
    rotations.reserveCapacity(zt == nil ? 0 : batch + n)
    for l in 0..<n {
        var iterations = 0
        while true {
            var m = l
            while m < n - 1 {
                let dd = abs(d[m]) + abs(d[m + 1])
                if abs(e[m]) <= Double.ulpOfOne * dd { break }
                m += 1
            }
            if m == l { break }
            iterations += 1
            if iterations > 60 { throw EigenError(message: "symmetric eigensolver: no convergence for eigenvalue \(l) of \(n)") }
            var g = (d[l + 1] - d[l]) / (2 * e[l])
            var r = (g * g + 1).squareRoot()
            g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r))
            var s = 1.0, c = 1.0, p = 0.0
            var i = m - 1
            var deflated = false
            while i >= l {
                let f = s * e[i], b = c * e[i]
                r = (f * f + g * g).squareRoot()
                e[i + 1] = r
                if r == 0 { d[i + 1] -= p; e[m] = 0; deflated = true; break }
                s = f / r
                c = g / r
                g = d[i + 1] - p
                r = (d[i] - g) * s + 2 * c * b
                p = s * r
                d[i + 1] = g + p
                g = c * r - b
                if zt != nil { rotations.append((i, c, s)) }
                i -= 1
            }
            if let zt, rotations.count >= batch { applyRotations(rotations, zt, n); rotations.removeAll(keepingCapacity: true) }
            if deflated { continue }
            d[l] -= p
            e[l] = g
            e[m] = 0
        }
    }
    if let zt, !rotations.isEmpty { applyRotations(rotations, zt, n) }
}

/// Applies rotations in order to rows (i, i+1) of zt: v ← s·u + c·v, u ← c·u − s·v (u row i, v row i+1), over
/// column blocks of 32 (all n rows of one block stay in L2) in parallel. A sweep's rotations run down the
/// rows (i, i−1, ...), so the row a rotation leaves in u is the next one's v: it stays in registers.
private func applyRotations(_ rotations: [(Int, Double, Double)], _ zt: UnsafeMutablePointer<Double>, _ n: Int) {
    typealias V = SIMD8<Double>
    let width = 32, blocks = (n + width - 1) / width
    @inline(__always) func load(_ p: UnsafeMutablePointer<Double>) -> (V, V, V, V) {
        let r = UnsafeRawPointer(p)
        return (r.loadUnaligned(as: V.self), r.loadUnaligned(fromByteOffset: 64, as: V.self),
                r.loadUnaligned(fromByteOffset: 128, as: V.self), r.loadUnaligned(fromByteOffset: 192, as: V.self))
    }
    @inline(__always) func store(_ x: (V, V, V, V), _ p: UnsafeMutablePointer<Double>) {
        let r = UnsafeMutableRawPointer(p)
        r.storeBytes(of: x.0, as: V.self); r.storeBytes(of: x.1, toByteOffset: 64, as: V.self)
        r.storeBytes(of: x.2, toByteOffset: 128, as: V.self); r.storeBytes(of: x.3, toByteOffset: 192, as: V.self)
    }
    let run = { (b: Int) in
        let k0 = b * width, k1 = Swift.min(n, k0 + width)
        guard k1 - k0 == width else {
            for (i, c, s) in rotations {
                let u = zt + i * n, v = zt + (i + 1) * n
                for k in k0..<k1 { let fk = v[k]; v[k] = s * u[k] + c * fk; u[k] = c * u[k] - s * fk }
            }
            return
        }
        var carry = (V(), V(), V(), V()), carryRow = -1
        for (i, c, s) in rotations {
            let vc = V(repeating: c), vs = V(repeating: s)
            let v: (V, V, V, V)
            if carryRow == i + 1 { v = carry } else {
                if carryRow >= 0 { store(carry, zt + carryRow * n + k0) }
                v = load(zt + (i + 1) * n + k0)
            }
            let u = load(zt + i * n + k0)
            store((vs * u.0 + vc * v.0, vs * u.1 + vc * v.1, vs * u.2 + vc * v.2, vs * u.3 + vc * v.3), zt + (i + 1) * n + k0)
            carry = (vc * u.0 - vs * v.0, vc * u.1 - vs * v.1, vc * u.2 - vs * v.2, vc * u.3 - vs * v.3)
            carryRow = i
        }
        if carryRow >= 0 { store(carry, zt + carryRow * n + k0) }
    }
    if rotations.count * n < 1 << 16 { for b in 0..<blocks { run(b) } } else { parallelFor(blocks, run) }
}
