// The files of an optimised field, as `generate` writes them for a generator (README "Generating a portrait"):
// view_NN.png and depth_NN.png on the same yaw arc, orbit.gif on gen_videos.py's path, triplane.safetensors (the
// composed planes), field.safetensors (levels + decoder + FieldConfig), mesh.ply/obj/glb by marching cubes on raw σ,
// and an evaluation folder `eval/` in `dreamportrait eval`'s views layout (00000/F.png, L15.png, R15.png at the MSC
// cameras, dataset.json, captions.json holding the prompt), so `eval --images OUT/eval` scores the result. Images
// are the raw volume renders at `resolution` (no super-resolution), 8-bit as EG3D's scripts quantise them. Every
// product is made in memory; the caller writes them (atomically) when every stage has succeeded.
import Codecs
import Foundation
import Metrics
import PortraitExport
import PortraitWorld
import TensorCore
import TriPlaneGAN

/// What to export besides the field itself (the flags `generate` shares).
public struct FieldExportOptions: Codable, Equatable, Sendable {
    /// Side of the exported renders.
    public var resolution: Int = 128
    public var views: Int = 5
    /// Orbit GIF frames (0: none) and their delay in centiseconds.
    public var frames: Int = 36
    public var frameDelay: Int = 4
    public var mesh: Bool = true
    public var meshResolution: Int = 128
    public var meshThreshold: Float = 10
    /// nil: int(30·M/256), gen_samples.py's border.
    public var meshPad: Int? = nil
    /// Seed of the renderer draws of every exported image (RendererSeeds streams, as `generate`).
    public var seed: UInt64 = 0
    public init() {}

    enum CodingKeys: String, CodingKey {
        case resolution, views, frames, frameDelay = "frame_delay", mesh, meshResolution = "mesh_resolution"
        case meshThreshold = "mesh_threshold", meshPad = "mesh_pad", seed
    }
}

/// One exported view (manifest record).
public struct ExportedView: Codable, Sendable {
    public var image: String
    public var depth: String
    public var yaw: Double
    public var pitch: Double
    public var rendererSeed: UInt64
    public var label: [Float]
}

/// The mesh record: generate's (files, counts, grid, threshold, density range, bounds).
public typealias ExportedMesh = GenerateManifest.Mesh

public final class FieldExport {
    public let field: PortraitField
    public let options: FieldExportOptions
    public var log: (String) -> Void = { _ in }
    public var progress: (String, Int, Int) -> Void = { _, _, _ in }
    public var shouldStop: () -> Bool = { false }
    /// The composed planes (1, 3·C, R, R), computed once.
    public let planes: Tensor
    public private(set) var products: [(name: String, data: Data)] = []
    public private(set) var views: [ExportedView] = []
    public private(set) var mesh: ExportedMesh?
    public private(set) var meshSkipped: String?

    public init(field: PortraitField, options: FieldExportOptions) {
        self.field = field
        self.options = options
        planes = withNoGrad { field.planes().contiguous() }
    }

    /// The raw render of one camera: image (1, 3, R, R) in [-1, 1], depth and weight (1, 1, R, R).
    public func render(_ camera: TriPlaneGAN.Camera, seed: UInt64, resolution: Int? = nil) -> (image: Tensor, depth: Tensor, weight: Tensor) {
        withNoGrad { field.render(cameras: TriPlaneGAN.Camera.labels([camera]), resolution: resolution ?? options.resolution,
                                  random: GeneratorRandomSource(seed: seed), planes: planes) }
    }

    func check() throws { if shouldStop() { throw GenerationInterrupted() } }

    /// triplane.safetensors and field.safetensors.
    public func fieldFiles(metadata: [String: String]) throws {
        let c = field.config
        let meta = metadata.merging(["layout": "(1, 3·\(c.planeChannels), H, W): the XY, XZ and ZX planes (EG3D's order)",
                                     "field": try c.jsonString()]) { $1 }
        products.append(("triplane.safetensors", try safeTensorsData(["planes": planes], metadata: meta)))
        let (tensors, fm) = try field.fileContents(metadata: metadata)
        products.append(("field.safetensors", try safeTensorsData(tensors, metadata: fm)))
    }

    /// The mesh (skipped, with the reason logged and kept, when the level has no surface).
    public func meshFiles() throws {
        guard options.mesh else { return }
        let m = options.meshResolution, pad = options.meshPad ?? MeshExtraction.defaultPad(resolution: m)
        progress("mesh", 0, m)
        let grid = try MeshExtraction.sampleGrid(decoder: field.decoder, boxWarp: field.settings.boxWarp, planes: planes, resolution: m,
                                                 pad: pad, progress: { self.progress("mesh", $0, $1) }, shouldStop: shouldStop)
        let (lo, hi) = grid.range(pad: pad)
        do {
            let t = try MeshExtraction.extract(decoder: field.decoder, boxWarp: field.settings.boxWarp, planes: planes, grid: grid,
                                               threshold: options.meshThreshold, pad: pad)
            products += [("mesh.ply", t.plyData()), ("mesh.obj", t.objData()), ("mesh.glb", t.glbData())]
            let box = Float(field.settings.boxWarp) / 2
            mesh = ExportedMesh(files: ["mesh.ply", "mesh.obj", "mesh.glb"], vertices: t.vertices.count, triangles: t.triangles.count,
                                resolution: m, threshold: options.meshThreshold, pad: pad, densityMin: lo, densityMax: hi,
                                bounds: [-box, -box, -box, box, box, box])
        } catch let e as NoSurfaceError {
            meshSkipped = "\(e)"
            log("note: mesh skipped (every other output is written): \(e)")
        }
    }

    /// The yaw arc of `generate`: view_NN.png and depth_NN.png. Returns the images (1, 3, R, R) in [-1, 1].
    @discardableResult
    public func viewFiles() throws -> [Tensor] {
        let n = options.views
        var images: [Tensor] = []
        progress("views", 0, n)
        for (i, camera) in (n > 0 ? CameraPath.yawArc(count: n) : []).enumerated() {
            try check()
            let seed = RendererSeeds.seed(options.seed, .view, i)
            let out = render(camera, seed: seed)
            let name = String(format: "%02d", i)
            products.append(("view_\(name).png", PNG.encode(ImageExport.rgb8(out.image))))
            products.append(("depth_\(name).png", PNG.encode(ImageExport.depth16(out.depth, weights: out.weight, rayStart: field.settings.rayStart,
                                                                                  rayEnd: field.settings.rayEnd))))
            let offset = n == 1 ? 0 : 0.4 - 0.8 * Double(i) / Double(n - 1)
            views.append(ExportedView(image: "view_\(name).png", depth: "depth_\(name).png", yaw: Double.pi / 2 + offset,
                                      pitch: Double.pi / 2 - 0.2, rendererSeed: seed, label: camera.label))
            images.append(out.image)
            progress("views", i + 1, n)
        }
        return images
    }

    /// orbit.gif on gen_videos.py's path.
    public func orbitFile() throws {
        guard options.frames > 0 else { return }
        var frames: [Image] = []
        progress("orbit", 0, options.frames)
        for f in 0..<options.frames {
            try check()
            let out = render(CameraPath.orbit(frame: f, frames: options.frames), seed: RendererSeeds.seed(options.seed, .orbit, f))
            frames.append(ImageExport.rgb8(out.image))
            progress("orbit", f + 1, options.frames)
        }
        products.append(("orbit.gif", GIF.encode(frames: frames, delay: options.frameDelay)))
    }

    /// eval/: the three MSC views of sample 00000 and their dataset.json and captions.json (the prompt, true caption).
    public func evalFolder(prompt: String) throws {
        products += try EvalViewsFolder.products(prompt: prompt) { view, label in
            try check()
            let out = render(try TriPlaneGAN.Camera(label: label), seed: RendererSeeds.seed(options.seed, .cameraLabel, EvalViewsFolder.seedIndex(view)))
            return ImageExport.rgb8(out.image)
        }
    }

    /// An extra product (e.g. before_after.png).
    public func add(_ name: String, _ data: Data) { products.append((name, data)) }

    /// Writes every product into `folder` atomically (subfolders created), in order.
    public func write(to folder: String) throws {
        let dir = URL(fileURLWithPath: folder)
        for p in products {
            let url = dir.appendingPathComponent(p.name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try writeAtomically(p.data, to: url)
        }
    }
}
