// EG3D's schedules and small pieces of the loss against values worked out from the official formulas
// (training_loop.py, loss.py; eg3d-spec §12).
import Distill
import TensorCore
import TestSupport
import XCTest

final class ScheduleTests: XCTestCase {
    func testLazyRegularisationAdjustsLearningRateAndBetas() {
        let o = TrainingOptions.eg3d(batch: 32)
        let m = Module()
        m.registerParameter("w", Tensor.zeros([2]))
        let g = LazyRegularization.adam(m, lr: o.gLr, betas: o.betas, eps: o.eps, regInterval: 4)
        XCTAssertEqual(g.groups[0].lr, 0.002, accuracy: 1e-12)
        XCTAssertEqual(g.groups[0].betas.1, 0.991992, accuracy: 1e-6)
        XCTAssertEqual(g.groups[0].betas.0, 0)
        let d = LazyRegularization.adam(m, lr: o.dLr, betas: o.betas, eps: o.eps, regInterval: 16)
        XCTAssertEqual(d.groups[0].lr, 0.00188235, accuracy: 1e-8)
        XCTAssertEqual(d.groups[0].betas.1, 0.990585, accuracy: 1e-6)
    }

    func testBlurSwapResolutionAndEMASchedules() {
        var o = TrainingOptions.eg3d(batch: 32)
        XCTAssertEqual(o.blurFadeKimg, 200)
        XCTAssertEqual(o.blurSigma(curNimg: 0), 10)
        XCTAssertEqual(o.blurSigma(curNimg: 100_000), 5, accuracy: 1e-6)
        XCTAssertEqual(o.blurSigma(curNimg: 300_000), 0)
        XCTAssertEqual(o.swappingProbability(curNimg: 0, gpcRegProb: 0.5)!, 1, accuracy: 1e-12)
        XCTAssertEqual(o.swappingProbability(curNimg: 500_000, gpcRegProb: 0.5)!, 0.75, accuracy: 1e-12)
        XCTAssertEqual(o.swappingProbability(curNimg: 5_000_000, gpcRegProb: 0.5)!, 0.5, accuracy: 1e-12)
        XCTAssertNil(o.swappingProbability(curNimg: 0, gpcRegProb: nil))
        o.gpcRegFadeKimg = 0
        XCTAssertEqual(o.swappingProbability(curNimg: 0, gpcRegProb: 0.5)!, 0.5, accuracy: 1e-12)
        // EMA: β = 0 at the start (G_ema = G), 0.5^(32/10000) at steady state.
        XCTAssertEqual(o.emaBeta(curNimg: 0), 0)
        XCTAssertEqual(o.emaBeta(curNimg: 10_000_000), 0.997784, accuracy: 1e-6)
        XCTAssertEqual(o.emaBeta(curNimg: 100_000), Foundation.pow(0.5, 32.0 / 5000), accuracy: 1e-12)
        // R: rint of the blend, half to even (np.rint): 64 → 128 over 1000 kimg.
        o.neuralRenderingResolutionInitial = 64
        o.neuralRenderingResolutionFinal = 128
        XCTAssertEqual(o.neuralRenderingResolution(curNimg: 0), 64)
        XCTAssertEqual(o.neuralRenderingResolution(curNimg: 500_000), 96)
        XCTAssertEqual(o.neuralRenderingResolution(curNimg: 7_812), 64)     // 64.4999…
        XCTAssertEqual(o.neuralRenderingResolution(curNimg: 2_000_000), 128)
    }

    func testBlurTapsAreBaseTwoAndNormalised() throws {
        XCTAssertNil(DiscriminatorBlur.taps(sigma: 0.3))                     // ⌊0.9⌋ = 0: no blur
        let f = try XCTUnwrap(DiscriminatorBlur.taps(sigma: 1)).toArray()   // k ∈ −3 … 3, 2^(−k²)
        let raw: [Double] = (-3...3).map { Foundation.pow(2, -Double($0 * $0)) }
        let total = raw.reduce(0, +)
        XCTAssertEqual(f.count, 7)
        for (a, b) in zip(f, raw) { XCTAssertEqual(Double(a), b / total, accuracy: 1e-7) }
        XCTAssertEqual(DiscriminatorBlur.taps(sigma: 10)!.count, 61)
        // Blurring a constant image keeps the centre (zero padding only dims the border).
        let x = Tensor(Array(repeating: 1, count: 32 * 32), shape: [1, 1, 32, 32])
        let y = DiscriminatorBlur.apply(x, sigma: 1).toArray()
        XCTAssertEqual(y[16 * 32 + 16], 1, accuracy: 1e-6)
        XCTAssertLessThan(y[0], 0.9)
    }

    func testPoseConditioningSwapsWithTheNeighbour() {
        let c = Tensor((0..<3).flatMap { i in [Float](repeating: Float(i), count: 25) }, shape: [3, 25])
        let u = Tensor([0.1, 0.9, 0.4], shape: [3])
        // Row i takes row i−1 (torch.roll by 1) where u < p.
        let s = PoseConditioning.perSample(c, uniforms: u, swapProbability: 0.5).toArray()
        XCTAssertEqual([s[0], s[25], s[50]], [2, 1, 1])
        XCTAssertEqual(PoseConditioning.perSample(c, uniforms: u, swapProbability: nil).toArray().max(), 0)
        let w = PoseConditioning.wholeBatch(c, uniform: 0.2, swapProbability: 0.5).toArray()
        XCTAssertEqual([w[0], w[25], w[50]], [2, 0, 1])
        XCTAssertEqual(PoseConditioning.wholeBatch(c, uniform: 0.7, swapProbability: 0.5).toArray()[0], 0)
    }

    func testNanToNumReplacesOnlyNonFiniteValues() {
        let p = Tensor.zeros([4])
        p.requiresGrad = true
        p.grad = Tensor([1, .nan, .infinity, -.infinity], shape: [4])
        XCTAssertEqual(sanitizeGradients([p]), 3)
        XCTAssertEqual(p.grad!.toArray(), [1, 0, 1e5, -1e5])
    }

    func testPhasesAndIntervals() {
        let phases = TrainingPhase.phases(gRegInterval: 4, dRegInterval: 16)
        XCTAssertEqual(phases.map(\.name.rawValue), ["Gmain", "Greg", "Dmain", "Dreg"])
        XCTAssertEqual(phases.map(\.gain), [1, 4, 1, 16])
        XCTAssertEqual((0..<17).filter { phases[1].runs(atStep: $0) }, [0, 4, 8, 12, 16])
        XCTAssertEqual((0..<33).filter { phases[3].runs(atStep: $0) }, [0, 16, 32])
    }
}
