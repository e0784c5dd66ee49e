// Test support for the VAE, scheduler and pipeline tests (names prefixed `vae` so that the other teacher
// helpers' support files in this folder do not collide): fixture paths, relative-error checks, temp folders.
import Foundation
import XCTest
@testable import TensorCore

let vaeFixturesDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures").appendingPathComponent("teacher")

func vaeFixture(_ name: String) throws -> SafeTensorsFile {
    try SafeTensorsFile(path: vaeFixturesDir.appendingPathComponent(name).path)
}

/// max |a - b| / max |b| (the fixtures' relative error), Float64 accumulation.
func vaeRelativeError(_ a: Tensor, _ b: Tensor) -> Double {
    let x = a.toArray(), y = b.toArray()
    var num = 0.0, den = 0.0
    for i in 0..<x.count {
        let d = Swift.abs(Double(x[i]) - Double(y[i]))
        num = Swift.max(num, d.isNaN ? .infinity : d)
        den = Swift.max(den, Swift.abs(Double(y[i])))
    }
    return den == 0 ? num : num / den
}

/// Asserts equal shapes and vaeRelativeError(actual, expected) <= tol; returns the error (for reporting).
@discardableResult
func vaeAssertClose(_ actual: Tensor, _ expected: Tensor, tol: Double, _ what: String = "",
                    file: StaticString = #filePath, line: UInt = #line) -> Double {
    precondition(tol >= 0 && tol.isFinite, "vaeAssertClose: tolerance must be finite and non-negative")
    guard actual.shape == expected.shape else {
        XCTFail("\(what): shape \(actual.shape) != expected \(expected.shape)", file: file, line: line); return .infinity
    }
    let err = vaeRelativeError(actual, expected)
    if !(err <= tol) {
        let a = actual.toArray().prefix(5), e = expected.toArray().prefix(5)
        XCTFail("\(what): relative error \(err) > \(tol); first pairs \(Array(zip(a, e)))", file: file, line: line)
    }
    return err
}

/// A fresh temporary folder, removed by the caller's defer.
func vaeTempFolder(_ tag: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(tag)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Prints a parity error in a form the reports collect ("parity <name>: <error>").
func vaeReport(_ name: String, _ err: Double) {
    print("parity \(name): \(String(format: "%.3e", err))")
}
