// DDPM schedule and DDIMScheduler against diffusers (Scripts/make_teacher_fixtures.py scheduler): betas,
// alphas_cumprod and timesteps for several configs, add_noise / velocity, and guided 10-step DDIM loops with
// a negative prompt driven by a deterministic stand-in predictor that both sides compute.
import Foundation
import XCTest
@testable import Teacher
@testable import TensorCore
import TestSupport

/// The fixture's stand-in noise predictor (teacher_fixtures_vae.py `stand_in`):
/// x · (0.5 + 0.3 cos(t / 100)) + 0.2 tanh(x) + (mean_L(states) · Wᵀ)[:, :, None, None].
final class StandInPredictor: NoisePredictor {
    let w: Tensor   // (C, D)
    init(w: Tensor) { self.w = w }
    var latentChannels: Int { w.shape[0] }
    func predictNoise(_ x: Tensor, timestep t: Int, textStates: Tensor) -> Tensor {
        let c = Float(0.5 + 0.3 * Foundation.cos(Double(t) / 100))
        let proj = textStates.mean(axes: [1]).matmul(w.transpose(0, 1))   // (B, C)
        return x * c + x.tanh() * 0.2 + proj.reshape([x.shape[0], w.shape[0], 1, 1])
    }
}

final class SchedulerParityTests: XCTestCase {
    func config(_ file: SafeTensorsFile, _ name: String) throws -> SchedulerConfig {
        try JSONDecoder().decode(SchedulerConfig.self, from: Data(file.metadata["config.\(name)"]!.utf8))
    }

    func testBetasAlphasAndTimestepsMatchDiffusers() throws {
        let f = try teacherFixture("scheduler.safetensors")
        for name in ["sd2", "linear_v_trailing", "cosine_linspace", "zero_snr_sample"] {
            let c = try config(f, name)
            var s = try DDIMScheduler(config: c)
            // Zero-terminal-SNR rescaling divides nearly equal ᾱ near t = T, amplifying torch.sqrt's last-bit
            // differences (it is not correctly rounded on AVX-512 CPUs); the other schedules match bit for bit.
            let tol = c.rescaleBetasZeroSnr ? 1e-5 : 1e-6
            assertClose(Tensor(s.schedule.betas, shape: [c.numTrainTimesteps]), try f.tensor("\(name).betas"), tol: tol, "\(name) betas")
            let e = assertClose(Tensor(s.schedule.alphasCumprod, shape: [c.numTrainTimesteps]), try f.tensor("\(name).alphas_cumprod"), tol: tol, "\(name) alphas_cumprod")
            reportParity("scheduler.\(name).alphas_cumprod", e)
            XCTAssertEqual(s.finalAlphaCumprod, try f.tensor("\(name).final_alpha_cumprod").item(), accuracy: 1e-7, name)
            for n in [1, 3, 7, 10, 50] {
                try s.setTimesteps(n)
                XCTAssertEqual(s.timesteps.map(Float.init), try f.tensor("\(name).timesteps_\(n)").toArray(), "\(name) timesteps for \(n) steps")
            }
        }
    }

    func testAddNoiseAndVelocityMatchDiffusers() throws {
        let f = try teacherFixture("scheduler.safetensors")
        for name in ["sd2", "linear_v_trailing", "cosine_linspace", "zero_snr_sample"] {
            let s = try NoiseSchedule(config: try config(f, name))
            let x0 = try f.tensor("\(name).x0"), eps = try f.tensor("\(name).eps")
            let ts = try f.tensor("\(name).noise_timesteps").toArray().map { Int($0) }
            assertClose(s.addNoise(x0, noise: eps, timesteps: ts), try f.tensor("\(name).noisy"), tol: 1e-6, "\(name) add_noise")
            assertClose(s.velocity(sample: x0, noise: eps, timesteps: ts), try f.tensor("\(name).velocity"), tol: 1e-6, "\(name) velocity")
        }
    }

    /// ε and x₀ recovered from a v-prediction (and from an x₀-prediction) at the noisy sample.
    func testPredictionConversions() throws {
        var c = SchedulerConfig.stableDiffusion2
        let x0 = RandomGenerator(seed: 1).normal([2, 4, 3, 3]), eps = RandomGenerator(seed: 2).normal([2, 4, 3, 3])
        let ts = [20, 900]
        for type in [SchedulerConfig.PredictionType.vPrediction, .sample, .epsilon] {
            c.predictionType = type
            let s = try NoiseSchedule(config: c)
            let xt = s.addNoise(x0, noise: eps, timesteps: ts)
            let out = type == .vPrediction ? s.velocity(sample: x0, noise: eps, timesteps: ts) : (type == .sample ? x0 : eps)
            assertClose(s.epsilon(fromModelOutput: out, sample: xt, timesteps: ts), eps, tol: 2e-4, "\(type) -> epsilon")
            assertClose(s.originalSample(fromModelOutput: out, sample: xt, timesteps: ts), x0, tol: 2e-4, "\(type) -> x0")
        }
    }

    func testGuidedDDIMLoopsMatchDiffusers() throws {
        let f = try teacherFixture("scheduler.safetensors")
        let predictor = StandInPredictor(w: try f.tensor("loop.w"))
        let latents = try f.tensor("loop.latents"), cond = try f.tensor("loop.cond"), uncond = try f.tensor("loop.uncond")
        let noises = try f.tensor("loop.noises")
        for loop in ["sd2_cfg", "v_trailing_cfg", "sd2_eta", "cosine_noguide", "zero_snr_cfg"] {
            struct Spec: Decodable { let config: String; let steps: Int; let guidance: Float; let eta: Float }
            let spec = try JSONDecoder().decode(Spec.self, from: Data(f.metadata["loop.\(loop)"]!.utf8))
            var s = try DDIMScheduler(config: try config(f, spec.config))
            var calls = 0
            let out = try sampleDDIM(latents: latents, predictor: predictor, scheduler: &s, conditional: cond,
                                     unconditional: uncond, steps: spec.steps, guidanceScale: spec.guidance, eta: spec.eta,
                                     varianceNoise: { noises.slice(axis: 0, start: $0, end: $0 + 1).squeeze(0) },
                                     progress: { i, n in calls += 1; XCTAssertEqual(n, spec.steps); XCTAssertEqual(i, calls) })
            XCTAssertEqual(calls, spec.steps)
            XCTAssertEqual(s.timesteps.map(Float.init), try f.tensor("loop.\(loop).timesteps").toArray(), loop)
            // zero_snr_cfg inherits the last-bit differences of its rescaled betas (see above); the rest are held to 1e-5.
            let tol = loop == "zero_snr_cfg" ? 1e-4 : 1e-5
            reportParity("ddim.\(loop)", assertClose(out, try f.tensor("loop.\(loop).out"), tol: tol, "DDIM loop \(loop)"))
        }
    }

    func testSD2SchedulerConfigFileDecodes() throws {
        // stabilityai/stable-diffusion-2-base scheduler/scheduler_config.json
        let json = #"{"_class_name": "PNDMScheduler", "_diffusers_version": "0.10.0.dev0", "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": false, "num_train_timesteps": 1000, "prediction_type": "epsilon", "set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1, "trained_betas": null}"#
        let c = try JSONDecoder().decode(SchedulerConfig.self, from: Data(json.utf8))
        XCTAssertEqual(c, SchedulerConfig.stableDiffusion2)
        var s = try DDIMScheduler(config: c)
        try s.setTimesteps(10)
        XCTAssertEqual(s.timesteps, [901, 801, 701, 601, 501, 401, 301, 201, 101, 1])
        XCTAssertThrowsError(try JSONDecoder().decode(SchedulerConfig.self, from: Data(#"{"beta_schedule": "cubic"}"#.utf8)))
        var bad = SchedulerConfig(); bad.thresholding = true
        XCTAssertThrowsError(try DDIMScheduler(config: bad)) { XCTAssertTrue("\($0)".contains("thresholding"), "\($0)") }
        XCTAssertThrowsError(try s.setTimesteps(1001)) { XCTAssertTrue("\($0)".contains("1...1000"), "\($0)") }
    }
}
