// MSGAN's mode-seeking term (ModeSeeking.swift): its value against the definition computed here in Double (pairs
// 2k, 2k+1; an odd last sample left out), its gradient against finite differences, the paired prompt draws, and a
// stage-2 step with it on: pairs share their prompt, the term and its gauge are reported and finite.
import Distill
import Foundation
import TensorCore
import TestSupport
import Training
import TriPlaneGAN
import XCTest

final class ModeSeekingTests: XCTestCase {
    func testValueMatchesTheDefinition() {
        let r = RandomGenerator(seed: 3)
        let planes = r.normal([5, 6, 4, 4]), z = r.normal([5, 8])
        let (loss, report) = ModeSeekingLoss(weight: 0.3)(planes, z: z)
        let p = planes.toArray(), zv = z.toArray()
        var expected = 0.0, ratios = 0.0
        for k in 0..<2 {                                                    // pairs (0, 1), (2, 3); sample 4 unpaired
            var dp = 0.0, dz = 0.0
            for j in 0..<96 { dp += abs(Double(p[2 * k * 96 + j]) - Double(p[(2 * k + 1) * 96 + j])) }
            for j in 0..<8 { dz += abs(Double(zv[2 * k * 8 + j]) - Double(zv[(2 * k + 1) * 8 + j])) }
            let ratio = (dp / 96) / (dz / 8)
            expected += 1 / (ratio + 1e-5) / 2
            ratios += ratio / 2
        }
        XCTAssertEqual(Double(loss.item()), 0.3 * expected, accuracy: 1e-5 * expected)
        XCTAssertEqual(report["G/mode_seeking"]!, expected, accuracy: 1e-5 * expected)
        XCTAssertEqual(report["variety/ratio"]!, ratios, accuracy: 1e-5 * ratios)
        // Identical pairs give the largest term: 1/ε.
        let same = Tensor.concat([planes.slice(axis: 0, start: 0, end: 1), planes.slice(axis: 0, start: 0, end: 1)], axis: 0)
        XCTAssertEqual(ModeSeekingLoss(weight: 1)(same, z: z.slice(axis: 0, start: 0, end: 2)).loss.item(), 1e5, accuracy: 1)
        XCTAssertEqual(ModeSeekingLoss(weight: 1)(planes.slice(axis: 0, start: 0, end: 1), z: z.slice(axis: 0, start: 0, end: 1)).loss.item(), 0)
    }

    func testGradientMatchesFiniteDifferences() {
        let r = RandomGenerator(seed: 4)
        let planes = r.normal([4, 3, 2, 2]), z = r.normal([4, 5])
        gradcheck([planes], eps: 1e-3, tol: 1e-2, "mode seeking") { x in ModeSeekingLoss(weight: 2)(x[0], z: z).loss }
    }

    func testPairedDraws() {
        var calls: [Int] = []
        let out = ModeSeekingLoss.paired(5) { n -> [String] in calls.append(n); return (0..<n).map { "p\($0)" } }
        XCTAssertEqual(out, ["p0", "p0", "p1", "p1", "p2"])
        XCTAssertEqual(calls, [3])
        XCTAssertEqual(ModeSeekingLoss.paired(4) { n in Array(0..<n) }, [0, 0, 1, 1])
        let c = Tensor((0..<15).map(Float.init), shape: [5, 3])
        XCTAssertEqual(ModeSeekingLoss.pairRows(c).toArray(), [0, 1, 2, 0, 1, 2, 6, 7, 8, 6, 7, 8, 12, 13, 14])
    }

    /// A stage-2 task with `--mode-seeking` on planes and on images: the trainer's prompts come in equal pairs (and for
    /// images its Gmain cameras), and two steps report the term and its gauge.
    func testStageTwoWithModeSeeking() throws {
        for space in [ModeSeekingLoss.Space.planes, .images] { try stageTwoWithModeSeeking(space) }
    }

    func stageTwoWithModeSeeking(_ space: ModeSeekingLoss.Space) throws {
        let run = try temporaryFolder("s2-ms-\(space)")
        defer { try? FileManager.default.removeItem(atPath: run) }
        var settings = TextStageSettings(stage: 2)
        settings.adapters = 2
        settings.dsds.teacherResolution = 16
        settings.modeSeekingWeight = 0.5
        settings.modeSeekingSpace = space
        var training = microConfig.training
        training.blurInitSigma = 0
        let task = try TextStages.makeTask(data: tinyWorld, training: training, seed: 1, initPath: TextStageTests.stageZero,
                                           teacher: fixturePath("teacher/tiny-sd-pipeline"), settings: settings)
        let texts = task.trainer.prompts!(StepStreams(seed: 1, step: 0), 0, 4).2
        XCTAssertEqual(texts[0], texts[1])
        XCTAssertEqual(texts[2], texts[3])
        var s = LoopSettings(steps: 2)
        s.quiet = true
        try TrainingLoop.run(task, in: try RunFolder(path: run), settings: s, resume: false)
        let losses = try XCTUnwrap(task.lastReport).losses
        XCTAssertEqual(task.trainer.pairedCameras, space == .images)
        for k in ["G/mode_seeking", space == .images ? "variety/image_ratio" : "variety/plane_ratio"] {
            let v = try XCTUnwrap(losses[k], k)
            XCTAssertTrue(v.isFinite && v > 0, "\(k) = \(v)")
        }
        XCTAssertTrue(try XCTUnwrap(losses["G/dsds"]).isFinite)
    }
}
