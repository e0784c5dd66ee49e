// Helpers of the renderer tests (prefixed `renderer` so they cannot clash with other test helpers): fixture
// loading and the EG3D fixtures' relative error max|a − b| / max|b|.
import Foundation
import XCTest
import TensorCore

let rendererFixturesDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures")

/// A fixture file under Tests/Fixtures (e.g. "renderer_parity.safetensors", "eg3d/tiny128.safetensors").
func rendererFixture(_ name: String) throws -> SafeTensorsFile {
    try SafeTensorsFile(path: rendererFixturesDir.appendingPathComponent(name).path)
}

/// max |a − b| / max |b| in Float64, over the elements where `mask` (same count) is nonzero, if given.
func rendererRelativeError(_ a: Tensor, _ b: Tensor, mask: [Bool]? = nil) -> Double {
    let x = a.toArray(), y = b.toArray()
    var num = 0.0, den = 0.0
    for i in 0..<x.count where mask?[i] ?? true {
        let d = Swift.abs(Double(x[i]) - Double(y[i]))
        num = Swift.max(num, d.isNaN ? .infinity : d)
        den = Swift.max(den, Swift.abs(Double(y[i])))
    }
    return den == 0 ? num : num / den
}

/// Asserts equal shapes and rendererRelativeError(actual, expected) <= tol; returns the error (for reports).
@discardableResult
func assertRendererClose(_ actual: Tensor, _ expected: Tensor, tol: Double, _ what: String, mask: [Bool]? = nil,
                         file: StaticString = #filePath, line: UInt = #line) -> Double {
    guard actual.shape == expected.shape else {
        XCTFail("\(what): shape \(actual.shape) != expected \(expected.shape)", file: file, line: line)
        return .infinity
    }
    let err = rendererRelativeError(actual, expected, mask: mask)
    if !(err <= tol) {
        XCTFail("\(what): relative error \(err) > \(tol)", file: file, line: line)
    }
    if ProcessInfo.processInfo.environment["RENDERER_REPORT"] != nil { print("[renderer] \(what): relative error \(err)") }
    return err
}
