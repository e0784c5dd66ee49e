// Tri-plane sampling and the decoder (spec §5, §6): the XY/XZ/ZX plane quirk, parity of the sampled features
// and of run_model (σ, rgb) with the NumPy reference, on both the differentiable and the fused paths, and the
// vectorised softplus/sigmoid/exp of the fused path.
import Foundation
import XCTest
import TensorCore
@testable import TriPlaneGAN
import TestSupport

/// The fixture's decoder (official key names under "decoder.").
func rendererDecoder(_ f: SafeTensorsFile) throws -> OSGDecoder {
    let decoder = OSGDecoder(rng: RandomGenerator(seed: 1))
    var state: [String: Tensor] = [:]
    for key in f.keys where key.hasPrefix("decoder.") { state[String(key.dropFirst("decoder.".count))] = try f.tensor(key) }
    try decoder.load(state)
    return decoder
}

final class TriPlaneSamplerTests: XCTestCase {
    /// Planes whose channels hold their own normalised pixel-centre coordinates: plane k stores (grid x, grid y) in
    /// channels 2k, 2k + 1 and zeros elsewhere. Bilinear sampling reproduces a linear function exactly, so a
    /// point reads back the two coordinates each plane projects it to.
    func coordinatePlanes(size: Int) -> Tensor {
        var v = [Float](repeating: 0, count: 3 * 6 * size * size)
        for k in 0..<3 {
            for i in 0..<size {
                for j in 0..<size {
                    v[((k * 6 + 2 * k) * size + i) * size + j] = Float(2 * j + 1) / Float(size) - 1      // column → grid x
                    v[((k * 6 + 2 * k + 1) * size + i) * size + j] = Float(2 * i + 1) / Float(size) - 1  // row → grid y
                }
            }
        }
        return Tensor(v, shape: [1, 3, 6, size, size])
    }

    func testPlaneAxesQuirk() {
        let size = 16, boxWarp = 1.0
        let planes = coordinatePlanes(size: size)
        // Points well inside the cube: |2p| < 1 − 1/size keeps every tap inside the plane.
        let points = RandomGenerator(seed: 3).uniform([1, 50, 3], low: -0.45, high: 0.45)
        let p = points.toArray()
        let sampled = TriPlane.sample(planes: planes, points: points, boxWarp: boxWarp).toArray()   // (1, 3, 50, 6)
        let expectedAxes = [(0, 1), (0, 2), (2, 0)]   // plane 0 (x, y), plane 1 (x, z), plane 2 (z, x)
        for q in 0..<50 {
            for (k, axes) in expectedAxes.enumerated() {
                let base = (k * 50 + q) * 6 + 2 * k
                XCTAssertEqual(sampled[base], 2 * p[3 * q + axes.0], accuracy: 1e-5, "plane \(k) column coordinate")
                XCTAssertEqual(sampled[base + 1], 2 * p[3 * q + axes.1], accuracy: 1e-5, "plane \(k) row coordinate")
            }
        }
        // The fused inference sampler reads the same axes (its mean over planes is a third of each plane's value).
        let decoder = OSGDecoder(inputFeatures: 6, rng: RandomGenerator(seed: 1))
        let ev = TriPlaneEvaluator(planes: planes, decoder: decoder, boxWarp: boxWarp)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: 6)
        defer { out.deallocate() }
        for q in 0..<50 {
            p.withUnsafeBufferPointer { ev.sampleMean(image: 0, $0.baseAddress! + 3 * q, out) }
            for (k, axes) in expectedAxes.enumerated() {
                XCTAssertEqual(3 * out[2 * k], 2 * p[3 * q + axes.0], accuracy: 1e-5, "fused plane \(k) column")
                XCTAssertEqual(3 * out[2 * k + 1], 2 * p[3 * q + axes.1], accuracy: 1e-5, "fused plane \(k) row")
            }
        }
        // box_warp scales: with box 2 the same planes read half the coordinates.
        let half = TriPlane.sample(planes: planes, points: points, boxWarp: 2).toArray()
        XCTAssertEqual(half[0], p[0], accuracy: 1e-5)
    }

    func testSampledFeaturesMatchReference() throws {
        let f = try fixture("renderer_parity.safetensors")
        let planes = try f.tensor("planes"), points = try f.tensor("points")
        let features = TriPlane.sample(planes: planes, points: points, boxWarp: 1)
        assertClose(features, try f.tensor("points.features"), tol: 1e-5, "tri-plane features (N, 3, P, C)")
        assertClose(TriPlane.aggregate(features), try f.tensor("points.features").mean(axis: 1), tol: 1e-5, "plane mean")
    }

    func testDecoderMatchesReference() throws {
        let f = try fixture("renderer_parity.safetensors")
        let planes = try f.tensor("planes"), points = try f.tensor("points")
        let decoder = try rendererDecoder(f)
        let sigma = try f.tensor("points.sigma"), rgb = try f.tensor("points.rgb")
        // Differentiable path (recording on: the decoder's parameters need gradients).
        let (s0, c0) = ImportanceRenderer.sampleDensity(planes: planes, decoder: decoder, points: points)
        XCTAssertNotNil(s0.node, "the differentiable path records a graph")
        assertClose(s0, sigma, tol: 1e-5, "sigma (ops)")
        assertClose(c0, rgb, tol: 1e-5, "rgb (ops)")
        // Fused path, in small chunks.
        let (s1, c1) = withNoGrad { ImportanceRenderer.sampleDensity(planes: planes, decoder: decoder, points: points, chunk: 37) }
        assertClose(s1, sigma, tol: 1e-5, "sigma (fused)")
        assertClose(c1, rgb, tol: 1e-5, "rgb (fused)")
        let s2 = withNoGrad { ImportanceRenderer.sampleSigma(planes: planes, decoder: decoder, points: points) }
        XCTAssertEqual(s2.toArray(), s1.toArray())
    }

    func testDecoderParameterNames() throws {
        let decoder = OSGDecoder(rng: RandomGenerator(seed: 0))
        let shapes = Dictionary(uniqueKeysWithValues: decoder.namedParameters().map { ($0.0, $0.1.shape) })
        XCTAssertEqual(shapes, ["net.0.weight": [64, 32], "net.0.bias": [64], "net.2.weight": [33, 64], "net.2.bias": [33]])
        // The official checkpoint keys load as they are (tiny128: G.decoder.*).
        let golden = try fixture("eg3d/tiny128.safetensors")
        var state: [String: Tensor] = [:]
        for key in golden.keys where key.hasPrefix("G.decoder.") { state[String(key.dropFirst("G.decoder.".count))] = try golden.tensor(key) }
        XCTAssertNoThrow(try decoder.load(state))
        XCTAssertEqual(decoder.net.layer2.weight.toArray(), try golden.tensor("G.decoder.net.2.weight").toArray())
        // Equalised learning rate: W_eff = W/√in.
        let w = decoder.net.layer0.effectiveWeight.toArray(), raw = decoder.net.layer0.weight.toArray()
        XCTAssertEqual(w[5], raw[5] / Float(32).squareRoot(), accuracy: 1e-7)
    }

    func testVectorisedMathAccuracy() {
        var worst = (exp: 0.0, softplus: 0.0, sigmoid: 0.0)
        var x: Float = -90
        while x < 90 {
            var v = RV()
            for l in 0..<rvWidth { v[l] = x + Float(l) * 0.0071 }
            let e = rvExp(v), s = rvSoftplus(v), g = rvSigmoid(v)
            for l in 0..<rvWidth {
                let xd = Double(v[l])
                let re = Foundation.exp(xd), rs = xd > 20 ? xd : Foundation.log1p(Foundation.exp(xd)), rg = 1 / (1 + Foundation.exp(-xd))
                if xd > -87 && xd < 88 { worst.exp = Swift.max(worst.exp, Swift.abs(Double(e[l]) - re) / re) }
                if rs > 1e-30 { worst.softplus = Swift.max(worst.softplus, Swift.abs(Double(s[l]) - rs) / rs) }
                if rg > 1e-30 { worst.sigmoid = Swift.max(worst.sigmoid, Swift.abs(Double(g[l]) - rg) / rg) }
            }
            x += 0.113
        }
        XCTAssertLessThan(worst.exp, 4e-7, "exp")
        XCTAssertLessThan(worst.softplus, 4e-7, "softplus")
        XCTAssertLessThan(worst.sigmoid, 4e-7, "sigmoid")
        XCTAssertEqual(rvExp(RV(repeating: 100))[0], .infinity)
        XCTAssertEqual(rvExp(RV(repeating: -100))[0], 0)
        XCTAssertTrue(rvExp(RV(repeating: .nan))[0].isNaN)
        XCTAssertEqual(rvSoftplus(RV(repeating: 25))[0], 25)
    }
}
