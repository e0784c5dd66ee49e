// The shared blocks in the configurations the VAE uses (Scripts/make_teacher_fixtures.py make_blocks, diffusers):
// ResnetBlock2D without a time embedding, the spatial Attention with group_norm / residual / rescaling,
// Downsample2D with padding 0, Upsample2D to an explicit odd size. Forward within 1e-5, input gradient within 1e-4.
import Foundation
import XCTest
@testable import Teacher
@testable import TensorCore
import TestSupport

final class UNetBlocksTests: XCTestCase {
    func check(_ name: String, _ module: Module, _ f: (Tensor) -> Tensor, file: StaticString = #filePath, line: UInt = #line) throws {
        let st = try SafeTensorsFile(path: teacherFixturePath("blocks.safetensors"))
        var weights: [String: Tensor] = [:]
        for k in st.keys where k.hasPrefix(name + ".") {
            let key = String(k.dropFirst(name.count + 1))
            if !["x", "out", "r", "grad"].contains(key) { weights[key] = try st.tensor(k) }
        }
        try module.load(weights)
        let x = leaf(try st.tensor("\(name).x"), requiresGrad: true)
        let y = f(x)
        assertClose(y, try st.tensor("\(name).out"), tol: 1e-5, "\(name) forward", file: file, line: line)
        let g = gradients(of: y, wrt: [x], seed: leaf(try st.tensor("\(name).r")))
        assertClose(g[0], try st.tensor("\(name).grad"), tol: 1e-4, "\(name) gradient", file: file, line: line)
    }

    func testResnetWithoutTimeEmbedding() throws {
        let m = ResnetBlock2D(inChannels: 16, outChannels: 24, tembChannels: nil, groups: 8, eps: 1e-6,
                              outputScaleFactor: 2, rng: RandomGenerator(seed: 0))
        try check("resnet", m) { m($0) }
    }

    func testVAEStyleAttention() throws {
        let m = Attention(queryDim: 16, heads: 2, dimHead: 8, bias: true, upcastSoftmax: true, normNumGroups: 4, eps: 1e-6,
                          residualConnection: true, rescaleOutputFactor: 2, rng: RandomGenerator(seed: 0))
        try check("attention", m) { m($0) }
    }

    func testDownsampleWithoutPadding() throws {
        let m = Downsample2D(channels: 16, useConv: true, outChannels: 12, padding: 0, rng: RandomGenerator(seed: 0))
        try check("downsample", m) { m($0) }
    }

    func testUpsampleToOddSize() throws {
        let m = Upsample2D(channels: 16, useConv: true, outChannels: 12, rng: RandomGenerator(seed: 0))
        try check("upsample", m) { m($0, outputSize: (7, 9)) }
    }
}
