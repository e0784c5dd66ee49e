// The text-conditioned D (`train --d-text`, ours): with its zero-initialised head it gives exactly the camera-only
// D's logits, its gradients pass the finite-difference check, a stage-0 D loads into it, the matching-aware term
// is reported, and its checkpoints continue only with --d-text.
import Distill
import Foundation
import TensorCore
import TestSupport
import Training
import TriPlaneGAN
import XCTest

final class TextConditionedDiscriminatorTests: XCTestCase {
    let teacher = fixturePath("teacher/tiny-sd-pipeline")

    func testTextHeadStartsAtTheCameraOnlyLogitsAndPassesGradientChecks() throws {
        let plainConfig = microConfig.generator.discriminatorConfig
        var textConfig = plainConfig
        textConfig.textDim = 6
        let plain = DualDiscriminator(plainConfig, rng: RandomGenerator(seed: 3))
        let conditioned = DualDiscriminator(textConfig, rng: RandomGenerator(seed: 3))
        let head = try XCTUnwrap(conditioned.text)
        XCTAssertEqual(Set(head.namedParameters().map(\.0)), ["fc0.weight", "fc0.bias", "fc1.weight", "fc1.bias"])
        let image = testTensor([2, 3, 128, 128], seed: 1), raw = testTensor([2, 3, 16, 16], seed: 2)
        let c = Tensor.concat([frontalLabel(), frontalLabel()], axis: 0)
        let textA = testTensor([2, 6], seed: 4), textB = testTensor([2, 6], seed: 5)
        let base = withNoGrad { plain(image: image, imageRaw: raw, c: c) }.toArray()
        XCTAssertEqual(withNoGrad { conditioned(image: image, imageRaw: raw, c: c, text: textA) }.toArray(), base,
                       "a fresh text head must leave the camera-only logits exactly as they were")

        // Once fc1 is trained (random here) the logits depend on the text.
        withNoGrad { head.fc1.weight.copyIn(RandomGenerator(seed: 8).normal(head.fc1.weight.shape)) }
        let a = withNoGrad { conditioned(image: image, imageRaw: raw, c: c, text: textA) }.toArray()
        let b = withNoGrad { conditioned(image: image, imageRaw: raw, c: c, text: textB) }.toArray()
        XCTAssertGreaterThan(zip(a, b).map { abs($0 - $1) }.max()!, 1e-3)
        XCTAssertGreaterThan(zip(a, base).map { abs($0 - $1) }.max()!, 1e-3)

        gradcheck([textA], eps: 1e-2, tol: 2e-2, "D logits w.r.t. the text features") { xs in
            conditioned(image: image, imageRaw: raw, c: c, text: xs[0])
        }
        for p in head.parameters() { p.requiresGrad = true }
        gradcheckInPlace([head.fc0.weight, head.fc0.bias!, head.fc1.bias!], names: ["fc0.weight", "fc0.bias", "fc1.bias"],
                         eps: 1e-2, tol: 2e-2, "D logits w.r.t. the text head") {
            conditioned(image: image, imageRaw: raw, c: c, text: textA)
        }
    }

    func testStageOneLoadsAStageZeroDTrainsTheHeadAndContinuesOnlyWithDText() throws {
        let run = try temporaryFolder("s1-dtext")
        defer { try? FileManager.default.removeItem(atPath: run) }
        var settings = TextStageSettings(stage: 1)
        settings.adapters = 2
        settings.discriminatorText = true
        let task = try TextStages.makeTask(data: tinyWorld, training: microConfig.training, seed: 1, initPath: TextStageTests.stageZero,
                                           teacher: teacher, settings: settings)
        let d = task.trainer.discriminator
        let stageZeroD = try SafeTensorsFile(path: (TextStageTests.stageZero as NSString).appendingPathComponent("D.safetensors"))
        for (k, v) in d.stateDict() where !k.hasPrefix("text.") { XCTAssertEqual(v.toArray(), try stageZeroD.tensor(k).toArray(), k) }
        XCTAssertTrue(d.text!.fc1.weight.toArray().allSatisfy { $0 == 0 })

        var s = LoopSettings(steps: 2)
        s.quiet = true
        try TrainingLoop.run(task, in: try RunFolder(path: run), settings: s, resume: false)
        let r = try XCTUnwrap(task.lastReport)
        for (k, v) in r.losses { XCTAssertTrue(v.isFinite, "\(k) = \(v)") }
        let mismatch = try XCTUnwrap(r.losses["D/mismatch"], "the matching-aware term is reported")
        XCTAssertGreaterThan(mismatch, 0)
        let saved = try SafeTensorsFile(path: "\(run)/checkpoints/000000002/D.safetensors")
        XCTAssertTrue(try saved.tensor("text.fc1.weight").toArray().contains { $0 != 0 }, "D's text head trains")

        // A text-conditioned D continues only as one, and then with its trained head.
        var two = settings
        two.stage = 2
        two.textLoss = .none
        two.discriminatorText = false
        XCTAssertThrowsError(try TextStages.makeTask(data: tinyWorld, training: microConfig.training, seed: 2, initPath: run,
                                                     teacher: teacher, settings: two)) { XCTAssertTrue("\($0)".contains("--d-text"), "\($0)") }
        two.discriminatorText = true
        two.mismatchWeight = 0
        let next = try TextStages.makeTask(data: tinyWorld, training: microConfig.training, seed: 2, initPath: run,
                                           teacher: teacher, settings: two)
        XCTAssertEqual(next.trainer.discriminator.text!.fc1.weight.toArray(), try saved.tensor("text.fc1.weight").toArray())
        XCTAssertEqual(next.trainer.loss.mismatchWeight, 0)
    }
}
