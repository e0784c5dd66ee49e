// The fake score of `--fake-score-lr` (FakeScore.swift) on the tiny SD pipeline fixture: a fresh one is the teacher,
// so D-SDS against it vanishes at guidance 1 where SDS's does not; it learns the latents it is shown; a stage-2 run
// with it checkpoints it (F, F_opt) and resumes bit for bit.
import Distill
import Foundation
import TensorCore
import Teacher
import TestSupport
import Training
import TriPlaneGAN
import XCTest

final class FakeScoreTests: XCTestCase {
    let teacherFolder = fixturePath("teacher/tiny-sd-pipeline")

    /// Latents of two random images through the tiny teacher's VAE (posterior means), and two prompts' states.
    func inputs() throws -> (latents: Tensor, states: Tensor, empty: Tensor) {
        let t = DSDSTests.teacher
        let image = RandomGenerator(seed: 21).uniform([2, 3, 16, 16]) * 2 - 1
        let latents = withNoGrad { t.vae.latents(of: image, noise: Tensor.zeros([2, 4, 8, 8])) }
        let states = try t.text.encode(["a smiling woman with long red hair", "an old man with a grey beard"])
        return (latents, states, try t.text.encode([""]))
    }

    /// A fresh fake score is the teacher: with it, g = w(t)(ε̂ − ε_φ) at guidance 1 (ε̂ = the teacher's conditional
    /// prediction) is zero up to float rounding, while SDS's g = w(t)(ε̂ − ε) on the same draws is of order one.
    func testAFreshFakeScoreCancelsTheTeacherAtGuidanceOne() throws {
        let t = DSDSTests.teacher
        let (latents, states, empty) = try inputs()
        let image = RandomGenerator(seed: 21).uniform([2, 3, 16, 16]) * 2 - 1
        let fake = try FakeScore(teacher: t.unet, schedule: t.scheduler.schedule, lr: 1e-3)
        var s = DSDSSettings()
        s.guidance = 1
        s.rescale = .none
        s.teacherResolution = 16
        let draws = DSDSDraws(timesteps: [150, 700], noise: RandomGenerator(seed: 5).normal(latents.shape),
                              posteriorNoise: Tensor.zeros(latents.shape))
        let score = { (f: FakeScore?) in
            DSDS.evaluate(unet: t.unet, vae: t.vae, schedule: t.scheduler.schedule, image: image, conditional: states,
                          unconditional: empty, draws: draws, settings: s, fake: f).gradient.toArray().map { Double(abs($0)) }.max()!
        }
        let sds = score(nil), vsd = score(fake)
        XCTAssertGreaterThan(sds, 0.3, "SDS's ε̂ − ε")
        XCTAssertLessThan(vsd, 1e-5, "ε̂ − ε_φ with ε_φ the teacher itself (SDS: \(sds))")
        // The teacher is not touched by the fake's training.
        let before = t.unet.stateDict()
        fake.update(latents: latents, states: states, random: RandomGenerator(seed: 6))
        for (k, v) in t.unet.stateDict() { XCTAssertEqual(v.toArray(), before[k]!.toArray(), k) }
        XCTAssertGreaterThan(score(fake), 1e-2, "after one update the fake score has left the teacher")
    }

    /// Trained on two latents with their prompts, the fake score's denoising loss on them (fixed timesteps and noise,
    /// never the training draws) falls: it learns the distribution it is shown.
    func testItLearnsTheLatentsItIsShown() throws {
        let t = DSDSTests.teacher
        let (latents, states, _) = try inputs()
        let fake = try FakeScore(teacher: t.unet, schedule: t.scheduler.schedule, lr: 2e-3)
        let evalT = [100, 300, 500, 800], evalNoise = RandomGenerator(seed: 9).normal([4] + Array(latents.shape.dropFirst()))
        let evalLatents = Tensor.concat([latents, latents], axis: 0), evalStates = Tensor.concat([states, states], axis: 0)
        func loss() -> Double {
            withNoGrad { Double(fake.loss(latents: evalLatents, states: evalStates, timesteps: evalT, noise: evalNoise).item()) }
        }
        let start = loss()
        let rng = RandomGenerator(seed: 10)
        var trained: [Double] = []
        for _ in 0..<40 { trained.append(fake.update(latents: latents, states: states, random: rng)) }
        XCTAssertTrue(trained.allSatisfy { $0.isFinite })
        let end = loss()
        XCTAssertLessThan(end, 0.7 * start, "held-out-draw denoising loss \(start) → \(end)")
    }

    /// Stage 2 with `fakeScoreLR`: the fake score's loss is logged, F and F_opt are checkpointed, and 1 step + resume
    /// + 1 step equals 2 straight steps (G, G_ema and F bit for bit).
    func testStageTwoWithAFakeScoreCheckpointsItAndResumesBitForBit() throws {
        var settings = TextStageSettings(stage: 2)
        settings.adapters = 2
        settings.dsds.teacherResolution = 16
        settings.fakeScoreLR = 1e-3
        var training = microConfig.training
        training.blurInitSigma = 0
        func task() throws -> GANTrainingTask<TextConditionedGenerator> {
            try TextStages.makeTask(data: tinyWorld, training: training, seed: 1, initPath: TextStageTests.stageZero,
                                    teacher: teacherFolder, settings: settings)
        }
        let straight = try temporaryFolder("s2-fake-a"), split = try temporaryFolder("s2-fake-b")
        defer { for r in [straight, split] { try? FileManager.default.removeItem(atPath: r) } }
        func run(_ folder: String, steps: Int, resume: Bool) throws -> GANTrainingTask<TextConditionedGenerator> {
            let t = try task()
            var s = LoopSettings(steps: steps)
            s.quiet = true
            try TrainingLoop.run(t, in: try RunFolder(path: folder), settings: s, resume: resume)
            return t
        }
        let a = try run(straight, steps: 2, resume: false)
        let loss = try XCTUnwrap(a.lastReport?.losses["G/fake_score"])
        XCTAssertTrue(loss.isFinite && loss > 0, "fake score loss \(loss)")
        _ = try run(split, steps: 1, resume: false)
        _ = try run(split, steps: 2, resume: true)
        for name in ["F", "F_opt", "G", "G_ema"] {
            let x = try SafeTensorsFile(path: "\(straight)/checkpoints/000000002/\(name).safetensors")
            let y = try SafeTensorsFile(path: "\(split)/checkpoints/000000002/\(name).safetensors")
            XCTAssertEqual(x.keys.sorted(), y.keys.sorted(), name)
            for k in x.keys { XCTAssertEqual(try x.tensor(k).toArray(), try y.tensor(k).toArray(), "\(name): \(k)") }
        }
        // F has left the teacher after two updates.
        let f = try SafeTensorsFile(path: "\(straight)/checkpoints/000000002/F.safetensors")
        let teacherState = DSDSTests.teacher.unet.stateDict()
        XCTAssertTrue(try f.keys.contains { try f.tensor($0).toArray() != teacherState[$0]?.toArray() })
    }
}
