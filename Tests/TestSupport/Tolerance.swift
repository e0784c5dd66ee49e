// The tolerance check of every parity test: max |a − b| / max |b| (the EG3D fixtures' relative error, see
// Tests/Fixtures/README.md) in Float64, with an explicit tolerance that cannot be misused.
import Foundation
import XCTest
import TensorCore

/// max |a − b| / max |b| over the elements in row-major order, accumulated in Float64; when max |b| is 0 the
/// absolute error max |a − b|. A NaN difference counts as infinite. With `mask` (one flag per element), only the
/// elements whose flag is true count. Mismatched element counts (of `a`, `b` or `mask`) give infinity.
public func relativeError(_ a: Tensor, _ b: Tensor, mask: [Bool]? = nil) -> Double {
    let x = a.toArray(), y = b.toArray()
    guard x.count == y.count, mask.map({ $0.count == x.count }) ?? true else { return .infinity }
    var num = 0.0, den = 0.0
    for i in 0..<x.count where mask?[i] ?? true {
        let d = Swift.abs(Double(x[i]) - Double(y[i]))
        num = Swift.max(num, d.isNaN ? .infinity : d)
        den = Swift.max(den, Swift.abs(Double(y[i])))
    }
    return den == 0 ? num : num / den
}

/// Set `PARITY_REPORT=1` (or the older `RENDERER_REPORT=1`) to print every checked error.
private let reportEveryError: Bool = {
    let env = ProcessInfo.processInfo.environment
    return env["PARITY_REPORT"] != nil || env["RENDERER_REPORT"] != nil
}()

/// Asserts equal shapes and relativeError(actual, expected, mask:) <= tol (`tol` finite and non-negative);
/// on failure names `what` and prints the first pairs. Returns the error (infinity when the shapes or the
/// mask do not match), for reports.
@discardableResult
public func assertClose(_ actual: Tensor, _ expected: Tensor, tol: Double, _ what: String = "", mask: [Bool]? = nil,
                        file: StaticString = #filePath, line: UInt = #line) -> Double {
    guard tol >= 0 && tol.isFinite else {
        XCTFail("\(what): assertClose tolerance \(tol) must be finite and non-negative", file: file, line: line)
        return .infinity
    }
    guard actual.shape == expected.shape else {
        XCTFail("\(what): shape \(actual.shape) != expected \(expected.shape)", file: file, line: line)
        return .infinity
    }
    if let mask, mask.count != expected.count {
        XCTFail("\(what): mask of \(mask.count) flags for \(expected.count) elements", file: file, line: line)
        return .infinity
    }
    let err = relativeError(actual, expected, mask: mask)
    if !(err <= tol) {
        let a = actual.toArray().prefix(5), e = expected.toArray().prefix(5)
        XCTFail("\(what): relative error \(err) > \(tol); first pairs \(Array(zip(a, e)))", file: file, line: line)
    }
    if reportEveryError { print("[parity] \(what): relative error \(err)") }
    return err
}
