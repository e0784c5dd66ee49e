// Generator-driven evaluation end to end: the tiny random model folder (TextGenerateTests.model) rendering the
// held-out captions of a tiny synthesized world (32 images at 32², half held out) at the three MSC cameras in
// memory, scored by the tiny random CLIP of the metric fixtures as judge, with a stand-in attribute classifier.
// The values mean nothing (random weights); the test checks the plumbing, determinism and the error messages.
import Foundation
import XCTest
import Metrics
import PortraitWorld
import TensorCore
import TriPlaneGAN
@testable import PortraitExport
import TestSupport

final class GeneratorEvaluationTests: XCTestCase {
    static let world: String = {
        let dir = temporaryPath("eval-world")
        var s = SynthSettings(count: 32, resolution: 32, seed: 5)
        s.testFraction = 0.5
        s.captionsPerImage = 2
        _ = try! Synthesizer(settings: s, directory: dir).run()
        return dir
    }()

    /// The metric fixtures' tiny random CLIP as a judge folder.
    static let judge: String = {
        let dir = temporaryPath("eval-judge")
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (from, names) in [("clip/tiny_gelu", ["config.json", "model.safetensors"]),
                              ("metrics/clip_tiny", ["vocab.json", "merges.txt", "tokenizer_config.json", "preprocessor_config.json"])] {
            for n in names { try! FileManager.default.copyItem(atPath: fixturePath(from + "/" + n), toPath: dir + "/" + n) }
        }
        return dir
    }()

    func settings() -> GeneratorEvaluationSettings {
        var s = GeneratorEvaluationSettings()
        s.count = 6; s.distractors = 3; s.batchSize = 4; s.seed = 2; s.spreadPrompts = 1
        s.spreadMinRealImages = 2  // a 32-image world: few images fit any caption
        return s
    }

    func testEvaluatesHeldOutCaptionsDeterministically() throws {
        let model = try GenerateModel(weights: TextGenerateTests.model)
        let held = try GeneratorEvaluation.heldOutCaptions(data: Self.world, set: .inDistribution, count: 6)
        let ds = try EG3DDataset(path: Self.world)
        XCTAssertEqual(held.names.count, 6)
        XCTAssertTrue(Set(held.names).isSubset(of: Set(ds.split!.test)), "prompts come from the held-out identities only")
        // The stand-in classifier says "present" (0.6) for every attribute, so the accuracy counts the stated-true ones.
        let always: (Tensor) throws -> Tensor = { Tensor.full([$0.shape[0], Attribute.allCases.count], 0.6) }
        let (report, extras) = try GeneratorEvaluation.run(settings(), model: model, judge: Self.judge, data: Self.world,
                                                           attributeProbabilities: always)
        let msc = try XCTUnwrap(report.values[.msc]), rp = try XCTUnwrap(report.values[.rp])
        XCTAssertTrue(msc.isFinite)
        let hits: Double = rp * 6 / 100
        XCTAssertEqual(hits, hits.rounded(), accuracy: 1e-9, "R-P \(rp) is not k of 6 samples")
        XCTAssertTrue((0...6).contains(Int(hits.rounded())))
        var stated = 0, trueOnes = 0
        for c in held.captions { for (_, v) in PromptAttributes.parse(c[0]) { stated += 1; if v { trueOnes += 1 } } }
        XCTAssertEqual(extras.attributeAccuracy?.stated, 3 * stated)
        XCTAssertEqual(extras.attributeAccuracy?.agree, 3 * trueOnes)
        let fid = try XCTUnwrap(extras.judgeFID)
        XCTAssertEqual(fid.generated, 18)
        XCTAssertEqual(fid.real, 6)
        XCTAssertTrue(fid.value.isFinite && fid.value >= 0, "\(fid.value)")
        // The ceiling row: the real images of the same prompts; the stand-in classifier agrees with them exactly as
        // with the renders (it ignores the image), one view instead of three.
        let realRP = try XCTUnwrap(extras.realRPrecision)
        XCTAssertEqual(realRP * 6 / 100, (realRP * 6 / 100).rounded(), accuracy: 1e-9, "R-P \(realRP) is not k of 6 images")
        XCTAssertEqual(extras.realAttributeAccuracy?.stated, stated)
        XCTAssertEqual(extras.realAttributeAccuracy?.agree, trueOnes)
        XCTAssertEqual(extras.spread.count, 1)
        XCTAssertGreaterThan(extras.spread[0].generated, 0, "8 seeds give 8 different portraits")
        XCTAssertGreaterThanOrEqual(extras.spread[0].realImages, 2)
        let json = try JSONSerialization.jsonObject(with: report.json()) as! [String: Any]
        for key in ["attribute_accuracy", "consistency_3d", "mode_collapse", "fid_judge", "real_images", "msc", "rp", "table"] { XCTAssertNotNil(json[key], key) }
        // The same settings give the same values.
        let (again, extras2) = try GeneratorEvaluation.run(settings(), model: model, judge: Self.judge, data: Self.world,
                                                           attributeProbabilities: always)
        XCTAssertEqual(again.values[.msc], msc)
        XCTAssertEqual(again.values[.rp], rp)
        XCTAssertEqual(extras2.consistency, extras.consistency)
        XCTAssertEqual(extras2.judgeFID?.value, fid.value)
    }

    /// `--metrics none`: no judge is needed or loaded; attribute accuracy and 3D consistency are the judged run's.
    func testJudgeFreeEvaluationGivesTheExtrasOnly() throws {
        let model = try GenerateModel(weights: TextGenerateTests.model)
        let always: (Tensor) throws -> Tensor = { Tensor.full([$0.shape[0], Attribute.allCases.count], 0.6) }
        var s = settings()
        let (_, judged) = try GeneratorEvaluation.run(s, model: model, judge: Self.judge, data: Self.world, attributeProbabilities: always)
        s.metrics = []
        s.model = TextGenerateTests.model
        s.attributes = fixturePath("clip/tiny_gelu/model.safetensors")
        let paths = try GeneratorEvaluation.resolve(s, environment: ["DREAMPORTRAIT_WORLD": Self.world])
        XCTAssertNil(paths.judge, "no judge metric, no judge folder needed")
        let (report, extras) = try GeneratorEvaluation.run(s, model: model, judge: paths.judge, data: Self.world, attributeProbabilities: always)
        XCTAssertTrue(report.values.isEmpty)
        XCTAssertNil(extras.judgeFID); XCTAssertNil(extras.realRPrecision); XCTAssertTrue(extras.spread.isEmpty)
        XCTAssertEqual(extras.attributeAccuracy?.agree, judged.attributeAccuracy?.agree)
        XCTAssertEqual(extras.attributeAccuracy?.stated, judged.attributeAccuracy?.stated)
        XCTAssertGreaterThan(try XCTUnwrap(extras.attributeAccuracy?.stated), 0)
        XCTAssertEqual(extras.consistency, judged.consistency)
        let json = try JSONSerialization.jsonObject(with: report.json()) as! [String: Any]
        for key in ["attribute_accuracy", "consistency_3d", "real_images"] { XCTAssertNotNil(json[key], key) }
        XCTAssertNil(json["rp"]); XCTAssertNil(json["msc"])
    }

    /// A prompt that too few real images fit is left out of the mode-collapse check (its real spread means little).
    func testModeCollapseSkipsPromptsThatFewRealImagesFit() throws {
        let model = try GenerateModel(weights: TextGenerateTests.model)
        var s = settings()
        s.spreadMinRealImages = 33  // more than the world holds
        let (report, extras) = try GeneratorEvaluation.run(s, model: model, judge: Self.judge, data: Self.world,
                                                           attributeProbabilities: { Tensor.full([$0.shape[0], Attribute.allCases.count], 0.6) })
        XCTAssertTrue(extras.spread.isEmpty)
        XCTAssertNil(extras.spreadRatio)
        XCTAssertNotNil(report.values[.msc])
    }

    /// An unconditional generator gives Table 1's text-blind row: the same prompts, images that ignore them.
    func testUnconditionalGeneratorIsTheTextBlindRow() throws {
        let path = ExportTestSupport.tiny.dir + "/eval-unconditional.safetensors"
        let g = TriPlaneGenerator(config: GenerateFuzzTests.small, rng: RandomGenerator(seed: 7))
        try saveSafeTensors(g.stateDict(), metadata: ["config": try GenerateFuzzTests.small.jsonString()], to: path)
        let model = try GenerateModel(weights: path)
        var s = settings()
        s.spreadPrompts = 0
        let always: (Tensor) throws -> Tensor = { Tensor.full([$0.shape[0], Attribute.allCases.count], 0.6) }
        let (report, extras) = try GeneratorEvaluation.run(s, model: model, judge: Self.judge, data: Self.world, attributeProbabilities: always)
        XCTAssertTrue(report.table.text().contains("EG3D stage 0 (text-blind)"), report.table.text())
        XCTAssertNotNil(report.values[.rp]); XCTAssertNotNil(report.values[.msc])
        // Sample i is seed + i's portrait whatever the prompt: other prompts, the same images.
        let held = try GeneratorEvaluation.heldOutCaptions(data: Self.world, set: .inDistribution, count: 6)
        let a = try GeneratorEvalSource(model: model, prompts: held.captions, seed: 2)
        let b = try GeneratorEvalSource(model: model, prompts: held.captions.map { _ in ["a different prompt"] }, seed: 2)
        XCTAssertTrue(a.textBlind)
        XCTAssertEqual(try a.image(1, view: .frontal).toArray(), try b.image(1, view: .frontal).toArray())
        XCTAssertNotEqual(try a.image(0, view: .frontal).toArray(), try a.image(1, view: .frontal).toArray())
        XCTAssertGreaterThan(extras.consistency.pixels, 0)
    }

    /// Model choices are made on the validation prompts, Table 1's figures on the evaluation prompts: both held out,
    /// never one image in common, the validation ones starting at `validationStart` of the sorted test split.
    func testValidationPromptsAreHeldOutAndDisjointFromTheEvaluationPrompts() throws {
        let test = try XCTUnwrap(EG3DDataset(path: Self.world).split?.test).sorted()
        XCTAssertGreaterThanOrEqual(test.count, 12)
        var s = settings()
        s.validationStart = 8
        XCTAssertEqual(s.firstPrompt, 0)
        let eval = try GeneratorEvaluation.heldOutCaptions(data: Self.world, set: .inDistribution, count: 8, start: s.firstPrompt)
        s.split = .validation
        XCTAssertEqual(s.firstPrompt, 8)
        let validation = try GeneratorEvaluation.heldOutCaptions(data: Self.world, set: .inDistribution, count: 4, start: s.firstPrompt)
        XCTAssertEqual(eval.names, Array(test[0..<8]))
        XCTAssertEqual(validation.names, Array(test[8..<12]))
        XCTAssertTrue(Set(eval.names).isDisjoint(with: validation.names))
        // A count past the end takes what is there; a start past the end is an error naming split.json.
        XCTAssertEqual(try GeneratorEvaluation.heldOutCaptions(data: Self.world, set: .inDistribution, count: 1000, start: 8).names,
                       Array(test[8...]))
        XCTAssertThrowsError(try GeneratorEvaluation.heldOutCaptions(data: Self.world, set: .inDistribution, count: 4, start: test.count)) {
            XCTAssertEqual("\($0)", "\(Self.world)/split.json: the test split has \(test.count) images, so none is left for the validation prompts (they start at image \(test.count), after the evaluation prompts)")
        }
        // The run says which prompts it scored.
        s.count = 3; s.spreadPrompts = 0; s.metrics = []
        let model = try GenerateModel(weights: TextGenerateTests.model)
        let (report, _) = try GeneratorEvaluation.run(s, model: model, judge: nil, data: Self.world, attributeProbabilities: nil)
        let prompts = try XCTUnwrap(report.info["prompts"] as? [String: Any])
        XCTAssertEqual(prompts["split"] as? String, "validation")
        XCTAssertEqual(prompts["first_test_image"] as? Int, 8)
        XCTAssertEqual(prompts["count"] as? Int, 3)
    }

    func testMissingPartsAreNamed() throws {
        var s = settings()
        s.model = TextGenerateTests.model
        let weights = (TextGenerateTests.model as NSString).deletingLastPathComponent
        XCTAssertThrowsError(try GeneratorEvaluation.resolve(s, environment: [:])) {
            XCTAssertTrue("\($0)".hasPrefix("\(weights)/judge: no judge CLIP (a transformers CLIPModel folder; --judge DIR)"), "\($0)")
        }
        s.judge = Self.judge
        XCTAssertThrowsError(try GeneratorEvaluation.resolve(s, environment: [:])) {
            XCTAssertTrue("\($0)".hasPrefix("\(weights)/attributes.safetensors: no attribute classifier (--attributes FILE)"), "\($0)")
        }
        s.attributes = fixturePath("clip/tiny_gelu/model.safetensors")   // any existing file gets past the check
        XCTAssertThrowsError(try GeneratorEvaluation.resolve(s, environment: [:])) {
            XCTAssertTrue("\($0)".hasPrefix("--data: no world dataset for the held-out captions"), "\($0)")
        }
        XCTAssertEqual(try GeneratorEvaluation.resolve(s, environment: ["DREAMPORTRAIT_WORLD": Self.world]).data, Self.world)
        // A generator file (an unconditional checkpoint) looks for the judge beside itself.
        var file = settings()
        file.model = fixturePath("clip/tiny_gelu/model.safetensors")
        XCTAssertThrowsError(try GeneratorEvaluation.resolve(file, environment: [:])) {
            XCTAssertTrue("\($0)".hasPrefix("\(fixturePath("clip/tiny_gelu"))/judge: no judge CLIP"), "\($0)")
        }
        XCTAssertThrowsError(try GeneratorEvaluation.heldOutCaptions(data: fixturePath("world/with_labels"), set: .inDistribution, count: 5)) {
            XCTAssertEqual("\($0)", "\(fixturePath("world/with_labels"))/split.json: is missing: the held-out (test) identities are needed")
        }
    }
}
