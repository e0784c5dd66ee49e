// scheduler/scheduler_config.json of a diffusers pipeline: the DDPM training schedule and DDIM sampling
// options (diffusers schedulers/scheduling_ddim.py `DDIMScheduler.__init__` arguments and defaults). The
// config of any diffusers scheduler class (SD 2.0-base ships PNDMScheduler's) is read as DDIMScheduler
// reads it through `from_config`: the shared keys are used, absent keys take DDIMScheduler's defaults.
import Foundation

public struct SchedulerConfig: Codable, Equatable, Sendable {
    public enum BetaSchedule: String, Codable, Sendable { case linear, scaledLinear = "scaled_linear", squaredcosCapV2 = "squaredcos_cap_v2" }
    public enum PredictionType: String, Codable, Sendable { case epsilon, vPrediction = "v_prediction", sample }
    public enum TimestepSpacing: String, Codable, Sendable { case leading, trailing, linspace }

    /// The scheduler class the file was written for ("_class_name"); informational.
    public var className: String? = nil
    public var numTrainTimesteps = 1000
    public var betaStart: Double = 0.0001
    public var betaEnd: Double = 0.02
    public var betaSchedule = BetaSchedule.linear
    /// Explicit betas, overriding beta_start/beta_end/beta_schedule when present.
    public var trainedBetas: [Double]? = nil
    public var clipSample = true
    public var clipSampleRange: Float = 1
    public var setAlphaToOne = true
    public var stepsOffset = 0
    public var predictionType = PredictionType.epsilon
    /// Dynamic thresholding (Imagen); unsuitable for latent diffusion and not supported (must be false).
    public var thresholding = false
    public var timestepSpacing = TimestepSpacing.leading
    public var rescaleBetasZeroSnr = false

    enum CodingKeys: String, CodingKey {
        case className = "_class_name", numTrainTimesteps = "num_train_timesteps", betaStart = "beta_start"
        case betaEnd = "beta_end", betaSchedule = "beta_schedule", trainedBetas = "trained_betas"
        case clipSample = "clip_sample", clipSampleRange = "clip_sample_range", setAlphaToOne = "set_alpha_to_one"
        case stepsOffset = "steps_offset", predictionType = "prediction_type", thresholding
        case timestepSpacing = "timestep_spacing", rescaleBetasZeroSnr = "rescale_betas_zero_snr"
    }

    public init() {}

    /// Stable Diffusion 2.0-base's schedule (stabilityai/stable-diffusion-2-base scheduler/scheduler_config.json).
    public static var stableDiffusion2: SchedulerConfig {
        var c = SchedulerConfig()
        c.className = "PNDMScheduler"
        c.betaStart = 0.00085
        c.betaEnd = 0.012
        c.betaSchedule = .scaledLinear
        c.clipSample = false
        c.setAlphaToOne = false
        c.stepsOffset = 1
        return c
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SchedulerConfig()
        className = try c.decodeIfPresent(String.self, forKey: .className)
        numTrainTimesteps = try c.decodeIfPresent(Int.self, forKey: .numTrainTimesteps) ?? d.numTrainTimesteps
        betaStart = try c.decodeIfPresent(Double.self, forKey: .betaStart) ?? d.betaStart
        betaEnd = try c.decodeIfPresent(Double.self, forKey: .betaEnd) ?? d.betaEnd
        betaSchedule = try c.decodeIfPresent(BetaSchedule.self, forKey: .betaSchedule) ?? d.betaSchedule
        trainedBetas = try c.decodeIfPresent([Double].self, forKey: .trainedBetas)
        clipSample = try c.decodeIfPresent(Bool.self, forKey: .clipSample) ?? d.clipSample
        clipSampleRange = try c.decodeIfPresent(Float.self, forKey: .clipSampleRange) ?? d.clipSampleRange
        setAlphaToOne = try c.decodeIfPresent(Bool.self, forKey: .setAlphaToOne) ?? d.setAlphaToOne
        stepsOffset = try c.decodeIfPresent(Int.self, forKey: .stepsOffset) ?? d.stepsOffset
        predictionType = try c.decodeIfPresent(PredictionType.self, forKey: .predictionType) ?? d.predictionType
        thresholding = try c.decodeIfPresent(Bool.self, forKey: .thresholding) ?? d.thresholding
        timestepSpacing = try c.decodeIfPresent(TimestepSpacing.self, forKey: .timestepSpacing) ?? d.timestepSpacing
        rescaleBetasZeroSnr = try c.decodeIfPresent(Bool.self, forKey: .rescaleBetasZeroSnr) ?? d.rescaleBetasZeroSnr
    }

    /// Why this config cannot drive our schedulers, one message per key (empty when it can).
    public func problems() -> [String] {
        var p: [String] = []
        if numTrainTimesteps < 2 || numTrainTimesteps > 1_000_000 { p.append("num_train_timesteps must be in 2...1000000, got \(numTrainTimesteps)") }
        if !clipSampleRange.isFinite { p.append("clip_sample_range must be finite, got \(clipSampleRange)") }
        if stepsOffset >= numTrainTimesteps { p.append("steps_offset \(stepsOffset) must be less than num_train_timesteps \(numTrainTimesteps)") }
        if let b = trainedBetas, b.count != numTrainTimesteps {
            p.append("trained_betas has \(b.count) entries for num_train_timesteps = \(numTrainTimesteps)")
        }
        if let b = trainedBetas, b.contains(where: { !($0 >= 0 && $0 < 1) }) { p.append("trained_betas must lie in [0, 1)") }
        if trainedBetas == nil && !(betaStart > 0 && betaEnd > 0 && betaStart < 1 && betaEnd < 1) {
            p.append("beta_start and beta_end must lie in (0, 1), got \(betaStart) and \(betaEnd)")
        }
        if thresholding { p.append("thresholding = true is not supported (dynamic thresholding is for pixel-space models)") }
        if stepsOffset < 0 { p.append("steps_offset must be non-negative, got \(stepsOffset)") }
        if clipSample && !(clipSampleRange > 0) { p.append("clip_sample_range must be positive") }
        return p
    }
}

/// A scheduler config that cannot be used, with one message per offending key.
public struct SchedulerConfigError: Error, CustomStringConvertible {
    public let problems: [String]
    public var description: String { "unsupported scheduler config: " + problems.joined(separator: "; ") }
}
