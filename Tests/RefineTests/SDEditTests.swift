// SDEdit against diffusers' StableDiffusionImg2ImgPipeline on the tiny SD pipeline (Scripts/sdedit_reference.py,
// Tests/Fixtures/refine/sdedit_tiny.safetensors): two cases (20 steps at strength 0.2, guidance 7.5; 10 steps at
// strength 0.5, guidance 3), two images and prompts each, the pipeline's own draws replayed.
import Refine
import Teacher
import TensorCore
import TestSupport
import XCTest

final class SDEditTests: XCTestCase {
    func testNoisingAndDenoisingMatchDiffusersImg2Img() throws {
        let f = try fixture("refine/sdedit_tiny.safetensors")
        let teacher = SDSParityTests.teacher
        for (name, steps, strength, guidance) in [("a", 20, 0.2, Float(7.5)), ("b", 10, 0.5, Float(3))] {
            var s = SDEditSettings()
            s.steps = steps
            s.strength = strength
            s.guidance = guidance
            XCTAssertNil(s.problem(trainTimesteps: 1000))
            let r = try SDEdit.refine(image: try f.tensor("\(name).image"), teacher: teacher, conditional: try f.tensor("\(name).cond_states"),
                                      unconditional: try f.tensor("\(name).uncond_states"), settings: s,
                                      draws: SDEditDraws(posteriorNoise: try f.tensor("\(name).posterior_noise"), noise: try f.tensor("\(name).noise")))
            XCTAssertEqual(r.timesteps, try f.tensor("\(name).timesteps").toArray().map { Int($0) }, "case \(name): denoising timesteps")
            assertClose(r.noisyLatents, try f.tensor("\(name).noisy_latents"), tol: 1e-5, "case \(name): noised latents")
            assertClose(r.latents, try f.tensor("\(name).latents"), tol: 1e-4, "case \(name): denoised latents")
            assertClose(r.image, try f.tensor("\(name).output"), tol: 1e-4, "case \(name): decoded image")
        }
    }

    func testStrengthThatLeavesNoStepIsRefusedNamingTheFlag() {
        var s = SDEditSettings()
        s.steps = 4
        s.strength = 0.2
        XCTAssertEqual(s.problem(trainTimesteps: 1000), "--strength 0.2 with --sdedit-steps 4 leaves no denoising step (⌊steps·strength⌋ = 0)")
        s.steps = 50
        XCTAssertEqual(s.firstStep, 40)
    }
}
