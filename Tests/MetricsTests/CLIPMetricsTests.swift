// CLIP score, MSC and R-precision (paper §4.1; method doc §7). CLIP score against torchmetrics' CLIPScore on the
// tiny random CLIP of Tests/Fixtures/clip/tiny_gelu with the tokenizer/processor folder
// Tests/Fixtures/metrics/clip_tiny (Scripts/make_metric_fixtures.py clip): end to end on 8-bit images, and
// torchmetrics' formula on float images the processor resizes. MSC: the EG3D camera labels of its views, and the
// mean of the three views' scores through both APIs. R-precision: the ranking on constructed embeddings with
// known answers (an injected embedder), ties, the sampling (seeded, without replacement, excluding own captions),
// and its errors.
import Foundation
import XCTest
@testable import Metrics
@testable import TensorCore
import Teacher
import TestSupport

private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures")
private let tinyCLIP = fixtures.appendingPathComponent("clip/tiny_gelu").path
private let tinyTokenizer = fixtures.appendingPathComponent("metrics/clip_tiny").path

/// max |a − b| / max |b| (Float64).
private func relativeError(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "relativeError: \(a.count) vs \(b.count) values")
    var num = 0.0, den = 0.0
    for i in 0..<a.count { num = max(num, abs(a[i] - b[i])); den = max(den, abs(b[i])) }
    return den == 0 ? num : num / den
}

private func doubles(_ t: Tensor) -> [Double] { t.toArray().map(Double.init) }

private func tinyScorer(batchSize: Int = 32) throws -> CLIPScorer {
    CLIPScorer(model: try CLIPModel(folder: tinyCLIP), tokenizer: try CLIPTokenizer(folder: tinyTokenizer),
               processor: try CLIPImageProcessor(folder: tinyTokenizer), batchSize: batchSize)
}

/// An embedder whose image embedding is the image's flattened pixels and whose caption embeddings come from a
/// table; it records the captions it was asked for.
private final class TableEmbedder: CLIPEmbedder {
    let table: [String: [Float]]
    private(set) var textRequests: [[String]] = []
    init(_ table: [String: [Float]]) { self.table = table }
    func imageEmbeddings(_ images: Tensor) throws -> Tensor { images.reshape([images.shape[0], -1]) }
    func textEmbeddings(_ captions: [String]) throws -> Tensor {
        textRequests.append(captions)
        return Tensor(captions.flatMap { table[$0]! }, shape: [captions.count, table.first!.value.count])
    }
}

/// A renderer whose image is a smooth function of the sample index and the camera's position.
private struct PatternRenderer: ViewRenderer {
    var size = 40
    func render(sample: Int, camera label: [Float]) throws -> Tensor {
        let (x, z) = (label[3], label[11])
        var v = [Float](repeating: 0, count: 3 * size * size)
        for c in 0..<3 { for i in 0..<size { for j in 0..<size {
            let t = Float(sample + 1) * 0.37 + Float(c) * 1.3 + x * 2.1 + z * 0.2
            v[(c * size + i) * size + j] = 0.5 + 0.5 * sin(t + Float(i) * 0.21 - Float(j) * 0.13 * Float(c + 1))
        } } }
        return Tensor(v, shape: [3, size, size])
    }
}

private func captionNumbers(_ n: Int) -> [String] { (0..<n).map { "caption \($0)" } }

/// Unit vectors in `d` dimensions, one per string, drawn from a seeded generator.
private func randomTable(_ keys: [String], d: Int, seed: UInt64) -> [String: [Float]] {
    let r = RandomGenerator(seed: seed).normal([keys.count, d]).toArray()
    var out: [String: [Float]] = [:]
    for (i, k) in keys.enumerated() {
        let v = Array(r[i * d ..< (i + 1) * d]), n = v.map { $0 * $0 }.reduce(0, +).squareRoot()
        out[k] = v.map { $0 / n }
    }
    return out
}

final class CLIPMetricsTests: XCTestCase {
    // MARK: CLIP score

    func testCLIPScoreMatchesTorchmetrics() throws {
        let f = try SafeTensorsFile(path: fixtures.appendingPathComponent("metrics/clip.safetensors").path)
        let captions = try JSONDecoder().decode([String].self, from: Data(f.metadata["tm.captions"]!.utf8))
        let scorer = try tinyScorer()
        // Inputs first: the tokenizer's ids and the processor's pixels equal transformers'.
        XCTAssertEqual(scorer.tokenizer.encode(batch: captions).ids.toArray(), try f.tensor("tm.ids").toArray())
        let images = try f.tensor("tm.images")                                           // (4, 3, 48, 64)
        let pixelError = relativeError(doubles(scorer.processor(images)), doubles(try f.tensor("tm.pixel_values")))
        print("CLIPImageProcessor vs transformers' (crop only): relative error \(pixelError)")
        XCTAssertLessThan(pixelError, 1e-6, "pixel values")
        let scores = try scorer.score(images: images, captions: captions)
        let expected = doubles(try f.tensor("tm.scores"))
        let err = relativeError(scores, expected)
        print("CLIP score vs torchmetrics _clip_score_update: relative error \(err); scores \(scores)")
        XCTAssertLessThan(err, 1e-4)
        // torchmetrics' CLIPScore.compute: max(mean, 0) (here the mean is negative: the clamp shows).
        let mean = expected.reduce(0, +) / Double(expected.count)
        XCTAssertLessThan(mean, 0)
        XCTAssertEqual(try scorer.meanClipScore(images: images, captions: captions), Double(try f.tensor("tm.mean").toArray()[0]))
        XCTAssertEqual(meanClipScore([10, 30, -5]), 35.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(meanClipScore([-10, 5]), 0)
    }

    func testCLIPScoreFormulaOnResizedFloatImages() throws {
        let f = try SafeTensorsFile(path: fixtures.appendingPathComponent("metrics/clip.safetensors").path)
        let captions = try JSONDecoder().decode([String].self, from: Data(f.metadata["resize.captions"]!.utf8))
        let scorer = try tinyScorer(batchSize: 2)                                        // two batches
        XCTAssertEqual(scorer.tokenizer.encode(batch: captions).ids.toArray(), try f.tensor("resize.ids").toArray())
        let images = try f.tensor("resize.images")                                       // (3, 3, 72, 90)
        let pixelError = relativeError(doubles(scorer.processor(images)), doubles(try f.tensor("resize.pixel_values")))
        print("CLIPImageProcessor vs torch's antialiased bicubic (per-pass clamp): relative error \(pixelError)")
        XCTAssertLessThan(pixelError, 1e-5, "pixel values after the antialiased bicubic resize")
        let scores = try scorer.score(images: images, captions: captions)
        let err = relativeError(scores, doubles(try f.tensor("resize.scores")))
        print("CLIP score vs 100·cos reference on resized images: relative error \(err)")
        XCTAssertLessThan(err, 1e-4)
    }

    func testScorerFromOneFolderBatchesAndErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clipmetric-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (from, names) in [(tinyCLIP, ["config.json", "model.safetensors"]),
                              (tinyTokenizer, ["vocab.json", "merges.txt", "tokenizer_config.json", "preprocessor_config.json"])] {
            for n in names { try FileManager.default.copyItem(atPath: from + "/" + n, toPath: dir + "/" + n) }
        }
        let one = try CLIPScorer(folder: dir, batchSize: 1), all = try tinyScorer()
        let images = RandomGenerator(seed: 3).uniform([3, 3, 50, 50])
        let captions = ["a face", "a bearded man", "a woman with glasses"]
        let a = try one.score(images: images, captions: captions), b = try all.score(images: images, captions: captions)
        XCTAssertLessThan(relativeError(a, b), 1e-6, "batch size must not change scores")
        // Embeddings are normalised and carry no graph.
        let e = try one.imageEmbeddings(images)
        XCTAssertEqual(e.shape, [3, 24])
        for i in 0..<3 { XCTAssertEqual(e.toArray()[(i * 24)..<(i * 24 + 24)].map { Double($0 * $0) }.reduce(0, +), 1, accuracy: 1e-5) }
        XCTAssertFalse(e.requiresGrad)
        XCTAssertThrowsError(try one.score(images: images, captions: ["one", "two"])) { error in
            XCTAssertTrue("\(error)".contains("3 images but 2 captions"), "\(error)")
        }
        var noResize = one.processor
        noResize.doResize = false
        XCTAssertThrowsError(try CLIPScorer(model: one.model, tokenizer: one.tokenizer, processor: noResize)
            .imageEmbeddings(RandomGenerator(seed: 1).uniform([1, 3, 20, 20]))) { error in
            XCTAssertTrue("\(error)".contains("smaller than the 48x48 crop"), "\(error)")
        }
        XCTAssertThrowsError(try CLIPScorer(folder: tinyCLIP)) // no tokenizer files there
    }

    // MARK: MSC

    func testMSCViewLabelsAreEG3DLookAtCameras() throws {
        let f = try SafeTensorsFile(path: fixtures.appendingPathComponent("metrics/clip.safetensors").path)
        let expected = try f.tensor("msc.labels").toArray()                              // (3, 25)
        let labels = MSCView.labels
        XCTAssertEqual(labels.count, 3)
        var worst: Float = 0
        for v in 0..<3 { for k in 0..<25 { worst = max(worst, abs(labels[v][k] - expected[v * 25 + k])) } }
        XCTAssertLessThan(worst, 1e-6, "labels vs EG3D's LookAtPoseSampler")
        XCTAssertEqual(MSCView.yawOffset, 0.2618, accuracy: 1e-4)
        XCTAssertEqual(MSCView.frontal.label[3], 0, accuracy: 1e-6)                        // on the axis
        XCTAssertGreaterThan(MSCView.left.label[3], 0.5)                                   // yaw + 15°: camera toward +x
        XCTAssertLessThan(MSCView.right.label[3], -0.5)
        for v in MSCView.allCases { XCTAssertEqual(MSCView.matching(label: expected[(v.rawValue * 25)..<(v.rawValue * 25 + 25)].map { $0 }), v) }
        var other = MSCView.frontal.label
        other[3] += 0.01
        XCTAssertNil(MSCView.matching(label: other))
        XCTAssertNil(MSCView.matching(label: [1, 2, 3]))
        XCTAssertEqual(MSCView.allCases.map(\.name), ["F", "L15", "R15"])
    }

    func testMSCIsTheMeanOfTheThreeViewScores() throws {
        let scorer = try tinyScorer(batchSize: 4)
        let captions = ["a smiling woman", "an old man with a hat", "a child", "a face with freckles", "a man"]
        let rng = RandomGenerator(seed: 9)
        let views = (0..<3).map { _ in rng.uniform([5, 3, 56, 56]) }
        let r = try multiViewSemanticConsistency(frontal: views[0], left: views[1], right: views[2], captions: captions, embedder: scorer)
        let direct = try views.map { try scorer.score(images: $0, captions: captions) }
        XCTAssertEqual(r.count, 5)
        for v in 0..<3 { XCTAssertLessThan(relativeError(r.scores[v], direct[v]), 1e-6) }
        for i in 0..<5 { XCTAssertEqual(r.perSample[i], (direct[0][i] + direct[1][i] + direct[2][i]) / 3, accuracy: 1e-4) }
        let all = direct.flatMap { $0 }
        XCTAssertEqual(r.mean, all.reduce(0, +) / 15, accuracy: 1e-4)
        XCTAssertEqual(r.perView[1], direct[1].reduce(0, +) / 5, accuracy: 1e-4)
        XCTAssertThrowsError(try multiViewSemanticConsistency(frontal: views[0], left: views[1].slice(axis: 0, start: 0, end: 4),
                                                              right: views[2], captions: captions, embedder: scorer)) { error in
            XCTAssertTrue("\(error)".contains("left views have shape [4, 3, 56, 56] but 5 captions"), "\(error)")
        }
    }

    func testMSCThroughAViewRendererMatchesTheViewSets() throws {
        let scorer = try tinyScorer()
        let captions = ["a woman", "a man with a beard", "a smiling child"]
        let renderer = PatternRenderer()
        let viaRenderer = try multiViewSemanticConsistency(renderer: renderer, captions: captions, embedder: scorer, batchSize: 2)
        let views = try MSCView.allCases.map { v in
            Tensor.stack(try (0..<3).map { try renderer.render(sample: $0, camera: v.label) }, axis: 0)
        }
        let viaViews = try multiViewSemanticConsistency(frontal: views[0], left: views[1], right: views[2], captions: captions, embedder: scorer)
        for v in 0..<3 { XCTAssertLessThan(relativeError(viaRenderer.scores[v], viaViews.scores[v]), 1e-6) }
        XCTAssertEqual(viaRenderer.mean, viaViews.mean, accuracy: 1e-5)
        struct Broken: ViewRenderer {
            func render(sample: Int, camera label: [Float]) throws -> Tensor { Tensor.zeros([4, 48, 48]) }
        }
        XCTAssertThrowsError(try multiViewSemanticConsistency(renderer: Broken(), captions: ["x"], embedder: scorer)) { error in
            XCTAssertTrue("\(error)".contains("[4, 48, 48] for sample 0"), "\(error)")
        }
    }

    // MARK: R-precision

    func testRPrecisionRanksConstructedEmbeddings() throws {
        // 150 images, one caption each; images 0..<60 embed exactly as their caption (cosine 1: rank 1), the rest
        // as its negation (cosine -1: every distractor beats it, rank 100).
        let n = 150, d = 8
        let captions = captionNumbers(n)
        let embedder = TableEmbedder(randomTable(captions, d: d, seed: 5))
        var pixels: [Float] = []
        for i in 0..<n { pixels += embedder.table[captions[i]]!.map { i < 60 ? $0 : -$0 } }
        let images = Tensor(pixels, shape: [n, 2, 1, 4])                                 // flattened: the embedding
        let r = try clipRPrecision(images: images, captions: captions, embedder: embedder, seed: 42)
        XCTAssertEqual(r.candidates, 100)
        XCTAssertEqual(r.ranks, (0..<n).map { $0 < 60 ? 1 : 100 })
        XCTAssertEqual(r.precision, 60.0 / 150, accuracy: 1e-12)
        XCTAssertEqual(r.percent, 40, accuracy: 1e-9)
        // Every needed caption embedded exactly once, in one call.
        XCTAssertEqual(embedder.textRequests.count, 1)
        let asked = embedder.textRequests[0]
        XCTAssertEqual(Set(asked).count, asked.count)
        let drawn = try rPrecisionDistractors(captions: captions.map { [$0] }, seed: 42)
        XCTAssertEqual(Set(asked), Set(captions).union(drawn.flatMap { $0 }))
    }

    func testRPrecisionTiesCountAsFailures() throws {
        // Exactly 100 distinct captions: every other caption is a distractor of every image. Caption 99 embeds
        // like caption 0, so images 0 and 99 tie with a distractor.
        let captions = captionNumbers(100)
        var table = randomTable(captions, d: 6, seed: 8)
        table["caption 99"] = table["caption 0"]
        let embedder = TableEmbedder(table)
        let images = Tensor(captions.flatMap { table[$0]! }, shape: [100, 3, 1, 2])
        let r = try clipRPrecision(images: images, captions: captions, embedder: embedder, seed: 1)
        XCTAssertEqual(r.ranks[0], 2)
        XCTAssertEqual(r.ranks[99], 2)
        XCTAssertEqual(r.hits.filter { $0 }.count, 98)
        XCTAssertEqual(r.precision, 0.98, accuracy: 1e-12)
    }

    func testRPrecisionSamplingIsSeededWithoutReplacementAndExcludesOwnCaptions() throws {
        // 120 images with two captions each, the second shared with the next image.
        let n = 120
        let captions = (0..<n).map { ["true \($0)", "shared \(($0 + 1) % n)", "shared \($0)"] }
        let a = try rPrecisionDistractors(captions: captions, seed: 7)
        XCTAssertEqual(a, try rPrecisionDistractors(captions: captions, seed: 7), "same seed, same distractors")
        let b = try rPrecisionDistractors(captions: captions, seed: 8)
        XCTAssertGreaterThan(zip(a, b).filter { Set($0) != Set($1) }.count, n / 2, "another seed, other distractors")
        let pool = Set(captions.flatMap { $0 })
        for (i, list) in a.enumerated() {
            XCTAssertEqual(list.count, 99)
            XCTAssertEqual(Set(list).count, 99, "image \(i): drawn with replacement")
            XCTAssertTrue(Set(list).isSubset(of: pool))
            XCTAssertTrue(Set(list).isDisjoint(with: captions[i]), "image \(i) got one of its own captions")
        }
        // An image's draw depends only on the seed, its index and the pool: another image whose captions are all
        // in the pool already leaves every other draw unchanged.
        let more = try rPrecisionDistractors(captions: captions + [["true 5", "shared 9"]], seed: 7)
        XCTAssertEqual(Array(more.prefix(n)), a)
        XCTAssertTrue(Set(more[n]).isDisjoint(with: ["true 5", "shared 9"]))
        // Roughly uniform: over 200 seeds each of image 0's 149 eligible captions comes out ~133 times.
        let small = (0..<150).map { ["c\($0)"] }
        var counts: [String: Int] = [:]
        for seed in 0..<200 as Range<UInt64> {
            let first = try rPrecisionDistractors(captions: Array(small.prefix(150)), seed: seed)[0]
            for c in first { counts[c, default: 0] += 1 }
        }
        XCTAssertNil(counts["c0"])
        XCTAssertEqual(counts.count, 149)
        let expected = 200.0 * 99 / 149                                                  // ≈ 132.9
        for (c, k) in counts { XCTAssertLessThan(abs(Double(k) - expected), 45, "\(c) drawn \(k) times of ~\(expected)") }
    }

    func testRPrecisionErrors() throws {
        let table = randomTable(captionNumbers(100), d: 4, seed: 2)
        let embedder = TableEmbedder(table)
        let images99 = Tensor(captionNumbers(99).flatMap { table[$0]! }, shape: [99, 1, 1, 4])
        XCTAssertThrowsError(try clipRPrecision(images: images99, captions: captionNumbers(99), embedder: embedder, seed: 0)) { error in
            XCTAssertTrue("\(error)".contains("only 99 distinct captions"), "\(error)")
            XCTAssertTrue("\(error)".contains("image 0 has 98"), "\(error)")
        }
        // Duplicated captions do not count twice.
        XCTAssertThrowsError(try rPrecisionDistractors(captions: (0..<150).map { ["caption \($0 % 60)"] }, seed: 0)) { error in
            XCTAssertTrue("\(error)".contains("only 60 distinct captions"), "\(error)")
        }
        let images = Tensor(captionNumbers(100).flatMap { table[$0]! }, shape: [100, 1, 1, 4])
        XCTAssertThrowsError(try clipRPrecision(images: images, captions: captionNumbers(101), embedder: embedder, seed: 0)) { error in
            XCTAssertTrue("\(error)".contains("do not match 101 caption lists"), "\(error)")
        }
        XCTAssertThrowsError(try clipRPrecision(imageEmbeddings: images.reshape([100, 4]), captions: captionNumbers(100).map { [$0] } + [[]],
                                                embedder: embedder, seed: 0))
        var withEmpty = captionNumbers(100).map { [$0] }
        withEmpty[3] = []
        XCTAssertThrowsError(try rPrecisionDistractors(captions: withEmpty, seed: 0)) { error in
            XCTAssertTrue("\(error)".contains("image 3 has no caption"), "\(error)")
        }
        // With 100 distinct captions it works, and a smaller candidate set needs fewer.
        XCTAssertNoThrow(try clipRPrecision(images: images, captions: captionNumbers(100), embedder: embedder, seed: 0))
        XCTAssertEqual(try clipRPrecision(images: images99, captions: captionNumbers(99), embedder: embedder, seed: 0,
                                          distractors: 31).candidates, 32)
    }

    func testRPrecisionWithTheTinyCLIPAgreesWithPairwiseScores() throws {
        let scorer = try tinyScorer()
        let captions = (0..<100).map { "portrait number \($0) with \(["red", "blue", "long", "short"][$0 % 4]) hair" }
        let images = RandomGenerator(seed: 4).uniform([100, 3, 48, 48])
        let r = try clipRPrecision(images: images, captions: captions, embedder: scorer, seed: 3)
        XCTAssertEqual(r, try clipRPrecision(images: images, captions: captions, embedder: scorer, seed: 3))
        XCTAssertTrue(r.ranks.allSatisfy { (1...100).contains($0) })
        // Image 0's rank from the CLIP scores of its 100 candidates.
        let drawn = try rPrecisionDistractors(captions: captions.map { [$0] }, seed: 3)[0]
        let candidates = [captions[0]] + drawn
        let image0 = images.slice(axis: 0, start: 0, end: 1).expand([100, 3, 48, 48])
        let s = try scorer.score(images: image0, captions: candidates)
        XCTAssertEqual(r.ranks[0], 1 + s.dropFirst().filter { $0 >= s[0] }.count)
    }

    // MARK: table

    func testMetricsTableTextAndJSON() throws {
        var t = MetricsTable(caption: "Table 1: Performance on CelebAText-HQ and FFHQ-Text")
        try t.set(.fid, 17.51, method: "DreamPortrait* (ours)", dataset: "CelebAText-HQ", synthesisType: "3D Forward")
        try t.set(.msc, 20.66, method: "DreamPortrait* (ours)", dataset: "CelebAText-HQ")
        try t.set(.rp, 35.08, method: "DreamPortrait* (ours)", dataset: "CelebAText-HQ")
        try t.set(.msc, 21.09, method: "DreamPortrait* (ours)", dataset: "FFHQ-Text")
        try t.set(.fid, 140.01, method: "TediGAN-base+PTI", dataset: "FFHQ-Text", synthesisType: "3D Inversion")
        let text = t.text()
        print(text)
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "Table 1: Performance on CelebAText-HQ and FFHQ-Text")
        XCTAssertTrue(lines[1].contains("CelebAText-HQ") && lines[1].contains("FFHQ-Text"))
        XCTAssertTrue(lines[2].hasPrefix("Method") && lines[2].contains("Synthesis Type"))
        XCTAssertEqual(lines[2].components(separatedBy: "FID↓").count, 3)
        XCTAssertTrue(lines[4].hasPrefix("DreamPortrait* (ours)  3D Forward"))
        XCTAssertTrue(lines[4].contains("17.51") && lines[4].contains("35.08") && lines[4].contains("21.09"))
        XCTAssertEqual(lines[4].components(separatedBy: "—").count - 1, 2)                // FFHQ FID and R-P
        XCTAssertEqual(lines[5].components(separatedBy: "—").count - 1, 5)
        XCTAssertTrue(lines[5].hasSuffix("140.01      —     —"), lines[5])
        XCTAssertEqual(lines[6], "in-distribution: CelebAText-HQ; out-of-distribution: FFHQ-Text")
        // Columns line up: each value ends where its header ends.
        let header = lines[2], row = lines[4]
        let fidEnd = header.range(of: "FID↓")!.upperBound
        XCTAssertEqual(header.distance(from: header.startIndex, to: fidEnd),
                       row.distance(from: row.startIndex, to: row.range(of: "17.51")!.upperBound))
        // JSON round trip; absent values are left out.
        let json = try t.json()
        let back = try MetricsTable.decode(json: json)
        XCTAssertEqual(back, t)
        XCTAssertEqual(back.value(.msc, method: "DreamPortrait* (ours)", dataset: "FFHQ-Text"), 21.09)
        XCTAssertNil(back.value(.fid, method: "DreamPortrait* (ours)", dataset: "FFHQ-Text"))
        let s = String(decoding: json, as: UTF8.self)
        XCTAssertTrue(s.contains("\"synthesis_type\" : \"3D Forward\"") && s.contains("\"distribution\" : \"out-of-distribution\""), s)
        XCTAssertFalse(s.contains("null"))
        // Errors.
        XCTAssertThrowsError(try t.set(.fid, 1, method: "x", dataset: "CelebA")) { error in
            XCTAssertTrue("\(error)".contains("no dataset \"CelebA\""), "\(error)")
        }
        XCTAssertThrowsError(try t.set(.fid, .nan, method: "x", dataset: "FFHQ-Text"))
        let bad = s.replacingOccurrences(of: "\"FFHQ-Text\" : {", with: "\"Elsewhere\" : {")
        XCTAssertThrowsError(try MetricsTable.decode(json: Data(bad.utf8)))
        // One dataset, no synthesis types: the ablation-table form.
        var one = MetricsTable(datasets: [.init(name: "synthetic", distribution: .inDistribution)])
        try one.set(.rp, 66.31, method: "w/ D-SDS", dataset: "synthetic")
        XCTAssertEqual(one.text(), """
                            synthetic
            Method      FID↓  MSC↑   R-P↑
            -----------------------------
            w/ D-SDS       —     —  66.31
            in-distribution: synthetic

            """)
    }
}
