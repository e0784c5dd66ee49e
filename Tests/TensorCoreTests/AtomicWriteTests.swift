// Atomic writes (checkpoints, meshes, statistics): create, replace in place, and a clear error naming the
// file when the folder is missing; no temporary file is left behind.
import Foundation
import XCTest
@testable import TensorCore

final class AtomicWriteTests: XCTestCase {
    func testCreateReplaceAndFail() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("aw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("ckpt.safetensors")
        try writeAtomically(Data([1, 2, 3]), to: url)
        XCTAssertEqual(try Data(contentsOf: url), Data([1, 2, 3]))
        try writeAtomically(Data([4, 5]), to: url)
        XCTAssertEqual(try Data(contentsOf: url), Data([4, 5]), "an existing file is replaced")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["ckpt.safetensors"], "no temporary left")
        let missing = dir.appendingPathComponent("no/such/folder/x.bin")
        XCTAssertThrowsError(try writeAtomically(Data([1]), to: missing)) { e in
            XCTAssertTrue("\(e)".contains("x.bin") || "\(e)".contains("no/such/folder"), "\(e)")
        }
    }
}
