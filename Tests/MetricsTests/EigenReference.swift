// The original, unblocked and serial EISPACK tred2/tql2 port of Sources/Metrics/SymmetricEigen.swift (before its
// row-oriented, parallel rewrite), kept as the reference the rewrite must match to 1e-12.
import Foundation
@testable import Metrics
@testable import TensorCore

/// Symmetric eigendecomposition A = V diag(λ) Vᵀ. `a`: n x n row-major (only its lower triangle is read).
/// Returns eigenvalues (unsorted) and, when asked, eigenvectors as the ROWS of `vectors` (row i pairs with λ[i]).
func referenceSymmetricEigen(_ a: [Double], n: Int, vectors wantVectors: Bool) throws -> (values: [Double], vectors: [Double]?) {
    require(a.count == n * n, "symmetricEigen: \(a.count) values for a \(n)x\(n) matrix")
    if n == 0 { return ([], wantVectors ? [] : nil) }
    var z = a
    var d = [Double](repeating: 0, count: n), e = [Double](repeating: 0, count: n)
    z.withUnsafeMutableBufferPointer { zb in
        d.withUnsafeMutableBufferPointer { db in
            e.withUnsafeMutableBufferPointer { eb in
                referenceTridiagonalize(zb.baseAddress!, n, db.baseAddress!, eb.baseAddress!, wantVectors)
            }
        }
    }
    // Eigenvectors are accumulated as rows of zT so the QL rotations touch contiguous memory.
    var zt: [Double] = []
    if wantVectors {
        zt = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { zt[j * n + i] = z[i * n + j] } }
    }
    try d.withUnsafeMutableBufferPointer { db in
        try e.withUnsafeMutableBufferPointer { eb in
            try zt.withUnsafeMutableBufferPointer { zb in
                try referenceTridiagonalQL(db.baseAddress!, eb.baseAddress!, n, wantVectors ? zb.baseAddress : nil)
            }
        }
    }
    return (d, wantVectors ? zt : nil)
}

/// Householder reduction of the symmetric matrix z (n x n, row-major) to tridiagonal form: diagonal d,
/// sub-diagonal e (e[i] couples i-1 and i; e[0] = 0). With `vectors`, z ends holding the orthogonal Q.
private func referenceTridiagonalize(_ z: UnsafeMutablePointer<Double>, _ n: Int, _ d: UnsafeMutablePointer<Double>,
                            _ e: UnsafeMutablePointer<Double>, _ vectors: Bool) {
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
                var f = ri[l]
                let g0 = f >= 0 ? -h.squareRoot() : h.squareRoot()
                e[i] = scale * g0
                h -= f * g0
                ri[l] = f - g0
                f = 0
                for j in 0...l {
                    if vectors { z[j * n + i] = ri[j] / h }
                    var g = 0.0
                    let rj = z + j * n
                    for k in 0...j { g += rj[k] * ri[k] }
                    if j + 1 <= l { for k in (j + 1)...l { g += z[k * n + j] * ri[k] } }
                    e[j] = g / h
                    f += e[j] * ri[j]
                }
                let hh = f / (h + h)
                for j in 0...l {
                    let fj = ri[j]
                    let gj = e[j] - hh * fj
                    e[j] = gj
                    let rj = z + j * n
                    for k in 0...j { rj[k] -= fj * e[k] + gj * ri[k] }
                }
            }
        } else {
            e[i] = ri[l]
        }
        d[i] = h
    }
    d[0] = 0
    e[0] = 0
    for i in 0..<n {
        if vectors {
            if d[i] != 0 {
                for j in 0..<i {
                    var g = 0.0
                    for k in 0..<i { g += z[i * n + k] * z[k * n + j] }
                    for k in 0..<i { z[k * n + j] -= g * z[k * n + i] }
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

/// Implicit QL on the tridiagonal (d, e from tridiagonalize). d becomes the eigenvalues; with zt (the rows
/// of Qᵀ), its rows become the eigenvectors.
private func referenceTridiagonalQL(_ d: UnsafeMutablePointer<Double>, _ e: UnsafeMutablePointer<Double>, _ n: Int,
                           _ zt: UnsafeMutablePointer<Double>?) throws {
    for i in 1..<max(n, 1) { e[i - 1] = e[i] }
    e[n - 1] = 0
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
                if let zt {
                    let u = zt + i * n, v = zt + (i + 1) * n
                    for k in 0..<n { let fk = v[k]; v[k] = s * u[k] + c * fk; u[k] = c * u[k] - s * fk }
                }
                i -= 1
            }
            if deflated { continue }
            d[l] -= p
            e[l] = g
            e[m] = 0
        }
    }
}
