// `sds` and `refine` end to end on the tiny SD pipeline fixture and a micro random generator: the files `generate`
// writes plus field.safetensors and an eval/ folder that `eval` reads, the manifest's steps/time/memory, Ctrl-C
// leaving only a checkpoint, resume repeating a straight run bit for bit, refinement starting exactly at the
// one-pass tri-plane, and errors that name the flag or file.
import Foundation
import Metrics
import PortraitExport
@testable import Refine
import TensorCore
import TestSupport
import Training
import TriPlaneGAN
import XCTest

final class PipelineTests: XCTestCase {
    static let teacherPath = fixturePath("teacher/tiny-sd-pipeline")

    /// A micro field run: 16² planes of 8 channels, 6 + 6 samples, 16² renders, small exports.
    func sdsOptions(out: String, steps: Int) -> PerPromptSDSOptions {
        var o = PerPromptSDSOptions(prompt: "a smiling woman with red hair", outputDirectory: out)
        o.teacher = Self.teacherPath
        o.sds.steps = steps
        o.sds.renderResolution = 16
        o.sds.seed = 5
        var r = RendererSettings.ffhq
        r.depthResolution = 6
        r.depthResolutionImportance = 6
        o.field = FieldConfig(levels: [4, 8, 16], planeChannels: 8, decoderHidden: 16, decoderOutput: 8, renderer: r)
        o.export.resolution = 16
        o.export.views = 2
        o.export.frames = 2
        o.export.meshResolution = 16
        o.quiet = true
        return o
    }

    func testSDSWritesWhatGenerateWritesAndAnEvalFolder() throws {
        let out = try temporaryFolder("sds-e2e")
        let r = try PerPromptSDS(options: sdsOptions(out: out, steps: 3)).run()
        let m = try XCTUnwrap(r.manifest)
        for f in ["view_00.png", "view_01.png", "depth_00.png", "orbit.gif", "triplane.safetensors", "field.safetensors",
                  "eval/dataset.json", "eval/captions.json", "eval/00000/F.png", "eval/00000/L15.png", "eval/00000/R15.png", "manifest.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/\(f)"), f)
        }
        XCTAssertTrue(m.mesh != nil || m.meshSkipped != nil, "the mesh is written or its absence explained")
        XCTAssertEqual(m.optimisation.map(\.name), ["sds"])
        XCTAssertEqual(m.optimisation[0].steps, 3)
        XCTAssertGreaterThan(m.optimisation[0].seconds, 0)
        XCTAssertGreaterThan(m.peakRssMib, 10)
        XCTAssertEqual(m.stages.map(\.name), ["load", "text", "init", "sds", "mesh", "views", "orbit", "eval views", "export"])
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/manifest.json"))) as! [String: Any]
        XCTAssertEqual((json["optimisation"] as! [[String: Any]])[0]["steps"] as? Int, 3)
        // eval reads the folder: one sample, its three MSC views, the prompt as its caption.
        let folder = try EvalFolder(path: "\(out)/eval")
        XCTAssertEqual(folder.count, 1)
        XCTAssertEqual(folder.views, MSCView.allCases)
        XCTAssertEqual(folder.captions(0), ["a smiling woman with red hair"])
        // field.safetensors alone renders the asset: its planes are triplane.safetensors'.
        let field = try PortraitField.load(path: "\(out)/field.safetensors")
        assertClose(withNoGrad { field.planes() }, try SafeTensorsFile(path: "\(out)/triplane.safetensors").tensor("planes"), tol: 0, "field → planes")
        let png = try PNGDecodeHelper.size("\(out)/view_00.png")
        XCTAssertEqual(png, 16)
    }

    func testSeveralOutputsEvaluateAsOneFolder() throws {
        let parent = try temporaryFolder("sds-collection")
        for (name, prompt) in [("b-second", "a bald man"), ("a-first", "a woman with glasses")] {
            var o = sdsOptions(out: "\(parent)/\(name)", steps: 1)
            o.prompt = prompt
            o.export.views = 0; o.export.frames = 0; o.export.mesh = false
            _ = try PerPromptSDS(options: o).run()
        }
        try FileManager.default.createDirectory(atPath: "\(parent)/not-an-output", withIntermediateDirectories: true)
        let outputs = OutputCollection.outputs(parent: parent)
        XCTAssertEqual(outputs.map { ($0 as NSString).lastPathComponent }, ["a-first", "b-second"])
        let merged = try temporaryFolder("sds-collection-merged")
        XCTAssertEqual(try OutputCollection.merge(outputs: outputs, into: merged), 2)
        let folder = try EvalFolder(path: merged)
        XCTAssertEqual(folder.count, 2)
        XCTAssertEqual(folder.views, MSCView.allCases)
        XCTAssertEqual([folder.captions(0), folder.captions(1)], [["a woman with glasses"], ["a bald man"]])
        XCTAssertEqual(OutputCollection.outputs(parent: merged), [], "an evaluation folder is not a collection")
    }

    func testCtrlCLeavesACheckpointOnlyAndResumeRepeatsAStraightRun() throws {
        func run(_ out: String, steps: Int, resume: Bool) throws -> PerPromptSDS.Result {
            var o = sdsOptions(out: out, steps: steps)
            o.sds.tMaxEnd = o.sds.tMaxStart          // no annealing, so 2 steps + 3 more is 5 straight steps
            o.resume = resume
            o.export.views = 0; o.export.frames = 0; o.export.mesh = false
            return try PerPromptSDS(options: o).run()
        }
        let straight = try temporaryFolder("sds-straight"), resumed = try temporaryFolder("sds-resumed")
        _ = try run(straight, steps: 5, resume: false)
        Interrupt.request(true)
        let stopped = try run(resumed, steps: 5, resume: false)
        Interrupt.request(false)
        XCTAssertNil(stopped.manifest)
        XCTAssertEqual((try FileManager.default.contentsOfDirectory(atPath: resumed)).sorted(), ["run"], "Ctrl-C writes nothing but the run folder")
        XCTAssertThrowsError(try run(resumed, steps: 2, resume: false)) { e in XCTAssertTrue("\(e)".contains("pass --resume")) }
        _ = try run(resumed, steps: 2, resume: true)
        let r = try run(resumed, steps: 5, resume: true)
        XCTAssertEqual(r.manifest?.optimisation[0].resumedFromStep, 2)
        let a = try SafeTensorsFile(path: "\(straight)/field.safetensors"), b = try SafeTensorsFile(path: "\(resumed)/field.safetensors")
        for k in a.keys { assertClose(try b.tensor(k), try a.tensor(k), tol: 0, "resumed \(k)") }
    }

    /// A micro EG3D checkpoint (16² planes of 8 channels) and a generate run of it.
    static func onePass() throws -> String {
        var c = TriPlaneConfig(zDim: 16, wDim: 16, cDim: 25, imgResolution: 128, channelBase: 256, channelMax: 16, mappingLayers: 1,
                               planeResolution: 16, planeChannels: 8, decoderHiddenDim: 16, decoderOutputDim: 8, srChannels: [8, 8],
                               neuralRenderingResolution: 16, rendering: .ffhq(.hybrid2X, depthResolution: 6, depthResolutionImportance: 6))
        c.rendering.imageResolution = 128
        let dir = try temporaryFolder("refine-source")
        let g = TriPlaneGenerator(config: c, rng: RandomGenerator(seed: 9))
        try saveSafeTensors(g.stateDict(), metadata: ["config": try c.jsonString()], to: "\(dir)/micro.safetensors")
        var o = GenerateOptions(weights: "\(dir)/micro.safetensors", outputDirectory: "\(dir)/one-pass")
        o.views = 1; o.frames = 0; o.mesh = false
        _ = try GeneratePipeline(options: o).run()
        return "\(dir)/one-pass"
    }

    func refineOptions(from: String, out: String, sdsSteps: Int, fitSteps: Int) -> RefinementOptions {
        var o = RefinementOptions(outputDirectory: out)
        o.from = from
        o.prompt = "an old man with a grey beard"
        o.teacher = Self.teacherPath
        o.levels = [4, 8]
        o.sds.steps = sdsSteps
        o.sds.renderResolution = 16
        o.refine.ringViews = 2
        o.refine.sdedit.steps = 10
        o.refine.fitSteps = fitSteps
        o.refine.maskThreshold = 0
        o.export.resolution = 16
        o.export.views = 2
        o.export.frames = 0
        o.export.mesh = false
        o.quiet = true
        return o
    }

    func testRefineStartsAtTheOnePassTriPlaneAndWritesBeforeAfter() throws {
        let source = try Self.onePass()
        let planes = try SafeTensorsFile(path: "\(source)/triplane.safetensors").tensor("planes")
        // No steps: the refined tri-grid is the one-pass tri-plane. Without --levels, the default pyramid's levels
        // below the one-pass plane resolution.
        let idle = try temporaryFolder("refine-idle")
        var idleOptions = refineOptions(from: source, out: idle, sdsSteps: 0, fitSteps: 0)
        idleOptions.levels = nil
        _ = try Refinement(options: idleOptions).run()
        assertClose(try SafeTensorsFile(path: "\(idle)/triplane.safetensors").tensor("planes"), planes, tol: 1e-6, "refined with 0 steps = one-pass")
        let r0 = planes.shape[3]
        XCTAssertEqual(try PortraitField.load(path: "\(idle)/field.safetensors").config.levels,
                       RefinementOptions.defaultLevels.filter { $0 < r0 } + [r0])
        // A few steps of each stage.
        let out = try temporaryFolder("refine-e2e")
        let r = try Refinement(options: refineOptions(from: source, out: out, sdsSteps: 2, fitSteps: 3)).run()
        let m = try XCTUnwrap(r.manifest)
        XCTAssertEqual(m.optimisation.map(\.name), ["sds", "fit"])
        XCTAssertEqual(m.optimisation.map(\.steps), [2, 3])
        XCTAssertEqual(m.prompt, "an old man with a grey beard")
        for f in ["before_after.png", "view_00.png", "field.safetensors", "eval/00000/F.png", "run/targets.safetensors"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/\(f)"), f)
        }
        let targets = try RingTargets.load(path: "\(out)/run/targets.safetensors")
        XCTAssertEqual(targets.images.shape, [2, 3, 16, 16])
        let fitLog = TrainingLog.read(path: "\(out)/run/fit/log.jsonl")
        XCTAssertEqual(fitLog.count, 3)
        XCTAssertTrue(fitLog.allSatisfy { $0.values["loss/fit"]?.isFinite == true })
        XCTAssertGreaterThan(relativeError(try SafeTensorsFile(path: "\(out)/triplane.safetensors").tensor("planes"), planes), 1e-4,
                             "the refined tri-plane moved")
    }

    func testBadInputsNameTheFlagOrFile() throws {
        let out = try temporaryFolder("refine-errors")
        var o = refineOptions(from: "\(out)/nowhere", out: out, sdsSteps: 1, fitSteps: 1)
        XCTAssertThrowsError(try Refinement(options: o).run()) { e in
            XCTAssertTrue("\(e)".contains("nowhere/manifest.json") && "\(e)".contains("--from"), "\(e)")
        }
        o.from = nil; o.prompt = nil
        XCTAssertThrowsError(try Refinement(options: o).run()) { e in XCTAssertTrue("\(e)".contains("--from DIR or --prompt TEXT"), "\(e)") }
        var s = sdsOptions(out: out, steps: 1)
        s.sds.levelLearningRates = [0.1, 0.2]
        XCTAssertThrowsError(try PerPromptSDS(options: s).run()) { e in
            XCTAssertEqual("\(e)", "--level-lr has 2 values for 3 levels (give one, or one per level)")
        }
        s = sdsOptions(out: out, steps: 1)
        s.teacher = "\(out)/no-teacher"
        XCTAssertThrowsError(try PerPromptSDS(options: s).run()) { e in XCTAssertTrue("\(e)".contains("--teacher: no such folder"), "\(e)") }
        XCTAssertThrowsError(try TeacherLocation.resolve(nil, environment: [:], currentDirectory: out, executable: "\(out)/bin/x")) { e in
            XCTAssertTrue("\(e)".contains("no teacher found") && "\(e)".contains("\(out)/Weights/teacher"), "\(e)")
        }
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? [], [], "nothing was written")
    }
}

enum PNGDecodeHelper {
    /// The width of a PNG (IHDR bytes 16-19).
    static func size(_ path: String) throws -> Int {
        let d = try Data(contentsOf: URL(fileURLWithPath: path))
        return d[16..<20].reduce(0) { $0 << 8 | Int($1) }
    }
}
