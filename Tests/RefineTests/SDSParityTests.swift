// Per-prompt SDS against the PyTorch/diffusers reference. Per-prompt SDS is D-SDS on a batch of one, and its code
// is D-SDS's (SDSOptimiser.objective calls DSDS.evaluate), so the fixture is D-SDS's own
// (Tests/Fixtures/distill/dsds_tiny.safetensors, Scripts/dsds_reference.py: two 32² renders, tiny SD pipeline,
// guidance 100, unit-RMS rescaling and none): each of its two samples is run alone, as the n = 1 problem. A
// sample's terms do not mix with the other's in the batch (the U-Net, the VAE and the per-sample RMS act per
// sample), so sample i alone has the batch's g_i and N·(∂L/∂x)_i, N = 2 (the batch loss is divided by N).
import Distill
import Refine
import Teacher
import TensorCore
import TestSupport
import XCTest

final class SDSParityTests: XCTestCase {
    static let teacher: TeacherModels = try! loadTeacherModels(folder: fixturePath("teacher/tiny-sd-pipeline"))

    func testSDSGradientOnOneRenderMatchesDiffusers() throws {
        let f = try fixture("distill/dsds_tiny.safetensors")
        let image = try f.tensor("image"), noise = try f.tensor("noise"), post = try f.tensor("posterior_noise")
        let cond = try f.tensor("cond_states"), uncond = try f.tensor("uncond_states")
        let timesteps = try f.tensor("timesteps").toArray().map { Int($0) }
        for (sfx, rescale) in [("", DSDSSettings.Rescale.unitRMS), ("_none", .none)] {
            var s = DSDSSettings()
            s.rescale = rescale
            s.teacherResolution = 16
            let g = try f.tensor("gradient" + sfx), imageGrad = try f.tensor("image_grad" + sfx)
            for i in 0..<2 {
                let x = Tensor(image.slice(axis: 0, start: i, end: i + 1).contiguous().toArray(), shape: [1, 3, 32, 32], requiresGrad: true)
                let prompt = PromptStates(prompt: "fixture prompt \(i)", conditional: cond.slice(axis: 0, start: i, end: i + 1).contiguous(),
                                          unconditional: uncond)
                let draws = DSDSDraws(timesteps: [timesteps[i]], noise: noise.slice(axis: 0, start: i, end: i + 1).contiguous(),
                                      posteriorNoise: post.slice(axis: 0, start: i, end: i + 1).contiguous())
                let r = SDSOptimiser.objective(teacher: Self.teacher, prompt: prompt, image: x, draws: draws, settings: s)
                let grad = gradients(of: r.loss, wrt: [x])[0]
                assertClose(r.gradient, g.slice(axis: 0, start: i, end: i + 1).contiguous(), tol: 1e-4, "SDS g, sample \(i) (\(rescale))")
                assertClose(grad, imageGrad.slice(axis: 0, start: i, end: i + 1).contiguous() * 2, tol: 1e-4,
                            "SDS gradient on the render, sample \(i) alone (\(rescale))")
            }
        }
    }

    func testTimestepAnnealingIsLinearFromStartToEnd() {
        var s = SDSSettings()
        s.steps = 11
        s.tMaxStart = 0.98
        s.tMaxEnd = 0.5
        XCTAssertEqual(s.dsds(at: 0).tMax, 0.98, accuracy: 1e-12)
        XCTAssertEqual(s.dsds(at: 5).tMax, 0.74, accuracy: 1e-12)
        XCTAssertEqual(s.dsds(at: 10).tMax, 0.5, accuracy: 1e-12)
        XCTAssertEqual(s.problem(levels: 3), nil)
        s.sds.tMin = 0.6
        XCTAssertEqual(s.dsds(at: 10).tMax, 0.6, accuracy: 1e-12, "t_max never falls below t_min")
        XCTAssertEqual(s.problem(levels: 3), "--t-min 0.6, --t-max 0.98, --t-max-end 0.5 must satisfy 0 ≤ t-min ≤ t-max ≤ 1")
        s.sds.tMin = 0.02
        s.levelLearningRates = [0.1, 0.2]
        XCTAssertEqual(s.problem(levels: 3), "--level-lr has 2 values for 3 levels (give one, or one per level)")
    }
}
