// A training step's results do not depend on the thread count: the random draws are counter-based and keyed by
// the step, and every kernel on the training path partitions its reductions independently of the threads.
import Distill
import Foundation
import TensorCore
import TestSupport
import XCTest

final class ThreadDeterminismTests: XCTestCase {
    func gradients(threads: Int, phase: PhaseName) -> [(String, [Float])] {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        Parallel.threadCount = threads
        // world128 (batch 2): its sizes split element-wise kernels and grid-sample sums across threads, which the
        // micro test config's do not.
        let name = ProcessInfo.processInfo.environment["DISTILL_THREAD_CONFIG"] ?? "world128"
        var b = TrainingBenchmark(config: try! RunConfig.load(name, batch: 2), seed: 3)
        var out: [(String, [Float])] = []
        b.observeGradients = { module in out = module.namedParameters().compactMap { n, p in p.grad.map { (n, $0.toArray()) } } }
        b.runPhase(phase, step: 0)
        return out
    }

    func testEveryPhaseGivesTheSameGradientsOnOneAndTwoThreads() {
        for phase in PhaseName.allCases {
            let a = gradients(threads: 1, phase: phase), b = gradients(threads: 2, phase: phase)
            XCTAssertEqual(a.map(\.0), b.map(\.0))
            for (x, y) in zip(a, b) where x.1 != y.1 {
                let d = zip(x.1, y.1).map { Swift.abs($0 - $1) }.max()!
                XCTFail("\(phase.rawValue): gradient of \(x.0) differs between 1 and 2 threads (max |Δ| \(d))")
            }
        }
    }
}
