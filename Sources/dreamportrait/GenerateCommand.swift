// `dreamportrait generate`: a 3D portrait from a prompt. Parses the flags into GenerateOptions, runs
// PortraitExport's GeneratePipeline with progress bars and Ctrl-C handling, and prints what it wrote. Without
// --weights it uses the shipped model (ShippedModel.locate); --weights takes a model folder, or any compatible
// unconditional checkpoint (for example a converted EG3D), which runs unconditionally and says so.
import Codecs
import Foundation
import Training
import PortraitExport
import TensorCore

enum GenerateCommand {
    static let command = Command(
        name: "generate",
        abstract: "Generate a 3D portrait: views, depth maps, an orbit GIF, the tri-planes and a coloured mesh",
        discussion: """
            Writes into --out: view_00.png … (8-bit RGB on a yaw arc of ±0.4 rad at pitch π/2 − 0.2), depth_00.png … \
            (16-bit grey, ray_start → 65535 … ray_end → 0, empty rays 0), orbit.gif (gen_videos.py's camera path), \
            triplane.safetensors (the planes with the config and seed in the metadata), mesh.ply, mesh.obj and \
            mesh.glb (marching cubes on raw σ with vertex colours), mesh.png (a shaded picture of the mesh), and manifest.json (inputs, checkpoint SHA-256, \
            time and peak memory per stage). The latent and the renderer's draws follow --seed. Checkpoints without \
            text conditioning generate unconditionally and say so. Files are written only when every stage has \
            succeeded, each atomically; Ctrl-C stops without writing anything.
            """,
        options: [
            Option(name: "--weights", value: "FILE|DIR", help: "A model folder (model.json, generator, text encoder, tokenizer) or an unconditional generator .safetensors",
                   defaultValue: "the shipped model: $DREAMPORTRAIT_MODEL, ./Weights/dreamportrait, or the checkout's"),
            Option(name: "--prompt", value: "TEXT", help: "Text prompt (ignored, with a note, by unconditional checkpoints)"),
            Option(name: "--prompts", value: "FILE", help: "One prompt a line (# comments): one folder per prompt under --out"),
            Option(name: "--mix", value: "TEXT2", help: "Interpolate the text conditioning towards a second prompt"),
            Option(name: "--alpha", value: "A", help: "Weight of --mix (0: --prompt alone, 1: --mix alone)", defaultValue: "0.5"),
            Option(name: "--interpolate-to", value: "TEXT2", help: "interpolation.gif from --prompt to TEXT2 (frontal view)"),
            Option(name: "--interpolate-seed", value: "S2", help: "interpolation.gif from --seed to S2 (w interpolated)"),
            Option(name: "--interpolation-frames", value: "F", help: "Frames of interpolation.gif", defaultValue: "24"),
            Option(name: "--seed", value: "S", help: "Seed of the latent and the renderer", defaultValue: "0"),
            Option(name: "--truncation", value: "PSI", help: "Truncation ψ", defaultValue: "0.7"),
            Option(name: "--views", value: "N", help: "Views on the yaw arc", defaultValue: "5"),
            Option(name: "--frames", value: "F", help: "Orbit GIF frames", defaultValue: "36"),
            Option(name: "--no-orbit", value: nil, help: "Skip the orbit GIF"),
            Option(name: "--resolution", value: "R", help: "Neural rendering resolution", defaultValue: "the checkpoint's"),
            Option(name: "--out", value: "DIR", help: "Output folder", defaultValue: "portrait"),
            Option(name: "--mesh-resolution", value: "M", help: "Density grid samples per axis (M³ floats in memory)", defaultValue: "128"),
            Option(name: "--mesh-threshold", value: "T", help: "Isosurface level in raw σ (EG3D's)", defaultValue: "10"),
            Option(name: "--mesh-pad", value: "P", help: "Voxels trimmed on each face of the grid (0: none)", defaultValue: "30·M/256 as gen_samples.py"),
            Option(name: "--no-mesh", value: nil, help: "Skip the mesh"),
            Option(name: "--camera-label", value: "FILE", help: "25 floats (JSON or whitespace-separated): one extra view, view_camera.png"),
            Option(name: "--eval-views", value: nil, help: "Also write eval/: the prompt at MSC's three cameras, for `eval --images` (as sds and refine do)"),
        ],
        run: run)

    static func options(_ a: Arguments) throws -> GenerateOptions {
        var o = GenerateOptions(weights: a.string("--weights"), outputDirectory: a.string("--out") ?? "portrait")
        o.prompt = a.string("--prompt")
        if o.prompt != nil && a.string("--prompts") != nil {
            throw UsageError(message: "--prompt and --prompts contradict each other: give one prompt or a file of them", command: a.command)
        }
        o.mixPrompt = a.string("--mix")
        if a.string("--alpha") != nil && o.mixPrompt == nil { throw UsageError(message: "--alpha weights --mix TEXT2, which is missing", command: a.command) }
        o.alpha = try a.float("--alpha", default: 0.5)
        guard o.alpha.isFinite else { throw UsageError(message: "--alpha must be a finite number", command: a.command) }
        o.interpolateToPrompt = a.string("--interpolate-to")
        if let s = a.string("--interpolate-seed") {
            guard let v = UInt64(s) else { throw UsageError(message: "invalid value '\(s)' for --interpolate-seed: expected a non-negative integer", command: a.command) }
            o.interpolateToSeed = v
        }
        if o.interpolateToPrompt != nil && o.interpolateToSeed != nil {
            throw UsageError(message: "--interpolate-to and --interpolate-seed: interpolate between two prompts or two seeds, not both", command: a.command)
        }
        o.interpolationFrames = try a.int("--interpolation-frames", default: 24, range: 2...600)
        if let s = a.string("--seed") {
            guard let v = UInt64(s) else { throw UsageError(message: "invalid value '\(s)' for --seed: expected a non-negative integer", command: a.command) }
            o.seed = v
        }
        o.truncationPsi = try a.float("--truncation", default: 0.7)
        o.views = try a.int("--views", default: 5, range: 0...360)
        if a.flag("--no-orbit") && a.string("--frames") != nil {
            throw UsageError(message: "--frames and --no-orbit contradict each other", command: a.command)
        }
        o.frames = a.flag("--no-orbit") ? 0 : try a.int("--frames", default: 36, range: 1...3600)
        if a.string("--resolution") != nil { o.neuralRenderingResolution = try a.int("--resolution", default: 0, range: 8...1024) }
        o.mesh = !a.flag("--no-mesh")
        o.meshResolution = try a.int("--mesh-resolution", default: 128, range: 8...1024)
        o.meshThreshold = try a.float("--mesh-threshold", default: 10)
        if a.string("--mesh-pad") != nil {
            o.meshPad = try a.int("--mesh-pad", default: 0, range: 0...(o.meshResolution / 2 - 1))
        }
        o.cameraLabelPath = a.string("--camera-label")
        o.evalViews = a.flag("--eval-views")
        if o.evalViews && o.prompt == nil && a.string("--prompts") == nil {
            throw UsageError(message: "--eval-views writes the prompt as the caption of eval/: give --prompt TEXT or --prompts FILE", command: a.command)
        }
        if o.views == 0 && o.cameraLabelPath == nil && o.frames == 0 && !o.mesh {
            throw UsageError(message: "--views 0 with --no-orbit and --no-mesh and no --camera-label leaves nothing to generate", command: a.command)
        }
        o.command = CommandLine.arguments
        o.tool = "dreamportrait \(version)"
        return o
    }

    /// TensorCore's pool of freed buffers keeps buffers by exact size for reuse. Inference ran with it off while a pool
    /// could hold its capacity on top of the live peak (FFHQ-512: 1.1 GB against 0.85 GB). Since the pool frees what
    /// would take it past the most ever handed out at once, it no longer raises the peak (FFHQ-512 at R = 128: 513 against
    /// 510 MiB) and spares the page faults of fresh buffers: one world128 view's forward 48-57 -> 42-43 ms best, the whole
    /// generate run 0.74-0.81 -> 0.52-0.56 s, FFHQ-512 0.98 -> 0.85 s (2026-12-05, README "Speed of the shipped model").
    static let inferencePoolMiB = 512

    static func run(_ a: Arguments) throws {
        let o = try options(a)
        BufferPool.shared.capacityBytes = inferencePoolMiB << 20
        Interrupt.install(message: "stopping after the image in flight; nothing will be written")
        guard let list = a.string("--prompts") else { return try runOne(o, model: nil) }
        let prompts = try PromptList.read(path: list)
        let model = try GenerateModel(weights: o.weights)
        printError("--prompts \(list): \(prompts.count) prompts into \(o.outputDirectory)/")
        // A prompt that cannot be encoded is reported and skipped; the others are still generated.
        var failed: [String] = [], written: [String] = []
        for (i, p) in prompts.enumerated() {
            var one = o
            one.prompt = p.prompt
            one.outputDirectory = (o.outputDirectory as NSString).appendingPathComponent(PromptList.folderName(index: i, prompt: p.prompt))
            do {
                try runOne(one, model: model)
                written.append(one.outputDirectory)
            } catch let e as PromptError {
                printError("error: \(list) line \(p.line): \(e.message)")
                failed.append("line \(p.line)")
            }
        }
        if !written.isEmpty && !Interrupt.requested { try writeContactSheet(written, views: o.views, out: o.outputDirectory) }
        if !failed.isEmpty {
            throw PromptError("\(list): \(failed.count) of \(prompts.count) prompts could not be generated (\(failed.joined(separator: ", "))); the others were written")
        }
    }

    /// OUT/contact_sheet.png: one row per prompt (labelled with its folder's name), the leftmost, frontal and rightmost views
    /// of the yaw arc (all of them when there are fewer than three).
    static func writeContactSheet(_ written: [String], views: Int, out: String) throws {
        let picked = views >= 3 ? [0, views / 2, views - 1] : Array(0..<views)
        guard !picked.isEmpty else { return }
        var images: [Image] = [], labels: [String] = []
        for folder in written {
            for (k, v) in picked.enumerated() {
                images.append(try PNG.read(path: (folder as NSString).appendingPathComponent(String(format: "view_%02d.png", v))))
                labels.append(k == 0 ? (folder as NSString).lastPathComponent : "")
            }
        }
        let path = (out as NSString).appendingPathComponent("contact_sheet.png")
        try writeAtomically(PNG.encode(ContactSheet.make(images, columns: picked.count, labels: labels)), to: URL(fileURLWithPath: path))
        printError("\(path): \(written.count) prompts × \(picked.count) views (each row labelled with its prompt folder)")
    }

    static func runOne(_ o: GenerateOptions, model: GenerateModel?) throws {
        let pipeline = GeneratePipeline(options: o)
        pipeline.log = { printError($0) }
        var bars: [String: ProgressBar] = [:]
        pipeline.progress = { stage, done, total in
            let bar = bars[stage] ?? {
                printError(stage == "mesh" ? "mesh: sampling σ on a \(o.meshResolution)³ grid" : "\(stage): rendering \(total) images")
                let b = ProgressBar(total: total, start: 0, unit: stage == "mesh" ? "slices" : "img")
                bars[stage] = b
                return b
            }()
            bar.update(done)
            if done == total { bar.finish() }
        }
        pipeline.shouldStop = { Interrupt.requested }
        let result: GeneratePipeline.Result
        do { result = try pipeline.run(model: model) } catch let e as GenerationInterrupted {
            printError(e.description)
            exit(130)
        }
        let m = result.manifest
        print("\(o.outputDirectory): \(result.files.count) files (seed \(o.seed), ψ \(o.truncationPsi), R \(m.settings.neuralRenderingResolution), \(m.config.imgResolution)² images)")
        if let why = m.meshSkipped { print("  mesh skipped: \(why)") }
        if let mesh = m.mesh { print("  mesh: \(mesh.vertices) vertices, \(mesh.triangles) triangles at σ = \(mesh.threshold) on a \(mesh.resolution)³ grid") }
        for s in m.stages {
            print("  " + s.name.padding(toLength: 8, withPad: " ", startingAt: 0)
                  + String(format: "%7.2f s  cpu %7.2f s  peak %6.0f MiB", s.seconds, s.cpuSeconds, s.peakRssMiB))
        }
    }
}
