// Strict loading of a diffusers unet/ folder: a missing, unexpected or mis-shaped tensor is named by its full key
// path, a missing config.json or weight file by its path, an unsupported option by its config key; a saved model
// loads back unchanged.
import Foundation
import XCTest
@testable import Teacher
@testable import TensorCore

final class UNetLoadingTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("unet-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: teacherFixturePath("unet_tiny/config.json"), toPath: dir + "/config.json")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func fixtureWeights() throws -> [String: Tensor] {
        try ModelFolder(path: teacherFixturePath("unet_tiny")).weights().mapValues { leaf($0) }
    }

    func writeWeights(_ w: [String: Tensor]) throws {
        try saveSafeTensors(w, to: dir + "/diffusion_pytorch_model.safetensors")
    }

    func assertLoadFails(_ needles: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try UNet2DConditionModel(path: dir), file: file, line: line) { e in
            let s = "\(e)"
            for n in needles { XCTAssertTrue(s.contains(n), "error does not mention \(n): \(s)", file: file, line: line) }
        }
    }

    func testMissingKeyNamedByFullPath() throws {
        var w = try fixtureWeights()
        w["down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight"] = nil
        try writeWeights(w)
        assertLoadFails(["diffusion_pytorch_model.safetensors", "1 missing key", "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight"])
    }

    func testUnexpectedKeyNamedByFullPath() throws {
        var w = try fixtureWeights()
        w["up_blocks.1.attentions.0.extra.weight"] = Tensor.zeros([3])
        try writeWeights(w)
        assertLoadFails(["1 unexpected key", "up_blocks.1.attentions.0.extra.weight"])
    }

    func testWrongShapeNamedByFullPath() throws {
        var w = try fixtureWeights()
        w["time_embedding.linear_2.weight"] = Tensor.zeros([128, 127])
        try writeWeights(w)
        assertLoadFails(["shape mismatch", "time_embedding.linear_2.weight expected [128, 128] got [128, 127]"])
        // A tensor that pins a config size is reported against config.json before the model is built, with the
        // field and both shapes.
        w = try fixtureWeights()
        w["time_embedding.linear_1.weight"] = Tensor.zeros([128, 31])
        try writeWeights(w)
        assertLoadFails([dir + "/config.json", "block_out_channels[0] = 32 (time embedding 4 × that) does not fit the weights",
                         "\"time_embedding.linear_1.weight\" is [128, 31] in diffusion_pytorch_model.safetensors, the config needs [128, 32]"])
    }

    func testMissingConfigAndWeightsNamed() throws {
        assertLoadFails(["no weights", "diffusion_pytorch_model.safetensors", dir])
        XCTAssertThrowsError(try ModelFolder(path: dir).component("unet")) { e in
            XCTAssertTrue("\(e)".contains("missing component folder 'unet'"), "\(e)")
        }
        try FileManager.default.removeItem(atPath: dir + "/config.json")
        assertLoadFails(["config.json", "missing"])
    }

    func testBadAndUnsupportedConfigNamed() throws {
        try writeWeights(try fixtureWeights())
        func setConfig(_ edit: (inout [String: Any]) -> Void) throws {
            let url = URL(fileURLWithPath: teacherFixturePath("unet_tiny/config.json"))
            var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
            edit(&json)
            try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: dir + "/config.json"))
        }
        try setConfig { $0["block_out_channels"] = [32, "x"] }
        assertLoadFails(["config.json", "block_out_channels[1]"])
        try setConfig { $0["down_block_types"] = ["CrossAttnDownBlock2D", "SimpleCrossAttnDownBlock2D"] }
        assertLoadFails(["config.json", "down block type \"SimpleCrossAttnDownBlock2D\" is not supported"])
        try setConfig { $0["class_embed_type"] = "timestep" }
        assertLoadFails(["class_embed_type = timestep is not supported"])
        try setConfig { $0["dual_cross_attention"] = true }
        assertLoadFails(["dual_cross_attention"])
        try setConfig { $0["attention_head_dim"] = [2, 4, 8] }
        assertLoadFails(["attention_head_dim has 3 entries"])
        try setConfig { $0["act_fn"] = "softsign" }
        assertLoadFails(["act_fn \"softsign\" is not supported"])
    }

    func testDefaultsAndSD2Config() throws {
        let c = try JSONDecoder().decode(UNet2DConditionConfig.self, from: Data("{}".utf8))
        XCTAssertEqual(c, UNet2DConditionConfig())
        XCTAssertEqual(c.crossAttentionDim, .one(1280))
        // Stable Diffusion 2.0-base's unet/config.json as published.
        let sd2 = #"""
        {"_class_name": "UNet2DConditionModel", "_diffusers_version": "0.8.0", "act_fn": "silu",
         "attention_head_dim": [5, 10, 20, 20], "block_out_channels": [320, 640, 1280, 1280], "center_input_sample": false,
         "cross_attention_dim": 1024, "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
         "downsample_padding": 1, "dual_cross_attention": false, "flip_sin_to_cos": true, "freq_shift": 0, "in_channels": 4,
         "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32, "out_channels": 4,
         "sample_size": 64, "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
         "use_linear_projection": true}
        """#
        let parsed = try JSONDecoder().decode(UNet2DConditionConfig.self, from: Data(sd2.utf8))
        XCTAssertEqual(parsed, UNet2DConditionConfig.sd2Base)
        let l = try parsed.layout()
        XCTAssertEqual(l.heads, [5, 10, 20, 20])
        XCTAssertEqual(l.crossAttentionDims, [1024, 1024, 1024, 1024])
    }

    /// Our own teacher saves in the diffusers layout and loads back with identical weights and outputs.
    func testSaveLoadRoundTrip() throws {
        var config = try ModelFolder(path: teacherFixturePath("unet_tiny_sd1")).config(UNet2DConditionConfig.self)
        config.sampleSize = 8
        let model = try UNet2DConditionModel(config: config, rng: RandomGenerator(seed: 5))
        try FileManager.default.removeItem(atPath: dir + "/config.json")
        try model.save(folder: dir)
        let back = try UNet2DConditionModel(path: dir)
        XCTAssertEqual(back.config, config)
        let a = model.stateDict(), b = back.stateDict()
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        for (k, t) in a { XCTAssertEqual(t.toArray(), b[k]!.toArray(), k) }
        let x = RandomGenerator(seed: 1).normal([1, 4, 8, 8]), text = RandomGenerator(seed: 2).normal([1, 3, 24])
        withNoGrad {
            XCTAssertEqual(model(x, timestep: 500, encoderHiddenStates: text).toArray(),
                           back(x, timestep: 500, encoderHiddenStates: text).toArray())
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/config.json"))) as! [String: Any]
        XCTAssertEqual(json["_class_name"] as? String, "UNet2DConditionModel")
    }

    /// Key names follow diffusers' state_dict exactly (a few spot checks of the nesting).
    func testKeyNames() throws {
        let model = try UNet2DConditionModel(path: teacherFixturePath("unet_tiny"))
        let keys = Set(model.stateDict().keys)
        for k in ["conv_in.weight", "time_embedding.linear_1.weight", "time_embedding.linear_2.bias",
                  "down_blocks.0.attentions.0.proj_in.weight", "down_blocks.0.attentions.0.transformer_blocks.0.ff.net.0.proj.weight",
                  "down_blocks.0.attentions.0.transformer_blocks.0.ff.net.2.bias", "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0.weight",
                  "down_blocks.0.downsamplers.0.conv.weight", "mid_block.resnets.1.time_emb_proj.weight", "mid_block.attentions.0.norm.bias",
                  "up_blocks.0.upsamplers.0.conv.weight", "up_blocks.0.resnets.0.conv_shortcut.weight", "conv_norm_out.weight", "conv_out.bias"] {
            XCTAssertTrue(keys.contains(k), k)
        }
        XCTAssertFalse(keys.contains("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.bias"))
    }
}
