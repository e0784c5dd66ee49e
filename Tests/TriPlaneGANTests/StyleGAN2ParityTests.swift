// Parity of the StyleGAN2 half of EG3D's generator (mapping, tri-plane synthesis, super-resolution)
// with the official code's golden tensors (Tests/Fixtures/eg3d/tiny128.safetensors) and with the
// official FFHQ-512 state_dict listing (spec §15.3).
import Foundation
import XCTest
import TensorCore
@testable import TriPlaneGAN
import TestSupport

/// The generator's `backbone` and `superresolution` under their official key prefixes.
final class GeneratorStyleGAN2Half: Module {
    let backbone: Backbone
    let superresolution: Superresolution
    init(config: TriPlaneConfig, seed: UInt64 = 0) {
        let rng = RandomGenerator(seed: seed)
        backbone = Backbone(config: config, rng: rng)
        superresolution = Superresolution(config: config, rng: rng)
        super.init()
        registerModule("backbone", backbone)
        registerModule("superresolution", superresolution)
    }
}

final class StyleGAN2ParityTests: XCTestCase {
    static let goldenName = "eg3d/tiny128.safetensors"

    /// The tiny model with the fixture's weights, loaded strictly by official name (after stripping "G.").
    static func loadTiny() throws -> (GeneratorStyleGAN2Half, SafeTensorsFile) {
        let file = try fixture(goldenName)
        let g = GeneratorStyleGAN2Half(config: .tiny128)
        let remap = KeyRemap(custom: { key in
            key.hasPrefix("G.backbone.") || key.hasPrefix("G.superresolution.") ? String(key.dropFirst(2)) : nil
        })
        try g.load(safetensors: file.name, remap: remap, strict: true)
        return (g, file)
    }

    func testMappingMatchesOfficial() throws {
        let (g, file) = try Self.loadTiny()
        let ws = withNoGrad { g.backbone.mapping(try! file.tensor("input.z"), try! file.tensor("input.c_cond"), truncationPsi: 0.7) }
        let err = assertClose(ws, try file.tensor("out.ws"), tol: 1e-4, "ws")
        print("StyleGAN2ParityTests: ws relative error \(err)")
    }

    func testSynthesisMatchesOfficial() throws {
        let (g, file) = try Self.loadTiny()
        let ws = try file.tensor("out.ws")
        for execution in [ModulationExecution.automatic, .fused, .unfused] {
            g.backbone.synthesis.setExecution(execution)
            let planes = withNoGrad { g.backbone.synthesis(ws, noiseMode: .const) }
            XCTAssertEqual(planes.shape, [2, 96, 256, 256])
            let every4 = planes.slice(axis: 2, step: 4).slice(axis: 3, step: 4)
            let e1 = assertClose(every4, try file.tensor("out.planes_every4"), tol: 1e-4, "planes_every4 (\(execution))")
            let e2 = assertClose(planes.sum(axes: [2, 3]), try file.tensor("out.planes_sum"), tol: 1e-4, "planes_sum (\(execution))")
            print("StyleGAN2ParityTests: planes (\(execution)) every4 relative error \(e1), sum relative error \(e2)")
        }
    }

    func testSuperresolutionMatchesOfficial() throws {
        let (g, file) = try Self.loadTiny()
        let features = try fixture("eg3d/tiny128_features.safetensors").tensor("features")
        XCTAssertEqual(features.shape, [2, 32, 32, 32])
        // The NumPy reference's image_raw must be the official one, or the input is wrong.
        assertClose(features.slice(axis: 1, start: 0, end: 3), try file.tensor("out.image_raw"), tol: 1e-5, "features[:, :3] vs image_raw")
        let ws = try file.tensor("out.ws")
        for execution in [ModulationExecution.automatic, .fused, .unfused] {
            g.superresolution.setExecution(execution)
            let image = withNoGrad { g.superresolution(features.slice(axis: 1, start: 0, end: 3), features, ws, noiseMode: .none) }
            let err = assertClose(image, try file.tensor("out.image"), tol: 1e-4, "image (\(execution))")
            print("StyleGAN2ParityTests: super-resolved image (\(execution)) relative error \(err)")
        }
    }

    /// The super-resolution's parameters affect only `image`, so their gradients
    /// (grad.G.superresolution.* = d [sum(image · R_image) + sum(image_raw · R_image_raw)] / dθ) can be checked
    /// from the feature image alone, in both modulation executions, against the official code run in float64
    /// (eg3d/tiny128_g_float64.safetensors).
    ///
    /// Gradients that pass through a later layer's lrelu are discontinuous where a pre-activation crosses 0, and
    /// a few pre-activations lie closer to 0 than fp32 resolves (LeakyReLUKinks.swift): where our slope differs
    /// from float64's, the float64 gradients are shifted by that decision's exact effect (here 1 element in the
    /// fused execution, 3 in the unfused, all in block1.conv0), and then every gradient is held to 1e-4, ten
    /// times tighter than the issue's 1e-3 (measured 1.5e-6; without the shift up to 8.0e-3). The fp32 golden
    /// gradients get the same check with the same shift (measured 3.7e-6): on these elements they took
    /// float64's decisions.
    func testSuperresolutionParameterGradientsMatchOfficial() throws {
        let (g, file) = try Self.loadTiny()
        let truth = try fixture("eg3d/tiny128_g_float64.safetensors")
        let features = try fixture("eg3d/tiny128_features.safetensors").tensor("features")
        let ws = try file.tensor("out.ws"), rImage = try file.tensor("grad.R_image")
        var worst = (float64: 0.0, golden: 0.0, unshifted: 0.0), flipped: [String] = []
        for execution in [ModulationExecution.fused, .unfused] {
            g.superresolution.setExecution(execution)
            let named = g.superresolution.namedParameters().filter { !$0.0.hasSuffix("noise_strength") }
            let rgb = features.slice(axis: 1, start: 0, end: 3)
            let image = g.superresolution(rgb, features, ws)
            let grads = gradients(of: (image * rImage).sum(), wrt: named.map { $0.1 })
            XCTAssertEqual(named.count, 24)
            let kinks = try KinkShift([KinkChain.superresolution(g.superresolution, features: features, imageRaw: rgb, ws: ws)], truth: truth)
            let shift = kinks.correction.map { gradients(of: $0, wrt: named.map { $0.1 }) }
            flipped += kinks.flipped.map { "\($0) (\(execution))" }
            for (i, ((k, _), grad)) in zip(named, grads).enumerated() {
                let key = "grad.G.superresolution.\(k)"
                let plain = try truth.tensor(key), golden = try file.tensor(key)
                let e = assertClose(grad, shift.map { plain + $0[i] } ?? plain, tol: 1e-4, "grad superresolution.\(k) (\(execution)) against float64")
                let eg = assertClose(grad, shift.map { golden + $0[i] } ?? golden, tol: 1e-4, "grad superresolution.\(k) (\(execution)) against fp32 golden")
                worst = (Swift.max(worst.float64, e), Swift.max(worst.golden, eg), Swift.max(worst.unshifted, relativeError(grad, plain)))
            }
        }
        print("StyleGAN2ParityTests: super-resolution parameter gradients, worst relative error against float64 \(worst.float64), fp32 golden \(worst.golden) (unshifted \(worst.unshifted)); kinks decided otherwise than float64: \(flipped)")
    }

    /// Names, shapes and parameter/buffer kinds of backbone + superresolution at the FFHQ-512 config equal
    /// the official listing one for one.
    func testFFHQ512StateDictMatchesOfficialListing() throws {
        let text = try String(contentsOf: fixturesDir.appendingPathComponent("eg3d/ffhq512_state_dict.txt"), encoding: .utf8)
        var official: [String: (shape: [Int], kind: String)] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let f = line.split(separator: " ").map(String.init)
            guard f.count == 4, f[0] == "G", f[1].hasPrefix("backbone.") || f[1].hasPrefix("superresolution.") else { continue }
            let dims = f[2].dropFirst().dropLast()
            official[f[1]] = (dims.isEmpty ? [] : dims.split(separator: ",").map { Int($0)! }, f[3])
        }
        XCTAssertEqual(official.count, 172, "listing entries for backbone + superresolution")
        let g = GeneratorStyleGAN2Half(config: .ffhq512)
        var ours: [String: (shape: [Int], kind: String)] = [:]
        for (k, t) in g.namedParameters() { ours[k] = (t.shape, "param") }
        for (k, t) in g.namedBuffers() { ours[k] = (t.shape, "buffer") }
        XCTAssertEqual(Set(ours.keys).subtracting(official.keys).sorted(), [], "keys the official model lacks")
        XCTAssertEqual(Set(official.keys).subtracting(ours.keys).sorted(), [], "official keys we lack")
        for (k, v) in official {
            guard let o = ours[k] else { continue }
            XCTAssertEqual(o.shape, v.shape, "shape of \(k)")
            XCTAssertEqual(o.kind, v.kind, "kind of \(k)")
        }
        // Spec §15.2 parameter counts: synthesis 28,207,533, mapping 800,768, SR 1,649,578.
        func count(_ m: Module) -> Int { m.parameters().reduce(0) { $0 + $1.count } }
        XCTAssertEqual(count(g.backbone.synthesis), 28_207_533)
        XCTAssertEqual(count(g.backbone.mapping), 800_768)
        XCTAssertEqual(count(g.superresolution), 1_649_578)
        XCTAssertEqual(g.backbone.numWs, 14)
    }

    /// The whole half is differentiable: d sum(image · R) reaches every parameter on the path (all but the
    /// SR noise strengths, which noise mode none leaves outside the graph), and the mapping's too.
    func testGradientsReachEveryParameter() throws {
        let (g, file) = try Self.loadTiny()
        g.zeroGrad()
        let ws = g.backbone.mapping(try file.tensor("input.z"), try file.tensor("input.c_cond"), truncationPsi: 0.7)
        let planes = g.backbone.synthesis(ws, noiseMode: .const)
        let features = planes.slice(axis: 1, start: 0, end: 32).slice(axis: 2, step: 8).slice(axis: 3, step: 8)  // (2, 32, 32, 32)
        let image = g.superresolution(features.slice(axis: 1, start: 0, end: 3), features, ws)
        let r = RandomGenerator(seed: 5).uniform(image.shape, low: -1, high: 1)
        (image * r).sum().backward()
        var missing: [String] = []
        for (k, p) in g.namedParameters() {
            if k.hasPrefix("superresolution.") && k.hasSuffix("noise_strength") { XCTAssertNil(p.grad, k); continue }
            guard let grad = p.grad else { missing.append(k); continue }
            XCTAssertTrue(grad.toArray().allSatisfy(\.isFinite), "\(k): gradient is not finite")
        }
        XCTAssertEqual(missing, [], "parameters without a gradient")
    }
}
