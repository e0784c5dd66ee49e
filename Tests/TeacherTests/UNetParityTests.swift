// UNet2DConditionModel against diffusers: tiny random-weight U-Nets (SD2-style with linear projections, per-block
// heads and a padded-text mask; SD1-style with conv projections and an odd latent size; fp16 weights) loaded from
// diffusers folders, forward within 1e-4 and the gradients D-SDS needs within 1e-3 (Scripts/make_teacher_fixtures.py).
import Foundation
import XCTest
@testable import Teacher
@testable import TensorCore
import TestSupport

final class UNetParityTests: XCTestCase {
    /// Loads `name` and compares the time embedding, the output and the input gradients with `<name>.io`.
    func checkParity(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let model = try UNet2DConditionModel(path: teacherFixturePath(name))
        model.setRequiresGrad(false)
        let io = try SafeTensorsFile(path: teacherFixturePath("\(name).io.safetensors"))
        let sample = leaf(try io.tensor("sample"), requiresGrad: true)
        let text = leaf(try io.tensor("encoder_hidden_states"), requiresGrad: true)
        let timestep = leaf(try io.tensor("timestep"))
        let mask = io.entries["encoder_attention_mask"] != nil ? leaf(try io.tensor("encoder_attention_mask")) : nil
        let temb = withNoGrad { model.timeEmbedding(timestep, batch: 2) }
        let eT = assertClose(temb, try io.tensor("temb"), tol: 1e-4, "\(name) time embedding", file: file, line: line)
        let out = model(sample, timestep: timestep, encoderHiddenStates: text, encoderAttentionMask: mask)
        let eF = assertClose(out, try io.tensor("out"), tol: 1e-4, "\(name) forward", file: file, line: line)
        let g = gradients(of: out, wrt: [sample, text], seed: leaf(try io.tensor("r")))
        let eS = assertClose(g[0], try io.tensor("grad_sample"), tol: 1e-3, "\(name) d/d sample", file: file, line: line)
        let eC = assertClose(g[1], try io.tensor("grad_encoder_hidden_states"), tol: 1e-3, "\(name) d/d text", file: file, line: line)
        print("\(name): relative error temb \(eT), forward \(eF), grad sample \(eS), grad text \(eC)")
    }

    func testSD2StyleTinyUNet() throws { try checkParity("unet_tiny") }
    func testSD1StyleTinyUNetOddSize() throws { try checkParity("unet_tiny_sd1") }
    func testFP16Weights() throws { try checkParity("unet_tiny_fp16") }

    /// The same with every 3×3 padding-1 convolution by Winograd's F(2×2, 3×3) (TensorCore's thresholds lowered), as
    /// at Stable Diffusion size.
    func testWinogradConvolutions() throws {
        let saved = (winogradMinimumChannels, winogradMinimumTiles)
        (winogradMinimumChannels, winogradMinimumTiles) = (1, 1)
        defer { (winogradMinimumChannels, winogradMinimumTiles) = saved }
        try checkParity("unet_tiny")
        try checkParity("unet_tiny_sd1")
    }

    /// The masked text tokens must not influence the output of the sample whose tokens they are.
    func testMaskedTokensAreIgnored() throws {
        let model = try UNet2DConditionModel(path: teacherFixturePath("unet_tiny"))
        let io = try SafeTensorsFile(path: teacherFixturePath("unet_tiny.io.safetensors"))
        let sample = leaf(try io.tensor("sample")), timestep = leaf(try io.tensor("timestep"))
        let text = leaf(try io.tensor("encoder_hidden_states")), mask = leaf(try io.tensor("encoder_attention_mask"))
        let changed = leaf(text)
        for i in 4..<7 { for d in 0..<32 { changed.data[(7 + i) * 32 + d] += 5 } }  // sample 1, masked tokens 4-6
        withNoGrad {
            let a = model(sample, timestep: timestep, encoderHiddenStates: text, encoderAttentionMask: mask)
            let b = model(sample, timestep: timestep, encoderHiddenStates: changed, encoderAttentionMask: mask)
            XCTAssertEqual(a.toArray(), b.toArray())
            let c = model(sample, timestep: timestep, encoderHiddenStates: changed)
            XCTAssertNotEqual(a.toArray(), c.toArray())
        }
    }
}
