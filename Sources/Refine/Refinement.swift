// `dreamportrait refine` as a library call: Portrait3D's refinement (method doc §8) on top of a one-pass result.
//   source   a `generate` output folder (--from: triplane.safetensors, manifest.json → the checkpoint's decoder and the
//            prompt), or, with --prompt alone, `generate` run first into OUT/one-pass
//   init     the pyramid tri-grid initialised to equal the one-pass tri-plane (TriGrid(planes:resolutions:)); the
//            generator's decoder, frozen
//   sds      SDSOptimiser with per-level learning rates (OUT/run/sds)
//   sdedit   a ring of views rendered, each refined by the teacher (SDEdit: noise to t ≈ 0.2, denoise with CFG), and
//            kept with its foreground mask in OUT/run/targets.safetensors (so a resumed fit uses the same targets)
//   fit      RingFit: the masked L2 to the refined views (OUT/run/fit)
//   export   as `sds` (FieldExport), plus before_after.png: the yaw-arc views of the one-pass tri-plane (top) and
//            of the refined tri-grid (bottom), rendered alike (raw volume rendering at the export resolution)
// Each loop checkpoints on Ctrl-C; the same command with --resume continues where it stopped.
import Codecs
import Distill
import Foundation
import PortraitExport
import Teacher
import TensorCore
import Training
import TriPlaneGAN

/// The refinement's own settings (its SDS stage uses SDSSettings).
public struct RefineSettings: Codable, Equatable, Sendable {
    public var sdedit = SDEditSettings()
    /// Ring views: yaw offsets spread evenly over ±ringYaw at pitch π/2 + ringPitch.
    public var ringViews: Int = 8
    public var ringYaw: Double = 0.6
    public var ringPitch: Double = -0.1
    public var fitSteps: Int = 200
    public var fitLearningRates: [Double] = [0.003]
    /// A pixel is foreground when the render's accumulated weight is at least this.
    public var maskThreshold: Float = 0.5
    public init() {}

    enum CodingKeys: String, CodingKey {
        case sdedit, ringViews = "ring_views", ringYaw = "ring_yaw", ringPitch = "ring_pitch", fitSteps = "fit_steps"
        case fitLearningRates = "fit_learning_rates", maskThreshold = "mask_threshold"
    }

    public func problem(levels: Int, trainTimesteps: Int = 1000) -> String? {
        if let p = sdedit.problem(trainTimesteps: trainTimesteps) { return p }
        if !(1...360).contains(ringViews) { return "--ring-views \(ringViews) must be in 1...360" }
        if fitSteps < 0 { return "--fit-steps \(fitSteps) must be non-negative" }
        if fitLearningRates.count != 1 && fitLearningRates.count != levels {
            return "--fit-lr has \(fitLearningRates.count) values for \(levels) levels (give one, or one per level)"
        }
        if !(maskThreshold >= 0 && maskThreshold <= 1) { return "--mask-threshold \(maskThreshold) must be in [0, 1]" }
        return nil
    }

    /// The ring's cameras.
    public var ringCameras: [TriPlaneGAN.Camera] { CameraPath.yawArc(count: ringViews, maxYaw: ringYaw, pitchOffset: ringPitch) }
}

public struct RefinementOptions {
    /// --from: a generate output folder; nil generates one first from `prompt` (with `weights`).
    public var from: String? = nil
    public var prompt: String? = nil
    public var weights: String? = nil
    public var outputDirectory: String
    public var teacher: String? = nil
    public var resume = false
    /// Pyramid levels below the plane resolution (the plane resolution is always the finest); nil: the default
    /// pyramid's levels that lie below the one-pass model's plane resolution.
    public var levels: [Int]? = nil
    public static let defaultLevels = [8, 16, 32, 64, 128]
    public var sds: SDSSettings = {
        var s = SDSSettings()
        s.steps = 300; s.levelLearningRates = [0.003]; s.decoderLearningRate = 0; s.tMaxStart = 0.5; s.tMaxEnd = 0.2
        return s
    }()
    public var refine = RefineSettings()
    public var export = FieldExportOptions()
    public var checkpointSeconds: Double = 120
    public var quiet = false
    public var command: [String] = []
    public var tool = "dreamportrait"
    public init(outputDirectory: String) { self.outputDirectory = outputDirectory }
}

public final class Refinement {
    public let options: RefinementOptions
    public var log: (String) -> Void = { _ in }
    public var progress: (String, Int, Int) -> Void = { _, _, _ in }
    public var shouldStop: () -> Bool = { Interrupt.requested }
    public init(options: RefinementOptions) { self.options = options }

    public func run() throws -> PerPromptSDS.Result {
        let o = options
        if o.from == nil && o.prompt == nil { throw PromptError("--from DIR or --prompt TEXT: refine needs a one-pass result or a prompt to generate one") }
        if let p = o.prompt { try RunChecks.prompt(p) }
        let teacherPath = try TeacherLocation.resolve(o.teacher)
        let runPath = (o.outputDirectory as NSString).appendingPathComponent("run")
        try RunChecks.runFolder((runPath as NSString).appendingPathComponent("sds"), resume: o.resume)
        let timer = StageTimer(), started = Date()

        let source = try timer.measure("one-pass") { try OnePassSource.obtain(options: o, log: log) }
        let prompt = o.prompt ?? source.prompt!
        let r = source.planes.shape[2]
        let levels = try TriGrid.resolutions(parsing: o.levels ?? RefinementOptions.defaultLevels.filter { $0 < r }, finest: r)
        let fieldConfig = FieldConfig(levels: levels, generator: source.config)
        if let p = fieldConfig.problem { throw FieldError("--levels/field: \(p)") }
        if let p = o.sds.problem(levels: levels.count) { throw FieldError(p) }
        if let p = o.refine.problem(levels: levels.count) { throw FieldError(p) }

        let teacher = try timer.measure("load") { try loadTeacherModels(folder: teacherPath) }
        let teacherResolution = (teacher.unet.config.sampleSize ?? 64) * teacher.vae.downsamplingFactor
        let states = try timer.measure("text") { try PromptStates.encode(prompt, teacher: teacher) }
        let field = timer.measure("init") {
            PortraitField(config: fieldConfig, grid: TriGrid(planes: source.planes, resolutions: levels), decoder: source.decoder)
        }
        let config: [String: Any] = ["method": "refine", "prompt": prompt, "teacher": teacherPath, "field": try fieldConfig.jsonString(),
                                     "sds": try RunChecks.json(RunChecks.withoutSteps(o.sds)), "refine": try RunChecks.json(fitless(o.refine)),
                                     "source": source.folder, "steps": o.sds.steps, "fit_steps": o.refine.fitSteps]
        let mustMatch = ["method", "prompt", "teacher", "field", "sds", "refine", "source"]

        // sds
        let sdsRun = try RunFolder(path: (runPath as NSString).appendingPathComponent("sds"))
        try sdsRun.writeOrCheckConfig(config, mustMatch: mustMatch)
        let sds = SDSOptimiser(field: field, teacher: teacher, prompt: states, settings: o.sds, teacherResolution: teacherResolution, title: "refine sds")
        var loop = LoopSettings(steps: o.sds.steps)
        loop.checkpointSeconds = o.checkpointSeconds
        loop.quiet = o.quiet
        loop.shown = ["loss/", "sds/t_max"]
        let sdsOutcome = try timer.measure("sds") { try TrainingLoop.run(sds, in: sdsRun, settings: loop, resume: o.resume) }
        if sdsOutcome.interrupted { return interrupted(sdsOutcome.endStep, "sds", sdsRun.path) }

        // sdedit: the refined ring, made once (a resumed fit keeps its targets).
        let targetsPath = (runPath as NSString).appendingPathComponent("targets.safetensors")
        let targets = try timer.measure("sdedit") { () throws -> RingTargets in
            if o.resume, FileManager.default.fileExists(atPath: targetsPath) { return try RingTargets.load(path: targetsPath) }
            let t = try ring(field: field, teacher: teacher, states: states, resolution: o.sds.renderResolution, teacherResolution: teacherResolution)
            try saveSafeTensors(t.tensors, metadata: ["prompt": prompt], to: targetsPath)
            return t
        }
        if shouldStop() { return interrupted(o.sds.steps, "sdedit", runPath) }

        // fit
        let fitRun = try RunFolder(path: (runPath as NSString).appendingPathComponent("fit"))
        try fitRun.writeOrCheckConfig(config, mustMatch: mustMatch)
        let fit = RingFit(field: field, targets: targets, learningRates: o.refine.fitLearningRates, steps: o.refine.fitSteps, seed: o.sds.seed)
        loop.steps = o.refine.fitSteps
        loop.shown = ["loss/"]
        let fitOutcome = try timer.measure("fit") { try TrainingLoop.run(fit, in: fitRun, settings: loop, resume: o.resume) }
        if fitOutcome.interrupted { return interrupted(fitOutcome.endStep, "fit", fitRun.path) }

        // export, with the one-pass tri-plane's views beside the refined ones.
        let export = FieldExport(field: field, options: o.export)
        export.log = log
        export.progress = progress
        export.shouldStop = shouldStop
        try timer.measure("mesh") { try export.meshFiles() }
        let after = try timer.measure("views") { try export.viewFiles() }
        try timer.measure("before/after") {
            let before = FieldExport(field: PortraitField(config: FieldConfig(levels: [r], generator: source.config),
                                                          grid: TriGrid(planes: source.planes, resolutions: [r]), decoder: source.decoder),
                                     options: o.export)
            let images = try before.viewFiles() + after
            let labels = (0..<after.count).map { "one-pass \($0)" } + (0..<after.count).map { "refined \($0)" }
            export.add("before_after.png", PNG.encode(ContactSheet.make(images.map(ImageExport.rgb8), columns: Swift.max(after.count, 1), labels: labels)))
        }
        try timer.measure("orbit") { try export.orbitFile() }
        try timer.measure("eval views") { try export.evalFolder(prompt: prompt) }
        try export.fieldFiles(metadata: ["prompt": prompt, "seed": "\(o.sds.seed)", "method": "refine", "source": source.folder])
        try timer.measure("export") { try export.write(to: o.outputDirectory) }

        let manifest = OptimisationManifest(
            tool: o.tool, command: o.command, method: "refine", createdAt: ISO8601DateFormatter().string(from: started), prompt: prompt,
            seed: o.sds.seed, teacher: .init(path: teacherPath, resolution: sds.settings.sds.teacherResolution ?? teacherResolution),
            field: fieldConfig, sds: sds.settings, refine: o.refine,
            source: ["folder": source.folder, "checkpoint": source.checkpoint, "generated_here": o.from == nil ? "yes" : "no"],
            export: o.export, randomness: RunChecks.randomness(seed: o.sds.seed, exportSeed: o.export.seed)
                .merging(["sdedit": "ring view k: SDEditDraws.draw(StepRandom(seed).generator(\"sdedit\", k)) (posterior noise, then ε); fit step s renders with generator(\"fit-renderer\", s)"]) { $1 },
            depthEncoding: RunChecks.depthEncoding(field.settings), views: export.views,
            orbit: o.export.frames > 0 ? "orbit.gif" : nil, mesh: export.mesh, meshSkipped: export.meshSkipped,
            evalFolder: OptimisationManifest.evalNote,
            optimisation: [.read(name: "sds", runFolder: sdsRun.path, resumedFrom: sdsOutcome.startStep),
                           .read(name: "fit", runFolder: fitRun.path, resumedFrom: fitOutcome.startStep)],
            outputs: export.products.map { .init(file: $0.name, bytes: $0.data.count) }, stages: timer.records,
            peakRssMib: timer.records.map(\.peakRssMiB).max() ?? 0, totalSeconds: timer.totalSeconds)
        try writeAtomically(try manifest.jsonData(), to: URL(fileURLWithPath: o.outputDirectory).appendingPathComponent("manifest.json"))
        return PerPromptSDS.Result(manifest: manifest, files: export.products.map(\.name) + ["manifest.json"], stepsDone: fitOutcome.endStep)
    }

    func fitless(_ r: RefineSettings) -> RefineSettings { var c = r; c.fitSteps = 0; return c }

    func interrupted(_ step: Int, _ stage: String, _ path: String) -> PerPromptSDS.Result {
        log("interrupted in \(stage) at step \(step): state in \(path); run the same command with --resume to continue")
        return PerPromptSDS.Result(manifest: nil, files: [], stepsDone: step)
    }

    /// Renders the ring, refines each view with SDEdit at the teacher's resolution, and keeps its foreground mask.
    func ring(field: PortraitField, teacher: TeacherModels, states: PromptStates, resolution r: Int, teacherResolution tr: Int) throws -> RingTargets {
        let o = options, cameras = o.refine.ringCameras
        let f = teacher.vae.downsamplingFactor
        var images: [Tensor] = [], masks: [Tensor] = []
        progress("sdedit", 0, cameras.count)
        for (k, camera) in cameras.enumerated() {
            let out = withNoGrad { field.render(cameras: TriPlaneGAN.Camera.labels([camera]), resolution: r,
                                                random: GeneratorRandomSource(seed: RendererSeeds.mix(o.sds.seed ^ UInt64(k)))) }
            let x01 = withNoGrad { (interpolate(out.image, size: (tr, tr), mode: .bilinear, antialias: true) * 0.5 + 0.5).clamp(min: 0, max: 1) }
            let draws = SDEditDraws.draw(StepRandom(seed: o.sds.seed).generator("sdedit", step: k), n: 1,
                                         latentShape: [teacher.vae.config.latentChannels, tr / f, tr / f])
            let refined = try SDEdit.refine(image: x01, teacher: teacher, conditional: states.conditional, unconditional: states.unconditional,
                                            settings: o.refine.sdedit, draws: draws).image
            images.append(withNoGrad { interpolate(refined * 2 - 1, size: (r, r), mode: .bilinear, antialias: true) })
            masks.append(Tensor(out.weight.toArray().map { $0 >= o.refine.maskThreshold ? 1 : 0 }, shape: out.weight.shape))
            progress("sdedit", k + 1, cameras.count)
        }
        return withNoGrad { RingTargets(images: Tensor.concat(images, axis: 0).contiguous(), masks: Tensor.concat(masks, axis: 0).contiguous(),
                                        cameras: TriPlaneGAN.Camera.labels(cameras)) }
    }
}
