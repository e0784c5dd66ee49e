// The DDPM forward process shared by diffusers' schedulers (schedulers/scheduling_ddpm.py and
// scheduling_ddim.py __init__, add_noise, get_velocity): betas (linear, scaled_linear, squaredcos_cap_v2 or
// trained), alphas_cumprod, noising, and the conversions between ε-, v- and x₀-predictions that D-SDS
// needs. Betas are computed as torch does (float32 linspace; cumprod accumulated in double, rounded to float).
import Foundation
import TensorCore

public struct NoiseSchedule: Sendable {
    public let config: SchedulerConfig
    /// (num_train_timesteps)
    public let betas: [Float]
    /// ᾱ_t = Π_{s ≤ t} (1 - β_s), (num_train_timesteps)
    public let alphasCumprod: [Float]

    public init(config: SchedulerConfig) throws {
        let problems = config.problems()
        guard problems.isEmpty else { throw SchedulerConfigError(problems: problems) }
        self.config = config
        let n = config.numTrainTimesteps
        var b: [Float]
        if let trained = config.trainedBetas {
            b = trained.map { Float($0) }
        } else {
            switch config.betaSchedule {
            case .linear:
                b = NoiseSchedule.linspace(Float(config.betaStart), Float(config.betaEnd), n)
            case .scaledLinear:
                b = NoiseSchedule.linspace(Float(config.betaStart.squareRoot()), Float(config.betaEnd.squareRoot()), n).map { $0 * $0 }
            case .squaredcosCapV2:
                b = NoiseSchedule.betasForAlphaBar(n)
            }
        }
        if config.rescaleBetasZeroSnr { b = NoiseSchedule.rescaleZeroTerminalSNR(b) }
        betas = b
        var acc = 1.0
        alphasCumprod = b.map { beta in acc *= Double(1 - beta); return Float(acc) }
    }

    public var trainTimesteps: Int { betas.count }

    /// torch.linspace(start, end, n, dtype=float32) bit for bit (aten linspace_kernel, whose scalar loop
    /// compiles to fused multiply-adds): the first half stepped up from start, the second down from end.
    static func linspace(_ start: Float, _ end: Float, _ n: Int) -> [Float] {
        if n == 1 { return [start] }
        let step = (end - start) / Float(n - 1)
        return (0..<n).map { i in i < n / 2 ? start.addingProduct(step, Float(i)) : end.addingProduct(-step, Float(n - 1 - i)) }
    }

    /// diffusers betas_for_alpha_bar with the cosine transform (Nichol & Dhariwal), max_beta 0.999, in double.
    static func betasForAlphaBar(_ n: Int, maxBeta: Double = 0.999) -> [Float] {
        func alphaBar(_ t: Double) -> Double { let c = Foundation.cos((t + 0.008) / 1.008 * Double.pi / 2); return c * c }
        return (0..<n).map { i in Float(Swift.min(1 - alphaBar(Double(i + 1) / Double(n)) / alphaBar(Double(i) / Double(n)), maxBeta)) }
    }

    /// diffusers rescale_zero_terminal_snr (Lin et al. 2023, Algorithm 1), in float32 as torch.
    static func rescaleZeroTerminalSNR(_ betas: [Float]) -> [Float] {
        var acc = 1.0
        var s = betas.map { b -> Float in acc *= Double(1 - b); return Float(acc).squareRoot() }
        let s0 = s[0], sT = s[s.count - 1]
        s = s.map { ($0 - sT) * (s0 / (s0 - sT)) }
        let bar = s.map { $0 * $0 }
        var alphas = [bar[0]]
        for i in 1..<bar.count { alphas.append(bar[i] / bar[i - 1]) }
        return alphas.map { 1 - $0 }
    }

    /// ᾱ at each of `timesteps`, shaped (N, 1, 1, 1) to broadcast over samples of rank 4 (or (N, 1, ...)).
    func perSample(_ timesteps: [Int], rank: Int, _ f: (Float) -> Float) -> Tensor {
        for t in timesteps { require(t >= 0 && t < trainTimesteps, "NoiseSchedule: timestep \(t) outside 0..<\(trainTimesteps)") }
        return Tensor(timesteps.map { f(alphasCumprod[$0]) }, shape: [timesteps.count] + [Int](repeating: 1, count: rank - 1))
    }

    private func check(_ x: Tensor, _ timesteps: [Int], _ op: String) {
        require(x.rank >= 1 && (timesteps.count == x.shape[0] || timesteps.count == 1),
                "NoiseSchedule.\(op): \(timesteps.count) timesteps for a batch of \(x.shape.first ?? 0) (\(x.shape))")
    }

    /// √ᾱ_t · x₀ + √(1 - ᾱ_t) · ε (diffusers add_noise). `timesteps`: one per batch item, or one for all.
    public func addNoise(_ original: Tensor, noise: Tensor, timesteps: [Int]) -> Tensor {
        check(original, timesteps, "addNoise")
        return original * perSample(timesteps, rank: original.rank) { $0.squareRoot() }
            + noise * perSample(timesteps, rank: original.rank) { (1 - $0).squareRoot() }
    }

    /// v = √ᾱ_t · ε - √(1 - ᾱ_t) · x₀ (diffusers get_velocity).
    public func velocity(sample: Tensor, noise: Tensor, timesteps: [Int]) -> Tensor {
        check(sample, timesteps, "velocity")
        return noise * perSample(timesteps, rank: sample.rank) { $0.squareRoot() }
            - sample * perSample(timesteps, rank: sample.rank) { (1 - $0).squareRoot() }
    }

    /// The noise ε the model's output implies for the noisy sample x_t (as DDIMScheduler.step's pred_epsilon):
    /// ε itself, √ᾱ·v + √(1-ᾱ)·x_t for v-prediction, (x_t - √ᾱ·x₀) / √(1-ᾱ) for sample prediction.
    public func epsilon(fromModelOutput output: Tensor, sample: Tensor, timesteps: [Int]) -> Tensor {
        check(sample, timesteps, "epsilon")
        let a = perSample(timesteps, rank: sample.rank) { $0.squareRoot() }
        let b = perSample(timesteps, rank: sample.rank) { (1 - $0).squareRoot() }
        switch config.predictionType {
        case .epsilon: return output
        case .vPrediction: return a * output + b * sample
        case .sample: return (sample - a * output) / b
        }
    }

    /// The clean sample x₀ the model's output implies (DDIMScheduler.step's pred_original_sample, unclipped).
    public func originalSample(fromModelOutput output: Tensor, sample: Tensor, timesteps: [Int]) -> Tensor {
        check(sample, timesteps, "originalSample")
        let a = perSample(timesteps, rank: sample.rank) { $0.squareRoot() }
        let b = perSample(timesteps, rank: sample.rank) { (1 - $0).squareRoot() }
        switch config.predictionType {
        case .epsilon: return (sample - b * output) / a
        case .vPrediction: return a * sample - b * output
        case .sample: return output
        }
    }
}
