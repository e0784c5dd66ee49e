// Support for the U-Net tests (copied from TensorCoreTests/Support.swift with `unet` prefixes, so other teacher
// test files can bring their own): the fixture folder and the relative-error check max|a - b| / max|b|.
import Foundation
import XCTest
@testable import TensorCore

let unetFixturesDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures").appendingPathComponent("teacher")

/// The path of a file or folder under Tests/Fixtures/teacher.
func unetFixture(_ name: String) -> String { unetFixturesDir.appendingPathComponent(name).path }

/// max |a - b| / max |b|, Float64 accumulation.
func unetRelativeError(_ a: Tensor, _ b: Tensor) -> Double {
    let x = a.toArray(), y = b.toArray()
    var num = 0.0, den = 0.0
    for i in 0..<x.count {
        let d = Swift.abs(Double(x[i]) - Double(y[i]))
        num = Swift.max(num, d.isNaN ? .infinity : d)
        den = Swift.max(den, Swift.abs(Double(y[i])))
    }
    return den == 0 ? num : num / den
}

/// Asserts equal shapes and unetRelativeError(actual, expected) <= tol; returns the error for reporting.
@discardableResult
func unetAssertClose(_ actual: Tensor, _ expected: Tensor, tol: Double, _ what: String = "",
                     file: StaticString = #filePath, line: UInt = #line) -> Double {
    precondition(tol >= 0 && tol.isFinite, "unetAssertClose: tolerance must be finite and non-negative")
    guard actual.shape == expected.shape else {
        XCTFail("\(what): shape \(actual.shape) != expected \(expected.shape)", file: file, line: line); return .infinity
    }
    let err = unetRelativeError(actual, expected)
    if !(err <= tol) {
        let a = actual.toArray().prefix(5), e = expected.toArray().prefix(5)
        XCTFail("\(what): relative error \(err) > \(tol); first pairs \(Array(zip(a, e)))", file: file, line: line)
    }
    return err
}

/// A fresh leaf copy of a fixture tensor (fixture tensors may borrow the mapped file).
func unetLeaf(_ t: Tensor, requiresGrad: Bool = false) -> Tensor {
    Tensor(t.toArray(), shape: t.shape, requiresGrad: requiresGrad)
}
