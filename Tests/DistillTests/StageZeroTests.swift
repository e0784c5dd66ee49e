// Stage 0 end to end on a tiny world: resume is bit for bit (also after a kill during a checkpoint write), a
// non-finite loss stops the run before any checkpoint takes it, bad input is refused with a message naming it.
import Codecs
import Distill
import Foundation
import PortraitWorld
import TensorCore
import TestSupport
import Training
import TriPlaneGAN
import XCTest

/// A generator small enough for tests that run real steps (128² output is the smallest EG3D super-resolution).
let microConfig: RunConfig = {
    var g = TriPlaneConfig(zDim: 16, wDim: 16, cDim: 25, imgResolution: 128, channelBase: 256, channelMax: 16, mappingLayers: 1,
                           planeResolution: 16, planeChannels: 8, decoderHiddenDim: 16, decoderOutputDim: 8, srChannels: [8, 8],
                           neuralRenderingResolution: 16,
                           rendering: .ffhq(.hybrid2X, depthResolution: 6, depthResolutionImportance: 6),
                           dChannelBase: 256, dChannelMax: 16, mbstdGroupSize: 2, dMappingLayers: 2)
    g.rendering.imageResolution = 128
    var t = TrainingOptions.eg3d(batch: 2, neuralRenderingResolution: 16)
    t.gRegInterval = 2
    t.dRegInterval = 2
    t.densityRegPoints = 64
    t.blurFadeKimg = 0.008
    t.gpcRegFadeKimg = 0.004
    return RunConfig(generator: g, training: t)
}()

/// A world dataset of `count` images at 128² in a fresh folder (made once per process).
let tinyWorld: String = {
    let dir = temporaryPath("distill-world")
    do { _ = try Synthesizer(settings: SynthSettings(count: 12, resolution: 128, seed: 3), directory: dir).run() }
    catch { XCTFail("cannot write the test world: \(error)") }
    return dir
}()

final class StageZeroTests: XCTestCase {
    func bytes(_ run: String, step: Int) throws -> [String: Data] {
        let dir = (run as NSString).appendingPathComponent(String(format: "checkpoints/%09d", step))
        var out: [String: Data] = [:]
        for f in ["G", "G_ema", "D", "G_opt", "D_opt"] {
            out[f] = try XCTUnwrap(FileManager.default.contents(atPath: "\(dir)/\(f).safetensors"), "\(dir)/\(f)")
        }
        return out
    }

    func train(_ run: String, steps: Int, resume: Bool, stop: Int? = nil) throws -> TrainingLoop.Outcome {
        let task = try StageZero.makeTask(data: tinyWorld, config: microConfig, seed: 5)
        var s = LoopSettings(steps: steps)
        s.quiet = true
        s.checkpointSeconds = 1e9
        return try TrainingLoop.run(task, in: try RunFolder(path: run), settings: s, resume: resume)
    }

    func testResumeIsBitForBitAndAKilledCheckpointWriteLeavesTheLastOne() throws {
        let a = try temporaryFolder("s0-straight"), b = try temporaryFolder("s0-resumed")
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
        try train(a, steps: 4, resume: false)
        try train(b, steps: 2, resume: false)
        // A kill -9 in the middle of the next checkpoint write: a partial temporary folder is left behind.
        let partial = (b as NSString).appendingPathComponent("checkpoints/.tmp-000000004")
        try FileManager.default.createDirectory(atPath: partial, withIntermediateDirectories: true)
        try Data(repeating: 7, count: 100).write(to: URL(fileURLWithPath: "\(partial)/G.safetensors"))
        XCTAssertEqual(try RunFolder(path: b).latestCheckpointPath()?.hasSuffix("000000002"), true)
        let out = try train(b, steps: 4, resume: true)
        XCTAssertEqual(out.startStep, 2)
        let x = try bytes(a, step: 4), y = try bytes(b, step: 4)
        for f in x.keys.sorted() { XCTAssertEqual(x[f], y[f], "\(f) differs between 4 straight steps and 2 + resume + 2") }
        // G_ema is a checkpoint `generate` reads: its config is in the metadata.
        let g = try TriPlaneGenerator.load(path: "\(a)/checkpoints/000000004/G_ema.safetensors")
        XCTAssertEqual(g.config, microConfig.generator)
    }

    func testNonFiniteLossStopsBeforeACheckpoint() throws {
        let run = try temporaryFolder("s0-nan")
        defer { try? FileManager.default.removeItem(atPath: run) }
        try train(run, steps: 1, resume: false)
        // Resume, with D's epilogue output bias poisoned after the restore: every logit is NaN.
        let task = Poisoned(try StageZero.makeTask(data: tinyWorld, config: microConfig, seed: 5))
        var s = LoopSettings(steps: 3)
        s.quiet = true
        XCTAssertThrowsError(try TrainingLoop.run(task, in: try RunFolder(path: run), settings: s, resume: true)) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("loss/Gmain/G/loss") && text.contains("step 1") && text.contains("000000001"), text)
        }
        XCTAssertEqual(try RunFolder(path: run).latestCheckpointPath()?.hasSuffix("000000001"), true)
    }

    func testBadInputIsRefusedWithItsName() throws {
        XCTAssertThrowsError(try StageZero.makeTask(data: "/no/such/world", config: microConfig, seed: 0)) { e in
            XCTAssertTrue("\(e)".contains("/no/such/world"), "\(e)")
        }
        // Images without labels.
        let dir = try temporaryFolder("s0-nolabels")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for f in ["00000", "dataset.json"] {
            try FileManager.default.copyItem(atPath: (tinyWorld as NSString).appendingPathComponent(f), toPath: (dir as NSString).appendingPathComponent(f))
        }
        try Data("{\"labels\": null}".utf8).write(to: URL(fileURLWithPath: "\(dir)/dataset.json"))
        XCTAssertThrowsError(try StageZero.makeTask(data: dir, config: microConfig, seed: 0)) { e in
            XCTAssertTrue("\(e)".contains("dataset.json") && "\(e)".contains("label"), "\(e)")
        }
        // A config file with an unknown key, and one whose training options are inconsistent.
        let cfg = "\(dir)/bad.json"
        try Data("{\"generatr\": {}}".utf8).write(to: URL(fileURLWithPath: cfg))
        XCTAssertThrowsError(try RunConfig.load(cfg, batch: nil)) { XCTAssertTrue("\($0)".contains("generatr"), "\($0)") }
        try Data("{\"training\": {\"batch\": 8, \"batch_gpu\": 3}}".utf8).write(to: URL(fileURLWithPath: cfg))
        XCTAssertThrowsError(try RunConfig.load(cfg, batch: nil)) { XCTAssertTrue("\($0)".contains("batch_gpu"), "\($0)") }
    }
}

/// A stage-0 task whose D produces NaN logits once restored.
final class Poisoned: TrainingTask {
    let inner: GANTrainingTask<TriPlaneGenerator>
    init(_ inner: GANTrainingTask<TriPlaneGenerator>) { self.inner = inner }
    var title: String { inner.title }
    var itemsPerStep: Int { inner.itemsPerStep }
    func step(_ step: Int) throws -> [String: Double] { try inner.step(step) }
    func checkpoint() throws -> (files: [String: [String: Tensor]], state: [String: Any]) { try inner.checkpoint() }
    func samples() throws -> Image? { nil }
    func restore(_ c: Checkpoint) throws {
        try inner.restore(c)
        let bias = inner.trainer.discriminator.namedParameters().first { $0.0 == "b4.out.bias" }!.1
        withNoGrad { bias.copyIn(Tensor([Float](repeating: .nan, count: bias.count), shape: bias.shape)) }
    }
}
