// D-SDS learns (the Distill issue §5): with the world teacher this project trains and ships (Weights/teacher),
// stage-2 steps move the generator's renders of fixed latents toward their prompts under the teacher's own score:
// the teacher's denoising loss of the renders for their prompts falls, and stays below the start.
// In these steps G's update is D-SDS's: with the D-SDS weight at 1 or 10 the run is the same to five digits (Adam
// normalises the step, and D-SDS's gradient dwarfs the GAN term's on the micro generator). Steps with the GAN loss
// alone move G as far in another direction, which lowered the same loss at 20 steps (0.1595 -> 0.1400) and raised
// it at 40 (-> 0.1795) with the final teacher, so a comparison with them says nothing either way; not asserted.
import Distill
import Foundation
import PortraitWorld
import Teacher
import TensorCore
import TestSupport
import Training
import TriPlaneGAN
import XCTest

final class DSDSLearningTests: XCTestCase {
    /// The shipped teacher (DISTILL_TEACHER overrides, e.g. a teacher run's export/ while it trains).
    static let teacherPath: String = ProcessInfo.processInfo.environment["DISTILL_TEACHER"]
        ?? fixturesDir.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Weights/teacher").path

    /// How much the prompts explain G's renders to the teacher: its denoising loss (DSDS.denoisingLoss) of the renders
    /// of 4 fixed latents with the empty prompt minus with their own prompts (the teacher's implicit classifier,
    /// log p(y|x) up to scale), averaged over 6 fixed draws of t ∈ [0.05, 0.5]·T and ε. Also the same gap for the
    /// prompts rolled by one (each render scored against another sample's prompt).
    static func promptGap(_ task: GANTrainingTask<TextConditionedGenerator>, _ teacher: TeacherModels,
                          prompts: [String]) throws -> Scores {
        let n = prompts.count
        let states = try teacher.text.encode(prompts)
        let rolled = try teacher.text.encode(Array(prompts[1...] + prompts[..<1]))
        let empty = try teacher.text.encode(Array(repeating: "", count: n))
        let text = TextConditioning.fromCLIP(hiddenStates: states, tokenIDs: teacher.text.tokenIDs(prompts))
        let g = task.trainer.generator
        let z = RandomGenerator(seed: 21).normal([n, g.config.zDim])
        let c = task.trainer.labels.slice(axis: 0, start: 0, end: n).contiguous()
        let image = withNoGrad { g(z: z, cCond: c, text: text, noiseMode: .const, random: GeneratorRandomSource(seed: 3)).image }
        let f = teacher.vae.downsamplingFactor, side = (teacher.unet.config.sampleSize ?? 16) * f
        // Timesteps where the image still shows through the noise (at t → T the loss hardly depends on the image).
        var probe = DSDSSettings()
        probe.tMin = 0.05
        probe.tMax = 0.5
        var own = 0.0, other = 0.0, conditional = 0.0
        for k in 0..<6 {
            let draws = DSDSDraws.draw(RandomGenerator(seed: 500 + UInt64(k)), n: n, latentShape: [teacher.vae.latentChannels, side / f, side / f],
                                       trainTimesteps: teacher.scheduler.schedule.trainTimesteps, settings: probe)
            func loss(_ y: Tensor) -> Double {
                DSDS.denoisingLoss(unet: teacher.unet, vae: teacher.vae, schedule: teacher.scheduler.schedule, image: image,
                                   conditional: y, draws: draws, teacherResolution: side)
            }
            let u = loss(empty), c = loss(states)
            conditional += c
            own += u - c
            other += u - loss(rolled)
        }
        return Scores(conditional: conditional / 6, own: own / 6, other: other / 6)
    }

    /// The teacher's denoising loss of the renders for their own prompts, and how much the prompts explain them
    /// (the loss with the empty prompt minus with their own / another sample's prompt).
    struct Scores: CustomStringConvertible {
        var conditional: Double, own: Double, other: Double
        var description: String { String(format: "loss %.5f, gap own %.5f, other %.5f", conditional, own, other) }
    }

    /// Stage 2 with D-SDS; the teacher's scores before and after each of `checkpoints` steps.
    func run(checkpoints: [Int], teacher: TeacherModels, prompts: [String]) throws -> [Scores] {
        var settings = TextStageSettings(stage: 2)
        settings.adapters = 2
        settings.textLoss = .dsds
        var training = microConfig.training
        training.blurInitSigma = 0
        let task = try TextStages.makeTask(data: tinyWorld, training: training, seed: 1, initPath: TextStageTests.stageZero,
                                           teacher: Self.teacherPath, settings: settings)
        var scores = [try Self.promptGap(task, teacher, prompts: prompts)]
        var step = 0
        for c in checkpoints {
            while step < c { _ = try task.trainer.step(step); step += 1 }
            scores.append(try Self.promptGap(task, teacher, prompts: prompts))
        }
        return scores
    }

    func testDSDSMovesRendersTowardTheirPromptsUnderTheTeachersScore() throws {
        let teacher = try loadTeacherModels(folder: Self.teacherPath)
        let bank = try PortraitWorldSplit.bank(path: tinyWorld, resolution: 32, limit: 4, progress: false)
        let prompts = bank.captions.map { $0[0] }
        let checkpoints = [10, 20]
        let scores = try run(checkpoints: checkpoints, teacher: teacher, prompts: prompts)
        print("the teacher on the renders of 4 fixed latents: start \(scores[0]); "
              + zip(checkpoints, scores.dropFirst()).map { "after \($0) D-SDS steps \($1)" }.joined(separator: "; "))
        // Measured with the shipped teacher: 0.15948 -> 0.15382 (10 steps) -> 0.15681 (20 steps).
        for (c, s) in zip(checkpoints, scores.dropFirst()) {
            XCTAssertLessThan(s.conditional, scores[0].conditional * 0.99,
                              "after \(c) D-SDS steps the teacher's denoising loss of the renders for their prompts is ≥ 1% below the start")
        }
    }
}
