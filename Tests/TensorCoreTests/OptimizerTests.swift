// Adam / AdamW, gradient clipping and EMA against PyTorch (Scripts/fixtures/optim.py, 1e-6 relative),
// optimizer state save and resume, and gradient accumulation.
import Foundation
import XCTest
@testable import TensorCore
import TestSupport

final class OptimizerTests: XCTestCase {
    static let steps = 5

    /// Fresh parameters p0...p3 from the fixture's initial values.
    func params(_ f: SafeTensorsFile, _ cfg: String, at key: String = "init") throws -> [(String, Tensor)] {
        try (0..<4).map { i in
            let t = try f.tensor("\(cfg).p\(i).\(key)")
            return ("p\(i)", Tensor(t.toArray(), shape: t.shape, requiresGrad: true))
        }
    }

    /// The Swift twin of each configuration in optim.py.
    func optimizer(_ cfg: String, _ p: [(String, Tensor)]) -> Adam {
        switch cfg {
        case "adam": return Adam(p, lr: 1e-3)
        case "adam_l2": return Adam(p, lr: 1e-2, betas: (0.5, 0.9), eps: 1e-6, weightDecay: 0.1)
        case "adamw": return Adam.adamW(p, lr: 3e-3, weightDecay: 0.05)
        case "adam_groups":
            return Adam(groups: [(Adam.Group(lr: 2e-3, betas: (0, 0.99)), [p[0], p[1]]),
                                 (Adam.Group(lr: 5e-4, betas: (0, 0.99), weightDecay: 0.01), [p[2], p[3]])])
        case "adamw_groups":
            return Adam(groups: [(Adam.Group(lr: 2.5e-3, weightDecay: 0.1), [p[0], p[2]]),
                                 (Adam.Group(lr: 1e-3, weightDecay: 0), [p[1], p[3]])], decoupledWeightDecay: true)
        default: fatalError("no configuration \(cfg)")
        }
    }

    func setGrads(_ f: SafeTensorsFile, _ cfg: String, _ p: [(String, Tensor)], step k: Int) throws {
        for (i, (_, t)) in p.enumerated() { t.grad = try f.tensor("\(cfg).p\(i).grad\(k)") }
    }

    func testAdamParity() throws {
        let f = try fixture("ops_optim.safetensors")
        var worst = 0.0, checks = 0
        for cfg in ["adam", "adam_l2", "adamw", "adam_groups", "adamw_groups"] {
            let p = try params(f, cfg)
            let opt = optimizer(cfg, p)
            for k in 1...Self.steps {
                try setGrads(f, cfg, p, step: k)
                opt.step()
                for (i, (_, t)) in p.enumerated() {
                    let expected = try f.tensor("\(cfg).p\(i).step\(k)")
                    worst = max(worst, relativeError(t, expected)); checks += 1
                    assertClose(t, expected, tol: 1e-6, "\(cfg) p\(i) after step \(k)")
                }
            }
            let state = opt.stateDict()
            for i in 0..<4 {
                for m in ["exp_avg", "exp_avg_sq"] {
                    let expected = try f.tensor("\(cfg).p\(i).\(m)")
                    worst = max(worst, relativeError(state["p\(i).\(m)"]!, expected)); checks += 1
                    assertClose(state["p\(i).\(m)"]!, expected, tol: 1e-6, "\(cfg) p\(i) \(m)")
                }
                XCTAssertEqual(state["p\(i).step"]!.item(), Float(Self.steps))
            }
        }
        print("Adam parity: \(checks) comparisons, worst relative error \(worst)")
    }

    /// Two steps, save the state through safetensors bytes, resume in a new optimizer on fresh tensors:
    /// the remaining steps still match PyTorch's uninterrupted run.
    func testStateResume() throws {
        let f = try fixture("ops_optim.safetensors")
        for cfg in ["adam_l2", "adamw_groups"] {
            let p = try params(f, cfg)
            let opt = optimizer(cfg, p)
            for k in 1...2 { try setGrads(f, cfg, p, step: k); opt.step() }
            let saved = try SafeTensorsFile(data: safeTensorsData(opt.stateDict()), name: "adam-state")
            let q = try params(f, cfg, at: "step2")
            let resumed = optimizer(cfg, q)
            try resumed.loadStateDict(saved.tensors())
            for k in 3...Self.steps { try setGrads(f, cfg, q, step: k); resumed.step() }
            for (i, (_, t)) in q.enumerated() {
                assertClose(t, try f.tensor("\(cfg).p\(i).step\(Self.steps)"), tol: 1e-6, "\(cfg) resumed p\(i)")
            }
        }
    }

    func testStateLoadReportsEveryProblem() throws {
        let p = [("a", Tensor.zeros([2, 3], requiresGrad: true)), ("b", Tensor.zeros([4], requiresGrad: true))]
        let opt = Adam(p)
        let bad: [String: Tensor] = [
            "a.exp_avg": Tensor.zeros([3, 2]), "a.exp_avg_sq": Tensor.zeros([2, 3]),   // a.step missing, exp_avg mis-shaped
            "c.exp_avg": Tensor.zeros([1]),                                           // unknown parameter
        ]
        XCTAssertThrowsError(try opt.loadStateDict(bad)) { error in
            let m = "\(error)"
            XCTAssertTrue(m.contains("1 missing key: a.step"), m)
            XCTAssertTrue(m.contains("1 unexpected key: c.exp_avg"), m)
            XCTAssertTrue(m.contains("a.exp_avg expected [2, 3] got [3, 2]"), m)
        }
    }

    func testLearningRateMultiplier() {
        let p = [("mapping.fc0.weight", Tensor.zeros([2], requiresGrad: true)), ("synthesis.w", Tensor.zeros([2], requiresGrad: true)),
                 ("mapping.fc1.weight", Tensor.zeros([2], requiresGrad: true))]
        let opt = Adam(p, lr: 2e-3, lrMultiplier: { $0.hasPrefix("mapping.") ? 0.01 : 1 })
        XCTAssertEqual(opt.groups.map(\.lr), [2e-3 * 0.01, 2e-3])
        for (_, t) in p { t.grad = Tensor([1, -1], shape: [2]) }
        opt.step()
        // First Adam step moves every element by lr (m̂ / √v̂ = ±1, up to eps).
        XCTAssertEqual(p[0].1.toArray()[0], -2e-5, accuracy: 1e-9)
        XCTAssertEqual(p[1].1.toArray()[0], -2e-3, accuracy: 1e-8)
        XCTAssertEqual(p[2].1.toArray()[1], 2e-5, accuracy: 1e-9)
        opt.zeroGrad()
        XCTAssertTrue(p.allSatisfy { $0.1.grad == nil })
    }

    func testClipGradNormParity() throws {
        let f = try fixture("ops_optim.safetensors")
        var worst = 0.0
        for (name, maxNorm, normType) in [("clip", 1.0, 2.0), ("noclip", 1e6, 2.0), ("clip_inf", 0.5, Double.infinity), ("clip_p3", 2.0, 3.0)] {
            let ps = try (0..<4).map { i -> Tensor in
                let p = Tensor.zeros(try f.tensor("\(name).g\(i)").shape, requiresGrad: true)
                p.grad = try f.tensor("\(name).g\(i)")
                return p
            } + [Tensor.zeros([4], requiresGrad: true)]
            let total = clipGradNorm(ps, maxNorm: maxNorm, normType: normType)
            let expected = try f.tensor("\(name).total").item()
            XCTAssertEqual(Double(total), Double(expected), accuracy: 1e-6 * Double(expected), name)
            for i in 0..<4 {
                let e = try f.tensor("\(name).out\(i)")
                worst = max(worst, relativeError(ps[i].grad!, e))
                assertClose(ps[i].grad!, e, tol: 1e-6, "\(name) gradient \(i)")
            }
            XCTAssertNil(ps[4].grad)
        }
        print("clipGradNorm parity: worst relative error \(worst)")
    }

    final class One: Module {
        let w: Tensor, avg: Tensor
        init(_ w: Tensor, _ avg: Tensor) {
            self.w = w; self.avg = avg
            super.init()
            registerParameter("w", w)
            registerBuffer("w_avg", avg)
        }
    }

    func testEMAParity() throws {
        let f = try fixture("ops_optim.safetensors")
        for (tag, beta) in [("0999", 0.999), ("03", 0.3)] {
            let p = try f.tensor("ema\(tag).p"), e = try f.tensor("ema\(tag).ema")
            let model = One(Tensor(p.toArray(), shape: p.shape), Tensor([Float(tag.count)], shape: [1]))
            let ema = One(Tensor(e.toArray(), shape: e.shape), Tensor([0], shape: [1]))
            updateEMA(ema, from: model, beta: beta)
            assertClose(ema.w, try f.tensor("ema\(tag).out"), tol: 1e-6, "EMA beta \(beta)")
            XCTAssertEqual(ema.avg.toArray(), model.avg.toArray(), "buffers are copied")
        }
    }

    /// Gradients add up over backward calls; scaleGradients turns the sum into a mean.
    func testGradientAccumulation() {
        let w = Tensor([1, 2, 3], shape: [3], requiresGrad: true)
        let batches = [Tensor([1, 0, 2], shape: [3]), Tensor([3, 1, 0], shape: [3])]
        for x in batches { (w * x).sum().backward() }
        XCTAssertEqual(w.grad!.toArray(), [4, 1, 2])
        scaleGradients([w], by: 1 / Float(batches.count))
        XCTAssertEqual(w.grad!.toArray(), [2, 0.5, 1])
    }
}
