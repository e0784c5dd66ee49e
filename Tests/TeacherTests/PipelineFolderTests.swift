// Pipeline folders in diffusers layout: a VAE + scheduler save -> load round trip, model_index.json validation,
// loadPipeline naming each missing file, and the StableDiffusionPipeline wiring run end to end on stand-in
// components.
import Foundation
import XCTest
@testable import Teacher
@testable import TensorCore
import TestSupport

/// Text states looked up by prompt (the parity fixture's conditional and negative-prompt states).
final class FixedTextEncoding: TextEncoding {
    let table: [String: Tensor]
    init(_ table: [String: Tensor]) { self.table = table }
    func encode(_ prompts: [String]) throws -> Tensor {
        Tensor.concat(try prompts.map { p in
            guard let t = table[p] else { throw FileError(path: "<test>", message: "no states for prompt \"\(p)\"") }
            return t
        }, axis: 0)
    }
}

final class PipelineFolderTests: XCTestCase {
    static func tinyConfig() -> AutoencoderKLConfig {
        var c = AutoencoderKLConfig()
        c.blockOutChannels = [8, 16]
        c.downBlockTypes = ["DownEncoderBlock2D", "DownEncoderBlock2D"]
        c.upBlockTypes = ["UpDecoderBlock2D", "UpDecoderBlock2D"]
        c.normNumGroups = 4
        c.scalingFactor = 0.5
        return c
    }

    func testSaveLoadRoundTrip() throws {
        let dir = try temporaryFolder("pipe")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let vae = try AutoencoderKL(config: PipelineFolderTests.tinyConfig(), rng: RandomGenerator(seed: 3))
        var w = try PipelineWriter(path: dir)
        try w.write(vae: vae)
        try w.write(scheduler: .stableDiffusion2)
        let folder = try PipelineFolder(path: dir)
        XCTAssertEqual(folder.className, "StableDiffusionPipeline")
        try folder.validate(["vae", "scheduler"])
        XCTAssertEqual(folder.components["vae"]?.className, "AutoencoderKL")
        XCTAssertEqual(folder.components["scheduler"]?.className, "DDIMScheduler")
        let loaded = try folder.vae()
        XCTAssertEqual(loaded.config, vae.config)
        let a = vae.stateDict(), b = loaded.stateDict()
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        for (k, t) in a { XCTAssertEqual(b[k]!.toArray(), t.toArray(), k) }
        var expected = SchedulerConfig.stableDiffusion2
        expected.className = "DDIMScheduler"
        XCTAssertEqual(try folder.schedulerConfig(), expected)
        let s = try folder.scheduler()
        XCTAssertEqual(s.finalAlphaCumprod, s.schedule.alphasCumprod[0])
        // The saved config is what diffusers writes: _class_name and snake_case keys.
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/vae/config.json"))) as! [String: Any]
        XCTAssertEqual(json["_class_name"] as? String, "AutoencoderKL")
        XCTAssertEqual(json["block_out_channels"] as? [Int], [8, 16])
        XCTAssertEqual(json["scaling_factor"] as? Double, 0.5)
        let x = RandomGenerator(seed: 4).uniform([1, 3, 8, 8], low: -1, high: 1)
        withNoGrad { XCTAssertEqual(loaded.encode(x).mean.toArray(), vae.encode(x).mean.toArray()) }
    }

    func testModelIndexValidation() throws {
        let dir = try temporaryFolder("pipeidx")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertThrowsError(try loadPipeline(folder: dir)) { XCTAssertTrue("\($0)".contains("model_index.json") && "\($0)".contains("missing"), "\($0)") }
        XCTAssertThrowsError(try loadPipeline(folder: dir + "/nope")) { XCTAssertTrue("\($0)".contains("no such folder"), "\($0)") }
        func index(_ s: String) throws { try Data(s.utf8).write(to: URL(fileURLWithPath: dir + "/model_index.json")) }
        try index(#"{"_class_name": "StableDiffusionPipeline", "vae": ["diffusers", "AutoencoderKL"]}"#)
        XCTAssertThrowsError(try loadPipeline(folder: dir)) { XCTAssertTrue("\($0)".contains("missing component \"unet\""), "\($0)") }
        try index(sd2Index.replacingOccurrences(of: "\"UNet2DConditionModel\"", with: "\"UNet2DModel\""))
        XCTAssertThrowsError(try loadPipeline(folder: dir)) { XCTAssertTrue("\($0)".contains("\"unet\" is UNet2DModel, expected UNet2DConditionModel"), "\($0)") }
        try index(sd2Index)
        XCTAssertThrowsError(try loadPipeline(folder: dir)) { XCTAssertTrue("\($0)".contains("scheduler/scheduler_config.json: missing"), "\($0)") }
    }

    /// stabilityai/stable-diffusion-2-base model_index.json.
    let sd2Index = #"""
    {"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.10.0.dev0",
     "feature_extractor": ["transformers", "CLIPImageProcessor"], "requires_safety_checker": false,
     "safety_checker": [null, null], "scheduler": ["diffusers", "PNDMScheduler"],
     "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
     "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}
    """#

    /// Each missing file is named in turn, before anything is built; then components that do not fit together.
    func testLoadPipelineNamesMissingFiles() throws {
        let dir = try temporaryFolder("pipefull")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var w = try PipelineWriter(path: dir)
        try w.write(vae: try AutoencoderKL(config: PipelineFolderTests.tinyConfig()))
        try w.write(scheduler: .stableDiffusion2)
        try Data(sd2Index.utf8).write(to: URL(fileURLWithPath: dir + "/model_index.json"))
        XCTAssertThrowsError(try loadPipeline(folder: dir)) { XCTAssertTrue("\($0)".contains("/unet: no such folder"), "\($0)") }
        for c in ["unet", "text_encoder", "tokenizer"] { try FileManager.default.createDirectory(atPath: dir + "/" + c, withIntermediateDirectories: true) }
        XCTAssertThrowsError(try loadPipeline(folder: dir)) { XCTAssertTrue("\($0)".contains("unet/config.json: missing"), "\($0)") }
        try Data("{}".utf8).write(to: URL(fileURLWithPath: dir + "/unet/config.json"))
        XCTAssertThrowsError(try loadPipeline(folder: dir)) { XCTAssertTrue("\($0)".contains("unet/diffusion_pytorch_model.safetensors: missing"), "\($0)") }
        try saveSafeTensors(["x": Tensor.zeros([1])], to: dir + "/unet/diffusion_pytorch_model.safetensors")
        try Data("{}".utf8).write(to: URL(fileURLWithPath: dir + "/text_encoder/config.json"))
        XCTAssertThrowsError(try loadPipeline(folder: dir)) { XCTAssertTrue("\($0)".contains("text_encoder/model.safetensors: missing"), "\($0)") }
        try saveSafeTensors(["x": Tensor.zeros([1])], to: dir + "/text_encoder/model.safetensors")
        XCTAssertThrowsError(try loadPipeline(folder: dir)) { XCTAssertTrue("\($0)".contains("tokenizer/vocab.json: missing"), "\($0)") }
        try Data("{}".utf8).write(to: URL(fileURLWithPath: dir + "/tokenizer/vocab.json"))
        try Data("#version: 0.2\n".utf8).write(to: URL(fileURLWithPath: dir + "/tokenizer/merges.txt"))
        // "{}" configs are diffusers' / transformers' defaults: a 1280-wide cross-attention against a 512-wide text encoder.
        XCTAssertThrowsError(try loadPipeline(folder: dir)) {
            XCTAssertTrue("\($0)".contains("unet/config.json: cross_attention_dim 1280 does not match text_encoder/config.json hidden_size 512"), "\($0)")
        }
    }

    /// The whole pipeline on stand-ins: its latents are diffusers' guided DDIM loop (fixture), and its image is
    /// the VAE's decoding of them mapped to [0, 1].
    func testStableDiffusionPipelineWiring() throws {
        let f = try teacherFixture("scheduler.safetensors")
        let vae = try AutoencoderKL.load(folder: teacherFixturesDir.appendingPathComponent("vae_tiny").path)
        let cond = try f.tensor("loop.cond"), uncond = try f.tensor("loop.uncond")
        let text = FixedTextEncoding(["a": cond.slice(axis: 0, start: 0, end: 1), "b": cond.slice(axis: 0, start: 1, end: 2),
                                      "not a": uncond.slice(axis: 0, start: 0, end: 1), "not b": uncond.slice(axis: 0, start: 1, end: 2)])
        let config = try JSONDecoder().decode(SchedulerConfig.self, from: Data(f.metadata["config.sd2"]!.utf8))
        let pipe = StableDiffusionPipeline(unet: StandInPredictor(w: try f.tensor("loop.w")), textEncoder: text, vae: vae,
                                           scheduler: try DDIMScheduler(config: config))
        var steps = 0
        let images = try pipe(prompts: ["a", "b"], negativePrompts: ["not a", "not b"], height: 16, width: 16, steps: 10,
                              guidanceScale: 7.5, latents: try f.tensor("loop.latents"), progress: { i, _ in steps = i })
        XCTAssertEqual(steps, 10)
        let expected = withNoGrad { (vae.decodeLatents(try! f.tensor("loop.sd2_cfg.out")) * 0.5 + 0.5).clamp(min: 0, max: 1) }
        assertClose(images, expected, tol: 1e-4, "pipeline image")
        XCTAssertEqual(images.shape, [2, 3, 16, 16])
        // Seeded: reproducible, and a different seed gives a different image.
        let p1 = try pipe(prompts: ["a"], height: 16, width: 16, steps: 2, guidanceScale: 1, seed: 5)
        let p2 = try pipe(prompts: ["a"], height: 16, width: 16, steps: 2, guidanceScale: 1, seed: 5)
        let p3 = try pipe(prompts: ["a"], height: 16, width: 16, steps: 2, guidanceScale: 1, seed: 6)
        XCTAssertEqual(p1.toArray(), p2.toArray())
        XCTAssertNotEqual(p1.toArray(), p3.toArray())
        XCTAssertThrowsError(try pipe(prompts: ["a"], height: 16, width: 16, steps: 2, guidanceScale: 7.5)) {
            XCTAssertTrue("\($0)".contains("no states for prompt \"\""), "\($0)")   // the default negative prompt is ""
        }
    }
}
