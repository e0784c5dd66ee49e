// Loading CLIP folders strictly: a missing config.json, a missing or mis-shaped weight, an unexpected key,
// a bad config value or the wrong model type is reported with the file and the full key path.
import Foundation
import XCTest
@testable import Teacher
@testable import TensorCore
import TestSupport

final class CLIPLoadingTests: XCTestCase {
    /// A copy of Tests/Fixtures/clip/<name> whose weights are `edit`ed, in a temporary folder.
    func copy(_ name: String, edit: (inout [String: Tensor]) -> Void = { _ in }) throws -> String {
        let dir = try temporaryFolder("clip")
        try FileManager.default.copyItem(atPath: clipFixturePath(name) + "/config.json", toPath: dir + "/config.json")
        var w = try SafeTensorsFile(path: clipFixturePath(name) + "/model.safetensors").tensors()
        edit(&w)
        try saveSafeTensors(w, to: dir + "/model.safetensors")
        return dir
    }

    func assertError(_ body: @autoclosure () throws -> Any, contains parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { e in
            let text = "\(e)"
            for p in parts { XCTAssertTrue(text.contains(p), "\"\(p)\" not in: \(text)", file: file, line: line) }
        }
    }

    func testMissingConfigAndWeights() throws {
        let dir = try copy("tiny_quick")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.removeItem(atPath: dir + "/model.safetensors")
        assertError(try CLIPModel(folder: dir), contains: ["no weights", "model.safetensors"])
        try FileManager.default.removeItem(atPath: dir + "/config.json")
        assertError(try CLIPModel(folder: dir), contains: [dir + "/config.json", "missing"])
        assertError(try CLIPTextModel(folder: dir + "/absent"), contains: ["no such folder"])
    }

    func testMissingUnexpectedAndMisshapedKeys() throws {
        let dir = try copy("tiny_quick") { w in
            w["text_model.encoder.layers.1.mlp.fc1.weight"] = nil
            w["vision_model.post_layernorm.bias"] = Tensor.zeros([63])
            w["text_model.encoder.layers.9.extra"] = Tensor.zeros([1])
        }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        assertError(try CLIPModel(folder: dir), contains: [
            dir + "/model.safetensors", "does not fit CLIPModel",
            "1 missing key: text_model.encoder.layers.1.mlp.fc1.weight",
            "1 unexpected key: text_model.encoder.layers.9.extra",
            "vision_model.post_layernorm.bias expected [64] got [63]"])
        // The text tower alone ignores vision keys but still sees its own problems.
        assertError(try CLIPTextModel(folder: dir), contains: ["does not fit CLIPTextModel", "text_model.encoder.layers.1.mlp.fc1.weight"])
    }

    func testConfigErrorsNameTheKey() throws {
        let dir = try copy("tiny_quick")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/config.json"
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        var text = json["text_config"] as! [String: Any]
        text["hidden_act"] = "swishy"
        json["text_config"] = text
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        assertError(try CLIPModel(folder: dir), contains: ["config.json", "text_config.hidden_act"])
        text["hidden_act"] = "gelu"; text["num_attention_heads"] = 5
        json["text_config"] = text
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        assertError(try CLIPModel(folder: dir), contains: ["text_config.num_attention_heads", "not divisible"])
        json["model_type"] = "clip_text_model"
        text["num_attention_heads"] = 4
        json["text_config"] = text
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        assertError(try CLIPModel(folder: dir), contains: ["model_type \"clip_text_model\"", "CLIPModel"])
        assertError(try CLIPVisionModel(folder: clipFixturePath("text_v5")), contains: ["model_type \"clip_text_model\"", "CLIPVisionModel"])
    }

    func testFP16WeightsLoad() throws {
        // A folder with only model.fp16.safetensors (diffusers' fp16 variant) loads, converted to Float32.
        let dir = try temporaryFolder("clip")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: clipFixturePath("text_v5") + "/config.json", toPath: dir + "/config.json")
        try FileManager.default.copyItem(atPath: clipFixturePath("text_v5") + "/model.safetensors", toPath: dir + "/model.fp16.safetensors")
        let m = try CLIPTextModel(folder: dir)
        XCTAssertEqual(m.text_model.encoder.layers.count, 2)
    }
}
