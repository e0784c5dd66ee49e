// World supervision of stage 0: the .npy maps the world writes are read back exactly (and corrupt ones refused by
// name), they reduce to the neural rendering resolution as documented, the reconstruction phase lowers its loss
// on a fixed batch, and a supervised run resumes bit for bit (the encoder and its Adam included).
import Distill
import Foundation
import PortraitWorld
import TensorCore
import TestSupport
import Training
import TriPlaneGAN
import XCTest

/// The tiny world with its aux/ depth, mask and part maps.
let tinyWorldWithGeometry: String = {
    let dir = temporaryPath("distill-world-aux")
    var s = SynthSettings(count: 12, resolution: 128, seed: 3)
    s.auxiliary = true
    do { _ = try Synthesizer(settings: s, directory: dir).run() }
    catch { XCTFail("cannot write the test world: \(error)") }
    return dir
}()

final class WorldSupervisionTests: XCTestCase {
    var supervisedConfig: RunConfig {
        var c = microConfig
        var w = WorldSupervisionSettings()
        w.ganStartKimg = 0.004  // Grec alone for the first two steps, then EG3D's phases join
        c.worldSupervision = w
        return c
    }

    func testNPYRoundTripAndCorruptFilesAreNamed() throws {
        let dir = try temporaryFolder("npy")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let values: [Float] = [1.5, -2, .infinity, 3e-8, 0, 7, 8, 9]
        var le = Data()
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { le.append(contentsOf: $0) } }
        let f = ImageOutput.npy(le, descr: "<f4", shape: [2, 4])
        let a = try NPYArray.parse(f, path: "a.npy")
        XCTAssertEqual(a.shape, [2, 4])
        XCTAssertEqual(a.values, .float32(values))
        let b = try NPYArray.parse(ImageOutput.npy(Data([0, 128, 255]), descr: "|u1", shape: [3]), path: "b.npy")
        XCTAssertEqual(b.values, .uint8([0, 128, 255]))
        // Truncated payload, wrong magic, unknown dtype, header longer than the file: errors naming the file.
        for (bad, expect) in [(f.dropLast(3), "needs 32 bytes"), (Data([1, 2, 3]) + f.dropFirst(3), "magic"),
                              (ImageOutput.npy(Data(count: 8), descr: "<f8", shape: [1]), "dtype"),
                              (f.prefix(20), "exceeds the file")] {
            XCTAssertThrowsError(try NPYArray.parse(Data(bad), path: "/x/broken.npy")) { e in
                XCTAssertTrue("\(e)".contains("/x/broken.npy") && "\(e)".contains(expect), "\(e)")
            }
        }
    }

    func testGeometryReducesToFullyCoveredCells() throws {
        let dir = try temporaryFolder("geometry")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: "\(dir)/aux/00000", withIntermediateDirectories: true)
        // 4×4 maps → 2×2 cells: top-left fully covered (depth 2, 3, 2, 3 → 2.5), top-right half covered,
        // bottom-left covered but one depth is +inf (background), bottom-right empty.
        let inf = Float.infinity
        let depth: [Float] = [2, 3, 2.6, inf,
                              2, 3, 2.6, inf,
                              2.8, 2.8, inf, inf,
                              2.8, inf, inf, inf]
        let mask: [UInt8] = [255, 255, 255, 0,
                             255, 255, 255, 0,
                             255, 255, 0, 0,
                             255, 255, 0, 0]
        var le = Data()
        for v in depth { withUnsafeBytes(of: v.bitPattern.littleEndian) { le.append(contentsOf: $0) } }
        try ImageOutput.npy(le, descr: "<f4", shape: [4, 4]).write(to: URL(fileURLWithPath: "\(dir)/aux/00000/img0_depth.npy"))
        try ImageOutput.npy(Data(mask), descr: "|u1", shape: [4, 4]).write(to: URL(fileURLWithPath: "\(dir)/aux/00000/img0_mask.npy"))
        let g = try WorldGeometryBank(dataset: dir, names: ["00000/img0.png"], resolution: 2)
        XCTAssertEqual(g.depth, [2.5, 0, 0, 0])
        XCTAssertEqual(g.coverage, [255, 128, 255, 0])
        let (d, v, c) = g.batch([0])
        XCTAssertEqual(d.shape, [1, 1, 2, 2])
        XCTAssertEqual(v.toArray(), [1, 0, 0, 0])
        XCTAssertEqual(c.toArray()[1], 128 / 255, accuracy: 1e-7)
        // A mask of the wrong shape is named.
        try ImageOutput.npy(Data(mask.prefix(8)), descr: "|u1", shape: [2, 4]).write(to: URL(fileURLWithPath: "\(dir)/aux/00000/img0_mask.npy"))
        XCTAssertThrowsError(try WorldGeometryBank(dataset: dir, names: ["00000/img0.png"], resolution: 1)) { e in
            XCTAssertTrue("\(e)".contains("img0_mask.npy"), "\(e)")
        }
        // No aux maps at all: the missing file is named.
        XCTAssertThrowsError(try WorldGeometryBank(dataset: dir, names: ["00000/img9.png"], resolution: 2)) { e in
            XCTAssertTrue("\(e)".contains("img9_depth.npy"), "\(e)")
        }
    }

    func testReconstructionLowersItsLossOnAFixedBatch() throws {
        var config = supervisedConfig
        config.worldSupervision!.ganStartKimg = 1000  // reconstruction only
        config.training.batch = 4
        config.training.batchGPU = 4
        let task = try StageZero.makeTask(data: tinyWorldWithGeometry, config: config, seed: 2, worldSupervision: true)
        let t = task.trainer, w = try XCTUnwrap(t.worldSupervision)
        let idx = [0, 1, 2, 3]
        let (depth, valid, coverage) = w.geometry!.batch(idx)
        XCTAssertGreaterThan(valid.sum().item(), 50, "the tiny world's heads should cover some 16² cells fully")
        let batch = WorldBatch(image: t.data!.images(idx), c: t.data!.labelTensor(idx), depth: depth, valid: valid, coverage: coverage)
        func loss() -> [String: Double] {
            let d = PhaseDraws.draw(streams: StepStreams(seed: 99, step: 0), phase: 4, chunk: 0, n: 4, zDim: config.generator.zDim,
                                    labels: t.labels, densityPoints: nil)
            return withNoGrad { w.loss(generator: t.generator, batch: batch, draws: d, resolution: 16).1 }
        }
        let before = loss()
        let steps = Int(ProcessInfo.processInfo.environment["DISTILL_LEARN_STEPS"] ?? "") ?? 40
        var report: StepReport?
        for s in 0..<steps { report = try t.step(s) }
        let after = loss()
        print("Grec before \(before)\nGrec after \(steps) steps \(after)")
        // Only Grec (and Greg) ran: no adversarial phase timings.
        XCTAssertNil(report?.seconds["Gmain"])
        XCTAssertNotNil(report?.seconds["Grec"])
        XCTAssertLessThan(after["Grec/image_l1"]!, before["Grec/image_l1"]! * 0.7)
        XCTAssertLessThan(after["Grec/depth_l1"]!, before["Grec/depth_l1"]! * 0.7)
    }

    /// `"encoder_pooling": "flatten"` gives the encoder's head the whole 4² map (16 × 256 inputs), codes of the same
    /// shape as the mean-pooled encoder's; a config without the key keeps "mean"; an unknown value names the key.
    func testEncoderPoolingSetting() throws {
        let dir = try temporaryFolder("encoder-pooling")
        func load(_ w: String) throws -> RunConfig {
            let path = dir + "/c.json"
            try Data("{\"base\": \"tiny128\", \"world_supervision\": {\(w)}}".utf8).write(to: URL(fileURLWithPath: path))
            return try RunConfig.load(path, batch: nil)
        }
        XCTAssertEqual(try load("\"gan_start_kimg\": 1").worldSupervision?.encoderPooling, .mean)
        let flat = try load("\"encoder_pooling\": \"flatten\"")
        XCTAssertEqual(flat.worldSupervision?.encoderPooling, .flatten)
        XCTAssertThrowsError(try load("\"encoder_pooling\": \"max\"")) { e in
            XCTAssertTrue("\(e)".contains("encoder_pooling") || "\(e)".contains("encoderPooling"), "\(e)")
        }
        let images = testTensor([2, 3, 128, 128], seed: 5)
        let mean = ImageEncoder(zDim: 8, pooling: .mean, rng: RandomGenerator(seed: 1))
        let flatten = ImageEncoder(zDim: 8, pooling: .flatten, rng: RandomGenerator(seed: 1))
        XCTAssertEqual(mean.head.weight.shape, [16, 256])
        XCTAssertEqual(flatten.head.weight.shape, [16, 256 * 16])
        let (mu, logVar) = flatten(images)
        XCTAssertEqual(mu.shape, [2, 8]); XCTAssertEqual(logVar.shape, [2, 8])
    }

    func testSupervisedRunResumesBitForBit() throws {
        let a = try temporaryFolder("ws-straight"), b = try temporaryFolder("ws-resumed")
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
        func train(_ run: String, steps: Int, resume: Bool, config: RunConfig) throws {
            let task = try StageZero.makeTask(data: tinyWorldWithGeometry, config: config, seed: 5, worldSupervision: true)
            var s = LoopSettings(steps: steps)
            s.quiet = true
            s.checkpointSeconds = 1e9
            try TrainingLoop.run(task, in: try RunFolder(path: run), settings: s, resume: resume)
        }
        try train(a, steps: 4, resume: false, config: supervisedConfig)
        try train(b, steps: 2, resume: false, config: supervisedConfig)
        try train(b, steps: 4, resume: true, config: supervisedConfig)
        for f in ["G", "G_ema", "D", "G_opt", "D_opt", "E", "E_opt"] {
            let x = FileManager.default.contents(atPath: "\(a)/checkpoints/000000004/\(f).safetensors")
            XCTAssertNotNil(x, f)
            XCTAssertEqual(x, FileManager.default.contents(atPath: "\(b)/checkpoints/000000004/\(f).safetensors"), "\(f) differs after resume")
        }
        // The sample grid adds a row of training images and a row of their reconstructions.
        let grid = try XCTUnwrap(try StageZero.makeTask(data: tinyWorldWithGeometry, config: supervisedConfig, seed: 5, worldSupervision: true).samples())
        XCTAssertEqual(grid.height, 4 * 128)
        // Resuming with other world-supervision settings is refused, naming both.
        var other = supervisedConfig
        other.worldSupervision!.depthWeight = 7
        XCTAssertThrowsError(try train(b, steps: 5, resume: true, config: other)) { e in
            XCTAssertTrue("\(e)".contains("world supervision"), "\(e)")
        }
        // A dataset without aux/ maps is named.
        XCTAssertThrowsError(try StageZero.makeTask(data: tinyWorld, config: supervisedConfig, seed: 5, worldSupervision: true)) { e in
            XCTAssertTrue("\(e)".contains("aux"), "\(e)")
        }
    }

    /// Stages 1-2 with world supervision (`--world-supervision on`): Grec renders each training image from its code
    /// and one of its own captions. At the start (adapters identity) that is exactly the wrapped stage-0 generator's
    /// Grec with the same encoder and draws; its gradient reaches the text path (adapters, semantics mapping) and the
    /// encoder; afterwards the same code renders differently under another image's captions; a resume restores E.
    func testTextStageReconstructsFromImageAndCaption() throws {
        var settings = TextStageSettings(stage: 1)
        settings.adapters = 2
        var ws = WorldSupervisionSettings()
        ws.ganStartKimg = 1000  // Grec and Greg only
        ws.encoderPooling = .flatten
        settings.worldSupervision = ws
        let teacher = fixturePath("teacher/tiny-sd-pipeline")
        func task() throws -> GANTrainingTask<TextConditionedGenerator> {
            try TextStages.makeTask(data: tinyWorldWithGeometry, training: microConfig.training, seed: 1,
                                    initPath: TextStageTests.stageZero, teacher: teacher, settings: settings)
        }
        let k = try task()
        let t = k.trainer, w = try XCTUnwrap(t.worldSupervision)
        let captions = try XCTUnwrap(t.reconstructionCaptions)
        let idx = [0, 1], others = [2, 3]
        let (depth, valid, coverage) = w.geometry!.batch(idx)
        let batch = WorldBatch(image: t.data!.images(idx), c: t.data!.labelTensor(idx), depth: depth, valid: valid, coverage: coverage)
        func draws() -> PhaseDraws {
            PhaseDraws.draw(streams: StepStreams(seed: 7, step: 0), phase: 4, chunk: 0, n: 2, zDim: microConfig.generator.zDim,
                            labels: t.labels, densityPoints: nil)
        }
        let own = captions(RandomGenerator(seed: 3), idx)
        let plain = try TriPlaneGenerator.load(path: (TextStageTests.stageZero as NSString).appendingPathComponent("G.safetensors"))
        let a = withNoGrad { w.loss(generator: plain, batch: batch, draws: draws(), resolution: 16).1 }
        let b = withNoGrad { w.loss(generator: t.generator, batch: batch, draws: draws(), resolution: 16, captions: own).1 }
        XCTAssertEqual(a, b, "text-conditioned Grec must start at the stage-0 generator's")

        // Copies: a state dict holds the live parameters, which Adam updates in place.
        func snapshot(_ m: Module) -> [String: [Float]] { m.stateDict().mapValues { $0.toArray() } }
        let condBefore = snapshot(t.generator.conditioning), encBefore = snapshot(w.encoder)
        var report: StepReport?
        for s in 0..<3 { report = try t.step(s) }
        XCTAssertNotNil(report?.seconds["Grec"])
        XCTAssertNil(report?.seconds["Gmain"])
        func moved(_ before: [String: [Float]], _ after: [String: [Float]]) -> [String] {
            before.keys.filter { k in before[k]! != after[k]! }.sorted()
        }
        let condMoved = moved(condBefore, snapshot(t.generator.conditioning))
        XCTAssertTrue(condMoved.contains { $0.hasPrefix("adapters.") }, "no adapter parameter moved: \(condMoved)")
        XCTAssertTrue(condMoved.contains { !$0.hasPrefix("adapters.") }, "the semantics mapping did not move: \(condMoved)")
        XCTAssertFalse(moved(encBefore, snapshot(w.encoder)).isEmpty)
        let mine = withNoGrad { w.loss(generator: t.generator, batch: batch, draws: draws(), resolution: 16, captions: own).1 }
        let theirs = withNoGrad { w.loss(generator: t.generator, batch: batch, draws: draws(), resolution: 16,
                                          captions: captions(RandomGenerator(seed: 3), others)).1 }
        XCTAssertNotEqual(mine["Grec/image_l1"]!, theirs["Grec/image_l1"]!, "the captions do not reach the render")

        // A run checkpoints the encoder and a resume continues it bit for bit.
        let a1 = try temporaryFolder("ts-ws-straight"), b1 = try temporaryFolder("ts-ws-resumed")
        defer { try? FileManager.default.removeItem(atPath: a1); try? FileManager.default.removeItem(atPath: b1) }
        func train(_ run: String, steps: Int, resume: Bool) throws {
            var s = LoopSettings(steps: steps)
            s.quiet = true
            s.checkpointSeconds = 1e9
            try TrainingLoop.run(try task(), in: try RunFolder(path: run), settings: s, resume: resume)
        }
        try train(a1, steps: 2, resume: false)
        try train(b1, steps: 1, resume: false)
        try train(b1, steps: 2, resume: true)
        for f in ["G", "E", "E_opt"] {
            let x = FileManager.default.contents(atPath: "\(a1)/checkpoints/000000002/\(f).safetensors")
            XCTAssertNotNil(x, f)
            XCTAssertEqual(x, FileManager.default.contents(atPath: "\(b1)/checkpoints/000000002/\(f).safetensors"), "\(f) differs after resume")
        }
        // Stage 2 from that run takes its encoder (E.safetensors of the --init checkpoint).
        var s2 = settings
        s2.stage = 2
        s2.textLoss = .none
        let next = try TextStages.makeTask(data: tinyWorldWithGeometry, training: microConfig.training, seed: 2, initPath: a1,
                                           teacher: teacher, settings: s2)
        let e = try XCTUnwrap(next.trainer.worldSupervision).encoder.stateDict()
        let saved = try SafeTensorsFile(path: "\(a1)/checkpoints/000000002/E.safetensors")
        for key in e.keys { XCTAssertEqual(e[key]!.toArray(), try saved.tensor(key).toArray(), key) }
        // An encoder of another pooling is refused by file.
        var mean = s2
        mean.worldSupervision!.encoderPooling = .mean
        XCTAssertThrowsError(try TextStages.makeTask(data: tinyWorldWithGeometry, training: microConfig.training, seed: 2, initPath: a1,
                                                     teacher: teacher, settings: mean)) { e in
            XCTAssertTrue("\(e)".contains("E.safetensors"), "\(e)")
        }
    }

    /// `--freeze g` holds G in the reconstruction phase as in EG3D's: after Grec steps only the text conditioning
    /// (and the encoder) have moved, and the captions now reach the render.
    func testTextStageReconstructionWithFrozenGenerator() throws {
        var settings = TextStageSettings(stage: 1)
        settings.adapters = 2
        settings.freeze = "g"
        settings.gateInit = 0.5
        settings.mappingLrMultiplier = 1
        var ws = WorldSupervisionSettings()
        ws.ganStartKimg = 1000
        ws.encoderPooling = .flatten
        settings.worldSupervision = ws
        let t = try TextStages.makeTask(data: tinyWorldWithGeometry, training: microConfig.training, seed: 1,
                                        initPath: TextStageTests.stageZero, teacher: fixturePath("teacher/tiny-sd-pipeline"),
                                        settings: settings).trainer
        // Parameters only: the mapping's w_avg buffer is tracked in Grec as EG3D's mapping tracks it in every phase.
        func snapshot() -> [String: [Float]] {
            Dictionary(uniqueKeysWithValues: t.generator.namedParameters().map { ($0.0, $0.1.toArray()) })
        }
        let before = snapshot()
        for s in 0..<3 { _ = try t.step(s) }
        let after = snapshot()
        let moved = before.keys.filter { before[$0]! != after[$0]! }.sorted()
        XCTAssertFalse(moved.isEmpty)
        XCTAssertEqual(moved.filter { !$0.hasPrefix("conditioning.") }, [], "frozen G moved")
        XCTAssertTrue(moved.contains { $0.hasPrefix("conditioning.adapters.") && $0.hasSuffix("proj_out.weight") }, "\(moved)")
        XCTAssertTrue(moved.contains { $0.hasPrefix("conditioning.semantics_mapping.") }, "\(moved)")
    }
}
