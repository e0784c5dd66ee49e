// Mutation fuzzing of an EG3D dataset folder as `data inspect` and `eval --images/--reference` open it
// (issue 15): each field of dataset.json (every label entry: its file name and its numbers), captions.json,
// captions_ood.json, attributes.json and split.json set to 0, -1, 1e12, 2.5, a string, null, or deleted. Each
// mutant goes through EG3DDataset (every image's camera, captions and attributes looked up, one image decoded)
// and EvalFolder with both caption sets (one image tensor and its captions). Every case must work or throw an
// error naming the file; none may trap, take over 10 s or reach 3 GB.
import Foundation
import XCTest
@testable import Metrics
import PortraitWorld
import TensorCore
import TestSupport

final class DatasetFuzzTests: XCTestCase {
    /// A 3-image synthetic world at 32², written once per process.
    static let world: String = {
        let dir = temporaryPath("dataset-fuzz-world")
        let s = SynthSettings(count: 3, resolution: 32, seed: 4)
        _ = try! Synthesizer(settings: s, directory: dir).run()
        return dir
    }()

    func open(_ dir: String) throws {
        let ds = try EG3DDataset(path: dir)
        XCTAssertEqual(ds.count, 3)
        for n in ds.imageNames {
            _ = ds.camera(n)
            _ = ds.captions?[n]
            _ = ds.captionsOOD?[n]
            _ = ds.attributes?[n]
        }
        XCTAssertEqual(try ds.image(ds.imageNames[0]).width, 32)
        for set in [EvalFolder.CaptionSet.inDistribution, .outOfDistribution] {
            let folder = try EvalFolder(path: dir, captions: set)
            XCTAssertEqual(try folder.image(0, view: .frontal).shape, [3, 32, 32])
            _ = folder.captions(0)
        }
    }

    func fuzz(_ name: String, maxElements: Int = 2) throws {
        let dir = temporaryPath("dataset-fuzz")
        try FileManager.default.copyItem(atPath: Self.world, toPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try open(dir)
        // Labels and captions of the first two images, attributes of the first (the others are alike).
        let r = try JSONFuzz.run(file: dir + "/" + name, maxElements: maxElements, sampledObjects: ["images"]) { try open(dir) }
        XCTAssertGreaterThan(r.threw, 0, "no mutation of \(name) was rejected")
        XCTAssertGreaterThan(r.worked, 0, "no mutation of \(name) was read")
    }

    func testFuzzDatasetJSON() throws { try fuzz("dataset.json") }
    func testFuzzCaptions() throws { try fuzz("captions.json") }
    func testFuzzCaptionsOOD() throws { try fuzz("captions_ood.json") }
    func testFuzzAttributes() throws { try fuzz("attributes.json", maxElements: 1) }
    func testFuzzSplit() throws { try fuzz("split.json") }
}
