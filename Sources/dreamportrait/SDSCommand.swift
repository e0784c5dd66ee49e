// `dreamportrait sds` and the flags `refine` shares with it: per-prompt score distillation from nothing (Refine's
// PerPromptSDS) with progress and ETA, Ctrl-C saving a checkpoint, --resume continuing it.
import Distill
import Foundation
import PortraitExport
import Refine
import TensorCore
import Training
import TriPlaneGAN

enum SDSCommand {
    static let command = Command(
        name: "sds",
        abstract: "Per-prompt score distillation from nothing (the DreamFusion-style baseline): a tri-grid and decoder optimised with the teacher",
        discussion: """
            Optimises a pyramid tri-grid (--levels; one level is a plain tri-plane) and an OSG decoder from a random start \
            with SDS from the teacher (classifier-free guidance, t_max annealed from --t-max to --t-max-end, w(t) = 1 − ᾱ_t, \
            unit-RMS noise rescaling as D-SDS), one random camera of the training pose distribution per step, rendered by \
            the generator's volume renderer (raw, no super-resolution). The run lives in OUT/run (config, log.jsonl, \
            checkpoints): Ctrl-C saves and stops, --resume continues bit for bit. Then writes into --out what generate \
            writes (view_NN.png, depth_NN.png, orbit.gif, triplane.safetensors, mesh.*) plus field.safetensors and eval/ \
            (dreamportrait eval's views layout: eval --images OUT/eval), and manifest.json with the steps, time and peak \
            memory. The teacher is --teacher DIR (a Stable Diffusion pipeline folder) or the shipped Weights/teacher.
            """,
        options: [
            Option(name: "--prompt", value: "TEXT", help: "Text prompt"),
            Option(name: "--out", value: "DIR", help: "Output folder (the run folder is DIR/run)", defaultValue: "sds"),
            Option(name: "--steps", value: "N", help: "Optimisation steps", defaultValue: "10000"),
            Option(name: "--levels", value: "LIST", help: "Tri-grid level sides; the largest is the plane resolution", defaultValue: "8,16,32,64,128,256"),
        ] + sharedOptions(lr: "0.01", tMax: "0.98", tMaxEnd: "0.5") + exportOptions + [
            Option(name: "--plane-channels", value: "C", help: "Channels per plane", defaultValue: "32"),
            Option(name: "--decoder-lr", value: "LR", help: "Decoder learning rate (0 freezes it)", defaultValue: "0.001"),
            Option(name: "--samples", value: "S+SI", help: "Coarse and importance samples per ray", defaultValue: "48+48"),
        ],
        run: run)

    static func sharedOptions(lr: String, tMax: String, tMaxEnd: String) -> [Option] {
        [Option(name: "--teacher", value: "DIR", help: "Stable Diffusion pipeline folder", defaultValue: "$DREAMPORTRAIT_TEACHER or Weights/teacher"),
         Option(name: "--resume", value: nil, help: "Continue the run in OUT/run"),
         Option(name: "--seed", value: "S", help: "Seed of every draw", defaultValue: "0"),
         Option(name: "--level-lr", value: "LIST", help: "Adam learning rate per tri-grid level, coarse to fine (one value: all)", defaultValue: lr),
         Option(name: "--guidance", value: "S", help: "Classifier-free guidance scale of SDS", defaultValue: "100"),
         Option(name: "--t-min", value: "T", help: "Smallest SDS timestep (share of the schedule)", defaultValue: "0.02"),
         Option(name: "--t-max", value: "T", help: "Largest SDS timestep at the first step", defaultValue: tMax),
         Option(name: "--t-max-end", value: "T", help: "Largest SDS timestep at the last step (linear annealing)", defaultValue: tMaxEnd),
         Option(name: "--rescale", value: "RULE", help: "SDS noise rescaling: unit_rms or none", defaultValue: "unit_rms"),
         Option(name: "--render-resolution", value: "R", help: "Side of the renders scored by the teacher", defaultValue: "64"),
         Option(name: "--checkpoint-minutes", value: "M", help: "Checkpoint interval", defaultValue: "2")]
    }

    static let exportOptions: [Option] = [
        Option(name: "--resolution", value: "R", help: "Side of the exported renders", defaultValue: "128"),
        Option(name: "--views", value: "N", help: "Views on the yaw arc", defaultValue: "5"),
        Option(name: "--frames", value: "F", help: "Orbit GIF frames", defaultValue: "36"),
        Option(name: "--no-orbit", value: nil, help: "Skip the orbit GIF"),
        Option(name: "--no-mesh", value: nil, help: "Skip the mesh"),
        Option(name: "--mesh-resolution", value: "M", help: "Density grid samples per axis", defaultValue: "128"),
        Option(name: "--mesh-threshold", value: "T", help: "Isosurface level in raw σ", defaultValue: "10"),
    ]

    static func seed(_ a: Arguments) throws -> UInt64 {
        guard let s = a.string("--seed") else { return 0 }
        guard let v = UInt64(s) else { throw UsageError(message: "invalid value '\(s)' for --seed: expected a non-negative integer", command: a.command) }
        return v
    }

    static func numbers(_ a: Arguments, _ flag: String) throws -> [Double]? {
        guard let list = a.list(flag) else { return nil }
        let v = list.compactMap(Double.init)
        guard v.count == list.count, !v.isEmpty else { throw UsageError(message: "invalid value '\(a.string(flag)!)' for \(flag): expected comma-separated numbers", command: a.command) }
        return v
    }

    static func double(_ a: Arguments, _ flag: String, _ d: Double) throws -> Double { Double(try a.float(flag, default: Float(d))) }

    /// The SDS flags both commands share, applied to `base`.
    static func sdsSettings(_ a: Arguments, base: SDSSettings) throws -> SDSSettings {
        var s = base
        s.steps = try a.int("--steps", default: base.steps, range: 0...10_000_000)
        s.seed = try seed(a)
        if let v = try numbers(a, "--level-lr") { s.levelLearningRates = v }
        s.sds.guidance = try a.float("--guidance", default: base.sds.guidance)
        s.sds.tMin = try double(a, "--t-min", base.sds.tMin)
        s.tMaxStart = try double(a, "--t-max", base.tMaxStart)
        s.tMaxEnd = try double(a, "--t-max-end", base.tMaxEnd)
        if let r = a.string("--rescale") {
            guard let v = DSDSSettings.Rescale(rawValue: r) else { throw UsageError(message: "invalid value '\(r)' for --rescale: expected unit_rms or none", command: a.command) }
            s.sds.rescale = v
        }
        s.renderResolution = try a.int("--render-resolution", default: base.renderResolution, range: 8...1024)
        return s
    }

    static func exportSettings(_ a: Arguments, seed: UInt64) throws -> FieldExportOptions {
        var e = FieldExportOptions()
        e.resolution = try a.int("--resolution", default: 128, range: 8...1024)
        e.views = try a.int("--views", default: 5, range: 0...360)
        if a.flag("--no-orbit") && a.string("--frames") != nil { throw UsageError(message: "--frames and --no-orbit contradict each other", command: a.command) }
        e.frames = a.flag("--no-orbit") ? 0 : try a.int("--frames", default: 36, range: 1...3600)
        e.mesh = !a.flag("--no-mesh")
        e.meshResolution = try a.int("--mesh-resolution", default: 128, range: 8...1024)
        e.meshThreshold = try a.float("--mesh-threshold", default: 10)
        e.seed = seed
        return e
    }

    static func levels(_ a: Arguments, default d: [Int]) throws -> [Int] {
        guard let list = a.list("--levels") else { return d }
        let v = list.compactMap(Int.init)
        guard v.count == list.count, !v.isEmpty else { throw UsageError(message: "invalid value '\(a.string("--levels")!)' for --levels: expected comma-separated integers", command: a.command) }
        return v
    }

    static func run(_ a: Arguments) throws {
        guard let prompt = a.string("--prompt") else { throw UsageError(message: "missing --prompt TEXT", command: a.command) }
        var o = PerPromptSDSOptions(prompt: prompt, outputDirectory: a.string("--out") ?? "sds")
        o.teacher = a.string("--teacher")
        o.resume = a.flag("--resume")
        o.sds = try sdsSettings(a, base: o.sds)
        o.sds.decoderLearningRate = try double(a, "--decoder-lr", o.sds.decoderLearningRate)
        let lv = try levels(a, default: o.field.levels)
        let finest = lv.max()!
        guard (1...4096).contains(finest) else { throw UsageError(message: "--levels: the largest level \(finest) must be in 1...4096", command: a.command) }
        var renderer = RendererSettings.ffhq
        if let s = a.string("--samples") {
            let parts = s.split(separator: "+").compactMap { Int($0) }
            guard parts.count == 2, parts[0] >= 2, parts[1] >= 0 else { throw UsageError(message: "invalid value '\(s)' for --samples: expected S+SI, e.g. 48+48", command: a.command) }
            renderer.depthResolution = parts[0]; renderer.depthResolutionImportance = parts[1]
        }
        o.field = FieldConfig(levels: try TriGrid.resolutions(parsing: lv, finest: finest),
                              planeChannels: try a.int("--plane-channels", default: 32, range: 1...1024), renderer: renderer)
        o.export = try exportSettings(a, seed: o.sds.seed)
        o.checkpointSeconds = 60 * Double(try a.int("--checkpoint-minutes", default: 2, range: 1...1440))
        o.command = CommandLine.arguments
        o.tool = "dreamportrait \(version)"
        Interrupt.install(message: "saving a checkpoint after the step in flight (continue with --resume)")
        let job = PerPromptSDS(options: o)
        job.log = { printError($0) }
        job.progress = bars()
        report(try job.run(), out: o.outputDirectory)
    }

    /// Progress bars for the export stages.
    static func bars() -> (String, Int, Int) -> Void {
        var bars: [String: ProgressBar] = [:]
        return { stage, done, total in
            let bar = bars[stage] ?? { let b = ProgressBar(total: total, start: 0, unit: stage == "mesh" ? "slices" : "img"); bars[stage] = b; return b }()
            bar.update(done)
            if done == total { bar.finish() }
        }
    }

    static func report(_ r: PerPromptSDS.Result, out: String) {
        guard let m = r.manifest else { exit(130) }
        print("\(out): \(r.files.count) files (\(m.method), \"\(m.prompt)\", seed \(m.seed))")
        for l in m.optimisation {
            print("  \(l.name): \(l.steps) steps, \(String(format: "%.1f s (%.2f s/step)", l.seconds, l.secondsPerStep))")
        }
        if let why = m.meshSkipped { print("  mesh skipped: \(why)") }
        for s in m.stages {
            print("  " + s.name.padding(toLength: 12, withPad: " ", startingAt: 0)
                  + String(format: "%8.2f s  cpu %8.2f s  peak %6.0f MiB", s.seconds, s.cpuSeconds, s.peakRssMiB))
        }
        print("  evaluate: dreamportrait eval --images \((out as NSString).appendingPathComponent("eval")) --metrics msc --clip DIR")
    }
}
