// TriPlaneConfig: presets, derived sizes, JSON with EG3D's key names, validation.
import Foundation
import XCTest
import TensorCore
@testable import TriPlaneGAN
import TestSupport

final class TriPlaneConfigTests: XCTestCase {
    func testPresetsDerivedSizes() throws {
        let f = TriPlaneConfig.ffhq512
        try f.validate()
        XCTAssertEqual(f.blockResolutions, [4, 8, 16, 32, 64, 128, 256])
        XCTAssertEqual(f.numWs, 14)
        XCTAssertEqual([4, 64, 128, 256].map(f.channels(at:)), [512, 512, 256, 128])
        XCTAssertEqual(f.backboneChannels, 96)
        XCTAssertEqual(f.superresolution, .hybrid8XDC)
        XCTAssertEqual(f.srChannels, [256, 128])
        XCTAssertEqual(f.srConvClamp, 256)
        XCTAssertNil(f.convClamp)
        XCTAssertEqual(f.resolvedCmapDim, 512)
        XCTAssertEqual(f.rendering.depthResolution, 48)
        XCTAssertEqual(f.neuralRenderingResolution, 128)

        let t = TriPlaneConfig.tiny128
        try t.validate()
        XCTAssertEqual(t.superresolution, .hybrid2X)
        XCTAssertEqual(t.srChannels, [128, 64])
        XCTAssertEqual([4, 32, 64, 256].map(t.channels(at:)), [64, 64, 32, 8])
        XCTAssertEqual(t.resolvedCmapDim, 64)
        XCTAssertEqual(t.mbstdGroupSize, 2)
        XCTAssertEqual(t.numWs, 14)
    }

    func testJSONRoundTripWithEG3DKeys() throws {
        for c in [TriPlaneConfig.ffhq512, .tiny128] {
            let json = try c.jsonString()
            XCTAssertEqual(try TriPlaneConfig(json: json), c)
            let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
            for key in ["z_dim", "w_dim", "c_dim", "img_resolution", "channel_base", "channel_max", "mapping_kwargs",
                        "sr_num_fp16_res", "rendering_kwargs", "d_channel_base", "mbstd_group_size", "d_mapping_layers"] {
                XCTAssertNotNil(object[key], "missing key \(key)")
            }
            let rendering = object["rendering_kwargs"] as! [String: Any]
            XCTAssertEqual(rendering["superresolution_module"] as? String, c.superresolution.rawValue)
            XCTAssertEqual(rendering["depth_resolution_importance"] as? Int, c.rendering.depthResolutionImportance)
        }
    }

    /// The golden fixture's rendering_kwargs (as the official code stored them) decode to the tiny preset's.
    func testFixtureRenderingKwargsDecode() throws {
        let file = try fixture("eg3d/tiny128.safetensors")
        let json = try XCTUnwrap(file.metadata["rendering_kwargs"])
        let r = try JSONDecoder().decode(RenderingOptions.self, from: Data(json.utf8))
        XCTAssertEqual(r, TriPlaneConfig.tiny128.rendering)
    }

    /// EG3D's own init_kwargs (plus its rendering_kwargs) decode; the keys it lacks take FFHQ's values.
    func testDecodesOfficialInitKwargs() throws {
        let rendering = String(decoding: try JSONEncoder().encode(RenderingOptions.ffhq()), as: UTF8.self)
        let json = """
        {"z_dim": 512, "w_dim": 512, "c_dim": 25, "img_resolution": 512, "img_channels": 3, "sr_num_fp16_res": 4,
         "mapping_kwargs": {"num_layers": 2}, "rendering_kwargs": \(rendering), "channel_base": 32768,
         "channel_max": 512, "fused_modconv_default": "inference_only", "num_fp16_res": 0, "conv_clamp": null,
         "sr_kwargs": {"channel_base": 32768, "channel_max": 512, "fused_modconv_default": "inference_only"}}
        """
        var c = try TriPlaneConfig(json: json)
        XCTAssertEqual(c.neuralRenderingResolution, 64, "TriPlaneGenerator's default attribute")
        c.neuralRenderingResolution = 128
        XCTAssertEqual(c, .ffhq512)
    }

    func testValidationNamesEveryProblem() {
        var c = TriPlaneConfig.ffhq512
        c.imgResolution = 256
        c.planeResolution = 100
        XCTAssertThrowsError(try c.validate()) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("img_resolution 256"), text)
            XCTAssertTrue(text.contains("plane_resolution 100"), text)
        }
    }

    /// Values a checkpoint's metadata or a training config could carry that used to trap later (issue 15): a
    /// zero plane resolution (division by zero in validate itself), a negative clamp (bias_act), a renderer
    /// option the ray marcher refuses (fatalError at the first render), discriminator sizes its init refuses,
    /// and absurd widths (allocations) are now named by validate().
    func testValidationCatchesWhatUsedToTrap() {
        func problems(_ edit: (inout TriPlaneConfig) -> Void) -> String {
            var c = TriPlaneConfig.tiny128
            edit(&c)
            do { try c.validate(); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(problems { $0.planeResolution = 0 }.contains("plane_resolution 0 must be a power of two >= 4"))
        XCTAssertTrue(problems { $0.convClamp = -1 }.contains("conv_clamp = -1.0 must be a non-negative number or null"))
        XCTAssertTrue(problems { $0.rendering.clampMode = "relu" }.contains("clamp_mode 'relu' is not supported"))
        XCTAssertTrue(problems { $0.dChannelBase = 64 }.contains("d_channel_base 64 gives no discriminator channels at 128²"))
        XCTAssertTrue(problems { $0.mbstdNumChannels = 3 }.contains("mbstd_num_channels 3 does not divide the discriminator's 64 channels at 4²"))
        XCTAssertTrue(problems { $0.wDim = 1_000_000_000_000 }.contains("w_dim = 1000000000000 must be in 1...8192"))
        XCTAssertTrue(problems { $0.cmapDim = 0 }.contains("cmap_dim = 0 must be in 1...8192"))
        XCTAssertTrue(problems { $0.imgChannels = 1 }.contains("img_channels = 1 must be in 3...3"), "the generator makes RGB")
        XCTAssertEqual(problems { $0.mbstdNumChannels = 0 }, "", "mbstd off is allowed")
        XCTAssertEqual(problems { _ in }, "")
    }
}
