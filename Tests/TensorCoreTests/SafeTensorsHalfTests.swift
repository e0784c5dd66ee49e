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

    /// `pack` (Weights/ folders): F32 tensors become F16 as `safeTensorsData(dtype: .F16)` writes them, integer
    /// tensors and metadata are copied byte for byte, other files are copied, and the report's error is the real one.
    func testPackingAFolderHalvesF32AndKeepsTheRest() throws {
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("pack-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: root) }
        let src = root.appendingPathComponent("in"), dst = root.appendingPathComponent("out")
        try fm.createDirectory(at: src.appendingPathComponent("unet"), withIntermediateDirectories: true)
        let x = testTensor([40, 9], seed: 3, low: -2, high: 2)
        // A file with an F32 tensor and an I64 tensor (position ids, as transformers writes them).
        let ids: [Int64] = [0, 1, 2, 4097, -5]
        var header = try JSONSerialization.data(withJSONObject: [
            "__metadata__": ["format": "pt"],
            "ids": ["dtype": "I64", "shape": [5], "data_offsets": [0, 40]],
            "x": ["dtype": "F32", "shape": [40, 9], "data_offsets": [40, 40 + 4 * 360]]] as [String: Any], options: [.sortedKeys])
        while (header.count + 8) % 8 != 0 { header.append(0x20) }
        var bytes = Data()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(header)
        ids.withUnsafeBytes { bytes.append(contentsOf: $0) }
        x.toArray().withUnsafeBytes { bytes.append(contentsOf: $0) }
        try bytes.write(to: src.appendingPathComponent("unet/model.safetensors"))
        try Data("{\"a\": 1}".utf8).write(to: src.appendingPathComponent("config.json"))

        let reports = try packWeightFolder(src.path, to: dst.path)
        XCTAssertEqual(Array(reports.keys), ["unet/model.safetensors"])
        let r = try XCTUnwrap(reports["unet/model.safetensors"])
        XCTAssertEqual(r.converted, 1); XCTAssertEqual(r.kept, 1); XCTAssertEqual(r.worstTensor, "x")
        let f = try SafeTensorsFile(path: dst.appendingPathComponent("unet/model.safetensors").path)
        XCTAssertEqual(f.metadata, ["format": "pt"])
        XCTAssertEqual(f.entries["ids"]?.dtype, .I64); XCTAssertEqual(f.entries["x"]?.dtype, .F16)
        XCTAssertEqual(try f.tensor("ids").toArray(), ids.map(Float.init))
        let back = try f.tensor("x").toArray(), orig = x.toArray()
        XCTAssertEqual(back, orig.map { Float(Float16($0)) })
        let maxAbs = orig.map(Swift.abs).max()!, maxErr = zip(back, orig).map { Swift.abs($0 - $1) }.max()!
        XCTAssertEqual(r.worstRelativeError, Double(maxErr / maxAbs), accuracy: 1e-12)
        XCTAssertGreaterThan(r.worstRelativeError, 0); XCTAssertLessThanOrEqual(r.worstRelativeError, pow(2.0, -11.0))
        XCTAssertEqual(r.bytesAfter, 8 + (r.bytesAfter - 8 - 40 - 720) + 40 + 720, "I64 kept at 8 bytes, F32 now 2")
        XCTAssertEqual(fm.contents(atPath: dst.appendingPathComponent("config.json").path), Data("{\"a\": 1}".utf8))

        // Out of float16's range: refused, naming the tensor, and nothing half-written under its name.
        try safeTensorsData(["far": Tensor([1e5], shape: [1])]).write(to: src.appendingPathComponent("unet/model.safetensors"))
        let dst2 = root.appendingPathComponent("out2")
        XCTAssertThrowsError(try packWeightFolder(src.path, to: dst2.path)) { e in XCTAssertTrue("\(e)".contains("far"), "\(e)") }
        XCTAssertFalse(fm.fileExists(atPath: dst2.appendingPathComponent("unet/model.safetensors").path))
        XCTAssertThrowsError(try packWeightFolder(root.appendingPathComponent("none").path, to: dst2.path))
    }
}
