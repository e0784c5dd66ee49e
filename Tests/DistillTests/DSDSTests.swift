// D-SDS against the PyTorch/diffusers reference (Scripts/dsds_reference.py on the tiny SD pipeline fixture), a
// text-conditioned generator step through D-SDS at guidance 100 that stays finite.
import Distill
import Foundation
import TensorCore
import Teacher
import TestSupport
import TriPlaneGAN
import XCTest

final class DSDSTests: XCTestCase {
    static let teacher: TeacherModels = try! loadTeacherModels(folder: fixturePath("teacher/tiny-sd-pipeline"))

    func testSurrogateGradientMatchesDiffusers() throws {
        let f = try fixture("distill/dsds_tiny.safetensors")
        let t = Self.teacher
        for (sfx, rescale) in [("", DSDSSettings.Rescale.unitRMS), ("_none", .none), ("_shared", .sharedRMS)] {
            var s = DSDSSettings()
            s.rescale = rescale
            s.teacherResolution = 16
            let image = try f.tensor("image").detach()
            image.requiresGrad = true
            let draws = DSDSDraws(timesteps: try f.tensor("timesteps").toArray().map { Int($0) }, noise: try f.tensor("noise"),
                                  posteriorNoise: try f.tensor("posterior_noise"))
            let r = DSDS.evaluate(unet: t.unet, vae: t.vae, schedule: t.scheduler.schedule, image: image,
                                  conditional: try f.tensor("cond_states"), unconditional: try f.tensor("uncond_states"),
                                  draws: draws, settings: s)
            let grad = gradients(of: r.loss, wrt: [image])[0]
            assertClose(r.gradient, try f.tensor("gradient" + sfx), tol: 1e-4, "D-SDS g (\(rescale))")
            assertClose(grad, try f.tensor("image_grad" + sfx), tol: 1e-4, "gradient on the rendered image (\(rescale))")
            XCTAssertEqual(Double(r.loss.item()), Double(try f.tensor("loss" + sfx).toArray()[0]), accuracy: 1e-4 * 4)
            if rescale == .unitRMS { assertClose(r.latents, try f.tensor("latents"), tol: 1e-5, "VAE latents") }
        }
    }

    /// A text-conditioned generator (the micro EG3D with two adapters, text width 32 as the tiny teacher's) renders,
    /// D-SDS at guidance 100 back-propagates through the VAE encoder into G: every gradient finite and non-zero.
    func testGeneratorStepThroughDSDSStaysFiniteAtGuidance100() throws {
        let t = Self.teacher
        let g = TextConditionedGenerator(config: microConfig.generator,
                                         conditioning: ConditioningConfig(generator: microConfig.generator, textDim: 32, adapters: 2),
                                         rng: RandomGenerator(seed: 3))
        let prompts = ["a smiling woman with long red hair", "an old man with a grey beard"]
        let states = try t.text.encode(prompts), empty = try t.text.encode([""])
        let text = TextConditioning.fromCLIP(hiddenStates: states, tokenIDs: t.text.tokenIDs(prompts))
        let rng = RandomGenerator(seed: 11)
        let cams = Tensor([Float](repeating: 0, count: 50), shape: [2, 25]) + frontalLabel()
        let out = g(z: rng.normal([2, 16]), cCond: cams, text: text, noiseMode: .random, noiseRNG: rng,
                    random: GeneratorRandomSource(seed: 1))
        var s = DSDSSettings()
        s.guidance = 100
        s.teacherResolution = 16
        let draws = DSDSDraws.draw(rng, n: 2, latentShape: [4, 8, 8], trainTimesteps: 1000, settings: s)
        let r = DSDS.evaluate(unet: t.unet, vae: t.vae, schedule: t.scheduler.schedule, image: out.image,
                              conditional: states, unconditional: empty, draws: draws, settings: s)
        XCTAssertGreaterThan(r.predictedRMS.max()!, 5, "at s = 100 the guided prediction is far larger than ε")
        r.loss.backward()
        var nonzero = 0
        for (name, p) in g.namedParameters() {
            guard let gr = p.grad else { continue }
            let v = gr.toArray()
            XCTAssertTrue(v.allSatisfy { $0.isFinite }, "\(name) has a non-finite gradient")
            if v.contains(where: { $0 != 0 }) { nonzero += 1 }
        }
        XCTAssertGreaterThan(nonzero, 20)
        let rms = (r.gradient * r.gradient).mean(axes: [1, 2, 3]).sqrt().toArray()
        XCTAssertLessThanOrEqual(rms.max()!, 2.0 + 1e-4, "unit-RMS rescaling bounds rms(g) by 2·w(t)")
    }

    /// `--t-max-end`: the largest timestep falls linearly over the annealing, then stays; the draws follow it.
    func testTimestepAnnealing() {
        var s = DSDSSettings()
        XCTAssertEqual(s.annealed(nimg: 5000).tMax, 0.98, "no annealing unless t_max_end is set")
        s.tMaxEnd = 0.5; s.annealKimg = 2
        for (nimg, t) in [(0, 0.98), (1000, 0.74), (2000, 0.5), (9000, 0.5)] {
            XCTAssertEqual(s.annealed(nimg: nimg).tMax, t, accuracy: 1e-12, "t_max after \(nimg) images")
        }
        let late = DSDSDraws.draw(RandomGenerator(seed: 5), n: 4000, latentShape: [1, 1, 1], trainTimesteps: 1000, settings: s.annealed(nimg: 2000))
        XCTAssertEqual(late.timesteps.max()!, 500, "t ≤ 0.5·1000 once annealed")
        XCTAssertEqual(late.timesteps.min()!, 20)
        let early = DSDSDraws.draw(RandomGenerator(seed: 5), n: 4000, latentShape: [1, 1, 1], trainTimesteps: 1000, settings: s.annealed(nimg: 0))
        XCTAssertGreaterThan(early.timesteps.max()!, 950)
    }
}

/// EG3D's frontal camera label (radius 2.7 on +z looking at the origin, focal 4.2647).
func frontalLabel() -> Tensor {
    Tensor(LookAtPoseSampler.sample(yaw: Double.pi / 2, pitch: Double.pi / 2, lookAt: SIMD3(0, 0, 0.2), radius: 2.7)
           + [4.2647, 0, 0.5, 0, 4.2647, 0.5, 0, 0, 1], shape: [1, 25])
}
