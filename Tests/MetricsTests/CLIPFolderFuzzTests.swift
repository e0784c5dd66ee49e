// Mutation fuzzing of a Hugging Face CLIP folder as `eval --clip` opens it (issue 15): each field of
// config.json (both towers), preprocessor_config.json and tokenizer_config.json set to 0, -1, 1e12, 2.5, a
// string, null, or deleted; CLIPScorer(folder:) runs on each mutant and, where it loads, embeds one 40x40
// image and one caption. Every case must work or throw an error naming the file; none may trap, take over
// 10 s or reach 3 GB. And the trap the issue reported: a processor whose crop is not the tower's image_size.
import Foundation
import XCTest
@testable import Metrics
import TensorCore
import Teacher
import TestSupport

private let fixtures = metricFixtures.deletingLastPathComponent()

final class CLIPFolderFuzzTests: XCTestCase {
    /// The tiny CLIP folder of EvalTests: the tiny random model with the tiny tokenizer and processor.
    func tinyCLIPFolder() throws -> String {
        let clip = try temporaryFolder("clip-fuzz")
        for (from, names) in [("clip/tiny_gelu", ["config.json", "model.safetensors"]),
                              ("metrics/clip_tiny", ["vocab.json", "merges.txt", "tokenizer_config.json", "preprocessor_config.json"])] {
            for n in names {
                try FileManager.default.copyItem(atPath: fixtures.appendingPathComponent(from + "/" + n).path, toPath: clip + "/" + n)
            }
        }
        return clip
    }

    func loadAndEmbed(_ clip: String) throws {
        let scorer = try CLIPScorer(folder: clip, batchSize: 2)
        let image = testTensor([1, 3, 40, 40], seed: 1, low: 0, high: 1)
        let scores = try scorer.score(images: image, captions: ["a smiling woman"])
        XCTAssertEqual(scores.count, 1)
    }

    func fuzz(_ name: String) throws {
        let clip = try tinyCLIPFolder()
        defer { try? FileManager.default.removeItem(atPath: clip) }
        let r = try JSONFuzz.run(file: clip + "/" + name, errorNames: [name, "CLIP image embeddings"]) { try loadAndEmbed(clip) }
        XCTAssertGreaterThan(r.threw, 0, "no mutation of \(name) was rejected")
        XCTAssertGreaterThan(r.worked, 0, "no mutation of \(name) loaded")
    }

    func testFuzzCLIPConfig() throws { try fuzz("config.json") }
    func testFuzzCLIPPreprocessorConfig() throws { try fuzz("preprocessor_config.json") }
    func testFuzzCLIPTokenizerConfig() throws { try fuzz("tokenizer_config.json") }

    func testCropThatIsNotTheTowerImageSizeIsNamed() throws {
        let clip = try tinyCLIPFolder()
        defer { try? FileManager.default.removeItem(atPath: clip) }
        let path = clip + "/preprocessor_config.json"
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        json["crop_size"] = ["height": 32, "width": 32]
        json["size"] = ["shortest_edge": 32]
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try CLIPScorer(folder: clip)) { e in
            XCTAssertEqual("\(e)", "\(path): crop_size 32x32 does not match \(clip)/config.json vision_config.image_size 48: the vision tower takes 48x48 images")
        }
        // Without the crop, the resized side must be the tower's.
        json["do_center_crop"] = false
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try CLIPScorer(folder: clip)) { e in
            XCTAssertTrue("\(e)".contains("without a centre crop, size.shortest_edge 32 must be \(clip)/config.json vision_config.image_size 48"), "\(e)")
        }
    }
}
