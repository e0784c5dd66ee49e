// Model folders in Hugging Face layout: config decoding errors name the file and key; weights are found
// single or sharded; missing parts are named.
import Foundation
import XCTest
@testable import Teacher
@testable import TensorCore

final class ModelFolderTests: XCTestCase {
    struct Config: Decodable { let hidden_size: Int; let layers: [Int] }

    func makeFolder() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mf-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func testConfigErrorsNameFileAndKey() throws {
        let dir = try makeFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertThrowsError(try ModelFolder(path: dir)) { XCTAssertTrue("\($0)".contains("config.json") && "\($0)".contains("missing")) }
        try Data(#"{"hidden_size": 4, "layers": [1, "x"]}"#.utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        let folder = try ModelFolder(path: dir)
        XCTAssertThrowsError(try folder.config(Config.self)) { e in
            XCTAssertTrue("\(e)".contains("config.json") && "\(e)".contains("layers[1]"), "\(e)")
        }
        try Data(#"{"layers": [1]}"#.utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        XCTAssertThrowsError(try folder.config(Config.self)) { XCTAssertTrue("\($0)".contains("missing key \"hidden_size\""), "\($0)") }
        XCTAssertThrowsError(try folder.weights()) { XCTAssertTrue("\($0)".contains("no weights"), "\($0)") }
        XCTAssertThrowsError(try folder.component("unet")) { XCTAssertTrue("\($0)".contains("missing component folder 'unet'"), "\($0)") }
    }

    func testSingleAndShardedWeights() throws {
        let dir = try makeFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("{}".utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        let a = Tensor([1, 2], shape: [2]), b = Tensor([3], shape: [1])
        try saveSafeTensors(["a": a], to: dir + "/part1.safetensors")
        try saveSafeTensors(["b": b], to: dir + "/part2.safetensors")
        let index = #"{"metadata": {}, "weight_map": {"a": "part1.safetensors", "b": "part2.safetensors"}}"#
        try Data(index.utf8).write(to: URL(fileURLWithPath: dir + "/model.safetensors.index.json"))
        let w = try ModelFolder(path: dir).weights()
        XCTAssertEqual(w["a"]?.toArray(), [1, 2])
        XCTAssertEqual(w["b"]?.toArray(), [3])
        try FileManager.default.removeItem(atPath: dir + "/part2.safetensors")
        XCTAssertThrowsError(try ModelFolder(path: dir).weights()) { XCTAssertTrue("\($0)".contains("part2.safetensors") && "\($0)".contains("missing shard"), "\($0)") }
    }
}
