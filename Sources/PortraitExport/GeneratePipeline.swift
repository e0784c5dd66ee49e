// One `dreamportrait generate` run as a library call, so the command line is a thin shell and tests can run the
// whole pipeline: checks (camera label, checkpoint file, output folder), then the stages load → mapping → planes →
// mesh → views → orbit → export, each timed with its peak memory. Every product is made in memory first and the
// export stage writes them all, each atomically (temporary file + rename), then manifest.json: an error or an
// interrupt before export leaves no file behind, and a bad mesh threshold fails before the slow rendering.
import Codecs
import Foundation
import TensorCore
import TriPlaneGAN

public final class GeneratePipeline {
    public let options: GenerateOptions
    /// Notes for the user (standard error on the command line).
    public var log: (String) -> Void = { _ in }
    /// Progress of the long stages: (stage, done, total).
    public var progress: (String, Int, Int) -> Void = { _, _, _ in }
    /// Polled between units of work; returning true stops the run with `GenerationInterrupted`, writing nothing.
    public var shouldStop: () -> Bool = { false }

    public init(options: GenerateOptions) { self.options = options }

    /// What a run made: the manifest (also written as manifest.json) and the files written.
    public struct Result {
        public let manifest: GenerateManifest
        public let files: [String]
    }

    /// Runs every stage and writes the outputs.
    /// - Parameter model: an already loaded model (`--prompts` loads once); nil loads `options.weights` (or the
    ///   shipped model) in the load stage.
    /// - Throws: `FileError` naming the file or flag (camera label, checkpoint or model folder, output folder), the
    ///   checkpoint's loading error, `PromptError`, `UsageProblem`, or `GenerationInterrupted`; in each case no
    ///   output file is written. A mesh level without a surface is not an error: the mesh is skipped and
    ///   `manifest.meshSkipped` says why.
    public func run(model: GenerateModel? = nil) throws -> Result {
        let o = options
        let extraCamera = try o.cameraLabelPath.map { try CameraLabelFile.read(path: $0) }
        if let w = o.weights, !FileManager.default.fileExists(atPath: w) {
            throw FileError(path: w, message: "no such checkpoint (--weights)")
        }
        let createdOut = try OutputFolder.prepare(o.outputDirectory)
        do {
            return try withNoGrad { try stages(extraCamera: extraCamera, preloaded: model) }
        } catch {
            if createdOut { OutputFolder.removeIfEmpty(o.outputDirectory) }
            throw error
        }
    }

    private func stages(extraCamera: Camera?, preloaded: GenerateModel?) throws -> Result {
        let o = options, timer = StageTimer(), started = Date()
        var products: [(name: String, data: Data)] = []
        func check() throws { if shouldStop() { throw GenerationInterrupted() } }

        // load
        let model = try timer.measure("load") { try preloaded ?? GenerateModel(weights: o.weights) }
        let g = model.generator
        if let r = o.neuralRenderingResolution { g.neuralRenderingResolution = r }
        let r = g.neuralRenderingResolution
        // text: the prompt through the tokenizer and text encoder (a stage of its own for text-conditioned models).
        let conditioning = model.isTextConditioned ? try timer.measure("text") { try textConditioning(model) } : try textConditioning(model)
        let text = conditioning.text
        log("note: " + conditioning.record.note)
        try check()

        // mapping: z from the seed, the frontal conditioning camera, truncation on every w (then w_t from the text).
        func latent(_ seed: UInt64) -> Tensor { RandomGenerator(seed: seed).normal([1, g.config.zDim]) }
        let ws = timer.measure("mapping") { () -> Tensor in
            model.mapping(z: latent(o.seed), truncationPsi: o.truncationPsi, text: text)
        }
        try check()

        // planes: the backbone once (noise_mode const); reused by every view, frame and the mesh.
        let planes = try timer.measure("planes") { () throws -> Tensor in
            let planes = model.planes(ws: ws, text: text)
            let meta = ["config": try g.config.jsonString(), "seed": "\(o.seed)", "truncation_psi": "\(o.truncationPsi)",
                        "layout": "(1, 3·\(g.config.planeChannels), H, W): the XY, XZ and ZX planes (EG3D's order)"]
            products.append(("triplane.safetensors", try safeTensorsData(["planes": planes], metadata: meta)))
            return planes
        }
        try check()

        // mesh: a level without a surface skips the mesh (said on the log and in the manifest), never the run.
        var meshRecord: GenerateManifest.Mesh?
        var meshSkipped: String?
        if o.mesh {
            try timer.measure("mesh") {
                progress("mesh", 0, o.meshResolution)
                let pad = o.resolvedMeshPad
                let grid = try MeshExtraction.sampleGrid(generator: g, planes: planes, resolution: o.meshResolution, pad: pad,
                                                         progress: { self.progress("mesh", $0, $1) }, shouldStop: shouldStop)
                let (lo, hi) = grid.range(pad: pad)
                do {
                    let mesh = try MeshExtraction.extract(generator: g, planes: planes, grid: grid, threshold: o.meshThreshold, pad: pad)
                    products += [("mesh.ply", mesh.plyData()), ("mesh.obj", mesh.objData()), ("mesh.glb", mesh.glbData()),
                                 ("mesh.png", PNG.encode(MeshPreview.render(mesh)))]
                    let box = Float(g.settings.boxWarp) / 2
                    meshRecord = .init(files: ["mesh.ply", "mesh.obj", "mesh.glb", "mesh.png"], vertices: mesh.vertices.count, triangles: mesh.triangles.count,
                                       resolution: o.meshResolution, threshold: o.meshThreshold, pad: pad, densityMin: lo, densityMax: hi,
                                       bounds: [-box, -box, -box, box, box, box])
                } catch let e as NoSurfaceError {
                    meshSkipped = "\(e)"
                    log("note: mesh skipped (every other output is written): \(e)")
                }
            }
            try check()
        }

        // views: the yaw arc, plus the --camera-label view.
        let arc = o.views > 0 ? CameraPath.yawArc(count: o.views) : []
        var jobs: [(camera: Camera, name: String, yaw: Double?, pitch: Double?, seed: UInt64)] = arc.enumerated().map { i, cam in
            let offset = o.views == 1 ? 0 : 0.4 - 0.8 * Double(i) / Double(o.views - 1)
            return (cam, String(format: "%02d", i), Double.pi / 2 + offset, Double.pi / 2 - 0.2, RendererSeeds.seed(o.seed, .view, i))
        }
        if let extraCamera { jobs.append((extraCamera, "camera", nil, nil, RendererSeeds.seed(o.seed, .cameraLabel, 0))) }
        var viewRecords: [GenerateManifest.View] = []
        try timer.measure("views") {
            progress("views", 0, jobs.count)
            for (i, job) in jobs.enumerated() {
                try check()
                let out = g.render(planes: planes, ws: ws, cameras: Camera.labels([job.camera]), resolution: r,
                                   random: GeneratorRandomSource(seed: job.seed))
                let image = "view_\(job.name).png", depth = "depth_\(job.name).png"
                products.append((image, PNG.encode(ImageExport.rgb8(out.image))))
                products.append((depth, PNG.encode(ImageExport.depth16(out.imageDepth, weights: out.weightSum,
                                                                       rayStart: g.settings.rayStart, rayEnd: g.settings.rayEnd))))
                viewRecords.append(.init(image: image, depth: depth, yaw: job.yaw, pitch: job.pitch, rendererSeed: job.seed,
                                         label: job.camera.label))
                progress("views", i + 1, jobs.count)
            }
        }

        // eval views: MSC's three cameras, the super-resolved images, in `eval --images`'s layout.
        if o.evalViews, let prompt = o.prompt {
            try timer.measure("eval views") {
                products += try EvalViewsFolder.products(prompt: prompt) { view, label in
                    try check()
                    let out = g.render(planes: planes, ws: ws, cameras: Camera.labels([try Camera(label: label)]), resolution: r,
                                       random: GeneratorRandomSource(seed: RendererSeeds.seed(o.seed, .cameraLabel, EvalViewsFolder.seedIndex(view))))
                    return ImageExport.rgb8(out.image)
                }
            }
        }

        // orbit: gen_videos.py's camera path, the super-resolved image of each frame.
        var orbitRecord: GenerateManifest.Orbit?
        if o.frames > 0 {
            try timer.measure("orbit") {
                var frames: [Image] = []
                progress("orbit", 0, o.frames)
                for f in 0..<o.frames {
                    try check()
                    let cam = CameraPath.orbit(frame: f, frames: o.frames)
                    let out = g.render(planes: planes, ws: ws, cameras: Camera.labels([cam]), resolution: r,
                                       random: GeneratorRandomSource(seed: RendererSeeds.seed(o.seed, .orbit, f)))
                    frames.append(ImageExport.rgb8(out.image))
                    progress("orbit", f + 1, o.frames)
                }
                products.append(("orbit.gif", GIF.encode(frames: frames, delay: o.frameDelay)))
                orbitRecord = .init(file: "orbit.gif", frames: o.frames, delayCentiseconds: o.frameDelay,
                                    path: "gen_videos.py: yaw 3.14/2 + 0.35·sin(2·3.14·i/F), pitch 3.14/2 − 0.05 + 0.25·cos(2·3.14·i/F), radius 2.7, pivot (0, 0, 0.2)")
            }
        }
        try check()

        // interpolation: between two prompts or two seeds, frontal view.
        var interpolationRecord: GenerateManifest.Interpolation?
        if let spec = try interpolationSpec(model: model, text: text) {
            try timer.measure("interpolation") {
                let n = o.interpolationFrames
                var frames: [Image] = []
                progress("interpolation", 0, n)
                let wsTo = spec.seed.map { model.mapping(z: latent($0), truncationPsi: o.truncationPsi, text: text) }
                for k in 0..<n {
                    try check()
                    let a = n == 1 ? 0 : Float(k) / Float(n - 1)
                    var t = text, w = ws
                    if let to = spec.text, let from = text { t = PromptEncoder.mix(from, to, alpha: a); w = model.mapping(z: latent(o.seed), truncationPsi: o.truncationPsi, text: t) }
                    if let wsTo { w = ws * (1 - a) + wsTo * a }
                    let out = g.render(planes: model.planes(ws: w, text: t), ws: w, cameras: Camera.labels([Camera.frontal()]), resolution: r,
                                       random: GeneratorRandomSource(seed: RendererSeeds.seed(o.seed, .interpolation, k)))
                    frames.append(ImageExport.rgb8(out.image))
                    progress("interpolation", k + 1, n)
                }
                products.append(("interpolation.gif", GIF.encode(frames: frames, delay: o.frameDelay * 2)))
                interpolationRecord = .init(file: "interpolation.gif", frames: n, between: spec.text != nil ? "prompt" : "seed",
                                            from: spec.text != nil ? (o.prompt ?? "") : "\(o.seed)", to: spec.label, method: spec.method)
            }
        }
        try check()

        // export: every file atomically, then the manifest.
        let dir = URL(fileURLWithPath: o.outputDirectory)
        try timer.measure("export") {
            for p in products {
                let url = dir.appendingPathComponent(p.name)
                if p.name.contains("/") { try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true) }
                try writeAtomically(p.data, to: url)
            }
        }
        var manifest = GenerateManifest(
            tool: o.tool, command: o.command, status: "complete", createdAt: ISO8601DateFormatter().string(from: started), seed: o.seed,
            checkpoint: .init(path: model.checkpointPath, bytes: model.digest.bytes, sha256: model.digest.hex), config: g.config,
            conditioning: conditioning.record,
            settings: .init(truncationPsi: o.truncationPsi, truncationCutoff: "all \(g.config.numWs) ws", noiseMode: "const",
                            conditioningCamera: "frontal: LookAt(π/2, π/2), radius 2.7, pivot (0, 0, 0.2), focal 4.2647",
                            views: o.views, frames: o.frames, frameDelayCentiseconds: o.frameDelay, neuralRenderingResolution: r,
                            imageResolution: g.config.imgResolution, mesh: o.mesh, meshResolution: o.meshResolution,
                            meshThreshold: o.meshThreshold, meshPad: o.resolvedMeshPad, cameraLabel: o.cameraLabelPath,
                            threads: Parallel.threadCount),
            randomness: ["latent": "z = RandomGenerator(seed: \(o.seed)).normal([1, \(g.config.zDim)]) (Philox-4x32-10)",
                         "renderer": "per image: GeneratorRandomSource(seed: mix(mix(seed ^ stream << 56) ^ index)), SplitMix64 mix; stream 1 views, 2 orbit frames, 3 the --camera-label view"],
            depthEncoding: String(format: "16-bit grey: v = round(65535·(ray_end − t)/(ray_end − ray_start)), clamped; t = %g − v/65535·%g; 0 where the ray's weight < 1e-3",
                                  g.settings.rayEnd, g.settings.rayEnd - g.settings.rayStart),
            views: viewRecords, orbit: orbitRecord, mesh: meshRecord,
            outputs: products.map { .init(file: $0.name, bytes: $0.data.count) }, stages: timer.records,
            peakRssMib: timer.records.map(\.peakRssMiB).max() ?? 0, totalSeconds: timer.totalSeconds)
        manifest.meshSkipped = meshSkipped
        manifest.interpolation = interpolationRecord
        try writeAtomically(try manifest.jsonData(), to: dir.appendingPathComponent("manifest.json"))
        return Result(manifest: manifest, files: products.map(\.name) + ["manifest.json"])
    }
}

extension GeneratePipeline {
    /// The text conditioning of the run and its manifest record.
    /// - Throws: `PromptError` (no prompt for a text model, an empty prompt or mix prompt), `UsageProblem` (--mix or
    ///   a prompt interpolation with an unconditional checkpoint).
    func textConditioning(_ model: GenerateModel) throws -> (text: TextConditioning?, record: GenerateManifest.Conditioning) {
        let o = options
        guard let encoder = model.encoder else {
            if o.mixPrompt != nil || o.interpolateToPrompt != nil {
                throw UsageProblem(message: "\(o.mixPrompt != nil ? "--mix" : "--interpolate-to") needs a text-conditioned model, but \(model.path) is an unconditional generator")
            }
            let note = o.prompt == nil
                ? "\(model.path) is an unconditional generator: the portrait is generated unconditionally from --seed \(o.seed)"
                : "\(model.path) has no text conditioning: the prompt is ignored and the portrait is generated unconditionally from --seed \(o.seed)"
            return (nil, .init(mode: "unconditional", prompt: o.prompt, note: note))
        }
        guard let prompt = o.prompt else {
            throw PromptError("--prompt: \(model.path) is a text-conditioned model; give --prompt TEXT (or --prompts FILE)")
        }
        encoder.warn = log
        var text = try encoder.encode(prompt)
        var note = "text-conditioned: \"\(prompt)\" (seed \(o.seed))"
        if let mix = o.mixPrompt {
            text = PromptEncoder.mix(text, try encoder.encode(mix, flag: "--mix"), alpha: o.alpha)
            note += ", mixed with \"\(mix)\" at α = \(o.alpha)"
        }
        return (text, .init(mode: "text", prompt: prompt, note: note, tokens: encoder.tokenCount(prompt),
                            mix: o.mixPrompt, alpha: o.mixPrompt == nil ? nil : o.alpha))
    }

    /// What interpolation.gif interpolates to, if asked.
    func interpolationSpec(model: GenerateModel, text: TextConditioning?) throws
        -> (text: TextConditioning?, seed: UInt64?, label: String, method: String)? {
        let o = options
        if let to = o.interpolateToPrompt, let encoder = model.encoder {
            return (try encoder.encode(to, flag: "--interpolate-to"), nil, to,
                    "text conditioning mixed with PromptEncoder.mix at α = k/(F − 1), same z, frontal camera")
        }
        if let s = o.interpolateToSeed {
            return (nil, s, "\(s)", "w = (1 − α)·w(seed) + α·w(\(s)) at α = k/(F − 1) (after the semantics mapping when there is text), frontal camera")
        }
        return nil
    }
}

/// A combination of settings that cannot run (names the flags).
public struct UsageProblem: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// Checks and creation of the output folder.
enum OutputFolder {
    /// Creates `path` if needed and checks that files can be created in it. Returns whether it was created.
    /// - Throws: `FileError` naming the folder and --out.
    static func prepare(_ path: String) throws -> Bool {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        var created = false
        if fm.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw FileError(path: path, message: "--out must be a folder, but this is a file") }
        } else {
            do { try fm.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
                throw FileError(path: path, message: "cannot create the --out folder: \(reason(path) ?? error.localizedDescription)")
            }
            created = true
        }
        guard fm.isWritableFile(atPath: path) else {
            if created { removeIfEmpty(path) }
            throw FileError(path: path, message: "the --out folder is not writable")
        }
        return created
    }

    /// Why `path` cannot be created: its nearest existing ancestor is a file or is not writable.
    static func reason(_ path: String) -> String? {
        var ancestor = URL(fileURLWithPath: path).standardizedFileURL
        while ancestor.path != "/" {
            ancestor = ancestor.deletingLastPathComponent()
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDir) else { continue }
            if !isDir.boolValue { return "\(ancestor.path) is a file, not a folder" }
            return FileManager.default.isWritableFile(atPath: ancestor.path) ? nil : "\(ancestor.path) is not writable"
        }
        return nil
    }

    /// Removes a folder that this run created if nothing is in it.
    static func removeIfEmpty(_ path: String) {
        if (try? FileManager.default.contentsOfDirectory(atPath: path))?.isEmpty == true { try? FileManager.default.removeItem(atPath: path) }
    }
}
