// CLIP image preprocessing against torch's antialiased bicubic/bilinear interpolate + centre crop + CLIP
// normalisation (float reference, <= 1e-5), and against transformers' CLIPImageProcessor on the same images as
// uint8 (which saturates and rounds after each resize pass): within one grey level.
import Foundation
import XCTest
@testable import Teacher
@testable import TensorCore
import TestSupport

final class CLIPImageProcessorTests: XCTestCase {
    func testMatchesTorchAndTransformers() throws {
        let f = try SafeTensorsFile(path: clipFixturePath("image_processor.safetensors"))
        for name in ["down", "up", "tall"] {
            let image = try f.tensor("\(name).image")
            for (mode, resample) in [("bicubic", CLIPImageProcessor.Resample.bicubic), ("bilinear", .bilinear)] {
                var p = CLIPImageProcessor()
                p.shortestEdge = 24; p.cropHeight = 24; p.cropWidth = 24; p.resample = resample; p.clampAfterResize = false
                let err = assertClose(p(image), try f.tensor("\(name).\(mode)"), tol: 1e-5, "\(name) \(mode)")
                print("CLIP image processor \(name) \(mode) vs torch interpolate: relative error \(String(format: "%.2e", err))")
            }
            let hf = try f.tensor("\(name).transformers")
            for round in [false, true] {
                var p = CLIPImageProcessor()
                p.shortestEdge = 24; p.cropHeight = 24; p.cropWidth = 24; p.roundToUInt8 = round
                let diff = zip(p(image).toArray(), hf.toArray()).map { Swift.abs($0 - $1) }.max()!
                // One grey level over the smallest std (0.2613).
                XCTAssertLessThan(diff, 1.01 / 255 / 0.2613, "\(name) vs transformers' uint8 processor")
                print("CLIP image processor \(name) vs transformers (uint8), roundToUInt8 \(round): max abs difference \(diff) (\(diff * 0.2613 * 255) grey levels)")
            }
        }
    }

    func testGradientFlowsAndConfig() throws {
        let img = Tensor((0..<(3 * 30 * 40)).map { Float($0 % 17) / 16 }, shape: [1, 3, 30, 40], requiresGrad: true)
        var p = CLIPImageProcessor()
        p.shortestEdge = 16; p.cropHeight = 16; p.cropWidth = 16
        XCTAssertEqual(p.resizedSize(height: 30, width: 40).0, 16)
        XCTAssertEqual(p.resizedSize(height: 30, width: 40).1, 21)
        let g = gradients(of: p(img).sum(), wrt: [img])[0]
        XCTAssertEqual(g.shape, img.shape)
        XCTAssertGreaterThan(g.abs().sum().item(), 0)
        let dir = try temporaryFolder("clip")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertThrowsError(try CLIPImageProcessor(folder: dir)) { XCTAssertTrue("\($0)".contains("preprocessor_config.json"), "\($0)") }
        try Data(#"{"crop_size": {"height": 336, "width": 336}, "size": {"shortest_edge": 336}, "resample": 3, "image_mean": [0.5, 0.5, 0.5], "image_std": 0.5}"#.utf8)
            .write(to: URL(fileURLWithPath: dir + "/preprocessor_config.json"))
        let q = try CLIPImageProcessor(folder: dir)
        XCTAssertEqual([q.shortestEdge, q.cropHeight, q.cropWidth], [336, 336, 336])
        XCTAssertEqual(q.imageStd, [0.5, 0.5, 0.5])
        try Data(#"{"resample": 1}"#.utf8).write(to: URL(fileURLWithPath: dir + "/preprocessor_config.json"))
        XCTAssertThrowsError(try CLIPImageProcessor(folder: dir)) { XCTAssertTrue("\($0)".contains("resample 1"), "\($0)") }
    }
}
