// The assembled TriPlaneGenerator against the official EG3D code (Tests/Fixtures/eg3d/tiny128.safetensors):
// image_raw, depth, super-resolved image, and the gradients of every generator parameter, with the official
// renderer's random draws replayed (gradients against the official code run in float64, Scripts/eg3d_g_float64.py,
// with its leaky-ReLU kink decisions reconciled with ours). Also the FFHQ-512 state_dict listing and checkpoint
// loading errors.
import Foundation
import XCTest
@testable import TensorCore
@testable import TriPlaneGAN
import TestSupport

final class GeneratorParityTests: XCTestCase {
    static func officialGenerator(_ f: SafeTensorsFile) throws -> TriPlaneGenerator {
        let g = TriPlaneGenerator(config: .tiny128, rng: RandomGenerator(seed: 0))
        var tensors: [String: Tensor] = [:]
        for k in f.keys where k.hasPrefix("G.") { tensors[String(k.dropFirst(2))] = try f.tensor(k) }
        tensors["dataset_label_std"] = Tensor.zeros([25])
        try g.load(tensors, strict: true)
        return g
    }

    func run(_ g: TriPlaneGenerator, _ f: SafeTensorsFile) throws -> GeneratorOutput {
        let random = ReplayRandomSource(stratified: try f.tensor("rand.stratified"), importance: try f.tensor("rand.importance"))
        return g(z: try f.tensor("input.z"), cCond: try f.tensor("input.c_cond"), cRender: try f.tensor("input.c_render"),
                 truncationPsi: 0.7, noiseMode: .const, resolution: 32, random: random)
    }

    func testForwardMatchesOfficialCode() throws {
        let f = try fixture("eg3d/tiny128.safetensors")
        let g = try Self.officialGenerator(f)
        let out = try withNoGrad { try run(g, f) }
        assertClose(out.imageRaw, try f.tensor("out.image_raw"), tol: 1e-4, "image_raw")
        assertClose(out.image, try f.tensor("out.image"), tol: 1e-4, "image")
        // Depth on rays with total weight ≥ 1e-4 (empty rays are ill-conditioned; spec §17.5).
        let depth = out.imageDepth.toArray(), expected = try f.tensor("out.image_depth").toArray(), w = out.weightSum.toArray()
        var num: Float = 0, den: Float = 0, kept = 0
        for i in depth.indices where w[i] >= 1e-4 { num = max(num, abs(depth[i] - expected[i])); den = max(den, abs(expected[i])); kept += 1 }
        XCTAssertGreaterThan(kept, depth.count / 2)
        XCTAssertLessThanOrEqual(num / den, 1e-4, "depth on \(kept) rays")
        print("GeneratorParityTests: image_raw \(relativeError(out.imageRaw, try f.tensor("out.image_raw"))), image \(relativeError(out.image, try f.tensor("out.image"))), depth \(num / den)")
    }

    func testParameterGradientsMatchOfficialCode() throws {
        let f = try fixture("eg3d/tiny128.safetensors")
        let truth = try fixture("eg3d/tiny128_g_float64.safetensors")
        let g = try Self.officialGenerator(f)
        // run(g, f), with each backbone block's output kept (afterBlock returns it unchanged).
        var blockOut: [Int: Tensor] = [:]
        let ws = g.mapping(try f.tensor("input.z"), try f.tensor("input.c_cond"), truncationPsi: 0.7)
        let planes = g.planes(ws, noiseMode: .const, afterBlock: { r, x in blockOut[r] = x; return x })
        let random = ReplayRandomSource(stratified: try f.tensor("rand.stratified"), importance: try f.tensor("rand.importance"))
        let out = g.render(planes: planes, ws: ws, cameras: try f.tensor("input.c_render"), resolution: 32, random: random)
        let loss = (out.image * (try f.tensor("grad.R_image"))).sum() + (out.imageRaw * (try f.tensor("grad.R_image_raw"))).sum()
        let named = g.namedParameters()
        let grads = gradients(of: loss, wrt: named.map(\.1), retainGraph: true)

        // Leaky-ReLU kinks (Scripts/eg3d_g_float64.py, fixture README). A parameter gradient depends on which side
        // of 0 each lrelu pre-activation v lies, and a few of the 4.5 M lie closer to 0 than fp32 resolves (|v| =
        // 7e-8..9e-8 with max|v| ~ 2.4..4, while fp32 forward errors there are ~3e-6), so an fp32 run takes their
        // slope by rounding, and one such decision moves some gradients by up to 7.6e-3 relative. The official code
        // itself, rerun in fp32 with 1 or 2 threads, fused or not, misses float64 by 6.7e-3..7.2e-3 this way (on 22
        // to 32 parameters; the fp32 golden file decided those three elements as float64 does). So the fixture
        // lists the float64 pre-activations within 1e-5 max|v| of the kink (344) with their cotangents, and where our
        // slope s' differs from float64's s, the float64 gradients get the shift (s' - s)·cotangent·dv/dparam
        // (exact for a piecewise-linear lrelu, up to products of two such shifts), computed with our autograd from
        // our own pre-activations. Measured: one element decided differently (superresolution.block0.conv0, v =
        // 9.3e-8 in float64, -4.0e-7 ours); without the shift the worst error is 3.8e-3, with it 4.1e-5 (a noise
        // strength). The fp32 golden file took the other slope than float64 at two b256.conv0 elements (v = -4.4e-7,
        // -6.1e-7; found and checked by the script: with them, float64 matches it to 6.0e-5, without 1.7e-3), so it
        // is compared the same way: 3.8e-3 without the shift, 3.1e-5 with it. Both are held to the issue's 1e-3.
        let kinks = try kinkDecisions(g, ws: ws, blockOut: blockOut, out: out, truth: truth,
                                      referenceFlips: try KinkShift.goldenFlips(truth))
        let shift = kinks.correction.map { gradients(of: $0, wrt: named.map(\.1), retainGraph: true) }
        let goldenShift = kinks.referenceCorrection.map { gradients(of: $0, wrt: named.map(\.1)) }
        var checked = 0, worst = (0.0, ""), worstPlain = (0.0, ""), worstGolden = (0.0, ""), worstGoldenPlain = (0.0, "")
        for (i, ((name, _), grad)) in zip(named, grads).enumerated() {
            guard f.entries["grad.G.\(name)"] != nil else { continue }
            let plain = try truth.tensor("grad.G.\(name)"), golden = try f.tensor("grad.G.\(name)")
            // ours = float64 + shift, golden = float64 + goldenShift.
            let reference = shift.map { plain + $0[i] } ?? plain
            var goldenReference = shift.map { golden + $0[i] } ?? golden
            if let goldenShift { goldenReference = goldenReference - goldenShift[i] }
            let e = relativeError(grad, reference), eg = relativeError(grad, goldenReference)
            let ep = relativeError(grad, plain), egp = relativeError(grad, golden)
            if e > worst.0 { worst = (e, name) }
            if ep > worstPlain.0 { worstPlain = (ep, name) }
            if eg > worstGolden.0 { worstGolden = (eg, name) }
            if egp > worstGoldenPlain.0 { worstGoldenPlain = (egp, name) }
            checked += 1
            let hint = "(over 1e-3: a kink decision outside the fixture's list, or a real difference)"
            XCTAssertLessThanOrEqual(e, 1e-3, "gradient of \(name) against float64 with our kink decisions \(hint)")
            XCTAssertLessThanOrEqual(eg, 1e-3, "gradient of \(name) against the fp32 golden file with our kink decisions \(hint)")
        }
        XCTAssertEqual(checked, 128, "every parameter with an official gradient was compared")
        print("GeneratorParityTests: \(checked) parameter gradients; \(kinks.near) pre-activations near a kink; ours on the other side of float64 at \(kinks.flipped); worst with our kink decisions: vs float64 \(worst.0) at \(worst.1), vs fp32 golden \(worstGolden.0) at \(worstGolden.1); without: vs float64 \(worstPlain.0) at \(worstPlain.1), vs fp32 golden \(worstGoldenPlain.0) at \(worstGoldenPlain.1)")
    }

    /// One chain per backbone block (from its real input) and one through the super-resolution.
    func kinkDecisions(_ g: TriPlaneGenerator, ws: Tensor, blockOut: [Int: Tensor], out: GeneratorOutput,
                       truth: SafeTensorsFile, referenceFlips: Set<String>) throws -> KinkShift {
        var chains: [KinkChain] = []
        let syn = g.backbone.synthesis, n = ws.shape[0]
        let rows = (0..<syn.numWs).map { ws.slice(axis: 1, start: $0, end: $0 + 1).squeeze(1) }
        var x: Tensor? = nil, start = 0
        for b in syn.blocks {
            let name = "backbone.synthesis.b\(b.resolution)"
            let input = b.const.map { $0.unsqueeze(0).expand([n, b.outChannels, b.resolution, b.resolution]) } ?? x!
            var steps: [KinkChain.Step] = []
            if let conv0 = b.conv0 { steps.append(("\(name).conv0", conv0, rows[start], .const)) }
            steps.append(("\(name).conv1", b.conv1, rows[start + steps.count], .const))
            x = try XCTUnwrap(blockOut[b.resolution])
            chains.append(KinkChain(input: input, steps: steps, real: [steps.count - 1: x!]))
            start += b.numConv
        }
        chains.append(KinkChain.superresolution(g.superresolution, features: out.features, imageRaw: out.imageRaw, ws: ws))
        XCTAssertEqual(chains.map(\.steps.count).reduce(0, +), 17)
        return try KinkShift(chains, truth: truth, referenceFlips: referenceFlips)
    }

    func testFFHQ512StateDictMatchesOfficialListing() throws {
        let listing = try String(contentsOf: fixturesDir.appendingPathComponent("eg3d/ffhq512_state_dict.txt"), encoding: .utf8)
        var official: [String: String] = [:]
        for line in listing.split(separator: "\n") where line.hasPrefix("G ") {
            let parts = line.split(separator: " ", maxSplits: 2)
            let shape = String(parts[2]).components(separatedBy: "]")[0] + "]"
            official[String(parts[1])] = shape.replacingOccurrences(of: " ", with: "")
        }
        let g = TriPlaneGenerator(config: .ffhq512, rng: RandomGenerator(seed: 0))
        var ours: [String: String] = [:]
        for (k, t) in g.stateDict() { ours[k] = "\(t.shape)".replacingOccurrences(of: " ", with: "") }
        XCTAssertEqual(official.count, 177)
        XCTAssertEqual(Set(ours.keys).symmetricDifference(official.keys), [], "names differ from the official listing")
        for (k, s) in official where ours[k] != nil { XCTAssertEqual(ours[k], s, k) }
    }

    func testCheckpointErrorsNameTheKeyAndFile() throws {
        let f = try fixture("eg3d/tiny128.safetensors")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var tensors: [String: Tensor] = [:]
        for k in f.keys where k.hasPrefix("G.") { tensors[String(k.dropFirst(2))] = try f.tensor(k) }
        let meta = ["config": try TriPlaneConfig.tiny128.jsonString()]
        let good = dir.appendingPathComponent("g.safetensors").path
        try saveSafeTensors(tensors, metadata: meta, to: good)
        let loaded = try TriPlaneGenerator.load(path: good)
        XCTAssertEqual(loaded.config, .tiny128)
        var broken = tensors
        broken["decoder.net.0.weight"] = nil
        broken["backbone.synthesis.b4.conv1.bias"] = Tensor.zeros([3])
        broken["backbone.extra"] = Tensor.zeros([1])
        let bad = dir.appendingPathComponent("bad.safetensors").path
        try saveSafeTensors(broken, metadata: meta, to: bad)
        XCTAssertThrowsError(try TriPlaneGenerator.load(path: bad)) { e in
            let s = "\(e)"
            XCTAssertTrue(s.contains("bad.safetensors") && s.contains("decoder.net.0.weight") && s.contains("backbone.synthesis.b4.conv1.bias")
                          && s.contains("backbone.extra"), s)
        }
        try saveSafeTensors(tensors, to: bad)
        XCTAssertThrowsError(try TriPlaneGenerator.load(path: bad)) { XCTAssertTrue("\($0)".contains("convert_eg3d.py"), "\($0)") }
    }
}
