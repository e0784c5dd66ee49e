// A broken teacher folder is reported by file, key and shape: a missing weight file, a renamed key (full key
// path), a mis-shaped tensor (key and both shapes), a missing tokenizer, components that do not fit together;
// and `teacher sample` (the command's library function) end to end: a PNG of the right size, deterministic
// for a seed, with progress after every step, and friendly errors.
import Codecs
import Foundation
import XCTest
@testable import Teacher
@testable import TensorCore
import TestSupport

final class PipelineErrorTests: XCTestCase {
    /// A private copy of the tiny pipeline folder.
    func copyOfTinyPipeline() throws -> String {
        let dir = try temporaryFolder("teacher-broken")
        try FileManager.default.removeItem(atPath: dir)
        try FileManager.default.copyItem(atPath: PipelineParityTests.folder, toPath: dir)
        return dir
    }

    func assertLoadFails(_ dir: String, containing parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try loadTeacherModels(folder: dir), file: file, line: line) { e in
            for p in parts { XCTAssertTrue("\(e)".contains(p), "'\(p)' not in: \(e)", file: file, line: line) }
        }
    }

    /// Rewrites one weight file with `edit` applied to its tensors (as float32).
    func editWeights(_ path: String, _ edit: (inout [String: Tensor]) -> Void) throws {
        var t = try SafeTensorsFile(path: path).tensors().mapValues { leaf($0) }
        edit(&t)
        try saveSafeTensors(t, metadata: ["format": "pt"], to: path)
    }

    func testMissingWeightFileIsNamed() throws {
        let dir = try copyOfTinyPipeline()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.removeItem(atPath: dir + "/unet/diffusion_pytorch_model.safetensors")
        assertLoadFails(dir, containing: [dir + "/unet/diffusion_pytorch_model.safetensors", "missing"])
        try FileManager.default.removeItem(atPath: dir + "/unet")
        assertLoadFails(dir, containing: [dir + "/unet", "no such folder"])
    }

    func testRenamedKeyIsNamedByFullPath() throws {
        let dir = try copyOfTinyPipeline()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let vae = dir + "/vae/diffusion_pytorch_model.safetensors"
        try editWeights(vae) { t in t["decoder.up_blocks.1.resnets.0.conv2.weights"] = t.removeValue(forKey: "decoder.up_blocks.1.resnets.0.conv2.weight") }
        assertLoadFails(dir, containing: [vae, "does not fit AutoencoderKL", "1 missing key: decoder.up_blocks.1.resnets.0.conv2.weight",
                                          "1 unexpected key: decoder.up_blocks.1.resnets.0.conv2.weights"])
        // The float16 text encoder (transformers 5 keys, without the text_model. prefix).
        let dir2 = try copyOfTinyPipeline()
        defer { try? FileManager.default.removeItem(atPath: dir2) }
        let text = dir2 + "/text_encoder/model.safetensors"
        try editWeights(text) { t in t.removeValue(forKey: "encoder.layers.1.mlp.fc2.bias") }
        assertLoadFails(dir2, containing: [text, "does not fit CLIPTextModel", "missing key: text_model.encoder.layers.1.mlp.fc2.bias"])
    }

    func testMisshapedTensorNamesKeyAndShapes() throws {
        let dir = try copyOfTinyPipeline()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let unet = dir + "/unet/diffusion_pytorch_model.safetensors"
        try editWeights(unet) { t in
            t["down_blocks.0.attentions.0.proj_out.weight"] = Tensor.zeros([16, 8])
        }
        assertLoadFails(dir, containing: [unet, "does not fit UNet2DConditionModel",
                                          "down_blocks.0.attentions.0.proj_out.weight expected [16, 16] got [16, 8]"])
    }

    func testTokenizerAndComponentMismatchesAreNamed() throws {
        let dir = try copyOfTinyPipeline()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // U-Net cross-attention width vs the text encoder's hidden size.
        let configPath = dir + "/unet/config.json"
        let original = try Data(contentsOf: URL(fileURLWithPath: configPath))
        var json = try JSONSerialization.jsonObject(with: original) as! [String: Any]
        json["cross_attention_dim"] = 24
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: configPath))
        assertLoadFails(dir, containing: [configPath, "cross_attention_dim 24 does not match text_encoder/config.json hidden_size 32"])
        try original.write(to: URL(fileURLWithPath: configPath))
        // No vocabulary at all.
        try FileManager.default.removeItem(atPath: dir + "/tokenizer/tokenizer.json")
        assertLoadFails(dir, containing: [dir + "/tokenizer/vocab.json", "vocab.json and merges.txt", "tokenizer.json"])
    }

    // MARK: teacher sample

    func testTeacherSampleWritesDeterministicPNG() throws {
        let dir = try temporaryFolder("teacher-sample")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = TeacherSampleOptions(teacher: PipelineParityTests.folder, prompt: "a smiling woman", negative: "blurry", out: dir + "/a.png")
        (o.steps, o.size, o.seed, o.guidance) = (3, 16, 7, 7.5)
        var steps: [Int] = []
        let pipe = try loadPipeline(folder: o.teacher)
        let a = try teacherSample(o, pipeline: pipe, progress: { i, n in XCTAssertEqual(n, 3); steps.append(i) })
        XCTAssertEqual(steps, [1, 2, 3])
        let png = try PNG.decode(Data(contentsOf: URL(fileURLWithPath: o.out)), name: o.out)
        XCTAssertEqual([png.width, png.height, png.channels, png.bitDepth], [16, 16, 3, 8])
        XCTAssertEqual(png, a)
        XCTAssertGreaterThan(Set(png.samples).count, 10, "a flat image")
        o.out = dir + "/b.png"
        XCTAssertEqual(try teacherSample(o, pipeline: pipe), a, "same seed, same image")
        o.seed = 8
        XCTAssertNotEqual(try teacherSample(o, pipeline: pipe), a, "another seed, another image")
        // Loading the folder itself (no pipeline given) gives the same image.
        o.seed = 7
        XCTAssertEqual(try teacherSample(o), a)

        o.size = 15
        XCTAssertThrowsError(try teacherSample(o, pipeline: pipe)) { XCTAssertTrue("\($0)".contains("--size") && "\($0)".contains("multiple of 2"), "\($0)") }
        o.size = 16
        o.out = dir + "/c.jpg"
        XCTAssertThrowsError(try teacherSample(o, pipeline: pipe)) { XCTAssertTrue("\($0)".contains("--out"), "\($0)") }
        o.out = dir + "/c.png"
        o.teacher = dir + "/no-teacher-here"
        XCTAssertThrowsError(try teacherSample(o)) { XCTAssertTrue("\($0)".contains("no-teacher-here: no such folder"), "\($0)") }
    }
}
