// Test support: fixture loading, a tolerance check that cannot be misused, finite-difference gradient
// checks (first and second order) and PyTorch parity for one fixture case.
import Foundation
import XCTest
@testable import TensorCore

let fixturesDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures")

func fixture(_ name: String) throws -> SafeTensorsFile {
    try SafeTensorsFile(path: fixturesDir.appendingPathComponent(name).path)
}

/// max |a - b| / max |b| (the EG3D fixtures' relative error), Float64 accumulation.
func relativeError(_ a: Tensor, _ b: Tensor) -> Double {
    let x = a.toArray(), y = b.toArray()
    var num = 0.0, den = 0.0
    for i in 0..<x.count {
        let d = Swift.abs(Double(x[i]) - Double(y[i]))
        num = Swift.max(num, d.isNaN ? .infinity : d)
        den = Swift.max(den, Swift.abs(Double(y[i])))
    }
    return den == 0 ? num : num / den
}

/// Asserts shapes match and relativeError(actual, expected) <= tol. Prints the first pairs on failure.
func assertClose(_ actual: Tensor, _ expected: Tensor, tol: Double, _ what: String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    precondition(tol >= 0 && tol.isFinite, "assertClose: tolerance must be finite and non-negative")
    guard actual.shape == expected.shape else {
        XCTFail("\(what): shape \(actual.shape) != expected \(expected.shape)", file: file, line: line); return
    }
    let err = relativeError(actual, expected)
    if !(err <= tol) {
        let a = actual.toArray().prefix(5), e = expected.toArray().prefix(5)
        XCTFail("\(what): relative error \(err) > \(tol); first pairs \(Array(zip(a, e)))", file: file, line: line)
    }
}

/// A fixed pseudo-random tensor for tests.
func testTensor(_ shape: [Int], seed: UInt64, low: Float = -1, high: Float = 1, requiresGrad: Bool = false) -> Tensor {
    let t = RandomGenerator(seed: seed).uniform(shape, low: low, high: high)
    t.requiresGrad = requiresGrad
    return t
}

/// Sum of f(x) · r in Float64, the scalar whose gradient the checks compare.
private func weightedSum(_ y: Tensor, _ r: [Float]) -> Double {
    let v = y.toArray()
    var s = 0.0
    for i in 0..<v.count { s += Double(v[i]) * Double(r[i]) }
    return s
}

/// Compares the analytic gradient of sum(f(x) · r) with central differences (perturbations and sums in
/// Float64, function values in Float32). Error: max abs difference / max abs numeric gradient.
func gradcheck(_ inputs: [Tensor], eps: Float = 1e-2, tol: Double = 1e-2, _ what: String = "",
               file: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) -> Tensor) {
    let xs = inputs.map { x -> Tensor in let c = Tensor(x.toArray(), shape: x.shape); c.requiresGrad = true; return c }
    let y = f(xs)
    let r = RandomGenerator(seed: 99).uniform(y.shape, low: -1, high: 1)
    let loss = (y * r).sum()
    let analytic = gradients(of: loss, wrt: xs)
    let rv = r.toArray()
    for (k, x) in xs.enumerated() {
        let numeric = centralDifferences(x, eps: eps) { withNoGrad { weightedSum(f(xs), rv) } }
        assertMatchesNumeric(analytic[k], numeric, tol: tol, "\(what): gradient of input \(k)", file: file, line: line)
    }
}

/// d value / d x by central differences, perturbing each element of x in place by ±eps.
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

/// Max abs difference over max abs numeric value, at most `tol`.
private func assertMatchesNumeric(_ analytic: Tensor, _ numeric: [Double], tol: Double, _ what: String,
                                  file: StaticString, line: UInt) {
    let a = analytic.toArray()
    var num = 0.0, den = 1e-6
    for i in 0..<a.count { num = Swift.max(num, Swift.abs(Double(a[i]) - numeric[i])); den = Swift.max(den, Swift.abs(numeric[i])) }
    XCTAssertLessThanOrEqual(num / den, tol, "\(what) differs from finite differences (abs \(num))", file: file, line: line)
}

/// Second order: checks the gradient of h(x) = sum(∇ₓ[sum(f(x) · r)] · r2), where the inner gradient is
/// taken with createGraph, against central differences of h.
func gradgradcheck(_ inputs: [Tensor], eps: Float = 1e-2, tol: Double = 2e-2, _ what: String = "",
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
        return total!
    }
    let xs = inputs.map { x -> Tensor in let c = Tensor(x.toArray(), shape: x.shape); c.requiresGrad = true; return c }
    let analytic = gradients(of: h(xs), wrt: xs)
    for (k, x) in xs.enumerated() {
        let numeric = centralDifferences(x, eps: eps) { Double(h(xs).item()) }
        assertMatchesNumeric(analytic[k], numeric, tol: tol, "\(what): second-order gradient of input \(k)", file: file, line: line)
    }
}

/// PyTorch parity for one case of a fixture file written by Scripts/make_fixtures.py: inputs `case.x0...`
/// (gradients wanted where `case.g<i>` exists), output `case.out`, seed `case.r`, gradients `case.g<i>`.
func checkParity(_ file: SafeTensorsFile, _ name: String, fwdTol: Double = 1e-5, gradTol: Double = 1e-4,
                 sourceFile: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) -> Tensor) throws {
    var xs: [Tensor] = []
    while file.entries["\(name).x\(xs.count)"] != nil {
        let t = try file.tensor("\(name).x\(xs.count)")
        let c = Tensor(t.toArray(), shape: t.shape)
        c.requiresGrad = file.entries["\(name).g\(xs.count)"] != nil
        xs.append(c)
    }
    XCTAssertFalse(xs.isEmpty, "\(name): no inputs in \(file.name)", file: sourceFile, line: line)
    let y = f(xs)
    assertClose(y, try file.tensor("\(name).out"), tol: fwdTol, "\(name) forward", file: sourceFile, line: line)
    guard file.entries["\(name).r"] != nil else { return }
    let wanted = xs.filter(\.requiresGrad)
    let grads = gradients(of: y, wrt: wanted, seed: try file.tensor("\(name).r"))
    var j = 0
    for i in 0..<xs.count where xs[i].requiresGrad {
        assertClose(grads[j], try file.tensor("\(name).g\(i)"), tol: gradTol, "\(name) gradient \(i)", file: sourceFile, line: line)
        j += 1
    }
}

/// Case names in a fixture file (the prefixes of its `.out` keys).
func parityCases(_ file: SafeTensorsFile, prefix: String = "") -> [String] {
    file.keys.filter { $0.hasSuffix(".out") && $0.hasPrefix(prefix) }.map { String($0.dropLast(4)) }
}
