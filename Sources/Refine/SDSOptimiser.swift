// Score distillation on one prompt (DreamFusion's SDS): each step renders the field from a random camera of the
// pose distribution, scores the render with the frozen teacher and steps Adam on the field. The SDS gradient is
// D-SDS's own code (Distill's `DSDS.evaluate`, method doc §5) on a batch of one: VAE encoding with gradient, CFG,
// w(t), the noise rescaling rule; nothing of it is repeated here. What is per-prompt: the timestep annealing
// (t_max falls linearly over the run, DreamFusion/Portrait3D practice), the cameras, and per-level learning rates
// for the pyramid tri-grid (Portrait3D). Every random draw of step s comes from StepRandom keyed by (seed, purpose,
// s), so a resumed run repeats a straight one bit for bit; the loop (progress, ETA, Ctrl-C, atomic checkpoints) is
// Training's TrainingLoop.
import Codecs
import Distill
import Foundation
import PortraitExport
import PortraitWorld
import Teacher
import TensorCore
import Training
import TriPlaneGAN

/// The settings of an SDS optimisation (config.json of its run folder; resume checks them).
public struct SDSSettings: Codable, Equatable, Sendable {
    /// Optimisation steps.
    public var steps: Int = 10_000
    /// Adam learning rate of each pyramid level, coarse to fine (one value: every level).
    public var levelLearningRates: [Double] = [0.01]
    /// Adam learning rate of the decoder; 0 freezes it (refinement keeps the generator's decoder).
    public var decoderLearningRate: Double = 1e-3
    /// Adam betas.
    public var beta1: Double = 0.9, beta2: Double = 0.99
    /// D-SDS settings (guidance, t range, w(t), rescaling, teacher resolution; nil resolution: the teacher's own).
    public var sds = DSDSSettings()
    /// t_max at the first and the last step (linear in between); `sds.tMax` is ignored.
    public var tMaxStart: Double = 0.98, tMaxEnd: Double = 0.5
    /// The render's side R (raw volume rendering; resized to the teacher's resolution by D-SDS).
    public var renderResolution: Int = 64
    /// Seed of every draw (cameras, renderer, timesteps, noise).
    public var seed: UInt64 = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case steps, levelLearningRates = "level_learning_rates", decoderLearningRate = "decoder_learning_rate"
        case beta1, beta2, sds, tMaxStart = "t_max_start", tMaxEnd = "t_max_end", renderResolution = "render_resolution", seed
    }

    /// The learning rate of level l of L.
    public func levelLearningRate(_ l: Int, of count: Int) -> Double {
        levelLearningRates.count == 1 ? levelLearningRates[0] : levelLearningRates[l]
    }

    /// D-SDS settings at `step`: t_max annealed linearly from tMaxStart (step 0) to tMaxEnd (the last step).
    public func dsds(at step: Int) -> DSDSSettings {
        var s = sds
        let f = steps > 1 ? Double(step) / Double(steps - 1) : 0
        s.tMax = Swift.max(tMaxStart + (tMaxEnd - tMaxStart) * f, s.tMin)
        return s
    }

    /// What is wrong with these settings for a field of `levels` levels, naming the flag; nil when fine.
    public func problem(levels: Int) -> String? {
        if steps < 0 { return "--steps \(steps) must be non-negative" }
        if levelLearningRates.count != 1 && levelLearningRates.count != levels {
            return "--level-lr has \(levelLearningRates.count) values for \(levels) levels (give one, or one per level)"
        }
        if levelLearningRates.contains(where: { !($0 >= 0 && $0.isFinite) }) { return "--level-lr \(levelLearningRates) must be non-negative numbers" }
        if !(decoderLearningRate >= 0 && decoderLearningRate.isFinite) { return "--decoder-lr \(decoderLearningRate) must be a non-negative number" }
        if !(sds.tMin >= 0 && sds.tMin < 1 && tMaxStart <= 1 && tMaxEnd <= 1 && tMaxStart >= sds.tMin && tMaxEnd >= sds.tMin) {
            return "--t-min \(sds.tMin), --t-max \(tMaxStart), --t-max-end \(tMaxEnd) must satisfy 0 ≤ t-min ≤ t-max ≤ 1"
        }
        if !(sds.guidance.isFinite && sds.guidance >= 0) { return "--guidance \(sds.guidance) must be a non-negative number" }
        if !(8...1024).contains(renderResolution) { return "--render-resolution \(renderResolution) must be in 8...1024" }
        return nil
    }
}

/// Cameras of the training pose distribution (PortraitWorld's PoseDistribution: yaw ~ N(0, 0.3) clipped to ±0.9,
/// pitch ~ N(0, 0.15) clipped to ±0.45, radius 2.7 looking at (0, 0, 0.2), focal 4.2647), from a RandomGenerator.
public enum PoseCameras {
    public static func sample(_ rng: RandomGenerator, distribution d: PoseDistribution = PoseDistribution()) -> TriPlaneGAN.Camera {
        let z = rng.normal([2]).toArray()
        let yaw = Swift.max(-d.yawClip, Swift.min(d.yawClip, Double(z[0]) * d.yawStd))
        let pitch = Swift.max(-d.pitchClip, Swift.min(d.pitchClip, Double(z[1]) * d.pitchStd))
        return TriPlaneGAN.Camera.lookAt(yaw: Double.pi / 2 + yaw, pitch: Double.pi / 2 + pitch,
                                         lookAt: SIMD3(Float(d.lookat.x), Float(d.lookat.y), Float(d.lookat.z)), radius: Float(d.radius))
    }
}

/// A prompt as the teacher sees it: its text states and the empty prompt's (classifier-free guidance).
public struct PromptStates {
    public let prompt: String
    /// (1, L, D) each.
    public let conditional: Tensor, unconditional: Tensor
    public init(prompt: String, conditional: Tensor, unconditional: Tensor) {
        self.prompt = prompt; self.conditional = conditional; self.unconditional = unconditional
    }
    /// Encodes `prompt` and "" with the teacher's text encoder.
    public static func encode(_ prompt: String, teacher: TeacherModels) throws -> PromptStates {
        try withNoGrad { PromptStates(prompt: prompt, conditional: try teacher.text.encode([prompt]), unconditional: try teacher.text.encode([""])) }
    }
}

public final class SDSOptimiser: TrainingTask {
    public let field: PortraitField
    public let teacher: TeacherModels
    public let prompt: PromptStates
    public let settings: SDSSettings
    public let title: String
    public var itemsPerStep: Int { 1 }
    let random: StepRandom
    let adam: Adam
    /// The latents' (C, h, w) at the teacher's resolution.
    let latentShape: [Int]

    /// - Parameter teacherResolution: the teacher's own image side (used when `settings.sds.teacherResolution` is nil).
    public init(field: PortraitField, teacher: TeacherModels, prompt: PromptStates, settings: SDSSettings,
                teacherResolution: Int, title: String = "sds") {
        self.field = field; self.teacher = teacher; self.prompt = prompt; self.title = title
        var s = settings
        if s.sds.teacherResolution == nil { s.sds.teacherResolution = teacherResolution }
        self.settings = s
        random = StepRandom(seed: s.seed)
        let f = teacher.vae.downsamplingFactor, r = s.sds.teacherResolution!
        latentShape = [teacher.vae.config.latentChannels, r / f, r / f]
        let levels = field.grid.namedLevels
        var groups: [(Adam.Group, [(String, Tensor)])] = levels.enumerated().map { l, named in
            (Adam.Group(lr: s.levelLearningRate(l, of: levels.count), betas: (s.beta1, s.beta2)), [("grid.\(named.0)", named.1)])
        }
        if s.decoderLearningRate > 0 {
            groups.append((Adam.Group(lr: s.decoderLearningRate, betas: (s.beta1, s.beta2)),
                           field.decoder.namedParameters().map { ("decoder.\($0.0)", $0.1) }))
        } else {
            field.decoder.setRequiresGrad(false)
        }
        adam = Adam(groups: groups)
    }

    /// The SDS surrogate of one render (N = 1): D-SDS's `evaluate` with the prompt's states; its gradient on the
    /// image is w(t)·(ε̂ − ε) through the VAE encoder's Jacobian.
    /// - Parameters: image (1, 3, H, W) in [-1, 1], in the graph; draws for one sample.
    public static func objective(teacher: TeacherModels, prompt: PromptStates, image: Tensor, draws: DSDSDraws,
                                 settings s: DSDSSettings) -> DSDS.Result {
        DSDS.evaluate(unet: teacher.unet, vae: teacher.vae, schedule: teacher.scheduler.schedule, image: image,
                      conditional: prompt.conditional, unconditional: prompt.unconditional, draws: draws, settings: s)
    }

    public func step(_ step: Int) throws -> [String: Double] {
        let camera = PoseCameras.sample(random.generator("camera", step: step))
        let out = field.render(cameras: TriPlaneGAN.Camera.labels([camera]), resolution: settings.renderResolution,
                               random: GeneratorRandomSource(random.generator("renderer", step: step)))
        let s = settings.dsds(at: step)
        let draws = DSDSDraws.draw(random.generator("sds", step: step), n: 1, latentShape: latentShape,
                                   trainTimesteps: teacher.scheduler.schedule.trainTimesteps, settings: s)
        let r = SDSOptimiser.objective(teacher: teacher, prompt: prompt, image: out.image, draws: draws, settings: s)
        let loss = Double(r.loss.item())
        try checkFinite("loss/sds", loss, step: step)
        adam.zeroGrad()
        r.loss.backward()
        try checkFiniteGradients(field.namedParameters(), prefix: "field.", step: step)
        adam.step()
        let g = r.gradient
        return ["loss/sds": loss, "sds/t": Double(draws.timesteps[0]), "sds/t_max": s.tMax,
                "sds/grad_rms": Double(withNoGrad { (g * g).mean().sqrt() }.item()), "sds/pred_rms": Double(r.predictedRMS[0]),
                "sds/opacity": Double(withNoGrad { out.weight.mean() }.item())]
    }

    public func checkpoint() throws -> (files: [String: [String: Tensor]], state: [String: Any]) {
        (["field": field.stateDict(), "adam": adam.stateDict()], ["prompt": prompt.prompt])
    }

    public func restore(_ checkpoint: Checkpoint) throws {
        guard let f = checkpoint.files["field"], let a = checkpoint.files["adam"] else {
            throw FileError(path: "checkpoint \(checkpoint.step)", message: "lacks field.safetensors or adam.safetensors")
        }
        try field.load(f, strict: true)
        try adam.loadStateDict(a)
    }

    public func checkpointMetadata() -> [String: [String: String]] {
        ((try? field.fileContents().metadata).map { ["field": $0] }) ?? [:]
    }

    /// The frontal render at the training resolution.
    public func samples() throws -> Image? {
        let out = withNoGrad {
            field.render(cameras: TriPlaneGAN.Camera.labels([TriPlaneGAN.Camera.frontal()]), resolution: settings.renderResolution,
                         random: GeneratorRandomSource(seed: settings.seed))
        }
        return ImageExport.rgb8(out.image)
    }
}
