// `dreamportrait sds` as a library call: per-prompt score distillation from nothing (DreamFusion-style), the
// optimisation baseline of DreamPortrait's efficiency claim (paper Fig. 7). A field (pyramid tri-grid, or a plain
// tri-plane with one level, and an OSG decoder) starts random and is optimised by SDSOptimiser with the teacher;
// then it is exported as `generate` exports a portrait (FieldExport) with manifest.json (OptimisationManifest).
// Stages: load (teacher) → text → init → sds (TrainingLoop in OUT/run: progress with ETA, Ctrl-C saves a
// checkpoint, `resume` continues bit for bit) → mesh → views → orbit → eval views → export. Nothing is written to
// OUT but the run folder until every stage has succeeded.
import Distill
import Foundation
import PortraitExport
import Teacher
import TensorCore
import Training
import TriPlaneGAN

public struct PerPromptSDSOptions {
    public var prompt: String
    public var outputDirectory: String
    /// --teacher; nil: the shipped teacher (TeacherLocation).
    public var teacher: String? = nil
    /// Continue the run in OUT/run (else an existing run there is an error).
    public var resume = false
    public var sds = SDSSettings()
    /// The field: pyramid levels (the last is the plane resolution), sizes, and renderer settings.
    public var field = FieldConfig(levels: [8, 16, 32, 64, 128, 256])
    /// Standard deviation of the random levels at the start.
    public var initStd: Float = 0.1
    public var export = FieldExportOptions()
    /// Checkpoint every this many seconds (and at the end and on Ctrl-C).
    public var checkpointSeconds: Double = 120
    public var quiet = false
    public var command: [String] = []
    public var tool = "dreamportrait"

    public init(prompt: String, outputDirectory: String) {
        self.prompt = prompt
        self.outputDirectory = outputDirectory
    }
}

public final class PerPromptSDS {
    public let options: PerPromptSDSOptions
    public var log: (String) -> Void = { _ in }
    public var progress: (String, Int, Int) -> Void = { _, _, _ in }
    public var shouldStop: () -> Bool = { Interrupt.requested }

    public init(options: PerPromptSDSOptions) { self.options = options }

    public struct Result {
        /// nil when the optimisation was interrupted (its checkpoint is in OUT/run; nothing else was written).
        public let manifest: OptimisationManifest?
        public let files: [String]
        public let stepsDone: Int
    }

    public func run() throws -> Result {
        let o = options
        try RunChecks.prompt(o.prompt)
        if let p = o.field.problem { throw FieldError("--levels/field: \(p)") }
        if let p = o.sds.problem(levels: o.field.levels.count) { throw FieldError(p) }
        let teacherPath = try TeacherLocation.resolve(o.teacher)
        let runPath = (o.outputDirectory as NSString).appendingPathComponent("run")
        try RunChecks.runFolder(runPath, resume: o.resume)
        let timer = StageTimer(), started = Date()

        let teacher = try timer.measure("load") { try loadTeacherModels(folder: teacherPath) }
        let teacherResolution = (teacher.unet.config.sampleSize ?? 64) * teacher.vae.downsamplingFactor
        let prompt = try timer.measure("text") { try PromptStates.encode(o.prompt, teacher: teacher) }
        let run = try RunFolder(path: runPath)
        let (task, config) = try timer.measure("init") { () throws -> (SDSOptimiser, [String: Any]) in
            let field = PortraitField(config: o.field, rng: StepRandom(seed: o.sds.seed).generator("field-init", step: 0), std: o.initStd)
            let task = SDSOptimiser(field: field, teacher: teacher, prompt: prompt, settings: o.sds, teacherResolution: teacherResolution)
            let config: [String: Any] = ["method": "sds", "prompt": o.prompt, "teacher": teacherPath, "field": try o.field.jsonString(),
                                         "sds": try RunChecks.json(RunChecks.withoutSteps(task.settings)),
                                         "steps": o.sds.steps, "init_std": Double(o.initStd)]
            return (task, config)
        }
        try run.writeOrCheckConfig(config, mustMatch: ["method", "prompt", "teacher", "field", "sds", "init_std"])

        var loop = LoopSettings(steps: o.sds.steps)
        loop.checkpointSeconds = o.checkpointSeconds
        loop.quiet = o.quiet
        loop.shown = ["loss/", "sds/t_max"]
        let outcome = try timer.measure("sds") { try TrainingLoop.run(task, in: run, settings: loop, resume: o.resume) }
        if outcome.interrupted {
            log("interrupted at step \(outcome.endStep) of \(o.sds.steps): checkpoint in \(runPath); run the same command with --resume to continue")
            return Result(manifest: nil, files: [], stepsDone: outcome.endStep)
        }

        let export = FieldExport(field: task.field, options: o.export)
        export.log = log
        export.progress = progress
        export.shouldStop = shouldStop
        try timer.measure("mesh") { try export.meshFiles() }
        _ = try timer.measure("views") { try export.viewFiles() }
        try timer.measure("orbit") { try export.orbitFile() }
        try timer.measure("eval views") { try export.evalFolder(prompt: o.prompt) }
        try export.fieldFiles(metadata: ["prompt": o.prompt, "seed": "\(o.sds.seed)", "method": "sds", "steps": "\(outcome.endStep)"])
        try timer.measure("export") { try export.write(to: o.outputDirectory) }

        let loopRecord = OptimisationManifest.Loop.read(name: "sds", runFolder: runPath, resumedFrom: outcome.startStep)
        let manifest = OptimisationManifest(
            tool: o.tool, command: o.command, method: "sds", createdAt: ISO8601DateFormatter().string(from: started), prompt: o.prompt,
            seed: o.sds.seed, teacher: .init(path: teacherPath, resolution: task.settings.sds.teacherResolution ?? teacherResolution),
            field: o.field, sds: task.settings, export: o.export,
            randomness: RunChecks.randomness(seed: o.sds.seed, exportSeed: o.export.seed),
            depthEncoding: RunChecks.depthEncoding(task.field.settings), views: export.views,
            orbit: o.export.frames > 0 ? "orbit.gif" : nil, mesh: export.mesh, meshSkipped: export.meshSkipped,
            evalFolder: OptimisationManifest.evalNote, optimisation: [loopRecord],
            outputs: export.products.map { .init(file: $0.name, bytes: $0.data.count) }, stages: timer.records,
            peakRssMib: timer.records.map(\.peakRssMiB).max() ?? 0, totalSeconds: timer.totalSeconds)
        try writeAtomically(try manifest.jsonData(), to: URL(fileURLWithPath: o.outputDirectory).appendingPathComponent("manifest.json"))
        return Result(manifest: manifest, files: export.products.map(\.name) + ["manifest.json"], stepsDone: outcome.endStep)
    }
}

/// Checks and records shared by `sds` and `refine`.
enum RunChecks {
    static func prompt(_ p: String, flag: String = "--prompt") throws {
        if p.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw PromptError("\(flag): the prompt is empty") }
    }

    /// A run folder with a checkpoint needs `resume`; `resume` without one starts from step 0 (said by the loop).
    static func runFolder(_ path: String, resume: Bool) throws {
        let checkpoints = (path as NSString).appendingPathComponent("checkpoints")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: checkpoints)) ?? []
        if !resume, let last = names.filter({ Int($0) != nil }).sorted().last {
            throw FieldError("\(path) holds a run (checkpoint at step \(Int(last)!)): pass --resume to continue it, or choose another --out")
        }
    }

    /// The settings resume compares: everything but the step count (a larger --steps extends a run; the t_max
    /// annealing then follows the new count from the resumed step on).
    static func withoutSteps(_ s: SDSSettings) -> SDSSettings { var c = s; c.steps = 0; return c }

    /// Sorted-key JSON of a Codable value (config.json entries compared as strings on resume).
    static func json<T: Encodable>(_ value: T) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try e.encode(value), as: UTF8.self)
    }

    static func randomness(seed: UInt64, exportSeed: UInt64) -> [String: String] {
        ["optimisation": "StepRandom(seed: \(seed)): step s draws its camera from generator(\"camera\", s), its renderer uniforms from generator(\"renderer\", s), its timestep and noise from generator(\"sds\", s) (Philox-4x32-10 keyed by SplitMix64 of seed, purpose and step), so a resumed run repeats a straight one; the field starts from generator(\"field-init\", 0)",
         "export": "per image: GeneratorRandomSource(seed: RendererSeeds.seed(\(exportSeed), stream, i)), stream 1 views, 2 orbit frames, 3 the eval views (index 100 + view)"]
    }

    static func depthEncoding(_ s: RendererSettings) -> String {
        String(format: "16-bit grey: v = round(65535·(ray_end − t)/(ray_end − ray_start)), clamped; t = %g − v/65535·%g; 0 where the ray's weight < 1e-3",
               s.rayEnd, s.rayEnd - s.rayStart)
    }
}
