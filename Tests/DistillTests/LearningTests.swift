// Stage 0 learns: a few dozen steps on the tiny world move G's image statistics (per-channel mean and spread over
// a fixed batch of latents and cameras) toward the real images'.
import Distill
import Foundation
import TensorCore
import TestSupport
import Training
import TriPlaneGAN
import XCTest

final class LearningTests: XCTestCase {
    /// Per-channel mean and standard deviation of (N, 3, H, W) images.
    static func statistics(_ x: Tensor) -> [Float] {
        let m = x.mean(axes: [0, 2, 3]).toArray(), v = x.variance(axes: [0, 2, 3], correction: 0).sqrt().toArray()
        return m + v
    }

    func testStageZeroMovesImageStatisticsTowardTheData() throws {
        var config = microConfig
        config.training.batch = 4
        config.training.batchGPU = 4
        config.training.blurInitSigma = 0
        let task = try StageZero.makeTask(data: tinyWorld, config: config, seed: 2)
        let t = task.trainer
        let real = Self.statistics(t.data!.images(Array(0..<t.data!.count)))
        let z = RandomGenerator(seed: 8).normal([8, config.generator.zDim]), c = t.labels.slice(axis: 0, start: 0, end: 8).contiguous()
        func distance() -> Float {
            let img = withNoGrad { t.generator(z: z, cCond: c, noiseMode: .const, random: GeneratorRandomSource(seed: 1)).image }
            return zip(Self.statistics(img), real).map { Swift.abs($0 - $1) }.reduce(0, +)
        }
        let before = distance()
        let steps = Int(ProcessInfo.processInfo.environment["DISTILL_LEARN_STEPS"] ?? "") ?? 40
        for s in 0..<steps { _ = try t.step(s) }
        let after = distance()
        print("image statistics distance to the data: \(before) -> \(after) after \(steps) steps")
        XCTAssertLessThan(after, before * 0.7)
    }
}
