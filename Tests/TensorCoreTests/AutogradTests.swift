// The autograd engine itself: accumulation on shared inputs, deep graphs without recursion, no-grad scopes,
import Foundation
// detach, gradients(of:wrt:) with and without createGraph, graph release, and random-number determinism.
import TestSupport
import XCTest
@testable import TensorCore

final class AutogradTests: XCTestCase {
    func testSharedInputAccumulates() {
        let x = Tensor([1, 2, 3], shape: [3], requiresGrad: true)
        let y = (x * x + x * 3).sum()   // dy/dx = 2x + 3
        y.backward()
        XCTAssertEqual(x.grad!.toArray(), [5, 7, 9])
        // A second backward accumulates into .grad, as in PyTorch.
        (x * 2).sum().backward()
        XCTAssertEqual(x.grad!.toArray(), [7, 9, 11])
    }

    func testDeepGraphIsIterative() {
        // 50,000 chained ops: a recursive walk would overflow the stack.
        let x = Tensor([0.5], shape: [1], requiresGrad: true)
        var y = x
        for _ in 0..<50_000 { y = y * 1.0001 }
        y.sum().backward()
        XCTAssertEqual(Double(x.grad!.item()), Foundation.pow(Double(Float(1.0001)), 50_000), accuracy: 0.3) // float rounding over 50k steps
    }

    func testNoGradRecordsNothing() {
        let x = Tensor([1, 2], shape: [2], requiresGrad: true)
        let y = withNoGrad { (x * 2).exp() }
        XCTAssertNil(y.node)
        XCTAssertFalse(y.requiresGrad)
        XCTAssertTrue(GradMode.isEnabled)
        let z = x.detach() * 3
        XCTAssertNil(z.node)
        XCTAssertTrue(x.detach().storage === x.storage, "detach shares storage")
    }

    func testGraphReleasedAfterBackward() {
        let x = Tensor([1, 2], shape: [2], requiresGrad: true)
        let y = (x * 2).exp().sum()
        XCTAssertNotNil(y.node)
        y.backward()
        XCTAssertNil(y.node, "the graph is freed after backward unless retained")
    }

    func testGradientsOfGradients() {
        // f(x) = x^3 -> f' = 3x^2 -> f'' = 6x
        let x = Tensor([1, -2, 0.5], shape: [3], requiresGrad: true)
        let g = gradients(of: x.pow(3).sum(), wrt: [x], createGraph: true)[0]
        XCTAssertEqual(g.toArray(), [3, 12, 0.75])
        XCTAssertTrue(g.requiresGrad, "createGraph gives differentiable gradients")
        let h = gradients(of: g.sum(), wrt: [x])[0]
        XCTAssertEqual(h.toArray(), [6, -12, 3])
        XCTAssertNil(x.grad, "gradients(of:wrt:) leaves .grad alone")
    }

    func testGradientsWithoutCreateGraphAreConstants() {
        let x = Tensor([1, 2], shape: [2], requiresGrad: true)
        let g = gradients(of: (x * x).sum(), wrt: [x])[0]
        XCTAssertFalse(g.requiresGrad)
        XCTAssertNil(g.node)
    }

    func testOnlyNeededBranchesRun() {
        // The weight's branch is skipped when only the input's gradient is asked for.
        let x = Tensor([1, 2], shape: [1, 2], requiresGrad: true)
        let w = Tensor([3, 4, 5, 6], shape: [2, 2], requiresGrad: true)
        var called = 0
        let y = x.matmul(w).recorded("probe", [w]) { g, needs in called += 1; return [nil] }
        _ = gradients(of: y.sum(), wrt: [x])
        XCTAssertEqual(called, 0)
    }

    func testRandomIsDeterministicAcrossThreadCounts() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        Parallel.threadCount = 1
        let a = RandomGenerator(seed: 42).normal([100_003]).toArray()
        Parallel.threadCount = 2
        let b = RandomGenerator(seed: 42).normal([100_003]).toArray()
        XCTAssertEqual(a, b)
        let c = RandomGenerator(seed: 43).normal([100_003]).toArray()
        XCTAssertNotEqual(a, c)
        // Moments of the normal and uniform draws.
        let mean = a.reduce(0, +) / Float(a.count)
        let varc = a.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(a.count)
        XCTAssertEqual(mean, 0, accuracy: 0.02)
        XCTAssertEqual(varc, 1, accuracy: 0.02)
        let u = RandomGenerator(seed: 5).uniform([100_000], low: 2, high: 4).toArray()
        XCTAssertTrue(u.allSatisfy { $0 >= 2 && $0 < 4 })
        XCTAssertEqual(u.reduce(0, +) / Float(u.count), 3, accuracy: 0.02)
    }

    func testRandomStreamContinues() {
        let g = RandomGenerator(seed: 9)
        let first = g.normal([10]).toArray(), second = g.normal([10]).toArray()
        XCTAssertNotEqual(first, second)
        let resumed = RandomGenerator(seed: 9, counter: 3).normal([10]).toArray()
        XCTAssertEqual(resumed, second, "a saved counter resumes the stream")
    }

    func testViewsShareStorage() {
        let x = Tensor((0..<24).map(Float.init), shape: [2, 3, 4])
        XCTAssertTrue(x.permute([2, 0, 1]).storage === x.storage)
        XCTAssertTrue(x.slice(axis: 2, start: 1, end: 3).storage === x.storage)
        XCTAssertTrue(x.reshape([6, 4]).storage === x.storage)
        XCTAssertTrue(x.unsqueeze(0).expand([5, 2, 3, 4]).storage === x.storage)
        XCTAssertEqual(x.permute([2, 0, 1]).contiguous().toArray()[0..<3], [0, 4, 8])
    }

    /// The op profiler counts each op's forward and backward once per call, keys by shape on request, skips the ops
    /// that backward closures run, and stays off by default.
    func testOpProfileCountsForwardAndBackward() {
        let savedEnabled = OpProfile.isEnabled, savedShape = OpProfile.byShape
        defer { OpProfile.isEnabled = savedEnabled; OpProfile.byShape = savedShape }
        for byShape in [false, true] {
            OpProfile.isEnabled = true
            OpProfile.byShape = byShape
            OpProfile.reset()
            let x = testTensor([3, 5], seed: 1, requiresGrad: true)
            (x.exp() * 2).sum().backward()
            OpProfile.isEnabled = false
            let expKey = byShape ? "exp 3x5" : "exp"
            let e = OpProfile.entries[expKey]
            XCTAssertEqual(e?.forwardCount, 1, "\(OpProfile.entries.keys.sorted())")
            XCTAssertEqual(e?.backwardCount, 1)
            XCTAssertGreaterThanOrEqual(e?.total ?? -1, 0)
            // The backward closures' own ops (mul_scalar's g · 2, exp's g · out) are not counted as forward ops.
            XCTAssertEqual(OpProfile.entries[byShape ? "mul_scalar 3x5" : "mul_scalar"]?.forwardCount, 1)
            XCTAssertNil(OpProfile.entries.keys.first { $0.hasPrefix("mul ") || $0 == "mul" })
            XCTAssertTrue(OpProfile.report().contains(expKey))
        }
        OpProfile.reset()
        _ = testTensor([2], seed: 2).exp()
        XCTAssertTrue(OpProfile.entries.isEmpty, "profiling while switched off")
    }
}
