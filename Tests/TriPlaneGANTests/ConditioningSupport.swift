// Test support for the DreamPortrait conditioning tests (prefixed `cond` so other support files in this target
// cannot collide): fixture loading, the relative-error check and finite-difference gradient checks, as
// Tests/TensorCoreTests/Support.swift, plus an in-place variant that checks a module's own parameters.
import Foundation
import XCTest
import TensorCore

// The shared helpers live in Support.swift (same target); these names are kept for the conditioning tests.
let condFixturesDir = fixturesDir

func condFixture(_ name: String) throws -> SafeTensorsFile { try fixture(name) }

/// max |a - b| / max |b| (Support.swift's relativeError).
func condRelativeError(_ a: Tensor, _ b: Tensor) -> Double { relativeError(a, b) }

/// Asserts shapes match and the relative error is at most `tol` (Support.swift's assertClose); returns the error.
@discardableResult
func condAssertClose(_ actual: Tensor, _ expected: Tensor, tol: Double, _ what: String = "",
                     file: StaticString = #filePath, line: UInt = #line) -> Double {
    assertClose(actual, expected, tol: tol, what, file: file, line: line)
}

/// A fixed pseudo-random tensor for tests (Support.swift's testTensor).
func condTestTensor(_ shape: [Int], seed: UInt64, low: Float = -1, high: Float = 1, requiresGrad: Bool = false) -> Tensor {
    testTensor(shape, seed: seed, low: low, high: high, requiresGrad: requiresGrad)
}

/// Compares the analytic gradient of sum(f() · r) with respect to each of `tensors` with central differences,
/// perturbing the tensors themselves in place (so they may be a module's parameters, or leaves the closure
/// captures). Perturbations and sums in Float64, function values in Float32. Error: max abs difference / max abs
/// numeric gradient. `names` label the failures.
func condGradcheck(_ tensors: [Tensor], names: [String]? = nil, eps: Float = 1e-2, tol: Double = 1e-2, _ what: String = "",
                   file: StaticString = #filePath, line: UInt = #line, _ f: () -> Tensor) {
    for t in tensors {
        precondition(t.isContiguous && t.node == nil && t.requiresGrad, "condGradcheck: tensors must be dense leaves that require a gradient")
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
        let numeric: [Double] = (0..<x.count).map { i in
            let base = x.storage.base[x.offset + i]
            x.storage.base[x.offset + i] = base + eps
            let up = value()
            x.storage.base[x.offset + i] = base - eps
            let down = value()
            x.storage.base[x.offset + i] = base
            return (up - down) / (2 * Double(eps))
        }
        let a = analytic[k].toArray()
        var num = 0.0, den = 1e-6
        for i in 0..<a.count { num = Swift.max(num, Swift.abs(Double(a[i]) - numeric[i])); den = Swift.max(den, Swift.abs(numeric[i])) }
        let label = names?[k] ?? "input \(k)"
        XCTAssertLessThanOrEqual(num / den, tol, "\(what): gradient of \(label) differs from finite differences (abs \(num), scale \(den))",
                                 file: file, line: line)
    }
}
