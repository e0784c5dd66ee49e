// Test support for the discriminator tests: the EG3D golden fixture, a D loaded from it, and the
// relative-error check of the fixture README (copied from TensorCoreTests/Support.swift, names prefixed).
import Foundation
import XCTest
import TensorCore
import TriPlaneGAN

let discriminatorFixturesDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures")

/// Tests/Fixtures/<name>.
func discriminatorFixturePath(_ name: String) -> String {
    discriminatorFixturesDir.appendingPathComponent(name).path
}

/// The tiny128 golden tensors (opened once).
let discriminatorFixture: SafeTensorsFile = {
    do { return try SafeTensorsFile(path: discriminatorFixturePath("eg3d/tiny128.safetensors")) }
    catch { fatalError("cannot open the EG3D fixture: \(error)") }
}()

/// `D.<key>` -> `<key>`; every other fixture key is dropped.
let discriminatorKeyRemap = KeyRemap(custom: { $0.hasPrefix("D.") ? String($0.dropFirst(2)) : nil })

/// A tiny128 DualDiscriminator with the fixture's weights, loaded strictly.
func loadFixtureDiscriminator() throws -> DualDiscriminator {
    let d = DualDiscriminator(.tiny128, rng: RandomGenerator(seed: 7))
    try d.load(safetensors: discriminatorFixturePath("eg3d/tiny128.safetensors"), remap: discriminatorKeyRemap, strict: true)
    return d
}

/// max |a - b| / max |b| (the EG3D fixtures' relative error), Float64 accumulation.
func dRelativeError(_ a: Tensor, _ b: Tensor) -> Double {
    let x = a.toArray(), y = b.toArray()
    var num = 0.0, den = 0.0
    for i in 0..<x.count {
        let d = Swift.abs(Double(x[i]) - Double(y[i]))
        num = Swift.max(num, d.isNaN ? .infinity : d)
        den = Swift.max(den, Swift.abs(Double(y[i])))
    }
    return den == 0 ? num : num / den
}

/// Asserts shapes match and dRelativeError(actual, expected) <= tol; returns the error (for reports).
@discardableResult
func assertDClose(_ actual: Tensor, _ expected: Tensor, tol: Double, _ what: String = "",
                  file: StaticString = #filePath, line: UInt = #line) -> Double {
    precondition(tol >= 0 && tol.isFinite, "assertDClose: tolerance must be finite and non-negative")
    guard actual.shape == expected.shape else {
        XCTFail("\(what): shape \(actual.shape) != expected \(expected.shape)", file: file, line: line); return .infinity
    }
    let err = dRelativeError(actual, expected)
    if !(err <= tol) {
        let a = actual.toArray().prefix(5), e = expected.toArray().prefix(5)
        XCTFail("\(what): relative error \(err) > \(tol); first pairs \(Array(zip(a, e)))", file: file, line: line)
    }
    return err
}
