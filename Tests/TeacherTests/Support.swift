// Test support for the teacher tests (CLIP, U-Net, VAE, schedulers, pipeline), as Tests/TensorCoreTests/Support.swift:
// fixture paths, the relative-error check, temporary folders and the parity report line.
import Foundation
import XCTest
@testable import TensorCore

/// Tests/Fixtures
let fixturesDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures")
/// Tests/Fixtures/teacher
let teacherFixturesDir = fixturesDir.appendingPathComponent("teacher")
/// Tests/Fixtures/clip
let clipFixturesDir = fixturesDir.appendingPathComponent("clip")

/// A safetensors file under Tests/Fixtures/teacher.
func teacherFixture(_ name: String) throws -> SafeTensorsFile {
    try SafeTensorsFile(path: teacherFixturePath(name))
}

/// The path of a file or folder under Tests/Fixtures/teacher.
func teacherFixturePath(_ name: String) -> String { teacherFixturesDir.appendingPathComponent(name).path }

/// The path of a file or folder under Tests/Fixtures/clip.
func clipFixturePath(_ name: String) -> String { clipFixturesDir.appendingPathComponent(name).path }

/// max |a - b| / max |b| (the fixtures' relative error), Float64 accumulation; NaN counts as infinite.
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

/// Asserts equal shapes and relativeError(actual, expected) <= tol; returns the error (for reporting).
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

/// A fresh temporary folder, removed by the caller's defer.
func temporaryFolder(_ tag: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(tag)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// A fresh leaf copy of a fixture tensor (fixture tensors may borrow the mapped file).
func leaf(_ t: Tensor, requiresGrad: Bool = false) -> Tensor {
    Tensor(t.toArray(), shape: t.shape, requiresGrad: requiresGrad)
}

/// Prints a parity error in a form the reports collect ("parity <name>: <error>").
func reportParity(_ name: String, _ err: Double) {
    print("parity \(name): \(String(format: "%.3e", err))")
}
