// Finite-difference gradient checks, first and second order, against TensorCore's autograd. Perturbations
// and sums in Float64, function values in Float32. Error: max |analytic − numeric| / max(|numeric|, 1e-6).
import XCTest
import TensorCore

/// Compares the analytic gradient of sum(f(x) · r) (r uniform in [-1, 1), seed 99) with central differences.
/// The inputs are copied into fresh leaves that require a gradient, so callers may pass any tensors.
public func gradcheck(_ inputs: [Tensor], eps: Float = 1e-2, tol: Double = 1e-2, _ what: String = "",
                      file: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) -> Tensor) {
    let xs = inputs.map { x -> Tensor in Tensor(x.toArray(), shape: x.shape, requiresGrad: true) }
    gradcheckInPlace(xs, eps: eps, tol: tol, what, file: file, line: line) { f(xs) }
}

/// gradcheck of sum(f() · r) with respect to `tensors` themselves, perturbed in place (so they may be a
/// module's parameters, or leaves the closure captures). They must be dense leaves that require a gradient;
/// `names` (one per tensor) label the failures.
public func gradcheckInPlace(_ tensors: [Tensor], names: [String]? = nil, eps: Float = 1e-2, tol: Double = 1e-2,
                             _ what: String = "", file: StaticString = #filePath, line: UInt = #line, _ f: () -> Tensor) {
    for (k, t) in tensors.enumerated() where !(t.isContiguous && t.node == nil && t.requiresGrad) {
        XCTFail("\(what): gradcheckInPlace tensor \(k) \(t.shape) is not a dense leaf that requires a gradient", file: file, line: line)
        return
    }
    if let names, names.count != tensors.count {
        XCTFail("\(what): gradcheckInPlace has \(names.count) names for \(tensors.count) tensors", file: file, line: line)
        return
    }
    let y = f()
    let r = RandomGenerator(seed: 99).uniform(y.shape, low: -1, high: 1)
    let analytic = gradients(of: (y * r).sum(), wrt: tensors)
    let rv = r.toArray()
    func value() -> Double {
        let v = withNoGrad { f() }.toArray()
        var s = 0.0
        for i in 0..<v.count { s += Double(v[i]) * Double(rv[i]) }
        return s
    }
    for (k, x) in tensors.enumerated() {
        let numeric = centralDifferences(x, eps: eps, value)
        let label = names?[k] ?? "input \(k)"
        assertMatchesNumeric(analytic[k], numeric, tol: tol, "\(what): gradient of \(label)", file: file, line: line)
    }
}

/// Second order: checks the gradient of h(x) = sum(∇ₓ[sum(f(x) · r)] · r2), where the inner gradient is
/// taken with createGraph, against central differences of h. Inputs are copied as in gradcheck.
public func gradgradcheck(_ inputs: [Tensor], eps: Float = 1e-2, tol: Double = 2e-2, _ what: String = "",
                          file: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) -> Tensor) {
    func h(_ xs: [Tensor]) -> Tensor {
        let y = f(xs)
        let r = RandomGenerator(seed: 7).uniform(y.shape, low: -1, high: 1)
        let g = gradients(of: (y * r).sum(), wrt: xs, createGraph: true)
        var total: Tensor? = nil
        for (i, gi) in g.enumerated() {
            let r2 = RandomGenerator(seed: 11 + UInt64(i)).uniform(gi.shape, low: -1, high: 1)
            let t = (gi * r2).sum()
            total = total.map { $0 + t } ?? t
        }
        return total ?? Tensor(scalar: 0)
    }
    let xs = inputs.map { x -> Tensor in Tensor(x.toArray(), shape: x.shape, requiresGrad: true) }
    let analytic = gradients(of: h(xs), wrt: xs)
    for (k, x) in xs.enumerated() {
        let numeric = centralDifferences(x, eps: eps) { Double(h(xs).item()) }
        assertMatchesNumeric(analytic[k], numeric, tol: tol, "\(what): second-order gradient of input \(k)", file: file, line: line)
    }
}

/// d value / d x by central differences, perturbing each element of the dense tensor x in place by ±eps.
private func centralDifferences(_ x: Tensor, eps: Float, _ value: () -> Double) -> [Double] {
    (0..<x.count).map { i in
        let base = x.storage.base[x.offset + i]
        x.storage.base[x.offset + i] = base + eps
        let up = value()
        x.storage.base[x.offset + i] = base - eps
        let down = value()
        x.storage.base[x.offset + i] = base
        return (up - down) / (2 * Double(eps))
    }
}

/// max |analytic − numeric| / max(max |numeric|, 1e-6) at most `tol`.
private func assertMatchesNumeric(_ analytic: Tensor, _ numeric: [Double], tol: Double, _ what: String,
                                  file: StaticString, line: UInt) {
    let a = analytic.toArray()
    guard a.count == numeric.count else {
        XCTFail("\(what): analytic gradient has \(a.count) elements, numeric \(numeric.count)", file: file, line: line)
        return
    }
    var num = 0.0, den = 1e-6
    for i in 0..<a.count { num = Swift.max(num, Swift.abs(Double(a[i]) - numeric[i])); den = Swift.max(den, Swift.abs(numeric[i])) }
    XCTAssertLessThanOrEqual(num / den, tol, "\(what) differs from finite differences (abs \(num), scale \(den))", file: file, line: line)
}
