// Test support for TriPlaneGAN (copied from Tests/TensorCoreTests/Support.swift: test targets cannot import
// each other): fixture loading, the EG3D fixtures' relative error, a tolerance check, finite differences.
import Foundation
import XCTest
import TensorCore

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

/// Asserts shapes match and relativeError(actual, expected) <= tol; returns the error.
@discardableResult
func assertClose(_ actual: Tensor, _ expected: Tensor, tol: Double, _ what: String = "",
                 file: StaticString = #filePath, line: UInt = #line) -> Double {
    precondition(tol >= 0 && tol.isFinite, "assertClose: tolerance must be finite and non-negative")
    guard actual.shape == expected.shape else {
        XCTFail("\(what): shape \(actual.shape) != expected \(expected.shape)", file: file, line: line); return .infinity
    }
    let err = relativeError(actual, expected)
    if !(err <= tol) {
        let a = actual.toArray().prefix(5), e = expected.toArray().prefix(5)
        XCTFail("\(what): relative error \(err) > \(tol); first pairs \(Array(zip(a, e)))", file: file, line: line)
    }
    return err
}

/// A fixed pseudo-random tensor for tests.
func testTensor(_ shape: [Int], seed: UInt64, low: Float = -1, high: Float = 1, requiresGrad: Bool = false) -> Tensor {
    let t = RandomGenerator(seed: seed).uniform(shape, low: low, high: high)
    t.requiresGrad = requiresGrad
    return t
}

/// Compares the analytic gradient of sum(f(x) · r) with central differences (perturbations and sums in
/// Float64, function values in Float32). Error: max abs difference / max abs numeric gradient.
func gradcheck(_ inputs: [Tensor], eps: Float = 1e-2, tol: Double = 1e-2, _ what: String = "",
               file: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) -> Tensor) {
    let xs = inputs.map { x -> Tensor in let c = Tensor(x.toArray(), shape: x.shape); c.requiresGrad = true; return c }
    let y = f(xs)
    let r = RandomGenerator(seed: 99).uniform(y.shape, low: -1, high: 1)
    let analytic = gradients(of: (y * r).sum(), wrt: xs)
    let rv = r.toArray()
    func weightedSum(_ t: Tensor) -> Double {
        let v = t.toArray()
        var s = 0.0
        for i in 0..<v.count { s += Double(v[i]) * Double(rv[i]) }
        return s
    }
    for (k, x) in xs.enumerated() {
        var numeric = [Double](repeating: 0, count: x.count)
        for i in 0..<x.count {
            let base = x.storage.base[x.offset + i]
            x.storage.base[x.offset + i] = base + eps
            let up = withNoGrad { weightedSum(f(xs)) }
            x.storage.base[x.offset + i] = base - eps
            let down = withNoGrad { weightedSum(f(xs)) }
            x.storage.base[x.offset + i] = base
            numeric[i] = (up - down) / (2 * Double(eps))
        }
        let a = analytic[k].toArray()
        var num = 0.0, den = 1e-6
        for i in 0..<a.count { num = Swift.max(num, Swift.abs(Double(a[i]) - numeric[i])); den = Swift.max(den, Swift.abs(numeric[i])) }
        XCTAssertLessThanOrEqual(num / den, tol, "\(what): gradient of input \(k) differs from finite differences (abs \(num))",
                                 file: file, line: line)
    }
}
