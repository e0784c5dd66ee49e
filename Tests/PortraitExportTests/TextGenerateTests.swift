// Text-conditioned `generate` on a tiny random shipped-model folder (a 16² tri-plane generator with open gates,
// a 1-layer CLIP text encoder of width 8, a BPE tokenizer learnt from three captions): the folder format and its
// search path, prompts to portraits (same seed, same bytes; the prompt changes the portrait), prompt mixing,
// interpolation GIFs, the prompt errors, and a mesh level without a surface that skips the mesh only.
import Foundation
import XCTest
import Codecs
import Metrics
import Teacher
import TensorCore
import TriPlaneGAN
@testable import PortraitExport
import TestSupport

final class TextGenerateTests: XCTestCase {
    static let small = TriPlaneConfig(
        zDim: 8, wDim: 16, cDim: 25, imgResolution: 128, channelBase: 128, channelMax: 16, mappingLayers: 2,
        planeResolution: 16, planeChannels: 4, decoderHiddenDim: 8, decoderOutputDim: 4, srChannels: [4, 4],
        neuralRenderingResolution: 8, rendering: .ffhq(.hybrid2X, depthResolution: 6, depthResolutionImportance: 0))

    /// The tiny model folder, written once.
    static let model: String = {
        let dir = temporaryPath("shipped-model")
        let tok = try! CLIPTokenizer.train(corpus: ["a smiling woman with red hair", "a man with a beard and glasses",
                                                    "an old man with grey hair and a hat"], maxMerges: 40)
        var tc = CLIPTextConfig()
        tc.vocabSize = tok.vocabularySize
        tc.hiddenSize = 8
        tc.intermediateSize = 16
        tc.numHiddenLayers = 1
        tc.numAttentionHeads = 2
        tc.projectionDim = 8
        tc.bosTokenID = tok.startTokenID
        tc.eosTokenID = tok.endTokenID
        tc.padTokenID = tok.padTokenID
        let encoder = CLIPTextModel(tc, rng: RandomGenerator(seed: 5))
        let cond = ConditioningConfig(generator: small, textDim: 8, hiddenDim: 8, adapterDim: 2, heads: 2)
        let g = TextConditionedGenerator(config: small, conditioning: cond, rng: RandomGenerator(seed: 1))
        openConditioning(g)
        try! ShippedModel.write(folder: dir, generator: g, textEncoder: encoder, tokenizer: tok,
                                manifest: ShippedModelManifest(description: "tiny random test model", training: ["recipe": "none"]),
                                dtype: .F32)
        return dir
    }()

    /// Opens every gate and gives the Fuse layer and Proj_out random values, so that the text acts.
    static func openConditioning(_ g: TextConditionedGenerator) {
        var state: [String: Tensor] = [:]
        let rng = RandomGenerator(seed: 2)
        for (i, a) in g.conditioning.adapters.items.enumerated() {
            state["conditioning.adapters.\(i).gamma"] = Tensor([0.5], shape: [1])
            state["conditioning.adapters.\(i).proj_out.weight"] = rng.uniform(a.projOut.weight.shape, low: -0.5, high: 0.5)
            state["conditioning.adapters.\(i).proj_out.bias"] = rng.uniform(a.projOut.bias.shape, low: -0.5, high: 0.5)
        }
        let fuse = g.conditioning.semanticsMapping.fuse
        state["conditioning.semantics_mapping.fuse.weight"] = rng.normal(fuse.weight.shape, std: 30)
        state["conditioning.semantics_mapping.fuse.bias"] = rng.uniform(fuse.bias!.shape, low: -5, high: 5)
        try! g.load(state, strict: false)
    }

    func options(_ out: String, prompt: String? = "a smiling woman with red hair") -> GenerateOptions {
        var o = GenerateOptions(weights: Self.model, outputDirectory: out)
        o.prompt = prompt
        o.views = 2
        o.frames = 2
        o.meshResolution = 16
        o.meshPad = 0
        o.seed = 9
        return o
    }

    func run(_ o: GenerateOptions, log: ((String) -> Void)? = nil) throws -> GeneratePipeline.Result {
        let p = GeneratePipeline(options: o)
        if let log { p.log = log }
        return try p.run()
    }

    func bytes(_ dir: String, _ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name)) }

    // MARK: The folder

    func testModelFolderRoundTripsAndIsFound() throws {
        let m = try ShippedModel(folder: Self.model)
        XCTAssertEqual(m.manifest.description, "tiny random test model")
        XCTAssertEqual(m.generator.conditioningConfig.textDim, 8)
        XCTAssertGreaterThan(m.manifest.sizes["generator"] ?? 0, 1000)
        XCTAssertGreaterThan(m.manifest.sizes["tokenizer"] ?? 0, 100)
        // Search order: the environment variable, ./Weights/dreamportrait, then the executable's parents.
        let root = temporaryPath("checkout")
        let weights = root + "/Weights/dreamportrait"
        try FileManager.default.createDirectory(atPath: root + "/Weights", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.model, toPath: weights)
        defer { try? FileManager.default.removeItem(atPath: root) }
        XCTAssertEqual(try ShippedModel.locate(environment: [:], currentDirectory: "/", executable: root + "/.build/debug/dreamportrait"), weights)
        XCTAssertEqual(try ShippedModel.locate(environment: [:], currentDirectory: root, executable: "/usr/bin/x"), weights)
        XCTAssertEqual(try ShippedModel.locate(environment: ["DREAMPORTRAIT_MODEL": Self.model], currentDirectory: root, executable: ""), Self.model)
        XCTAssertThrowsError(try ShippedModel.locate(environment: ["DREAMPORTRAIT_MODEL": "/nonexistent"], currentDirectory: root, executable: "")) {
            XCTAssertEqual("\($0)", "/nonexistent: $DREAMPORTRAIT_MODEL does not name a model folder (no model.json in it)")
        }
        XCTAssertThrowsError(try ShippedModel.locate(environment: [:], currentDirectory: "/tmp", executable: "/usr/bin/x")) {
            let m = "\($0)"
            for needle in ["no shipped model found", "/tmp/Weights/dreamportrait", "/usr/Weights/dreamportrait", "Scripts/train_default.sh", "--weights"] {
                XCTAssertTrue(m.contains(needle), "\(needle) not in: \(m)")
            }
        }
        // F16 storage loads, and the portrait is close to the F32 one.
        let half = temporaryPath("half-model")
        try ShippedModel.write(folder: half, generator: m.generator, textEncoder: m.text.textEncoder, tokenizer: m.text.tokenizer,
                               manifest: m.manifest, dtype: .F16)
        defer { try? FileManager.default.removeItem(atPath: half) }
        let h = try ShippedModel(folder: half)
        XCTAssertLessThan(Double(h.manifest.sizes["generator"]!), 0.6 * Double(m.manifest.sizes["generator"]!))
        let a = m.generator.stateDict(), b = h.generator.stateDict()
        for (k, t) in a { _ = assertClose(b[k]!, t, tol: 1e-3, "\(k)") }
    }

    func testShipFromATrainingSnapshot() throws {
        let m = try ShippedModel(folder: Self.model)
        let teacher = temporaryPath("ship-teacher"), out = temporaryPath("ship-out"), snap = temporaryPath("snapshot") + ".safetensors"
        defer { for p in [teacher, out, snap] { try? FileManager.default.removeItem(atPath: p) } }
        try FileManager.default.createDirectory(atPath: teacher, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.model + "/tokenizer", toPath: teacher + "/tokenizer")
        // A training snapshot: G (zeros here) and G_ema; the export must take G_ema.
        var t: [String: Tensor] = [:]
        for (k, v) in m.generator.stateDict() { t["G_ema." + k] = v; t["G." + k] = v * 0 }
        try saveSafeTensors(t, metadata: try m.generator.checkpointMetadata(), to: snap)
        XCTAssertThrowsError(try ShippedModel.export(checkpoint: snap, teacher: teacher, out: out, description: "x")) {
            XCTAssertEqual("\($0)", "\(teacher)/text_encoder: is missing (--teacher: the pipeline folder whose text stack trained the generator)")
        }
        try FileManager.default.copyItem(atPath: Self.model + "/text_encoder", toPath: teacher + "/text_encoder")
        let s = try ShippedModel.export(checkpoint: snap, teacher: teacher, out: out, description: "shipped from a snapshot", training: ["stage": "2"])
        XCTAssertEqual(s.manifest.training["generator_dtype"], "F16")
        XCTAssertEqual(s.manifest.training["stage"], "2")
        let a = m.generator.stateDict(), b = s.generator.stateDict()
        for (k, v) in a { _ = assertClose(b[k]!, v, tol: 1e-3, "\(k) (G_ema, F16)") }
    }

    func testBrokenFoldersNameWhatIsMissing() throws {
        let broken = temporaryPath("broken-model")
        try FileManager.default.copyItem(atPath: Self.model, toPath: broken)
        defer { try? FileManager.default.removeItem(atPath: broken) }
        try FileManager.default.removeItem(atPath: broken + "/text_encoder")
        XCTAssertThrowsError(try GenerateModel(weights: broken)) {
            XCTAssertTrue("\($0)".hasPrefix("\(broken)/text_encoder: is missing (the text encoder folder named in model.json)"), "\($0)")
        }
        let manifest = broken + "/model.json"
        let original = try String(contentsOfFile: manifest, encoding: .utf8)
        try original.replacingOccurrences(of: "\"dreamportrait-model\"", with: "\"something-else\"").write(toFile: manifest, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try GenerateModel(weights: broken)) {
            XCTAssertEqual("\($0)", "\(manifest): format is \"something-else\", expected \"dreamportrait-model\"")
        }
        try "not json".write(toFile: manifest, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try GenerateModel(weights: broken)) { XCTAssertTrue("\($0)".hasPrefix("\(manifest): is not a model manifest"), "\($0)") }
        // --interpolate-to, like --mix, needs text conditioning.
        var u = ExportTestSupport.options(out: temporaryPath("interp-uncond"), views: 1, frames: 0, mesh: false)
        u.interpolateToPrompt = "a man"
        XCTAssertThrowsError(try GeneratePipeline(options: u).run()) {
            XCTAssertEqual("\($0)", "--interpolate-to needs a text-conditioned model, but \(ExportTestSupport.tiny.path) is an unconditional generator")
        }
        try FileManager.default.removeItem(atPath: broken + "/model.json")
        XCTAssertThrowsError(try GenerateModel(weights: broken)) {
            XCTAssertEqual("\($0)", "\(broken): is a folder without model.json; --weights takes a .safetensors file or a model folder (Weights/dreamportrait)")
        }
        // The generator file alone cannot be used: it needs its text encoder.
        XCTAssertThrowsError(try GenerateModel(weights: Self.model + "/generator.safetensors")) {
            XCTAssertTrue("\($0)".contains("is a text-conditioned generator without its text encoder: pass the model folder"), "\($0)")
        }
    }

    // MARK: Prompts

    func testPromptMakesAPortraitDeterministically() throws {
        let a = temporaryPath("text-a"), b = temporaryPath("text-b"), c = temporaryPath("text-c")
        defer { for d in [a, b, c] { try? FileManager.default.removeItem(atPath: d) } }
        let r = try run(options(a))
        XCTAssertEqual(r.manifest.conditioning.mode, "text")
        XCTAssertEqual(r.manifest.conditioning.prompt, "a smiling woman with red hair")
        XCTAssertGreaterThanOrEqual(r.manifest.conditioning.tokens ?? 0, 6)
        XCTAssertTrue(r.manifest.checkpoint.path.hasSuffix("/generator.safetensors"))
        for f in ["view_00.png", "view_01.png", "depth_00.png", "orbit.gif", "triplane.safetensors", "manifest.json"] {
            XCTAssertTrue(r.files.contains(f), f)
        }
        _ = try run(options(b))
        for f in r.files where f != "manifest.json" { XCTAssertEqual(try bytes(a, f), try bytes(b, f), "\(f) differs for the same seed") }
        _ = try run(options(c, prompt: "an old man with grey hair and a hat"))
        XCTAssertNotEqual(try bytes(a, "view_00.png"), try bytes(c, "view_00.png"), "the prompt does not change the portrait")
    }

    func testEvalViewsAreAnEvalFolderOfThePrompt() throws {
        let a = temporaryPath("text-eval")
        defer { try? FileManager.default.removeItem(atPath: a) }
        var o = options(a)
        o.evalViews = true
        let r = try run(o)
        for f in ["eval/dataset.json", "eval/captions.json", "eval/00000/F.png", "eval/00000/L15.png", "eval/00000/R15.png"] {
            XCTAssertTrue(r.files.contains(f), f)
        }
        XCTAssertTrue(r.manifest.stages.map(\.name).contains("eval views"))
        // eval --images reads it: one sample, MSC's three views by their cameras, the prompt as its true caption.
        let folder = try EvalFolder(path: "\(a)/eval")
        XCTAssertEqual(folder.count, 1)
        XCTAssertEqual(folder.views, MSCView.allCases)
        XCTAssertEqual(folder.captions(0), ["a smiling woman with red hair"])
        XCTAssertNotEqual(try bytes(a, "eval/00000/F.png"), try bytes(a, "eval/00000/L15.png"), "the views are different cameras")
        let image = try PNG.decode(try bytes(a, "eval/00000/F.png"), name: "F.png")
        XCTAssertEqual([image.width, image.height], [Self.small.imgResolution, Self.small.imgResolution], "the super-resolved image")
    }

    func testMixingHasThePromptsAsEndpoints() throws {
        let dirs = (0..<4).map { temporaryPath("mix-\($0)") }
        defer { for d in dirs { try? FileManager.default.removeItem(atPath: d) } }
        let second = "a man with a beard and glasses"
        _ = try run(options(dirs[0]))
        _ = try run(options(dirs[1], prompt: second))
        var o = options(dirs[2]); o.mixPrompt = second; o.alpha = 0
        _ = try run(o)
        XCTAssertEqual(try bytes(dirs[2], "view_00.png"), try bytes(dirs[0], "view_00.png"), "α = 0 is the prompt alone")
        o.alpha = 1
        _ = try run(o)
        XCTAssertEqual(try bytes(dirs[2], "view_00.png"), try bytes(dirs[1], "view_00.png"), "α = 1 is the mix prompt alone")
        o = options(dirs[3]); o.mixPrompt = second; o.alpha = 0.5
        let r = try run(o)
        XCTAssertEqual(r.manifest.conditioning.mix, second)
        XCTAssertEqual(r.manifest.conditioning.alpha, 0.5)
        XCTAssertNotEqual(try bytes(dirs[3], "view_00.png"), try bytes(dirs[0], "view_00.png"))
        XCTAssertNotEqual(try bytes(dirs[3], "view_00.png"), try bytes(dirs[1], "view_00.png"))
        // The mix itself: t_EOT halfway, the union of the word slots.
        let enc = try GenerateModel(weights: Self.model).encoder!
        let ta = try enc.encode("a smiling woman with red hair"), tb = try enc.encode(second)
        let m = PromptEncoder.mix(ta, tb, alpha: 0.25)
        _ = assertClose(m.eot, ta.eot * 0.75 + tb.eot * 0.25, tol: 1e-6)
        XCTAssertEqual(m.wordCounts, [max(ta.wordCounts[0], tb.wordCounts[0])])
    }

    func testInterpolationGIFs() throws {
        let out = temporaryPath("interp")
        defer { try? FileManager.default.removeItem(atPath: out) }
        var o = options(out)
        o.views = 1; o.frames = 0; o.mesh = false
        o.interpolateToPrompt = "an old man with grey hair and a hat"
        o.interpolationFrames = 3
        var r = try run(o)
        var gif = try GIF.read(path: out + "/interpolation.gif")
        XCTAssertEqual(gif.frames.count, 3)
        XCTAssertEqual(r.manifest.interpolation?.between, "prompt")
        XCTAssertNotEqual(gif.frames[0].indices, gif.frames[2].indices)
        o.interpolateToPrompt = nil
        o.interpolateToSeed = 10
        r = try run(o)
        gif = try GIF.read(path: out + "/interpolation.gif")
        XCTAssertEqual(gif.frames.count, 3)
        XCTAssertEqual(r.manifest.interpolation?.between, "seed")
        XCTAssertEqual(r.manifest.interpolation?.to, "10")
    }

    /// `PromptEncoder` encodes only the tokens up to the end token (the encoder is causal): its conditioning equals
    /// `fromCLIP` of the whole padded 77-token row's states, for a short prompt, one cut at 75 tokens, and a prompt
    /// of unknown characters.
    func testPromptPrefixEncodingEqualsTheWholeRow() throws {
        let text = try CLIPTextEncoding(tokenizerFolder: Self.model + "/tokenizer", textEncoderFolder: Self.model + "/text_encoder")
        let encoder = PromptEncoder(text: text)
        let long = Array(repeating: "a smiling woman with red hair", count: 14).joined(separator: " and ")
        for prompt in ["a man", "an old man with grey hair and a hat", long, "笑顔の女性 🙂 qqqq"] {
            let fast = try encoder.encode(prompt)
            let whole = TextConditioning.fromCLIP(hiddenStates: try text.encode([prompt]), tokenIDs: text.tokenIDs([prompt]))
            XCTAssertEqual(fast.words.shape, [1, 75, 8], prompt)
            XCTAssertEqual(fast.mask.toArray(), whole.mask.toArray(), prompt)
            assertClose(fast.eot, whole.eot, tol: 1e-5, "t_EOT of \(prompt)")
            assertClose(fast.words, whole.words, tol: 1e-5, "word states of \(prompt)")
        }
    }

    func testHardPromptsGiveAPortraitAndEmptyOnesAnError() throws {
        let out = temporaryPath("hard")
        defer { try? FileManager.default.removeItem(atPath: out) }
        var notes: [String] = []
        let long = Array(repeating: "a smiling woman with red hair", count: 14).joined(separator: " and ")
        for prompt in [long, "une femme souriante aux cheveux roux, 笑顔の女性 🙂", "a zyxwvut qqqq with purple antlers",
                       "a bald man with long red hair, smiling and not smiling"] {
            var o = options(out, prompt: prompt)
            o.views = 1; o.frames = 0; o.mesh = false
            let r = try run(o, log: { notes.append($0) })
            XCTAssertTrue(r.files.contains("view_00.png"), prompt)
        }
        XCTAssertTrue(notes.contains { $0.hasPrefix("warning: --prompt is ") && $0.contains("only the first 75 are used") }, "\(notes)")
        var o = options(temporaryPath("empty"), prompt: "   ")
        o.mesh = false
        XCTAssertThrowsError(try run(o)) {
            XCTAssertEqual("\($0)", "--prompt: the prompt is empty; describe the portrait, e.g. --prompt \"a smiling woman with red hair\"")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: o.outputDirectory))
        o.prompt = nil
        XCTAssertThrowsError(try run(o)) {
            XCTAssertEqual("\($0)", "--prompt: \(Self.model) is a text-conditioned model; give --prompt TEXT (or --prompts FILE)")
        }
        o.prompt = "a man"; o.mixPrompt = ""
        XCTAssertThrowsError(try run(o)) { XCTAssertTrue("\($0)".hasPrefix("--mix: the prompt is empty"), "\($0)") }
        // --mix needs text conditioning.
        var u = ExportTestSupport.options(out: temporaryPath("mix-uncond"), views: 1, frames: 0, mesh: false)
        u.mixPrompt = "a man"
        XCTAssertThrowsError(try GeneratePipeline(options: u).run()) {
            XCTAssertEqual("\($0)", "--mix needs a text-conditioned model, but \(ExportTestSupport.tiny.path) is an unconditional generator")
        }
    }

    func testPromptListFileAndFolderNames() throws {
        XCTAssertEqual(PromptList.folderName(index: 0, prompt: "A smiling woman, red hair!"), "000-a-smiling-woman-red-hair")
        XCTAssertEqual(PromptList.folderName(index: 12, prompt: "笑顔の女性 🙂"), "012-prompt")
        XCTAssertEqual(PromptList.folderName(index: 3, prompt: "../../etc/passwd"), "003-etc-passwd")
        let long = PromptList.folderName(index: 1, prompt: String(repeating: "abc ", count: 40))
        XCTAssertEqual(long, "001-" + Array(repeating: "abc", count: 12).joined(separator: "-"), "at most 48 slug characters, no trailing -")
        let file = temporaryPath("prompts") + ".txt"
        try "# held-out prompts\na smiling woman\n\n  a man with glasses  \n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let p = try PromptList.read(path: file)
        XCTAssertEqual(p.map(\.line), [2, 4])
        XCTAssertEqual(p.map(\.prompt), ["a smiling woman", "a man with glasses"])
        try "# nothing\n\n".write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try PromptList.read(path: file)) {
            XCTAssertEqual("\($0)", "\(file): the --prompts file holds no prompt (one a line; # starts a comment)")
        }
    }

    func testBenchmarkReportsEveryStage() throws {
        let folder = temporaryPath("bench-model")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let r = try GenerateBenchmark.run(config: Self.small, textConfig: { tok in
            var c = GenerateBenchmark.worldTextConfig(tokenizer: tok)
            c.hiddenSize = 8; c.intermediateSize = 16; c.numHiddenLayers = 1; c.numAttentionHeads = 2; c.projectionDim = 8
            return c
        }, folder: folder, runs: 1) { o in o.views = 2; o.frames = 2; o.meshResolution = 16 }
        XCTAssertEqual(r.stages.map(\.name), ["load", "text", "mapping", "planes", "mesh", "views", "orbit", "export"])
        XCTAssertEqual(r.parts.map(\.name), ["text", "mapping", "planes", "render"])
        XCTAssertGreaterThan(r.forwardBest, 0)
        XCTAssertEqual(r.totalSeconds, r.stages.reduce(0) { $0 + $1.seconds }, accuracy: 1e-12)
        XCTAssertEqual(GenerateBenchmark.world128.planeResolution, 64)
        XCTAssertEqual(GenerateBenchmark.world128.neuralRenderingResolution, 32)
    }

    // MARK: The mesh

    func testMeshWithoutSurfaceIsSkipped() throws {
        let out = temporaryPath("no-surface")
        defer { try? FileManager.default.removeItem(atPath: out) }
        var notes: [String] = []
        let o = ExportTestSupport.options(out: out, views: 1, frames: 0, mesh: true, threshold: 1e9)
        let r = try run(o, log: { notes.append($0) })
        let (lo, hi) = GeneratePipelineTests.densityRange
        let why = "\(NoSurfaceError(threshold: 1e9, minimum: lo, maximum: hi))"
        XCTAssertTrue(why.hasPrefix("no surface at σ = 1e+09: the density ranges from"))
        XCTAssertEqual(r.manifest.meshSkipped, why)
        XCTAssertNil(r.manifest.mesh)
        XCTAssertEqual(ExportTestSupport.files(out), ["depth_00.png", "manifest.json", "triplane.safetensors", "view_00.png"])
        XCTAssertTrue(notes.contains("note: mesh skipped (every other output is written): " + why), "\(notes)")
    }
}
