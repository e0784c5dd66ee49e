// The semantics mapping network (method doc §3) and its equalised-lr layer (eg3d-spec §2.1).
import Foundation
import XCTest
import TensorCore
@testable import TriPlaneGAN
import TestSupport

final class SemanticsMappingTests: XCTestCase {
    func text(_ n: Int, dt: Int, seed: UInt64) -> Tensor { testTensor([n, dt], seed: seed, low: -2, high: 2) }

    /// The shared equalised-lr layer (StyleGAN2's FullyConnectedLayer, which the semantics mapping network uses)
    /// computes act(x · (W·λ/√in)ᵀ + b·λ)·gain, checked element by element in Float64.
    func testFullyConnectedLayerMatchesSpecFormula() {
        for act in [BiasActivation.linear, .lrelu] {
            let fc = FullyConnectedLayer(5, 3, activation: act, lrMultiplier: 0.01, biasInit: 0.7, rng: RandomGenerator(seed: 4))
            let x = testTensor([2, 5], seed: 5, low: -3, high: 3)
            let y = fc(x).toArray(), w = fc.weight.toArray(), xv = x.toArray()
            for n in 0..<2 { for o in 0..<3 {
                var s = 0.0
                for i in 0..<5 { s += Double(xv[n * 5 + i]) * Double(w[o * 5 + i]) * 0.01 / 5.0.squareRoot() }
                s += 0.7 * 0.01
                if act == .lrelu { s = (s < 0 ? 0.2 * s : s) * 2.0.squareRoot() }
                XCTAssertEqual(Double(y[n * 3 + o]), s, accuracy: 1e-5 * Swift.max(1, Swift.abs(s)), "\(act) [\(n), \(o)]")
            } }
        }
        // Stored weights are N(0, 1)/λ.
        let big = FullyConnectedLayer(256, 256, lrMultiplier: 0.01, rng: RandomGenerator(seed: 6)).weight.toArray()
        let std = (big.map { Double($0) * Double($0) }.reduce(0, +) / Double(big.count)).squareRoot()
        XCTAssertEqual(std, 100, accuracy: 2)
        // zeroInit: an all-zero weight, so the layer outputs exactly act(b·λ) (0 with the default bias).
        let zero = FullyConnectedLayer(7, 4, activation: .lrelu, lrMultiplier: 0.01, zeroInit: true, rng: RandomGenerator(seed: 6))
        XCTAssertTrue(zero.weight.toArray().allSatisfy { $0 == 0 })
        XCTAssertEqual(zero(testTensor([3, 7], seed: 7, low: -50, high: 50)).toArray(), [Float](repeating: 0, count: 12))
    }

    /// A fresh network returns ws bit for bit, for every row (truncated rows differ) and for several prompts.
    func testIdentityAtInitialisation() {
        let m = SemanticsMappingNetwork(SemanticsMappingConfig(wDim: 16, textDim: 12, hiddenDim: 8), rng: RandomGenerator(seed: 7))
        let ws = testTensor([3, 14, 16], seed: 8, low: -4, high: 4)
        for s in 0..<4 {
            XCTAssertEqual(m(ws, eot: text(3, dt: 12, seed: 100 + UInt64(s))).toArray(), ws.toArray(), "prompt set \(s)")
        }
        let w2 = testTensor([3, 16], seed: 9)
        XCTAssertEqual(m(w2, eot: text(3, dt: 12, seed: 10)).toArray(), w2.toArray())
        XCTAssertEqual(m.fuse.weight.toArray().allSatisfy { $0 == 0 }, true)
    }

    /// Once Fuse is trained (non-zero), w_t depends on the text; each ws row is mapped on its own, so equal rows
    /// stay equal (one w_t for every layer) and a row equals the (N, wDim) form applied to it.
    func testTextDependenceAndPerRowMapping() throws {
        let m = SemanticsMappingNetwork(SemanticsMappingConfig(wDim: 6, textDim: 5, hiddenDim: 4), rng: RandomGenerator(seed: 11))
        try m.load(["fuse.weight": testTensor([6, 8], seed: 12, low: -100, high: 100),
                    "fuse.bias": testTensor([6], seed: 13)], strict: false)
        let w = testTensor([2, 6], seed: 14)
        let ws = Tensor.concat([w.unsqueeze(1), w.unsqueeze(1), testTensor([2, 1, 6], seed: 15)], axis: 1) // (2, 3, 6)
        let e1 = text(2, dt: 5, seed: 16), e2 = text(2, dt: 5, seed: 17)
        let y1 = m(ws, eot: e1), y2 = m(ws, eot: e2)
        XCTAssertGreaterThan(relativeError(y1, y2), 1e-3, "w_t must depend on t_EOT")
        XCTAssertEqual(y1.slice(axis: 1, start: 0, end: 1).toArray(), y1.slice(axis: 1, start: 1, end: 2).toArray())
        assertClose(y1.slice(axis: 1, start: 0, end: 1).reshape([2, 6]), m(w, eot: e1), tol: 1e-6, "row vs single w")
        // Per sample: changing sample 1's prompt leaves sample 0's w_t alone.
        let mixed = Tensor.concat([e1.slice(axis: 0, start: 0, end: 1), e2.slice(axis: 0, start: 1, end: 2)], axis: 0)
        XCTAssertEqual(m(ws, eot: mixed).slice(axis: 0, start: 0, end: 1).toArray(), y1.slice(axis: 0, start: 0, end: 1).toArray())
    }

    /// Gradients of every parameter and of ws and t_EOT against finite differences (λ = 1 so that a perturbation
    /// of a stored weight is well resolved in Float32; λ only rescales). eps 1e-3: at 1e-2 a perturbation can cross
    /// lrelu's kink in this tiny network.
    func testGradcheck() throws {
        let m = SemanticsMappingNetwork(SemanticsMappingConfig(wDim: 5, textDim: 4, hiddenDim: 3, lrMultiplier: 1),
                                        rng: RandomGenerator(seed: 18))
        try m.load(["fuse.weight": testTensor([5, 6], seed: 19), "fuse.bias": testTensor([5], seed: 20),
                    "w_fc0.bias": testTensor([3], seed: 21), "t_fc1.bias": testTensor([3], seed: 22)], strict: false)
        let ws = testTensor([2, 3, 5], seed: 23, requiresGrad: true)
        let eot = testTensor([2, 4], seed: 24, requiresGrad: true)
        let named = m.namedParameters()
        gradcheckInPlace([ws, eot] + named.map { $0.1 }, names: ["ws", "eot"] + named.map { $0.0 }, eps: 1e-3, tol: 1e-2,
                      "semantics mapping") { m(ws, eot: eot) }
    }

    func testCheckpointKeys() {
        let m = SemanticsMappingNetwork(SemanticsMappingConfig(), rng: RandomGenerator(seed: 25))
        let shapes = Dictionary(uniqueKeysWithValues: m.namedParameters().map { ($0.0, $0.1.shape) })
        XCTAssertEqual(shapes, ["w_fc0.weight": [512, 512], "w_fc0.bias": [512], "w_fc1.weight": [512, 512], "w_fc1.bias": [512],
                                "t_fc0.weight": [512, 1024], "t_fc0.bias": [512], "t_fc1.weight": [512, 512], "t_fc1.bias": [512],
                                "fuse.weight": [512, 1024], "fuse.bias": [512]])
    }
}
