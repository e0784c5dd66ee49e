// Stages 1-2 on the tiny world with the tiny SD teacher: the wrapped stage-0 generator reproduces the checkpoint's
// images bit for bit before any update; a stage-2 run (GAN + D-SDS) takes steps, stays finite, and writes a
// G_ema that TextConditionedGenerator.load reads; bad --init and --teacher are named.
import Distill
import Foundation
import TensorCore
import TestSupport
import Training
import TriPlaneGAN
import XCTest

final class TextStageTests: XCTestCase {
    static let stageZero: String = {
        let run = temporaryPath("s0-for-text")
        let task = try! StageZero.makeTask(data: tinyWorld, config: microConfig, seed: 5)
        var s = LoopSettings(steps: 1)
        s.quiet = true
        _ = try! TrainingLoop.run(task, in: try! RunFolder(path: run), settings: s, resume: false)
        return (run as NSString).appendingPathComponent("checkpoints/000000001")
    }()
    let teacher = fixturePath("teacher/tiny-sd-pipeline")

    /// A fresh stage-1 task's G_ema against the wrapped stage-0 G_ema on fixed latents and the sample prompts: the
    /// images must be bit-identical. Returns the inputs and the stage-0 image for later comparisons.
    func assertStartsAtCheckpoint(_ task: GANTrainingTask<TextConditionedGenerator>,
                                  file: StaticString = #filePath, line: UInt = #line) throws -> (z: Tensor, c: Tensor, prompts: TextConditioning, image: Tensor) {
        let plain = try TriPlaneGenerator.load(path: (Self.stageZero as NSString).appendingPathComponent("G_ema.safetensors"))
        let z = RandomGenerator(seed: 4).normal([2, 16]), c = Tensor.concat([frontalLabel(), frontalLabel()], axis: 0)
        let prompts = task.trainer.samplePrompts!(2)
        let a = withNoGrad { plain(z: z, cCond: c, noiseMode: .const, resolution: 16, random: GeneratorRandomSource(seed: 9)) }
        let b = withNoGrad { task.trainer.generatorEMA(z: z, cCond: c, text: prompts, noiseMode: .const, resolution: 16, random: GeneratorRandomSource(seed: 9)) }
        XCTAssertEqual(a.image.toArray(), b.image.toArray(), file: file, line: line)
        return (z, c, prompts, a.image)
    }

    func testWrappedCheckpointReproducesItsImagesBitForBit() throws {
        var settings = TextStageSettings(stage: 1)
        settings.adapters = 3
        let task = try TextStages.makeTask(data: tinyWorld, training: microConfig.training, seed: 1, initPath: Self.stageZero,
                                           teacher: teacher, settings: settings)
        let plain = try TriPlaneGenerator.load(path: (Self.stageZero as NSString).appendingPathComponent("G_ema.safetensors"))
        let wrapped = task.trainer.generatorEMA
        XCTAssertEqual(wrapped.conditioning.adapters.items.count, 3)
        let z = RandomGenerator(seed: 4).normal([2, 16]), c = Tensor.concat([frontalLabel(), frontalLabel()], axis: 0)
        let prompts = task.trainer.samplePrompts!(2)
        let a = withNoGrad { plain(z: z, cCond: c, noiseMode: .const, resolution: 16, random: GeneratorRandomSource(seed: 9)) }
        let b = withNoGrad { wrapped(z: z, cCond: c, text: prompts, noiseMode: .const, resolution: 16, random: GeneratorRandomSource(seed: 9)) }
        XCTAssertEqual(a.image.toArray(), b.image.toArray(), "stage 1 must start exactly at the stage-0 generator")
        XCTAssertEqual(a.imageRaw.toArray(), b.imageRaw.toArray())
        // The trained G (not G_ema) is wrapped too.
        let g = try TriPlaneGenerator.load(path: (Self.stageZero as NSString).appendingPathComponent("G.safetensors"))
        let pa = withNoGrad { g.planes(g.mapping(z, c), noiseMode: .const) }
        let pb = withNoGrad { task.trainer.generator.planes(ws: task.trainer.generator.mapping(z, c, text: prompts), text: prompts) }
        XCTAssertEqual(pa.toArray(), pb.toArray())
    }

    /// The adapter ablations (--no-3d-pool, --no-gate) also start exactly at the checkpoint, train, and are saved
    /// in the conditioning JSON.
    func testAdapterAblationsStartAtTheCheckpointAndAreSaved() throws {
        let run = try temporaryFolder("s1-ablation")
        defer { try? FileManager.default.removeItem(atPath: run) }
        var settings = TextStageSettings(stage: 1)
        settings.adapters = 2
        settings.pool3D = false
        settings.gated = false
        let task = try TextStages.makeTask(data: tinyWorld, training: microConfig.training, seed: 1, initPath: Self.stageZero,
                                           teacher: teacher, settings: settings)
        let names = task.trainer.generator.conditioning.namedParameters().map(\.0)
        XCTAssertFalse(names.contains { $0.hasSuffix(".gamma") || $0.hasSuffix(".beta") }, "no gate parameters: \(names)")
        let (z, c, prompts, start) = try assertStartsAtCheckpoint(task)
        var s = LoopSettings(steps: 1)
        s.quiet = true
        try TrainingLoop.run(task, in: try RunFolder(path: run), settings: s, resume: false)
        let g = try TextConditionedGenerator.load(path: "\(run)/checkpoints/000000001/G.safetensors")
        XCTAssertFalse(g.conditioningConfig.pool3D)
        XCTAssertFalse(g.conditioningConfig.gated)
        // The ungated adapter's update moves the planes after a step (proj_out is no longer zero).
        let after = withNoGrad { g(z: z, cCond: c, text: prompts, noiseMode: .const, resolution: 16, random: GeneratorRandomSource(seed: 9)) }
        XCTAssertNotEqual(after.image.toArray(), start.toArray())
    }

    func testStageTwoStepsWithDSDSStayFiniteAndSaveAReadableGenerator() throws {
        let run = try temporaryFolder("s2")
        defer { try? FileManager.default.removeItem(atPath: run) }
        var settings = TextStageSettings(stage: 2)
        settings.adapters = 2
        settings.dsds.teacherResolution = 16
        var training = microConfig.training
        training.blurInitSigma = 0
        let task = try TextStages.makeTask(data: tinyWorld, training: training, seed: 1, initPath: Self.stageZero,
                                           teacher: teacher, settings: settings)
        var s = LoopSettings(steps: 2)
        s.quiet = true
        try TrainingLoop.run(task, in: try RunFolder(path: run), settings: s, resume: false)
        let r = try XCTUnwrap(task.lastReport)
        for (k, v) in r.losses { XCTAssertTrue(v.isFinite, "\(k) = \(v)") }
        XCTAssertNotNil(r.losses["G/dsds"])
        let g = try TextConditionedGenerator.load(path: "\(run)/checkpoints/000000002/G_ema.safetensors")
        XCTAssertEqual(g.conditioningConfig.placements.count, 2)
        XCTAssertEqual(g.conditioningConfig.textDim, 32)
    }

    /// The CLIP-similarity ablation: a tiny random CLIP folder (the metrics fixtures' model, tokenizer, preprocessor).
    func testStageTwoWithTheCLIPLossTakesFiniteSteps() throws {
        let clip = try temporaryFolder("clip"), run = try temporaryFolder("s2-clip")
        defer { try? FileManager.default.removeItem(atPath: clip); try? FileManager.default.removeItem(atPath: run) }
        for (from, names) in [("clip/tiny_gelu", ["config.json", "model.safetensors"]),
                              ("metrics/clip_tiny", ["vocab.json", "merges.txt", "tokenizer_config.json", "preprocessor_config.json"])] {
            for n in names { try FileManager.default.copyItem(atPath: fixturePath("\(from)/\(n)"), toPath: "\(clip)/\(n)") }
        }
        var settings = TextStageSettings(stage: 2)
        settings.textLoss = .clip
        settings.clipFolder = clip
        settings.adapters = 2
        let task = try TextStages.makeTask(data: tinyWorld, training: microConfig.training, seed: 1, initPath: Self.stageZero,
                                           teacher: teacher, settings: settings)
        var s = LoopSettings(steps: 1)
        s.quiet = true
        try TrainingLoop.run(task, in: try RunFolder(path: run), settings: s, resume: false)
        let r = try XCTUnwrap(task.lastReport)
        let l = try XCTUnwrap(r.losses["G/clip"])
        XCTAssertTrue(l.isFinite && l > 0 && l < 2, "1 − cos must lie in (0, 2): \(l)")
        for (k, v) in r.losses { XCTAssertTrue(v.isFinite, "\(k) = \(v)") }
    }

    /// Stage 2 continues a stage-1 run (its folder: the newest checkpoint): the adapters and semantics mapping it
    /// trained are loaded, not re-initialised, so stage 2 starts at stage 1's images; a different adapter count is named.
    func testStageTwoContinuesAStageOneRun() throws {
        let one = try temporaryFolder("s1-for-s2")
        defer { try? FileManager.default.removeItem(atPath: one) }
        var settings = TextStageSettings(stage: 1)
        settings.adapters = 2
        let first = try TextStages.makeTask(data: tinyWorld, training: microConfig.training, seed: 1, initPath: Self.stageZero,
                                            teacher: teacher, settings: settings)
        var s = LoopSettings(steps: 2)
        s.quiet = true
        try TrainingLoop.run(first, in: try RunFolder(path: one), settings: s, resume: false)
        settings.stage = 2
        settings.textLoss = .none
        let second = try TextStages.makeTask(data: tinyWorld, training: microConfig.training, seed: 2, initPath: one,
                                             teacher: teacher, settings: settings)
        let saved = try TextConditionedGenerator.load(path: "\(one)/checkpoints/000000002/G_ema.safetensors")
        let z = RandomGenerator(seed: 4).normal([2, 16]), c = Tensor.concat([frontalLabel(), frontalLabel()], axis: 0)
        let prompts = second.trainer.samplePrompts!(2)
        let a = withNoGrad { saved(z: z, cCond: c, text: prompts, noiseMode: .const, resolution: 16, random: GeneratorRandomSource(seed: 9)) }
        let b = withNoGrad { second.trainer.generatorEMA(z: z, cCond: c, text: prompts, noiseMode: .const, resolution: 16, random: GeneratorRandomSource(seed: 9)) }
        XCTAssertEqual(a.image.toArray(), b.image.toArray(), "stage 2 must start exactly at stage 1's G_ema")
        let trainedG = try TextConditionedGenerator.load(path: "\(one)/checkpoints/000000002/G.safetensors").conditioning.stateDict()
        for (k, v) in second.trainer.generator.conditioning.stateDict() { XCTAssertEqual(v.toArray(), trainedG[k]?.toArray(), k) }
        settings.adapters = 4
        XCTAssertThrowsError(try TextStages.makeTask(data: tinyWorld, training: microConfig.training, seed: 2, initPath: one,
                                                     teacher: teacher, settings: settings)) { e in
            XCTAssertTrue("\(e)".contains("text conditioning") && "\(e)".contains(one), "\(e)")
        }
    }

    /// `--mapping-lr-multiplier`: λ of a new semantics mapping network is saved in the conditioning and kept by a
    /// continuing stage; one step at λ = 1 moves w_t away from w far more than at EG3D's 0.01 (Adam's first step is
    /// lr·sign(g) on the raw weights whatever λ, and the effective weights are raw · λ/√fan_in).
    func testMappingLearningRateMultiplierIsSavedAndKept() throws {
        func oneStep(_ lambda: Float?) throws -> (run: String, shift: Double) {
            let run = try temporaryFolder("s1-lambda")
            var settings = TextStageSettings(stage: 1)
            settings.adapters = 2
            settings.mappingLrMultiplier = lambda
            let task = try TextStages.makeTask(data: tinyWorld, training: microConfig.training, seed: 1, initPath: Self.stageZero,
                                               teacher: teacher, settings: settings)
            var s = LoopSettings(steps: 1)
            s.quiet = true
            try TrainingLoop.run(task, in: try RunFolder(path: run), settings: s, resume: false)
            let g = try TextConditionedGenerator.load(path: "\(run)/checkpoints/000000001/G.safetensors")
            XCTAssertEqual(g.conditioningConfig.mappingLrMultiplier, lambda ?? 0.01)
            let z = RandomGenerator(seed: 4).normal([2, 16]), c = Tensor.concat([frontalLabel(), frontalLabel()], axis: 0)
            let prompts = task.trainer.samplePrompts!(2)
            let (w, wt) = withNoGrad { (g.eg3d.mapping(z, c), g.mapping(z, c, text: prompts)) }
            let d = zip(w.toArray(), wt.toArray()).map { Double(abs($0 - $1)) }
            return (run, d.reduce(0, +) / Double(d.count))
        }
        let eg3d = try oneStep(nil), one = try oneStep(1)
        defer { for r in [eg3d.run, one.run] { try? FileManager.default.removeItem(atPath: r) } }
        XCTAssertGreaterThan(eg3d.shift, 0)
        XCTAssertGreaterThan(one.shift / eg3d.shift, 20, "λ = 1: \(one.shift), λ = 0.01: \(eg3d.shift)")
        // Stage 2 continues the λ = 1 run with its λ; another explicit λ is refused.
        var settings = TextStageSettings(stage: 2)
        settings.adapters = 2
        settings.textLoss = .none
        let next = try TextStages.makeTask(data: tinyWorld, training: microConfig.training, seed: 2, initPath: one.run,
                                           teacher: teacher, settings: settings)
        XCTAssertEqual(next.trainer.generator.conditioningConfig.mappingLrMultiplier, 1)
        settings.mappingLrMultiplier = 0.5
        XCTAssertThrowsError(try TextStages.makeTask(data: tinyWorld, training: microConfig.training, seed: 2, initPath: one.run,
                                                     teacher: teacher, settings: settings)) { e in
            XCTAssertTrue("\(e)".contains("--mapping-lr-multiplier"), "\(e)")
        }
    }

    /// `--gate-init` and `--adapter-lr-multiplier`: new adapters start with tanh(γ) = V in G and G_ema and still
    /// reproduce the checkpoint's images bit for bit; the adapters' parameters (only they) step at M × G's rate; a
    /// continued text-conditioned checkpoint refuses --gate-init.
    func testGateInitAndAdapterLearningRate() throws {
        var settings = TextStageSettings(stage: 1)
        settings.adapters = 2
        settings.gateInit = 0.5
        settings.adapterLrMultiplier = 0.04
        let task = try TextStages.makeTask(data: tinyWorld, training: microConfig.training, seed: 1, initPath: Self.stageZero,
                                           teacher: teacher, settings: settings)
        for g in [task.trainer.generator, task.trainer.generatorEMA] {
            for a in g.conditioning.adapters.items { XCTAssertEqual(Double(a.gate.item()), 0.5, accuracy: 1e-6) }
        }
        _ = try assertStartsAtCheckpoint(task)
        let opt = task.trainer.gOptimizer
        let names = task.trainer.generator.namedParameters().map(\.0)
        let base = try XCTUnwrap(opt.learningRate(of: try XCTUnwrap(names.first { !$0.hasPrefix("conditioning.") })))
        for n in names {
            let lr = try XCTUnwrap(opt.learningRate(of: n), n)
            XCTAssertEqual(lr / base, n.hasPrefix("conditioning.adapters.") ? 0.04 : 1, accuracy: 1e-12, n)
        }
        XCTAssertTrue(names.contains { $0.hasPrefix("conditioning.adapters.") })
        // A stage-1 run continued by stage 2 keeps its learnt gates: --gate-init is refused by name.
        let run = try temporaryFolder("s1-gate")
        defer { try? FileManager.default.removeItem(atPath: run) }
        var s = LoopSettings(steps: 1)
        s.quiet = true
        try TrainingLoop.run(task, in: try RunFolder(path: run), settings: s, resume: false)
        var next = settings
        next.stage = 2
        next.textLoss = .none
        XCTAssertThrowsError(try TextStages.makeTask(data: tinyWorld, training: microConfig.training, seed: 2, initPath: run,
                                                     teacher: teacher, settings: next)) { e in
            XCTAssertTrue("\(e)".contains("--gate-init") && "\(e)".contains(run), "\(e)")
        }
    }

    func testBadInitAndTeacherAreNamed() {
        let s = TextStageSettings(stage: 1)
        XCTAssertThrowsError(try TextStages.makeTask(data: tinyWorld, training: microConfig.training, seed: 0, initPath: "/no/ckpt",
                                                     teacher: teacher, settings: s)) { XCTAssertTrue("\($0)".contains("/no/ckpt"), "\($0)") }
        XCTAssertThrowsError(try TextStages.makeTask(data: tinyWorld, training: microConfig.training, seed: 0, initPath: Self.stageZero,
                                                     teacher: "/no/teacher", settings: s)) { XCTAssertTrue("\($0)".contains("/no/teacher"), "\($0)") }
        var two = TextStageSettings(stage: 2)
        two.textLoss = .clip
        XCTAssertThrowsError(try TextStages.makeTask(data: tinyWorld, training: microConfig.training, seed: 0, initPath: Self.stageZero,
                                                     teacher: teacher, settings: two)) { XCTAssertTrue("\($0)".contains("--clip DIR"), "\($0)") }
    }
}
