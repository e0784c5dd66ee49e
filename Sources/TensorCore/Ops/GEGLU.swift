// GEGLU (Shazeer 2020, "GLU Variants Improve Transformer"; diffusers' activations.GEGLU after its projection):
// the last axis of x splits into the hidden half h = x[…, :D] and the gate g = x[…, D:], and out = h · gelu(g).
// As separate ops that is chunk → gelu on a strided view → mul forward, and backward two zero-filled (…, 2D)
// cotangents (one per slice) summed: five passes over the activations where one forward and one backward pass do.
// The fused kernels read both halves in place and write the (…, 2D) cotangent at once; naive loops beside them are
// the reference the tests hold them to.
import Foundation

extension Tensor {
    /// h · gelu(g) for x = [h, g] along the last axis: (…, 2D) -> (…, D). `approximate: .tanh` (diffusers'
    /// "geglu-approximate") is composed of the separate ops.
    public func geglu(approximate: GELUApproximation = .none) -> Tensor {
        let r = rank
        require(r >= 1 && shape[r - 1] % 2 == 0, "geglu: the last axis of \(shape) must have an even size (hidden and gate halves)")
        let d = shape[r - 1] / 2
        guard approximate == .none else {
            let parts = chunk(2, axis: r - 1)
            return parts[0] * parts[1].gelu(approximate: approximate)
        }
        let x = isContiguous ? self : contiguous()
        let rows = x.count / Swift.max(2 * d, 1)
        let out = Tensor(uninitializedShape: Array(shape.dropLast()) + [d])
        if rows > 0 && d > 0 { gegluForward(x.storage.base + x.offset, out.storage.base, rows: rows, d: d) }
        return out.recorded("geglu", [self]) { g, _ in
            if GradMode.isEnabled {
                // Differentiable form (gradients of gradients): the same formula in TensorCore ops.
                let h = x.slice(axis: r - 1, start: 0, end: d), gate = x.slice(axis: r - 1, start: d, end: 2 * d)
                let cdf = ((gate * Float(0.5.squareRoot())).erf() + 1) * 0.5
                let pdf = (gate * gate * -0.5).exp() * Float(1 / (2 * Double.pi).squareRoot())
                return [Tensor.concat([g * gate * cdf, g * h * (cdf + gate * pdf)], axis: r - 1)]
            }
            let gc = g.isContiguous ? g : g.contiguous()
            let dx = Tensor(uninitializedShape: x.shape)
            if rows > 0 && d > 0 {
                gegluBackward(gc.storage.base + gc.offset, x.storage.base + x.offset, dx.storage.base, rows: rows, d: d)
            }
            return [dx]
        }
    }
}

private let sqrtHalf = Float(0.5.squareRoot())
private let invSqrt2Pi = Float(1 / (2 * Double.pi).squareRoot())

/// x (rows, 2D) -> out (rows, D): out[r, i] = x[r, i] · gelu(x[r, D + i]), gelu(b) = b·Φ(b), Φ(b) = (1 + erf(b/√2))/2.
func gegluForward(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, d: Int) {
    parallelRanges(rows, grain: Swift.max(1, elementwiseGrain / (2 * d))) { range in
        for r in range {
            let h = x + r * 2 * d, g = h + d, o = out + r * d
            var i = 0
            while i + vWidth <= d {
                let b = vload(g + i)
                vstore(vload(h + i) * b * (verf(b * sqrtHalf) + 1) * 0.5, o + i)
                i += vWidth
            }
            while i < d { let b = g[i]; o[i] = h[i] * b * (verfScalar(b * sqrtHalf) + 1) * 0.5; i += 1 }
        }
    }
}

/// dy (rows, D), x (rows, 2D) -> dx (rows, 2D): dx[r, i] = dy · gelu(b), dx[r, D + i] = dy · a · (Φ(b) + b·φ(b)),
/// with a = x[r, i], b = x[r, D + i], φ the standard normal density.
func gegluBackward(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, rows: Int, d: Int) {
    parallelRanges(rows, grain: Swift.max(1, elementwiseGrain / (2 * d))) { range in
        for r in range {
            let h = x + r * 2 * d, g = h + d, gy = dy + r * d, dh = dx + r * 2 * d, dg = dh + d
            var i = 0
            while i + vWidth <= d {
                let a = vload(h + i), b = vload(g + i), t = vload(gy + i)
                let cdf = (verf(b * sqrtHalf) + 1) * 0.5
                vstore(t * b * cdf, dh + i)
                vstore(t * a * (cdf + b * vexp(b * b * -0.5) * invSqrt2Pi), dg + i)
                i += vWidth
            }
            while i < d {
                let a = h[i], b = g[i], t = gy[i]
                let cdf = (verfScalar(b * sqrtHalf) + 1) * 0.5
                dh[i] = t * b * cdf
                dg[i] = t * a * (cdf + b * vexp(V(repeating: b * b * -0.5))[0] * invSqrt2Pi)
                i += 1
            }
        }
    }
}

/// The naive reference of both kernels (libm erf and exp, one element at a time): (out, dx).
func gegluReference(_ x: [Float], _ dy: [Float], rows: Int, d: Int) -> ([Float], [Float]) {
    var out = [Float](repeating: 0, count: rows * d), dx = [Float](repeating: 0, count: rows * 2 * d)
    for r in 0..<rows {
        for i in 0..<d {
            let a = Double(x[r * 2 * d + i]), b = Double(x[r * 2 * d + d + i]), t = Double(dy[r * d + i])
            let cdf = (1 + Foundation.erf(b / 2.0.squareRoot())) / 2
            let pdf = Foundation.exp(-b * b / 2) / (2 * Double.pi).squareRoot()
            out[r * d + i] = Float(a * b * cdf)
            dx[r * 2 * d + i] = Float(t * b * cdf)
            dx[r * 2 * d + d + i] = Float(t * a * (cdf + b * pdf))
        }
    }
    return (out, dx)
}
