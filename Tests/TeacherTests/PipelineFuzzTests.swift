// Mutation fuzzing of every file of a diffusers pipeline folder (issue 15): each field of model_index.json,
// unet/config.json, vae/config.json, text_encoder/config.json, scheduler/scheduler_config.json and
// tokenizer/tokenizer_config.json set to 0, -1, 1e12, 2.5, a string, null, or deleted; the real loading path
// (loadTeacherModels) runs on each mutant, and where it loads, one DDIM step at the pipeline's own resolution.
// Every case must work or throw an error naming the file; none may trap, take over 10 s or reach 3 GB.
// Also the two traps the issue reported, and the model-derived default size of `teacher sample`.
import Codecs
import Foundation
import XCTest
@testable import Teacher
@testable import TensorCore
import TestSupport

final class PipelineFuzzTests: XCTestCase {
    func copyOfTinyPipeline() throws -> String {
        let dir = try temporaryFolder("teacher-fuzz")
        try FileManager.default.removeItem(atPath: dir)
        try FileManager.default.copyItem(atPath: PipelineParityTests.folder, toPath: dir)
        return dir
    }

    /// Loads the folder and samples one step at its default size.
    func loadAndSample(_ dir: String) throws {
        let pipe = try loadPipeline(folder: dir)
        var o = TeacherSampleOptions(teacher: dir, prompt: "a smiling woman", out: dir + "/fuzz.png")
        o.steps = 1
        let image = try teacherSample(o, pipeline: pipe)
        XCTAssertEqual(image.width, pipe.defaultImageSize)
    }

    func fuzz(_ relative: String, errorNames: [String]? = nil) throws {
        let dir = try copyOfTinyPipeline()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try JSONFuzz.run(file: dir + "/" + relative, errorNames: errorNames) { try loadAndSample(dir) }
        XCTAssertGreaterThan(r.threw, 0, "no mutation of \(relative) was rejected")
        XCTAssertGreaterThan(r.worked, 0, "no mutation of \(relative) loaded")
    }

    func testFuzzUNetConfig() throws { try fuzz("unet/config.json") }
    func testFuzzVAEConfig() throws { try fuzz("vae/config.json", errorNames: ["vae/config.json", "--size"]) }
    func testFuzzTextEncoderConfig() throws { try fuzz("text_encoder/config.json") }
    func testFuzzSchedulerConfig() throws { try fuzz("scheduler/scheduler_config.json") }
    func testFuzzModelIndex() throws { try fuzz("model_index.json") }
    func testFuzzTokenizerConfig() throws { try fuzz("tokenizer/tokenizer_config.json", errorNames: ["tokenizer", "text_encoder/config.json"]) }

    // MARK: the traps of issue 15

    func testNegativeBlockWidthIsAConfigError() throws {
        let dir = try copyOfTinyPipeline()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/unet/config.json"
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        json["block_out_channels"] = [-16, 32]
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try loadTeacherModels(folder: dir)) { e in
            XCTAssertTrue("\(e)".contains(path), "\(e)")
            XCTAssertTrue("\(e)".contains("block_out_channels[0] = -16 must be in 1...1048576"), "\(e)")
        }
        // A width that is positive but not the weights' is named with both values.
        json["block_out_channels"] = [24, 32]
        json["norm_num_groups"] = 8
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try loadTeacherModels(folder: dir)) { e in
            XCTAssertTrue("\(e)".contains(path), "\(e)")
            XCTAssertTrue("\(e)".contains("block_out_channels[0] = 24"), "\(e)")
            XCTAssertTrue("\(e)".contains("\"conv_in.weight\" is [16, 4, 3, 3]"), "\(e)")
            XCTAssertTrue("\(e)".contains("the config needs [24, 4, 3, 3]"), "\(e)")
        }
    }

    func testHugeLayerCountIsCheckedAgainstTheWeights() throws {
        let dir = try copyOfTinyPipeline()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/text_encoder/config.json"
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        json["num_hidden_layers"] = 1000
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try loadTeacherModels(folder: dir)) { e in
            XCTAssertTrue("\(e)".contains(path), "\(e)")
            XCTAssertTrue("\(e)".contains("num_hidden_layers = 1000 does not fit the weights: model.safetensors has 2 \"text_model.encoder.layers.N\" entries, the config needs 1000"), "\(e)")
        }
    }

    // MARK: model-derived defaults

    func testTeacherSampleDefaultsToThePipelineResolution() throws {
        let dir = try temporaryFolder("teacher-default-size")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pipe = try loadPipeline(folder: PipelineParityTests.folder)
        // U-Net sample_size 8 × the VAE's factor 2 (block_out_channels [16, 32]).
        XCTAssertEqual(pipe.defaultImageSize, 16)
        var o = TeacherSampleOptions(teacher: PipelineParityTests.folder, prompt: "a smiling woman", out: dir + "/a.png")
        o.steps = 2
        XCTAssertNil(o.size)
        let t0 = Date()
        let image = try teacherSample(o, pipeline: pipe)
        let seconds = Date().timeIntervalSince(t0)
        XCTAssertEqual([image.width, image.height], [16, 16])
        // 512x512 took 316 s on this machine; 16x16 takes milliseconds (generous bound for a loaded machine).
        XCTAssertLessThan(seconds, 2, "2 steps at 16x16")
        o.size = 32
        XCTAssertEqual(try teacherSample(o, pipeline: pipe).width, 32, "--size still overrides")
    }
}
