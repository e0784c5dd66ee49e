// `dreamportrait refine`: Portrait3D's refinement of a one-pass result (Refine's Refinement): pyramid tri-grid equal to
// the one-pass tri-plane, SDS with per-level learning rates, SDEdit of a ring of views, masked-L2 fit.
import Foundation
import PortraitExport
import Refine
import TensorCore
import Training

enum RefineCommand {
    static let command = Command(
        name: "refine",
        abstract: "Refine a one-pass portrait with the teacher (Portrait3D): tri-grid SDS, SDEdit of a ring of views, masked-L2 fit",
        discussion: """
            Starts from a generate output folder (--from DIR: its triplane.safetensors and the checkpoint's decoder) or \
            generates one first into OUT/one-pass (--prompt, with --weights or the shipped model). The tri-plane becomes \
            a pyramid tri-grid (--levels below the plane resolution, plus the plane resolution) whose sum equals it; SDS \
            with per-level learning rates (--level-lr) moves it towards the prompt; a ring of --ring-views views is \
            rendered, each noised to --strength of the schedule and denoised with guidance (SDEdit), and the tri-grid is \
            fitted to them with a masked L2 loss (--fit-steps). Writes what sds writes plus before_after.png (one-pass \
            views above, refined below). Runs live in OUT/run/{sds,fit}; Ctrl-C saves, --resume continues.
            """,
        options: [
            Option(name: "--from", value: "DIR", help: "A generate output folder"),
            Option(name: "--prompt", value: "TEXT", help: "Prompt (default: the --from run's)"),
            Option(name: "--weights", value: "DIR", help: "Model for the one-pass result when --from is absent", defaultValue: "the shipped model"),
            Option(name: "--out", value: "DIR", help: "Output folder", defaultValue: "refined"),
            Option(name: "--steps", value: "N", help: "SDS steps", defaultValue: "300"),
            Option(name: "--levels", value: "LIST", help: "Tri-grid levels below the plane resolution", defaultValue: "those of 8,16,32,64,128 below it"),
        ] + SDSCommand.sharedOptions(lr: "0.003", tMax: "0.5", tMaxEnd: "0.2") + SDSCommand.exportOptions + [
            Option(name: "--strength", value: "S", help: "SDEdit noise level (share of the schedule)", defaultValue: "0.2"),
            Option(name: "--sdedit-steps", value: "N", help: "SDEdit inference steps of the full schedule", defaultValue: "50"),
            Option(name: "--sdedit-guidance", value: "S", help: "SDEdit guidance scale", defaultValue: "7.5"),
            Option(name: "--ring-views", value: "N", help: "Views of the ring", defaultValue: "8"),
            Option(name: "--fit-steps", value: "N", help: "Masked-L2 fit steps", defaultValue: "200"),
            Option(name: "--fit-lr", value: "LIST", help: "Fit learning rate per level (one value: all)", defaultValue: "0.003"),
        ],
        run: run)

    static func run(_ a: Arguments) throws {
        var o = RefinementOptions(outputDirectory: a.string("--out") ?? "refined")
        o.from = a.string("--from")
        o.prompt = a.string("--prompt")
        o.weights = a.string("--weights")
        if o.from != nil && o.weights != nil { throw UsageError(message: "--weights is for generating the one-pass result; --from already gives one", command: a.command) }
        if o.from == nil && o.prompt == nil { throw UsageError(message: "give --from DIR (a generate output folder) or --prompt TEXT", command: a.command) }
        o.teacher = a.string("--teacher")
        o.resume = a.flag("--resume")
        o.sds = try SDSCommand.sdsSettings(a, base: o.sds)
        if a.string("--levels") != nil { o.levels = try SDSCommand.levels(a, default: []) }
        o.refine.sdedit.strength = try SDSCommand.double(a, "--strength", o.refine.sdedit.strength)
        o.refine.sdedit.steps = try a.int("--sdedit-steps", default: o.refine.sdedit.steps, range: 1...1000)
        o.refine.sdedit.guidance = try a.float("--sdedit-guidance", default: o.refine.sdedit.guidance)
        o.refine.ringViews = try a.int("--ring-views", default: o.refine.ringViews, range: 1...360)
        o.refine.fitSteps = try a.int("--fit-steps", default: o.refine.fitSteps, range: 0...10_000_000)
        if let v = try SDSCommand.numbers(a, "--fit-lr") { o.refine.fitLearningRates = v }
        o.export = try SDSCommand.exportSettings(a, seed: o.sds.seed)
        o.checkpointSeconds = 60 * Double(try a.int("--checkpoint-minutes", default: 2, range: 1...1440))
        o.command = CommandLine.arguments
        o.tool = "dreamportrait \(version)"
        BufferPool.shared.capacityBytes = 0
        Interrupt.install(message: "saving a checkpoint after the step in flight (continue with --resume)")
        let job = Refinement(options: o)
        job.log = { printError($0) }
        job.progress = SDSCommand.bars()
        SDSCommand.report(try job.run(), out: o.outputDirectory)
    }
}
