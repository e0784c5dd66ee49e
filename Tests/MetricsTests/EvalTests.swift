// `dreamportrait eval`'s library side (Evaluation.run over an EvalFolder): MSC and R-precision end to end over a
// tiny evaluation folder written by EvalFolderWriter (5 samples x 3 views, the MSC cameras, captions.json) with
// the tiny random CLIP, against transformers' CLIPModel on the same images (Scripts/make_metric_fixtures.py eval)
// and against the library functions called directly; FID end to end against pytorch-fid (fid_folders fixture)
// with the reference statistics cache; seeded R-precision; the table, the JSON report and every input error.
import Codecs
import Foundation
import XCTest
@testable import Metrics
@testable import TensorCore
import Teacher

private let fixtures = metricFixtures.deletingLastPathComponent()

final class EvalTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("eval-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }
    /// A Hugging Face CLIP folder: the tiny random model with the tiny tokenizer and processor; `without` leaves a file out.
    func tinyCLIPFolder(without: String? = nil) throws -> String {
        let clip = dir + "/clip"
        try? FileManager.default.removeItem(atPath: clip)
        try FileManager.default.createDirectory(atPath: clip, withIntermediateDirectories: true)
        for (from, names) in [("clip/tiny_gelu", ["config.json", "model.safetensors"]),
                              ("metrics/clip_tiny", ["vocab.json", "merges.txt", "tokenizer_config.json", "preprocessor_config.json"])] {
            for n in names where n != without {
                try FileManager.default.copyItem(atPath: fixtures.appendingPathComponent(from + "/" + n).path, toPath: clip + "/" + n)
            }
        }
        return clip
    }

    /// The fixture's samples: images[i][v] (3, 48, 64) and captions.
    func fixtureSamples() throws -> (images: [[Tensor]], captions: [String], file: SafeTensorsFile) {
        let f = try SafeTensorsFile(path: metricFixtures.appendingPathComponent("eval.safetensors").path)
        let all = try f.tensor("eval.images")                                  // (5, 3, 3, 48, 64)
        let captions = try JSONDecoder().decode([String].self, from: Data(f.metadata["eval.captions"]!.utf8))
        let images = (0..<all.shape[0]).map { i in (0..<3).map { v in all.slice(axis: 0, start: i, end: i + 1).reshape([3, 3, 48, 64])
            .slice(axis: 0, start: v, end: v + 1).reshape([3, 48, 64]).contiguous() } }
        return (images, captions, f)
    }

    /// Writes the fixture's evaluation folder (views layout) and returns its path; `extra` adds a second
    /// caption per sample (a distractor of the other samples, never of its own).
    func writeFixtureFolder(extra: Bool = false) throws -> String {
        let (images, captions, _) = try fixtureSamples()
        let path = dir + "/generated"
        var writer = try EvalFolderWriter(path: path)
        for i in images.indices { try writer.add(index: i, views: images[i], captions: [captions[i]] + (extra ? ["another caption of \(i)"] : [])) }
        try writer.finish()
        return path
    }

    func settings(_ metrics: [MetricsTable.Metric], clip: String? = nil) -> EvalSettings {
        var s = EvalSettings(metrics: metrics)
        s.clip = clip; s.distractors = 4; s.seed = 5; s.batchSize = 2; s.dataset = "tiny"
        return s
    }

    func testMSCAndRPrecisionMatchTransformersAndTheLibrary() throws {
        let folder = try EvalFolder(path: try writeFixtureFolder())
        XCTAssertEqual(folder.count, 5)
        XCTAssertEqual(folder.views, MSCView.allCases)
        XCTAssertEqual(folder.files[1], ["00001/F.png", "00001/L15.png", "00001/R15.png"])
        let (images, captions, f) = try fixtureSamples()
        // The PNGs hold the fixture's bytes exactly.
        XCTAssertEqual(try folder.image(3, view: .left).toArray(), images[3][1].toArray())
        let clip = try tinyCLIPFolder()
        let report = try Evaluation.run(source: folder, settings: settings([.msc, .rp], clip: clip))

        // Against transformers (float64 cosines of its embeddings): 1e-4 of the largest score.
        let scores = try f.doubles("eval.scores"), scale = scores.map(abs).max()!
        let msc = try XCTUnwrap(report.values[.msc])
        XCTAssertEqual(msc, try f.doubles("eval.msc")[0], accuracy: 1e-4 * scale)
        let perSample = try XCTUnwrap(report.details[.msc]?["per_sample"] as? [Double])
        for (a, b) in zip(perSample, try f.doubles("eval.msc_per_sample")) { XCTAssertEqual(a, b, accuracy: 1e-4 * scale) }
        // With 4 distractors every other caption is one, so the ranks are transformers' whatever the seed.
        let ranks = try XCTUnwrap(report.details[.rp]?["ranks"] as? [Int])
        XCTAssertEqual(ranks, try f.doubles("eval.ranks").map { Int($0) })
        XCTAssertEqual(report.values[.rp], try f.doubles("eval.rp")[0])
        XCTAssertEqual(report.values[.rp], 20)

        // Against the library functions on the same tensors.
        let scorer = try CLIPScorer(folder: clip)
        let views = (0..<3).map { v in Tensor.stack(images.map { $0[v] }, axis: 0) }
        let direct = try multiViewSemanticConsistency(frontal: views[0], left: views[1], right: views[2], captions: captions, embedder: scorer)
        XCTAssertEqual(msc, direct.mean, accuracy: 1e-9 * scale)
        let rp = try clipRPrecision(images: views[0], captions: captions, embedder: scorer, seed: 5, distractors: 4)
        XCTAssertEqual(ranks, rp.ranks)
        // The folder through MSC's renderer seam (what a generator implements): the same scores.
        let rendered = try multiViewSemanticConsistency(renderer: EvalSourceRenderer(folder), captions: captions, embedder: scorer, batchSize: 3)
        XCTAssertEqual(rendered.mean, msc, accuracy: 1e-9 * scale)

        // Table 1 form with only the requested columns, and the JSON report.
        let text = report.table.text()
        XCTAssertTrue(text.contains("MSC↑") && text.contains("R-P↑") && !text.contains("FID↓"), text)
        XCTAssertTrue(text.contains("DreamPortrait (ours)") && text.contains("3D Forward") && text.contains("20.00"), text)
        XCTAssertTrue(report.summary().contains("1 of 5 true captions rank first among 5 candidates (seed 5)"), report.summary())
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: report.json()) as? [String: Any])
        XCTAssertEqual(json["msc"] as? Double, msc)
        XCTAssertEqual(json["rp"] as? Double, 20)
        XCTAssertEqual(json["clip"] as? String, clip)
        XCTAssertEqual(json["seed"] as? Int, 5)
        XCTAssertEqual(json["images"] as? Int, 15)
        XCTAssertEqual((json["rp_details"] as? [String: Any])?["candidates"] as? Int, 5)
        let table = try MetricsTable.decode(json: JSONSerialization.data(withJSONObject: json["table"]!))
        XCTAssertEqual(table.value(.msc, method: "DreamPortrait (ours)", dataset: "tiny"), msc)
        XCTAssertEqual(table.metrics, [.msc, .rp])
    }

    func testSeededRPrecisionIsReproducible() throws {
        let folder = try EvalFolder(path: try writeFixtureFolder(extra: true))
        let clip = try tinyCLIPFolder()
        var s = settings([.rp], clip: clip)
        s.distractors = 2
        let a = try Evaluation.run(source: folder, settings: s), b = try Evaluation.run(source: folder, settings: s)
        XCTAssertEqual(a.details[.rp]?["ranks"] as? [Int], b.details[.rp]?["ranks"] as? [Int])
        XCTAssertEqual(a.values[.rp], b.values[.rp])
        let captions = (0..<folder.count).map(folder.captions)
        XCTAssertEqual(try rPrecisionDistractors(captions: captions, count: 2, seed: 5), try rPrecisionDistractors(captions: captions, count: 2, seed: 5))
        XCTAssertNotEqual(try rPrecisionDistractors(captions: captions, count: 2, seed: 5), try rPrecisionDistractors(captions: captions, count: 2, seed: 6))
        XCTAssertEqual(a.details[.rp]?["candidates"] as? Int, 3)
    }

    func testFIDOverFoldersMatchesPytorchFIDAndCachesTheReference() throws {
        let fidFixture = try SafeTensorsFile(path: metricFixtures.appendingPathComponent("fid_folders.safetensors").path)
        let model = FIDInceptionV3()
        let weights = dir + "/inception.safetensors"
        try saveSafeTensors(InceptionRecipe.stateDict(for: model), to: weights)
        // A flat folder without dataset.json: every PNG is one sample (single layout).
        let images = try EvalFolder(path: metricFixtures.appendingPathComponent("fid_folders/generated").path)
        XCTAssertEqual(images.views, [.frontal])
        XCTAssertFalse(images.hasCaptions)
        var s = settings([.fid])
        s.reference = metricFixtures.appendingPathComponent("fid_folders/reference").path
        s.inception = weights; s.dims = 64; s.statisticsCache = dir + "/cache"
        let first = try Evaluation.run(source: images, settings: s)
        let fid = try XCTUnwrap(first.values[.fid]), reference = try fidFixture.doubles("fid")[0]
        XCTAssertLessThan(abs(fid - reference) / reference, 1e-5, "FID \(fid) vs pytorch-fid \(reference)")
        XCTAssertEqual((first.details[.fid]?["reference"] as? [String: Any])?["statistics"] as? String, "computed, cached")
        let second = try Evaluation.run(source: images, settings: s)
        XCTAssertEqual((second.details[.fid]?["reference"] as? [String: Any])?["statistics"] as? String, "cache")
        XCTAssertEqual(second.values[.fid]!, fid, accuracy: 1e-9 * fid)
        XCTAssertTrue(first.table.text().contains("FID↓"))
        // msc needs captions and views this folder does not have.
        XCTAssertThrowsError(try Evaluation.run(source: images, settings: settings([.msc], clip: try tinyCLIPFolder()))) {
            XCTAssertTrue("\($0)".contains("captions.json is missing"), "\($0)")
        }
        // A dataset folder with its images in a subfolder is read recursively as a reference.
        let nested = dir + "/dataset/00000"
        try FileManager.default.createDirectory(atPath: nested, withIntermediateDirectories: true)
        for f in try ImageFolder(path: s.reference!).files { try FileManager.default.copyItem(atPath: f, toPath: nested + "/" + (f as NSString).lastPathComponent) }
        XCTAssertEqual(try ImageFolder(path: dir + "/dataset").files.count, 6)
        s.reference = dir + "/dataset"; s.statisticsCache = nil
        XCTAssertEqual(try Evaluation.run(source: images, settings: s).values[.fid]!, fid, accuracy: 1e-6 * fid)
    }

    func testMissingWeightsAndBadSettingsAreNamed() throws {
        let folder = try EvalFolder(path: try writeFixtureFolder(extra: true))
        func message(_ s: EvalSettings) -> String {
            do { _ = try Evaluation.run(source: folder, settings: s); return "no error" } catch { return "\(error)" }
        }
        let noClip = message(settings([.msc, .rp]))
        for part in ["msc and rp need --clip DIR", "model.safetensors", "preprocessor_config.json",
                     "huggingface-cli download openai/clip-vit-base-patch32"] {
            XCTAssertTrue(noClip.contains(part), noClip)
        }
        XCTAssertTrue(message(settings([.rp], clip: dir + "/nowhere")).contains("nowhere: no such folder"))
        let noMerges = message(settings([.msc], clip: try tinyCLIPFolder(without: "merges.txt")))
        XCTAssertTrue(noMerges.contains("merges.txt is missing") && noMerges.contains("huggingface-cli"), noMerges)
        let noWeights = message(settings([.msc], clip: try tinyCLIPFolder(without: "model.safetensors")))
        XCTAssertTrue(noWeights.contains("model.safetensors is missing"), noWeights)
        var s = settings([.rp], clip: try tinyCLIPFolder())
        s.distractors = 99
        let few = message(s)
        XCTAssertTrue(few.contains("R-precision needs 99 distractor captions") && few.contains("--distractors"), few)
        let noReference = message(settings([.fid]))
        XCTAssertTrue(noReference.contains("fid needs --reference"), noReference)
        s = settings([.fid]); s.reference = folder.path
        let noInception = message(s)
        XCTAssertTrue(noInception.contains("fid needs --inception") && noInception.contains("convert_inception.py"), noInception)
        XCTAssertTrue(message(EvalSettings(metrics: [])).contains("no metric requested"))
    }

    func testFolderLayoutErrorsNameTheFile() throws {
        let path = try writeFixtureFolder()
        func error(_ edit: () throws -> Void) throws -> String {
            try edit()
            do { _ = try EvalFolder(path: path); return "no error" } catch { return "\(error)" }
        }
        let datasetJSON = path + "/dataset.json", captionsJSON = path + "/captions.json"
        let labels = try Data(contentsOf: URL(fileURLWithPath: datasetJSON)), captions = try Data(contentsOf: URL(fileURLWithPath: captionsJSON))
        func restore() throws {
            try writeAtomically(labels, to: URL(fileURLWithPath: datasetJSON)); try writeAtomically(captions, to: URL(fileURLWithPath: captionsJSON))
        }
        func rewrite(_ file: String, _ body: (inout Any) -> Void) throws {
            var o = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file)))
            body(&o)
            try writeAtomically(JSONSerialization.data(withJSONObject: o), to: URL(fileURLWithPath: file))
        }
        // Camera labels of the wrong length.
        var e = try error { try rewrite(datasetJSON) { o in
            var d = o as! [String: Any]
            d["labels"] = (d["labels"] as! [[Any]]).map { [$0[0], Array(($0[1] as! [Any]).prefix(24))] }
            o = d
        } }
        XCTAssertTrue(e.contains("dataset.json") && e.contains("24 values") && e.contains("25"), e)
        try restore()
        // An image with no caption.
        e = try error { try rewrite(captionsJSON) { o in var d = o as! [String: Any]; d["00002/F.png"] = nil; o = d } }
        XCTAssertTrue(e.contains("captions.json") && e.contains("no caption for image 00002/F.png"), e)
        try restore()
        // Side views whose true caption differs.
        e = try error { try rewrite(captionsJSON) { o in var d = o as! [String: Any]; d["00001/R15.png"] = ["someone else"]; o = d } }
        XCTAssertTrue(e.contains("00001/R15.png") && e.contains("differs from its frontal view"), e)
        try restore()
        // An image at a camera that is not an MSC view.
        e = try error { try rewrite(datasetJSON) { o in
            var d = o as! [String: Any]
            var list = d["labels"] as! [[Any]]
            list[4][1] = MSCView.lookAtPose(yaw: Double.pi / 2 + 0.5, pitch: Double.pi / 2) .map(Double.init) + [4.2647, 0, 0.5, 0, 4.2647, 0.5, 0, 0, 1]
            d["labels"] = list; o = d
        } }
        XCTAssertTrue(e.contains("00001/L15.png has a camera at yaw +28.6° (radius 2.70)") && e.contains("not one of the MSC views"), e)
        try restore()
        // A sample folder without one of its views.
        try FileManager.default.removeItem(atPath: path + "/00004/R15.png")
        e = try error { try rewrite(datasetJSON) { o in
            var d = o as! [String: Any]; d["labels"] = (d["labels"] as! [[Any]]).filter { ($0[0] as! String) != "00004/R15.png" }; o = d
        } }
        XCTAssertTrue(e.contains("00004") && e.contains("lacks the R15 view"), e)
        // No labels: one sample per image, and msc says what it needs.
        try FileManager.default.removeItem(atPath: datasetJSON)
        let single = try EvalFolder(path: path)
        XCTAssertEqual(single.count, 14)
        XCTAssertEqual(single.views, [.frontal])
        var s = settings([.msc], clip: try tinyCLIPFolder())
        s.distractors = 4
        XCTAssertThrowsError(try Evaluation.run(source: single, settings: s)) {
            XCTAssertTrue("\($0)".contains("msc needs each sample's three views") && "\($0)".contains("F.png, L15.png, R15.png"), "\($0)")
        }
        // The out-of-distribution caption set is a separate file.
        XCTAssertThrowsError(try Evaluation.run(source: try EvalFolder(path: path, captions: .outOfDistribution), settings: settings([.rp], clip: try tinyCLIPFolder()))) {
            XCTAssertTrue("\($0)".contains("captions_ood.json is missing"), "\($0)")
        }
    }
}
