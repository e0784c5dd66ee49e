// Writing F16 safetensors (the shipped weights): values round to nearest even, read back as Float32 within
// half a unit in the last place of float16, infinities and NaN survive, out-of-range values are refused.
import Foundation
import TensorCore
import TestSupport
import XCTest

final class SafeTensorsHalfTests: XCTestCase {
    func testF16RoundTrip() throws {
        let x = testTensor([33, 7], seed: 9, low: -3, high: 3)
        let data = try safeTensorsData(["x": x, "s": Tensor([1, 0.1, -65504, 6e-8, .infinity], shape: [5])], metadata: ["a": "b"], dtype: .F16)
        let f = try SafeTensorsFile(data: data, name: "half.safetensors")
        XCTAssertEqual(f.metadata["a"], "b")
        let back = try f.tensor("x").toArray(), orig = x.toArray()
        for (a, b) in zip(back, orig) {
            // float16 has 11 significant bits: relative rounding error ≤ 2^-11.
            XCTAssertLessThanOrEqual(Swift.abs(a - b), Swift.abs(b) * Float(pow(2.0, -11.0)) + 1e-7)
            XCTAssertEqual(a, Float(Float16(b)), "round to nearest even")
        }
        XCTAssertEqual(try f.tensor("s").toArray(), [1, Float(Float16(0.1)), -65504, Float(Float16(6e-8)), .infinity])
        XCTAssertEqual(data.count, 8 + (data.count - 8 - 2 * (33 * 7 + 5)) + 2 * (33 * 7 + 5), "two bytes a value")
        XCTAssertThrowsError(try safeTensorsData(["big": Tensor([70000], shape: [1])], dtype: .F16)) { e in
            XCTAssertTrue("\(e)".contains("big"), "\(e)")
        }
    }
}
