// The ImportanceRenderer against the NumPy float64 reference (renderer_parity.safetensors, made by
// Scripts/make_renderer_fixture.py): stratified depths, coarse weights, importance depths, and the final
// feature / depth / weight sum, on both the differentiable and the fused inference paths; chunking
// invariance; gradients to the planes and the decoder; random sources; options validation.
import Foundation
import XCTest
import TensorCore
@testable import TriPlaneGAN
import TestSupport

final class RendererParityTests: XCTestCase {
    struct Case {
        let file: SafeTensorsFile
        let planes: Tensor, decoder: OSGDecoder, origins: Tensor, directions: Tensor
        let random: ReplayRandomSource
        var options: RendererSettings
    }

    func loadCase() throws -> Case {
        let f = try fixture("renderer_parity.safetensors")
        var options = RendererSettings()
        options.depthResolution = 12
        options.depthResolutionImportance = 12
        return Case(file: f, planes: try f.tensor("planes"), decoder: try rendererDecoder(f),
                    origins: try f.tensor("rays16.origins"), directions: try f.tensor("rays16.directions"),
                    random: ReplayRandomSource(stratified: try f.tensor("rand.stratified"), importance: try f.tensor("rand.importance")),
                    options: options)
    }

    /// Rays whose total weight is at least 1e-4 (depth is ill-conditioned elsewhere).
    func depthMask(_ c: Case) throws -> [Bool] { try c.file.tensor("render.weight_sum").toArray().map { $0 >= 1e-4 } }

    func checkRender(_ r: (features: Tensor, depth: Tensor, weightSum: Tensor), _ c: Case, _ label: String) throws {
        assertClose(r.features, try c.file.tensor("render.features"), tol: 1e-4, "\(label) features")
        assertClose(r.depth, try c.file.tensor("render.depth"), tol: 1e-4, "\(label) depth", mask: try depthMask(c))
        assertClose(r.weightSum, try c.file.tensor("render.weight_sum"), tol: 1e-4, "\(label) weight sum")
    }

    func testIntermediateStagesMatchReference() throws {
        let c = try loadCase()
        let (n, m, s) = (2, 256, 12)
        let (lin, delta) = ImportanceRenderer.linspace(c.options)
        let depths = Tensor(lin, shape: [1, 1, s, 1]) + (try c.file.tensor("rand.stratified")) * delta
        assertClose(depths.reshape([n, m, s]), try c.file.tensor("render.depths_coarse"), tol: 1e-6, "coarse depths")
        let (sigma, rgb) = withNoGrad { ImportanceRenderer.runModel(c.planes, c.decoder, c.origins, c.directions, depths, c.options) }
        let weights = withNoGrad { RayMarcher.march(colors: rgb, densities: sigma, depths: depths).weights }
        assertClose(weights.reshape([n, m, s - 1]), try c.file.tensor("render.weights_coarse"), tol: 1e-4, "coarse weights")
        let fine = ImportanceSampler.importanceDepths(depths: depths.reshape([n * m, s]), weights: weights.reshape([n * m, s - 1]),
                                                      uniforms: try c.file.tensor("rand.importance"))
        assertClose(fine.reshape([n, m, 12]), try c.file.tensor("render.depths_fine"), tol: 1e-5, "fine depths")
        // sample_pdf alone, from the reference's own coarse weights.
        let exact = ImportanceSampler.importanceDepths(depths: try c.file.tensor("render.depths_coarse").reshape([n * m, s]),
                                                       weights: try c.file.tensor("render.weights_coarse").reshape([n * m, s - 1]),
                                                       uniforms: try c.file.tensor("rand.importance"))
        assertClose(exact.reshape([n, m, 12]), try c.file.tensor("render.depths_fine"), tol: 1e-6, "fine depths from reference weights")
    }

    func testDifferentiablePathMatchesReference() throws {
        let c = try loadCase()
        let r = ImportanceRenderer.render(planes: c.planes, decoder: c.decoder, origins: c.origins, directions: c.directions,
                                          options: c.options, random: c.random)
        XCTAssertNotNil(r.features.node, "with recording on and decoder parameters, the differentiable path runs")
        try checkRender(r, c, "ops path")
    }

    func testFusedPathMatchesReference() throws {
        var c = try loadCase()
        for chunk in [1, 13, 64, 4096] {
            c.options.raysPerChunk = chunk
            let r = withNoGrad {
                ImportanceRenderer.render(planes: c.planes, decoder: c.decoder, origins: c.origins, directions: c.directions,
                                          options: c.options, random: c.random)
            }
            XCTAssertNil(r.features.node)
            try checkRender(r, c, "fused path (chunk \(chunk))")
        }
    }

    /// The same inputs through the official EG3D renderer (PyTorch fp32, renderer_official.safetensors made by
    /// Scripts/check_renderer_fixture_official.py with the draws replayed): both paths agree with it directly.
    func testBothPathsMatchOfficialRenderer() throws {
        let c = try loadCase()
        let official = try fixture("renderer_official.safetensors")
        let mask = try depthMask(c)
        let fused = withNoGrad {
            ImportanceRenderer.render(planes: c.planes, decoder: c.decoder, origins: c.origins, directions: c.directions,
                                      options: c.options, random: c.random)
        }
        let ops = ImportanceRenderer.render(planes: c.planes, decoder: c.decoder, origins: c.origins, directions: c.directions,
                                            options: c.options, random: c.random)
        for (r, label) in [(fused, "fused"), (ops, "ops")] {
            assertClose(r.features, try official.tensor("official.features"), tol: 1e-4, "\(label) vs official features")
            assertClose(r.depth, try official.tensor("official.depth"), tol: 1e-4, "\(label) vs official depth", mask: mask)
            assertClose(r.weightSum, try official.tensor("official.weight_sum"), tol: 1e-4, "\(label) vs official weight sum")
        }
    }

    /// Gradients of L = Σ features·R_f + Σ depth·R_d + Σ weightSum·R_w through the differentiable path against the
    /// official PyTorch autograd (same inputs and draws; importance sampling without gradients in both).
    func testGradientsMatchOfficialAutograd() throws {
        let c = try loadCase()
        let official = try fixture("renderer_official.safetensors")
        let planes = Tensor(c.planes.toArray(), shape: c.planes.shape, requiresGrad: true)
        let r = ImportanceRenderer.render(planes: planes, decoder: c.decoder, origins: c.origins, directions: c.directions,
                                          options: c.options, random: c.random)
        let loss = (r.features * (try official.tensor("grad.R_features"))).sum()
            + (r.depth * (try official.tensor("grad.R_depth"))).sum() + (r.weightSum * (try official.tensor("grad.R_weight_sum"))).sum()
        let names = c.decoder.namedParameters().map(\.0)
        let grads = gradients(of: loss, wrt: [planes] + c.decoder.parameters())
        assertClose(grads[0].slice(axis: 2, start: 0, end: 4), try official.tensor("grad.planes_c0_4"), tol: 1e-4,
                            "planes gradient (channels 0..3) vs official")
        for (name, g) in zip(names, grads.dropFirst()) {
            assertClose(g, try official.tensor("grad.decoder.\(name)"), tol: 1e-4, "decoder \(name) gradient vs official")
        }
    }

    /// The tiny128 golden file's recorded draws (rand.stratified (2, 1024, 12, 1), rand.importance (2048, 12)) replay
    /// at its configuration (R = 32, 12 + 12 samples) with its render cameras and decoder.
    func testReplaysTiny128Draws() throws {
        let golden = try fixture("eg3d/tiny128.safetensors")
        var options = RendererSettings()
        options.depthResolution = 12
        options.depthResolutionImportance = 12
        let decoder = OSGDecoder(rng: RandomGenerator(seed: 1))
        var state: [String: Tensor] = [:]
        for key in golden.keys where key.hasPrefix("G.decoder.") { state[String(key.dropFirst("G.decoder.".count))] = try golden.tensor(key) }
        try decoder.load(state)
        let (o, d) = RaySampler.rays(labels: try golden.tensor("input.c_render"), resolution: 32)
        let random = ReplayRandomSource(stratified: try golden.tensor("rand.stratified"), importance: try golden.tensor("rand.importance"))
        let planes = RandomGenerator(seed: 2).normal([2, 3, 32, 32, 32])
        let r = withNoGrad {
            ImportanceRenderer.render(planes: planes, decoder: decoder, origins: o, directions: d, options: options, random: random)
        }
        let (img, dep) = ImportanceRenderer.images(features: r.features, depth: r.depth, resolution: 32)
        XCTAssertEqual(img.shape, [2, 32, 32, 32])
        XCTAssertEqual(dep.shape, [2, 1, 32, 32])
        XCTAssertTrue(img.toArray().allSatisfy { $0.isFinite && $0 >= -1.01 && $0 <= 1.01 })
    }

    func testChunkingDoesNotChangeResults() throws {
        var c = try loadCase()
        func run(_ chunk: Int) -> [Float] {
            c.options.raysPerChunk = chunk
            let r = withNoGrad {
                ImportanceRenderer.render(planes: c.planes, decoder: c.decoder, origins: c.origins, directions: c.directions,
                                          options: c.options, random: c.random)
            }
            return r.features.toArray() + r.depth.toArray() + r.weightSum.toArray()
        }
        XCTAssertEqual(run(3), run(100))
    }

    func testImagesHelper() throws {
        let c = try loadCase()
        let r = withNoGrad {
            ImportanceRenderer.render(planes: c.planes, decoder: c.decoder, origins: c.origins, directions: c.directions,
                                      options: c.options, random: c.random)
        }
        let (img, dep) = ImportanceRenderer.images(features: r.features, depth: r.depth, resolution: 16)
        XCTAssertEqual(img.shape, [2, 32, 16, 16])
        XCTAssertEqual(dep.shape, [2, 1, 16, 16])
        let f: [Float] = r.features.toArray(), i: [Float] = img.toArray()
        let d: [Float] = r.depth.toArray(), di: [Float] = dep.toArray()
        // Pixel (row 3, col 5) of image 1 is ray m = 3·16 + 5 = 53; channel 7.
        let pixel: Int = ((32 + 7) * 16 + 3) * 16 + 5, ray: Int = 256 + 53
        XCTAssertEqual(i[pixel], f[ray * 32 + 7])
        XCTAssertEqual(di[(16 + 3) * 16 + 5], d[ray])
    }

    /// Importance sampling runs without gradients, as the official code, but the coarse and fine samples both
    /// carry gradients to the planes and to every decoder weight.
    func testGradientsReachPlanesAndDecoder() throws {
        let c = try loadCase()
        let planes = Tensor(c.planes.toArray(), shape: c.planes.shape, requiresGrad: true)
        let r = ImportanceRenderer.render(planes: planes, decoder: c.decoder, origins: c.origins, directions: c.directions,
                                          options: c.options, random: c.random)
        let loss = (r.features * RandomGenerator(seed: 5).uniform(r.features.shape, low: -1, high: 1)).sum() + r.weightSum.sum()
        let wanted = [planes] + c.decoder.parameters()
        let grads = gradients(of: loss, wrt: wanted)
        for (g, name) in zip(grads, ["planes", "net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias"]) {
            let v = g.toArray()
            XCTAssertTrue(v.allSatisfy(\.isFinite), "\(name): non-finite gradient")
            XCTAssertGreaterThan(v.map { Swift.abs($0) }.max() ?? 0, 0, "\(name): zero gradient")
        }
    }

    /// Directional derivatives of a rendering loss against central differences (coarse samples only, so that the
    /// sample positions do not move with the parameters).
    func testGradientMatchesFiniteDifferences() {
        var options = RendererSettings()
        options.depthResolution = 10
        options.depthResolutionImportance = 0
        let rng = RandomGenerator(seed: 11)
        let planes = rng.normal([1, 3, 32, 8, 8], std: 2)
        planes.requiresGrad = true
        let decoder = OSGDecoder(rng: rng)
        let (o, d) = RaySampler.rays(cameras: [Camera.lookAt(yaw: Double.pi / 2 + 0.2, pitch: Double.pi / 2 - 0.1)], resolution: 4)
        let jitter = rng.uniform([1, 16, 10, 1])
        let random = ReplayRandomSource(stratified: jitter, importance: nil)
        let r1 = rng.uniform([1, 16, 32], low: -1, high: 1), r2 = rng.uniform([1, 16, 1], low: -1, high: 1)
        func loss() -> Tensor {
            let r = ImportanceRenderer.render(planes: planes, decoder: decoder, origins: o, directions: d, options: options, random: random)
            return (r.features * r1).sum() + (r.depth * r2).sum() + r.weightSum.sum()
        }
        let params = [planes] + decoder.parameters()
        let grads = gradients(of: loss(), wrt: params)
        for (k, p) in params.enumerated() {
            let v = RandomGenerator(seed: 100 + UInt64(k)).uniform(p.shape, low: -1, high: 1).toArray()
            let analytic = zip(grads[k].toArray(), v).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let base = p.toArray(), eps: Float = 1e-2
            func value(_ sign: Float) -> Double {
                for i in 0..<base.count { p.storage.base[p.offset + i] = base[i] + sign * eps * v[i] }
                return Double(withNoGrad { loss() }.item())
            }
            let numeric = (value(1) - value(-1)) / (2 * Double(eps))
            for i in 0..<base.count { p.storage.base[p.offset + i] = base[i] }
            XCTAssertEqual(analytic, numeric, accuracy: 2e-2 * Swift.max(1, Swift.abs(numeric)), "parameter \(k)")
        }
    }

    func testGeneratorRandomSourceDrawsOfficialShapes() throws {
        let c = try loadCase()
        final class Recorder: RendererRandomSource {
            var requests: [[Int]] = []
            let inner = GeneratorRandomSource(seed: 9)
            func stratifiedUniforms(shape: [Int]) -> Tensor { requests.append(shape); return inner.stratifiedUniforms(shape: shape) }
            func importanceUniforms(shape: [Int]) -> Tensor { requests.append(shape); return inner.importanceUniforms(shape: shape) }
        }
        let rec = Recorder()
        let a = withNoGrad {
            ImportanceRenderer.render(planes: c.planes, decoder: c.decoder, origins: c.origins, directions: c.directions,
                                      options: c.options, random: rec)
        }
        XCTAssertEqual(rec.requests, [[2, 256, 12, 1], [512, 12]])
        // The same seed gives the same image; the default source equals replaying its own draws.
        let g = RandomGenerator(seed: 9)
        let replay = ReplayRandomSource(stratified: g.uniform([2, 256, 12, 1]), importance: g.uniform([512, 12]))
        let b = withNoGrad {
            ImportanceRenderer.render(planes: c.planes, decoder: c.decoder, origins: c.origins, directions: c.directions,
                                      options: c.options, random: replay)
        }
        XCTAssertEqual(a.features.toArray(), b.features.toArray())
    }

    /// sample_pdf's indexing: 46 cdf values against 47 bins at S = 48, cdf entry k maps onto bin k, the last bin is
    /// never drawn; all mass on one interval puts every sample inside it.
    func testSamplePDFQuirk() {
        let bins = Tensor((0..<47).map { Float($0) }, shape: [1, 47])
        var w = [Float](repeating: 0, count: 45)
        w[20] = 1000
        let u = Tensor((0..<200).map { (Float($0) + 0.5) / 200 }, shape: [1, 200])
        let samples = ImportanceSampler.samplePDF(bins: bins, weights: Tensor(w, shape: [1, 45]), uniforms: u).toArray()
        XCTAssertLessThanOrEqual(samples.max()!, 45, "bin 46 is never reached")
        let inside = samples.filter { $0 >= 20 && $0 <= 21 }.count
        XCTAssertGreaterThan(inside, 190, "the heavy weight w[20] maps onto bins 20..21")
        // Uniform weights: samples follow u linearly over bins 0..45.
        let flat = ImportanceSampler.samplePDF(bins: bins, weights: Tensor.ones([1, 45]), uniforms: u).toArray()
        for (i, s) in flat.enumerated() { XCTAssertEqual(s, 45 * (Float(i) + 0.5) / 200, accuracy: 1e-3) }
    }

    func testOptionsValidation() {
        var o = RendererSettings()
        XCTAssertNil(o.validationError)
        o.disparitySpaceSampling = true
        XCTAssertThrowsError(try o.validate()) { XCTAssertTrue("\($0)".contains("disparity_space_sampling"), "\($0)") }
        o = RendererSettings(); o.clampMode = "relu"
        XCTAssertTrue(o.validationError?.contains("clamp_mode") ?? false)
        o = RendererSettings(); o.densityNoise = 1
        XCTAssertTrue(o.validationError?.contains("density_noise") ?? false)
        o = RendererSettings(); o.depthResolution = 3
        XCTAssertTrue(o.validationError?.contains("depth_resolution >= 4") ?? false)
        o = RendererSettings(); o.rayEnd = 1
        XCTAssertNotNil(o.validationError)
    }

    /// white_back adds 1 − Σw before the rescale; the fused and differentiable paths agree.
    func testWhiteBackAndPathsAgree() throws {
        var c = try loadCase()
        c.options.whiteBack = true
        let fused = withNoGrad {
            ImportanceRenderer.render(planes: c.planes, decoder: c.decoder, origins: c.origins, directions: c.directions,
                                      options: c.options, random: c.random)
        }
        let ops = withNoGrad {
            ImportanceRenderer.renderDifferentiable(planes: c.planes, decoder: c.decoder, origins: c.origins, directions: c.directions,
                                                    options: c.options, random: c.random)
        }
        assertClose(fused.features, ops.features, tol: 1e-5, "white_back fused vs ops")
        let black = try c.file.tensor("render.features"), wsum = try c.file.tensor("render.weight_sum")
        assertClose(fused.features, black + (1 - wsum) * 2, tol: 1e-4, "white_back = black + 2(1 − Σw)")
    }
}
