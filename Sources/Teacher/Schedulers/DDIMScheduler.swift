// diffusers DDIMScheduler (schedulers/scheduling_ddim.py): set_timesteps with leading / trailing / linspace
// spacing and steps_offset, and step() with η = 0 (deterministic DDIM) or η > 0 with caller-supplied noise,
// set_alpha_to_one / final_alpha_cumprod, clip_sample, and ε / v / sample prediction. The scalar arithmetic
// is done in Float32 in the order diffusers does it, so a sampling loop matches to rounding.
import Foundation
import TensorCore

public struct DDIMScheduler: Sendable {
    public let schedule: NoiseSchedule
    /// ᾱ used for the step after the last (t_prev < 0): 1 with set_alpha_to_one, else ᾱ_0.
    public let finalAlphaCumprod: Float
    /// The inference timesteps, descending (empty until `setTimesteps`).
    public private(set) var timesteps: [Int] = []
    public private(set) var numInferenceSteps: Int? = nil

    public init(config: SchedulerConfig) throws {
        schedule = try NoiseSchedule(config: config)
        finalAlphaCumprod = config.setAlphaToOne ? 1 : schedule.alphasCumprod[0]
    }

    public var config: SchedulerConfig { schedule.config }

    /// The noise the sampler starts from is multiplied by this (1 for DDIM).
    public var initNoiseSigma: Float { 1 }

    /// Chooses `steps` inference timesteps as diffusers' set_timesteps does:
    /// linspace: round(linspace(0, T - 1, steps)) reversed; leading: (0..<steps) · (T / steps) reversed,
    /// plus steps_offset; trailing: round(arange(T, 0, -T / steps)) - 1.
    public mutating func setTimesteps(_ steps: Int) throws {
        let t = config.numTrainTimesteps
        guard steps >= 1 && steps <= t else {
            throw SchedulerConfigError(problems: ["the number of inference steps must be in 1...\(t) (num_train_timesteps), got \(steps)"])
        }
        switch config.timestepSpacing {
        case .linspace:
            // np.linspace(0, T - 1, steps): i · ((T - 1) / (steps - 1)), the last exactly T - 1; np.round (half to even).
            let step = steps == 1 ? 0 : Double(t - 1) / Double(steps - 1)
            timesteps = (0..<steps).reversed().map { i in
                Int((i == steps - 1 && steps > 1 ? Double(t - 1) : Double(i) * step).rounded(.toNearestOrEven))
            }
        case .leading:
            let ratio = t / steps
            timesteps = (0..<steps).reversed().map { $0 * ratio + config.stepsOffset }
        case .trailing:
            // np.arange(T, 0, -T / steps) as numpy fills it: ⌈T / ratio⌉ values, start + i · (second - start);
            // then np.round and minus one.
            let ratio = Double(t) / Double(steps)
            let count = Int((Double(-t) / -ratio).rounded(.up))
            let start = Double(t), delta = (start - ratio) - start
            timesteps = (0..<count).map { i in
                Int((i == 0 ? start : (i == 1 ? start - ratio : start + Double(i) * delta)).rounded(.toNearestOrEven)) - 1
            }
        }
        if let bad = timesteps.first(where: { !(0..<t).contains($0) }) {
            throw SchedulerConfigError(problems: ["steps_offset \(config.stepsOffset) with \(steps) inference steps gives timestep \(bad), outside 0..<\(t) (num_train_timesteps)"])
        }
        numInferenceSteps = steps
    }

    /// The timestep diffusers' step() treats as the previous one: t - T / steps (not the next entry of
    /// `timesteps`, which differs for trailing and linspace spacing, exactly as diffusers).
    public func previousTimestep(_ t: Int) -> Int {
        require(numInferenceSteps != nil, "DDIMScheduler: call setTimesteps before step")
        return t - config.numTrainTimesteps / numInferenceSteps!
    }

    /// One reverse step x_t -> x_{t_prev} (DDIM, Song et al. eq. 12).
    /// - Parameters:
    ///   - modelOutput: the (guided) model prediction, same shape as `sample`.
    ///   - eta: η; 0 is deterministic DDIM, 1 the DDPM posterior variance.
    ///   - varianceNoise: N(0, 1) noise of `sample`'s shape, required when η > 0.
    /// - Returns: x_{t_prev} and the predicted x₀ (clipped when clip_sample).
    public func step(modelOutput: Tensor, timestep t: Int, sample: Tensor, eta: Float = 0,
                     useClippedModelOutput: Bool = false, varianceNoise: Tensor? = nil) -> (prevSample: Tensor, predOriginalSample: Tensor) {
        require(modelOutput.shape == sample.shape, "DDIMScheduler.step: model output \(modelOutput.shape) and sample \(sample.shape) differ")
        require(t >= 0 && t < config.numTrainTimesteps, "DDIMScheduler.step: timestep \(t) outside 0..<\(config.numTrainTimesteps)")
        require(eta >= 0, "DDIMScheduler.step: eta must be non-negative, got \(eta)")
        let prev = previousTimestep(t)
        let alphaProdT = schedule.alphasCumprod[t]
        let alphaProdPrev = prev >= 0 ? schedule.alphasCumprod[prev] : finalAlphaCumprod
        let betaProdT = 1 - alphaProdT
        let sa = alphaProdT.squareRoot(), sb = betaProdT.squareRoot()

        var predOriginal: Tensor, predEpsilon: Tensor
        switch config.predictionType {
        case .epsilon:
            predOriginal = (sample - modelOutput * sb).div(Tensor(scalar: sa))
            predEpsilon = modelOutput
        case .sample:
            predOriginal = modelOutput
            predEpsilon = (sample - modelOutput * sa).div(Tensor(scalar: sb))
        case .vPrediction:
            predOriginal = sample * sa - modelOutput * sb
            predEpsilon = modelOutput * sa + sample * sb
        }
        if config.clipSample {
            predOriginal = predOriginal.clamp(min: -config.clipSampleRange, max: config.clipSampleRange)
        }
        // _get_variance: (1 - ᾱ_prev) / (1 - ᾱ_t) · (1 - ᾱ_t / ᾱ_prev)
        let variance = ((1 - alphaProdPrev) / betaProdT) * (1 - alphaProdT / alphaProdPrev)
        let stdDev = eta * variance.squareRoot()
        if useClippedModelOutput {
            predEpsilon = (sample - predOriginal * sa).div(Tensor(scalar: sb))
        }
        // Clamped at 0: with a zero-terminal-SNR schedule and η = 1 the radicand is 0 up to rounding, and
        // diffusers' unclamped version turns a negative rounding error into NaN.
        let direction = predEpsilon * Swift.max(1 - alphaProdPrev - stdDev * stdDev, 0).squareRoot()
        var prevSample = predOriginal * alphaProdPrev.squareRoot() + direction
        if eta > 0 {
            require(varianceNoise != nil, "DDIMScheduler.step: eta \(eta) > 0 needs varianceNoise")
            let noise = varianceNoise!
            require(noise.shape == sample.shape, "DDIMScheduler.step: variance noise \(noise.shape) must match sample \(sample.shape)")
            prevSample = prevSample + noise * stdDev
        }
        return (prevSample, predOriginal)
    }
}
