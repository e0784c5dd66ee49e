// `dreamportrait generate` end to end on the tiny configuration (random weights): every file exists and parses,
// the manifest records the run, the same seed gives the same bytes, and each bad input gives its message and
// writes nothing.
import Foundation
import XCTest
import Codecs
import TensorCore
import TriPlaneGAN
@testable import PortraitExport
import TestSupport

final class GeneratePipelineTests: XCTestCase {
    /// The interior density range of the tiny checkpoint at seed 3, ψ 0.7, on the 32³ grid without padding (the
    /// settings of `ExportTestSupport.options`), sampled directly.
    static let densityRange: (min: Float, max: Float) = {
        let g = try! TriPlaneGenerator.load(path: ExportTestSupport.tiny.path)
        return withNoGrad {
            let ws = g.mapping(RandomGenerator(seed: 3).normal([1, g.config.zDim]), Camera.labels([Camera.frontal()]), truncationPsi: 0.7)
            let grid = try! MeshExtraction.sampleGrid(generator: g, planes: g.planes(ws, noiseMode: .const), resolution: 32)
            let (lo, hi) = grid.range(pad: 0)
            return (lo, hi)
        }
    }()

    func testWritesEveryFileAndTheManifest() throws {
        let out = temporaryPath("generate")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let camFile = temporaryPath("cam") + ".txt"
        try Camera.lookAt(yaw: 1.3, pitch: 1.5).label.map { "\($0)" }.joined(separator: " ").write(toFile: camFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: camFile) }
        let (lo, hi) = Self.densityRange
        var o = ExportTestSupport.options(out: out, threshold: (lo + hi) / 2)
        o.cameraLabelPath = camFile
        o.prompt = "a smiling woman with red hair"
        let pipeline = GeneratePipeline(options: o)
        var notes: [String] = [], progress: [String: [Int]] = [:]
        pipeline.log = { notes.append($0) }
        pipeline.progress = { stage, done, _ in progress[stage, default: []].append(done) }
        let result = try pipeline.run()

        let expected = ["depth_00.png", "depth_01.png", "depth_camera.png", "manifest.json", "mesh.glb", "mesh.obj", "mesh.ply",
                        "mesh.png", "orbit.gif", "triplane.safetensors", "view_00.png", "view_01.png", "view_camera.png"]
        XCTAssertEqual(ExportTestSupport.files(out), expected)
        XCTAssertEqual(result.files.sorted(), expected)
        XCTAssertTrue(notes.contains { $0.contains("no text conditioning") && $0.contains("unconditionally") }, "\(notes)")
        XCTAssertEqual(progress["views"], [0, 1, 2, 3]); XCTAssertEqual(progress["orbit"], [0, 1, 2, 3]); XCTAssertEqual(progress["mesh"]?.last, 32)

        for name in ["view_00", "view_01", "view_camera"] {
            let img = try PNG.read(path: "\(out)/\(name).png")
            XCTAssertEqual([img.width, img.height, img.channels, img.bitDepth], [128, 128, 3, 8], name)
            let d = try PNG.read(path: "\(out)/\(name.replacingOccurrences(of: "view", with: "depth")).png")
            XCTAssertEqual([d.width, d.height, d.channels, d.bitDepth], [32, 32, 1, 16], name)
        }
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: "\(out)/view_00.png")), try Data(contentsOf: URL(fileURLWithPath: "\(out)/view_01.png")))
        let gif = try GIF.read(path: "\(out)/orbit.gif")
        XCTAssertEqual(gif.frames.count, 3); XCTAssertEqual(gif.width, 128); XCTAssertEqual(gif.height, 128)

        let planes = try SafeTensorsFile(path: "\(out)/triplane.safetensors")
        XCTAssertEqual(planes.keys, ["planes"])
        XCTAssertEqual(try planes.tensor("planes").shape, [1, 96, 256, 256])
        XCTAssertEqual(try TriPlaneConfig(json: planes.metadata["config"] ?? ""), .tiny128)
        XCTAssertEqual(planes.metadata["seed"], "3")

        // Meshes: headers and counts agree with each other and with the manifest.
        let manifest = result.manifest
        let mesh = try XCTUnwrap(manifest.mesh)
        XCTAssertGreaterThan(mesh.triangles, 0)
        let ply = try Data(contentsOf: URL(fileURLWithPath: "\(out)/mesh.ply"))
        let header = String(decoding: ply.prefix(400), as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("ply\nformat binary_little_endian 1.0\n"))
        XCTAssertTrue(header.contains("element vertex \(mesh.vertices)\n") && header.contains("element face \(mesh.triangles)\n")
                      && header.contains("property uchar red"), header)
        let headerBytes = header.range(of: "end_header\n").map { header.utf8.distance(from: header.startIndex, to: $0.upperBound) } ?? 0
        XCTAssertEqual(ply.count, headerBytes + mesh.vertices * 15 + mesh.triangles * 13)
        let obj = try String(contentsOfFile: "\(out)/mesh.obj", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(obj.filter { $0.hasPrefix("v ") }.count, mesh.vertices)
        XCTAssertEqual(obj.filter { $0.hasPrefix("f ") }.count, mesh.triangles)
        XCTAssertEqual(obj.first { $0.hasPrefix("v ") }?.split(separator: " ").count, 7)   // x y z r g b
        let glb = try Data(contentsOf: URL(fileURLWithPath: "\(out)/mesh.glb"))
        func u32(_ at: Int) -> Int { Int(glb[at]) | Int(glb[at + 1]) << 8 | Int(glb[at + 2]) << 16 | Int(glb[at + 3]) << 24 }
        XCTAssertEqual(u32(0), 0x4654_6C67); XCTAssertEqual(u32(4), 2); XCTAssertEqual(u32(8), glb.count)
        let json = try JSONSerialization.jsonObject(with: glb.subdata(in: 20..<(20 + u32(12)))) as? [String: Any]
        let accessors = json?["accessors"] as? [[String: Any]]
        XCTAssertEqual(accessors?.first?["count"] as? Int, mesh.vertices)
        XCTAssertEqual(accessors?.last?["count"] as? Int, 3 * mesh.triangles)
        let attributes = ((json?["meshes"] as? [[String: Any]])?.first?["primitives"] as? [[String: Any]])?.first?["attributes"] as? [String: Int]
        XCTAssertEqual(attributes?["COLOR_0"], 1)

        // manifest.json as a reader sees it.
        let m = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/manifest.json"))) as? [String: Any])
        XCTAssertEqual(m["status"] as? String, "complete")
        XCTAssertEqual(m["seed"] as? Int, 3)
        let ckpt = try XCTUnwrap(m["checkpoint"] as? [String: Any])
        let digest = try SHA256.file(ExportTestSupport.tiny.path)
        XCTAssertEqual(ckpt["sha256"] as? String, digest.hex); XCTAssertEqual(ckpt["bytes"] as? Int, digest.bytes)
        XCTAssertEqual(ckpt["path"] as? String, ExportTestSupport.tiny.path)
        XCTAssertEqual((m["config"] as? [String: Any])?["z_dim"] as? Int, 64)
        let cond = try XCTUnwrap(m["conditioning"] as? [String: Any])
        XCTAssertEqual(cond["mode"] as? String, "unconditional"); XCTAssertEqual(cond["prompt"] as? String, o.prompt)
        let settings = try XCTUnwrap(m["settings"] as? [String: Any])
        XCTAssertEqual(settings["truncation_psi"] as? Double ?? 0, 0.7, accuracy: 1e-6)
        XCTAssertEqual(settings["neural_rendering_resolution"] as? Int, 32); XCTAssertEqual(settings["mesh_resolution"] as? Int, 32)
        XCTAssertEqual(settings["camera_label"] as? String, camFile)
        let stages = try XCTUnwrap(m["stages"] as? [[String: Any]])
        XCTAssertEqual(stages.compactMap { $0["name"] as? String }, ["load", "mapping", "planes", "mesh", "views", "orbit", "export"])
        for s in stages {
            XCTAssertNotNil(s["seconds"] as? Double); XCTAssertNotNil(s["cpu_seconds"] as? Double)
            XCTAssertGreaterThan(s["peak_rss_mib"] as? Double ?? 0, 1)
        }
        let views = try XCTUnwrap(m["views"] as? [[String: Any]])
        XCTAssertEqual(views.compactMap { $0["image"] as? String }, ["view_00.png", "view_01.png", "view_camera.png"])
        XCTAssertEqual((views[2]["label"] as? [Double])?.count, 25)
        XCTAssertEqual(views[0]["yaw"] as? Double ?? 0, Double.pi / 2 + 0.4, accuracy: 1e-12)
        let outputs = try XCTUnwrap(m["outputs"] as? [[String: Any]])
        for entry in outputs {
            let file = try XCTUnwrap(entry["file"] as? String)
            XCTAssertEqual(entry["bytes"] as? Int, (try FileManager.default.attributesOfItem(atPath: "\(out)/\(file)")[.size] as? Int), file)
        }
        XCTAssertEqual(outputs.count, expected.count - 1)
        XCTAssertEqual((m["mesh"] as? [String: Any])?["threshold"] as? Double ?? 0, Double((lo + hi) / 2), accuracy: 1e-3)
        XCTAssertNotNil(m["peak_rss_mib"] as? Double); XCTAssertNotNil(m["randomness"] as? [String: String])
    }

    func testSameSeedGivesIdenticalFiles() throws {
        func run(seed: UInt64) throws -> [String: Data] {
            let out = temporaryPath("determinism")
            defer { try? FileManager.default.removeItem(atPath: out) }
            var o = ExportTestSupport.options(out: out, views: 2, frames: 0, mesh: false)
            o.seed = seed
            _ = try GeneratePipeline(options: o).run()
            var files: [String: Data] = [:]
            for f in ExportTestSupport.files(out) where f != "manifest.json" { files[f] = try Data(contentsOf: URL(fileURLWithPath: "\(out)/\(f)")) }
            return files
        }
        let a = try run(seed: 11), b = try run(seed: 11), c = try run(seed: 12)
        XCTAssertEqual(a.keys.sorted(), ["depth_00.png", "depth_01.png", "triplane.safetensors", "view_00.png", "view_01.png"])
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a["view_00.png"], c["view_00.png"])
    }

    func testCameraLabelViewAlone() throws {
        let out = temporaryPath("camera-only")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let cam = temporaryPath("cam") + ".json"
        try "[\(Camera.frontal().label.map { "\($0)" }.joined(separator: ", "))]".write(toFile: cam, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: cam) }
        var o = ExportTestSupport.options(out: out, views: 0, frames: 0, mesh: false)
        o.cameraLabelPath = cam
        let result = try GeneratePipeline(options: o).run()
        XCTAssertEqual(ExportTestSupport.files(out), ["depth_camera.png", "manifest.json", "triplane.safetensors", "view_camera.png"])
        XCTAssertEqual(result.manifest.views.first?.label, Camera.frontal().label)
        XCTAssertNil(result.manifest.views.first?.yaw)
        XCTAssertEqual(result.manifest.stages.map(\.name), ["load", "mapping", "planes", "views", "export"])
    }

    /// Runs a pipeline expected to fail; returns the error text and checks that `out` was left absent.
    func failure(_ o: GenerateOptions, stopAfter: Int? = nil, file: StaticString = #filePath, line: UInt = #line) -> String {
        let pipeline = GeneratePipeline(options: o)
        var polls = 0
        if let stopAfter { pipeline.shouldStop = { polls += 1; return polls > stopAfter } }
        defer { try? FileManager.default.removeItem(atPath: o.outputDirectory) }
        do { _ = try pipeline.run() } catch {
            XCTAssertFalse(FileManager.default.fileExists(atPath: o.outputDirectory), "\(o.outputDirectory) was left behind", file: file, line: line)
            return "\(error)"
        }
        XCTFail("the run succeeded", file: file, line: line)
        return ""
    }

    func testBadInputsNameTheProblemAndWriteNothing() throws {
        let out = temporaryPath("bad")
        var o = ExportTestSupport.options(out: out, views: 1, frames: 0, mesh: false)

        o.weights = "/nonexistent/model.safetensors"
        XCTAssertEqual(failure(o), "/nonexistent/model.safetensors: no such checkpoint (--weights)")

        let garbage = ExportTestSupport.tiny.dir + "/garbage.safetensors"
        try Data("this is not a safetensors file at all".utf8).write(to: URL(fileURLWithPath: garbage))
        o.weights = garbage
        XCTAssertTrue(failure(o).contains("garbage.safetensors"))

        o.weights = try ExportTestSupport.checkpoint("broken") { s in
            s["decoder.net.0.weight"] = nil
            s["backbone.synthesis.b4.conv1.bias"] = Tensor.zeros([3])
            s["backbone.extra"] = Tensor.zeros([1])
        }
        let keys = failure(o)
        for needle in ["broken.safetensors", "missing key", "decoder.net.0.weight", "unexpected key", "backbone.extra",
                       "shape mismatch", "backbone.synthesis.b4.conv1.bias"] {
            XCTAssertTrue(keys.contains(needle), "\(needle) not in: \(keys)")
        }

        o.weights = ExportTestSupport.tiny.path
        let cam = temporaryPath("cam24") + ".json"
        try "[1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 4.2647, 0, 0.5, 0, 4.2647, 0.5, 0, 0]".write(toFile: cam, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: cam) }
        o.cameraLabelPath = cam
        XCTAssertEqual(failure(o), "\(cam): a camera label has 25 numbers (16 cam2world + 9 intrinsics), found 24")
        try "1 0 0 0 0 1 0 0 0 0 1 0 0 0 0 1 4.2647 0 0.5 0 4.2647 0.5 0 0 nan".write(toFile: cam, atomically: true, encoding: .utf8)
        XCTAssertTrue(failure(o).contains("value 24 is nan"))
        o.cameraLabelPath = nil

        // A level above every density is not an error any more: TextGenerateTests.testMeshWithoutSurfaceIsSkipped.

        // --out below a regular file cannot be created.
        o.outputDirectory = garbage + "/portrait"
        XCTAssertEqual(failure(o), "\(garbage)/portrait: cannot create the --out folder: \(garbage) is a file, not a folder")
        o.outputDirectory = garbage
        XCTAssertThrowsError(try GeneratePipeline(options: o).run()) {
            XCTAssertEqual("\($0)", "\(garbage): --out must be a folder, but this is a file")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: garbage)), Data("this is not a safetensors file at all".utf8))
    }

    func testInterruptWritesNothing() throws {
        let o = ExportTestSupport.options(out: temporaryPath("interrupt"), views: 2, frames: 2, mesh: false)
        for stop in [0, 3, 5] { XCTAssertEqual(failure(o, stopAfter: stop), "interrupted: no files were written") }
        // An existing folder is kept, and stays as it was.
        let existing = temporaryPath("existing")
        try FileManager.default.createDirectory(atPath: existing, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: existing) }
        try Data("keep".utf8).write(to: URL(fileURLWithPath: existing + "/notes.txt"))
        var p = o
        p.outputDirectory = existing
        let pipeline = GeneratePipeline(options: p)
        pipeline.shouldStop = { true }
        XCTAssertThrowsError(try pipeline.run()) { XCTAssertTrue($0 is GenerationInterrupted) }
        XCTAssertEqual(ExportTestSupport.files(existing), ["notes.txt"])
    }
}
