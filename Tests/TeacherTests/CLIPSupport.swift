// Test support for the CLIP tests (copied from Tests/TensorCoreTests/Support.swift with clip-prefixed names,
// so other files of this target can bring their own): fixture paths and the relative-error check.
import Foundation
import XCTest
@testable import TensorCore

/// Tests/Fixtures/clip
let clipFixturesDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures").appendingPathComponent("clip")

func clipFixturePath(_ name: String) -> String { clipFixturesDir.appendingPathComponent(name).path }

/// max |a - b| / max |b|, Float64 accumulation (the EG3D fixtures' relative error).
func clipRelativeError(_ a: Tensor, _ b: Tensor) -> Double {
    let x = a.toArray(), y = b.toArray()
    var num = 0.0, den = 0.0
    for i in 0..<x.count {
        let d = Swift.abs(Double(x[i]) - Double(y[i]))
        num = Swift.max(num, d.isNaN ? .infinity : d)
        den = Swift.max(den, Swift.abs(Double(y[i])))
    }
    return den == 0 ? num : num / den
}

/// Asserts shapes match and clipRelativeError(actual, expected) <= tol; returns the error.
@discardableResult
func clipAssertClose(_ actual: Tensor, _ expected: Tensor, tol: Double, _ what: String = "",
                     file: StaticString = #filePath, line: UInt = #line) -> Double {
    precondition(tol >= 0 && tol.isFinite, "clipAssertClose: tolerance must be finite and non-negative")
    guard actual.shape == expected.shape else {
        XCTFail("\(what): shape \(actual.shape) != expected \(expected.shape)", file: file, line: line); return .infinity
    }
    let err = clipRelativeError(actual, expected)
    if !(err <= tol) {
        let a = actual.toArray().prefix(5), e = expected.toArray().prefix(5)
        XCTFail("\(what): relative error \(err) > \(tol); first pairs \(Array(zip(a, e)))", file: file, line: line)
    }
    return err
}

/// A fresh temporary folder, removed by the caller.
func clipTemporaryFolder() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}
