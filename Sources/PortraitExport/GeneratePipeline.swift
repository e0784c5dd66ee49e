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
    /// - Throws: `FileError` naming the file or flag (camera label, checkpoint, output folder), the checkpoint's
    ///   loading error, `NoSurfaceError`, or `GenerationInterrupted`; in each case no output file is written.
    public func run() throws -> Result {
        let o = options
        let extraCamera = try o.cameraLabelPath.map { try CameraLabelFile.read(path: $0) }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: o.weights, isDirectory: &isDir) else {
            throw FileError(path: o.weights, message: "no such checkpoint (--weights)")
        }
        guard !isDir.boolValue else { throw FileError(path: o.weights, message: "is a folder; --weights takes a .safetensors file") }
        let createdOut = try OutputFolder.prepare(o.outputDirectory)
        do {
            return try withNoGrad { try stages(extraCamera: extraCamera) }
        } catch {
            if createdOut { OutputFolder.removeIfEmpty(o.outputDirectory) }
            throw error
        }
    }

    private func stages(extraCamera: Camera?) throws -> Result {
        let o = options, timer = StageTimer(), started = Date()
        var products: [(name: String, data: Data)] = []
        func check() throws { if shouldStop() { throw GenerationInterrupted() } }

        // load
        let (g, digest) = try timer.measure("load") { () throws -> (TriPlaneGenerator, (hex: String, bytes: Int)) in
            let g = try TriPlaneGenerator.load(path: o.weights)
            return (g, try SHA256.file(o.weights))
        }
        if let r = o.neuralRenderingResolution { g.neuralRenderingResolution = r }
        let r = g.neuralRenderingResolution
        let note = o.prompt == nil
            ? "\(o.weights) is an unconditional generator: the portrait is generated unconditionally from --seed \(o.seed)"
            : "\(o.weights) has no text conditioning: the prompt is ignored and the portrait is generated unconditionally from --seed \(o.seed)"
        log("note: " + note)
        try check()

        // mapping: z from the seed, the frontal conditioning camera, truncation on every w.
        let ws = timer.measure("mapping") { () -> Tensor in
            let z = RandomGenerator(seed: o.seed).normal([1, g.config.zDim])
            return g.mapping(z, Camera.labels([Camera.frontal()]), truncationPsi: o.truncationPsi)
        }
        try check()

        // planes: the backbone once (noise_mode const); reused by every view, frame and the mesh.
        let planes = try timer.measure("planes") { () throws -> Tensor in
            let planes = g.planes(ws, noiseMode: .const)
            let meta = ["config": try g.config.jsonString(), "seed": "\(o.seed)", "truncation_psi": "\(o.truncationPsi)",
                        "layout": "(1, 3·\(g.config.planeChannels), H, W): the XY, XZ and ZX planes (EG3D's order)"]
            products.append(("triplane.safetensors", try safeTensorsData(["planes": planes], metadata: meta)))
            return planes
        }
        try check()

        // mesh: before the views, so that a threshold without a surface fails fast.
        var meshRecord: GenerateManifest.Mesh?
        if o.mesh {
            try timer.measure("mesh") {
                progress("mesh", 0, o.meshResolution)
                let grid = try MeshExtraction.sampleGrid(generator: g, planes: planes, resolution: o.meshResolution,
                                                         progress: { self.progress("mesh", $0, $1) }, shouldStop: shouldStop)
                let pad = o.resolvedMeshPad
                let mesh = try MeshExtraction.extract(generator: g, planes: planes, grid: grid, threshold: o.meshThreshold, pad: pad)
                let (lo, hi) = grid.range(pad: pad)
                products += [("mesh.ply", mesh.plyData()), ("mesh.obj", mesh.objData()), ("mesh.glb", mesh.glbData())]
                let box = Float(g.settings.boxWarp) / 2
                meshRecord = .init(files: ["mesh.ply", "mesh.obj", "mesh.glb"], vertices: mesh.vertices.count, triangles: mesh.triangles.count,
                                   resolution: o.meshResolution, threshold: o.meshThreshold, pad: pad, densityMin: lo, densityMax: hi,
                                   bounds: [-box, -box, -box, box, box, box])
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

        // export: every file atomically, then the manifest.
        let dir = URL(fileURLWithPath: o.outputDirectory)
        try timer.measure("export") {
            for p in products { try writeAtomically(p.data, to: dir.appendingPathComponent(p.name)) }
        }
        let manifest = GenerateManifest(
            tool: o.tool, command: o.command, status: "complete", createdAt: ISO8601DateFormatter().string(from: started), seed: o.seed,
            checkpoint: .init(path: o.weights, bytes: digest.bytes, sha256: digest.hex), config: g.config,
            conditioning: .init(mode: "unconditional", prompt: o.prompt, note: note),
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
        try writeAtomically(try manifest.jsonData(), to: dir.appendingPathComponent("manifest.json"))
        return Result(manifest: manifest, files: products.map(\.name) + ["manifest.json"])
    }
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
