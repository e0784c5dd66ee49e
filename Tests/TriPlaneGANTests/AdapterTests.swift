// The 3D-aware gated cross-attention adapter (method doc §4) and the conditioning module that holds the adapters
// and the semantics mapping network: exact identity at initialisation, the gate, the padding mask, gradients,
// and PyTorch parity (Scripts/fixtures/adapter.py).
import Foundation
import XCTest
import TensorCore
@testable import TriPlaneGAN
import TestSupport

final class AdapterTests: XCTestCase {
    func adapter(c: Int = 6, d: Int = 4, heads: Int = 2, dt: Int = 10, seed: UInt64 = 1) -> GatedCrossAttentionAdapter {
        GatedCrossAttentionAdapter(AdapterConfig(channels: c, dim: d, heads: heads, textDim: dt), rng: RandomGenerator(seed: seed))
    }

    /// Opens the adapter: γ (and β) non-zero and a random (trained-looking) Proj_out.
    func open(_ a: GatedCrossAttentionAdapter, gamma: Float = 0.7, seed: UInt64 = 50) throws {
        let (c, d3) = (a.config.channels, 3 * a.config.dim)
        try a.load(["gamma": Tensor([gamma], shape: [1]), "beta": Tensor([1.2], shape: [1]),
                    "proj_out.weight": testTensor([c, d3, 1, 1], seed: seed), "proj_out.bias": testTensor([c], seed: seed + 1)],
                   strict: false)
    }

    /// Bit-for-bit identity at initialisation for random inputs and several prompt sets (one with an empty prompt,
    /// one without padding), at two resolutions.
    func testIdentityAtInitialisation() {
        for (s, res) in [(0, 8), (1, 4)] {
            let a = adapter(seed: 10 + UInt64(s))
            let x = testTensor([3, 6, res, res], seed: 20 + UInt64(s), low: -5, high: 5)
            let texts = [randomText(counts: [3, 5, 1], length: 5, dim: 10, seed: 30), randomText(counts: [0, 2, 4], length: 4, dim: 10, seed: 40),
                         randomText(counts: [7, 7, 7], length: 7, dim: 10, seed: 50)]
            for (i, t) in texts.enumerated() {
                XCTAssertEqual(a(x, text: t).toArray(), x.toArray(), "resolution \(res), prompt set \(i)")
            }
        }
    }

    /// With the gate closed (γ = 0) the text contributes exactly nothing even through a non-zero Proj_out: outputs for
    /// different prompts are bit-identical (and differ from x, so Proj_out is live).
    func testClosedGateContributesExactlyZero() throws {
        let a = adapter()
        try open(a, gamma: 0)
        let x = testTensor([2, 6, 4, 4], seed: 60)
        let y1 = a(x, text: randomText(counts: [3, 2], length: 4, dim: 10, seed: 61)).toArray()
        let y2 = a(x, text: randomText(counts: [4, 0], length: 4, dim: 10, seed: 62)).toArray()
        XCTAssertEqual(y1, y2)
        XCTAssertNotEqual(y1, x.toArray())
    }

    /// `openGate` (train --gate-init): the fresh adapter stays the identity bit for bit (proj_out is still zero), and
    /// once proj_out is non-zero the attention's weights get a gradient proportional to tanh(γ): none with the paper's
    /// closed gate, which is why its gates stayed shut over short runs.
    func testOpenGateKeepsIdentityAndGivesTheAttentionAGradient() throws {
        let x = testTensor([2, 6, 4, 4], seed: 80, low: -3, high: 3)
        let text = randomText(counts: [3, 2], length: 4, dim: 10, seed: 81)
        let fresh = adapter()
        fresh.openGate(to: 0.5)
        XCTAssertEqual(Double(fresh.gate.item()), 0.5, accuracy: 1e-6)
        XCTAssertEqual(fresh(x, text: text).toArray(), x.toArray())
        let r = testTensor([2, 6, 4, 4], seed: 82)
        func gradients(gate: Float) throws -> [String: [Float]] {
            let a = adapter()
            try open(a, gamma: 0)
            try a.load(["beta": Tensor([1], shape: [1])], strict: false)
            if gate > 0 { a.openGate(to: gate) }
            (a(x, text: text) * r).sum().backward()
            return Dictionary(uniqueKeysWithValues: ["to_q.weight", "to_k.weight", "to_v.weight", "to_out.weight"].map { k in
                (k, a.namedParameters().first { $0.0 == k }!.1.grad?.toArray() ?? [])
            })
        }
        let shut = try gradients(gate: 0), quarter = try gradients(gate: 0.25), half = try gradients(gate: 0.5)
        for (k, g) in half {
            XCTAssertTrue((shut[k] ?? []).allSatisfy { $0 == 0 }, "\(k): the closed gate passes no gradient")
            let q = quarter[k]!
            XCTAssertGreaterThan(g.map { abs($0) }.max() ?? 0, 1e-4, k)
            // Linear in tanh(γ): twice the gate, twice the gradient.
            let err = zip(g, q).map { abs($0 - 2 * $1) }.max()!, scale = g.map { abs($0) }.max()!
            XCTAssertLessThan(err / scale, 1e-5, k)
        }
    }

    /// With γ ≠ 0: changing one real word changes that sample's output (and only that sample's); changing a
    /// padded word changes nothing, bit for bit.
    func testOutputDependsOnUnmaskedWordsOnly() throws {
        let a = adapter()
        try open(a)
        let x = testTensor([2, 6, 4, 4], seed: 70)
        let text = randomText(counts: [3, 2], length: 5, dim: 10, seed: 71)
        let y = a(x, text: text)
        let changed = a(x, text: replacingWord(text, sample: 1, slot: 1, seed: 72))
        let sample = { (t: Tensor, n: Int) in t.slice(axis: 0, start: n, end: n + 1).toArray() }
        XCTAssertGreaterThan(relativeError(changed, y), 1e-4, "a real word must matter")
        XCTAssertEqual(sample(changed, 0), sample(y, 0), "another sample's words must not matter")
        for (n, j) in [(0, 3), (0, 4), (1, 2), (1, 4)] {
            XCTAssertEqual(a(x, text: replacingWord(text, sample: n, slot: j, seed: 73)).toArray(), y.toArray(),
                           "padded word [\(n), \(j)] changed the output")
        }
        // The output also differs from the closed-gate output, so the attention path is what the words reach.
        try a.load(["gamma": Tensor([0], shape: [1])], strict: false)
        XCTAssertGreaterThan(relativeError(a(x, text: text), y), 1e-4)
    }

    /// No word slots at all (L = 0) and an all-padding batch give the same output: attention over no keys is zero,
    /// so the gated term is β·tanh(γ)·to_out.bias for both (no NaN, no crash).
    func testNoWordsAttendsToNothing() throws {
        let a = adapter()
        try open(a)
        let x = testTensor([2, 6, 4, 4], seed: 75)
        let empty = TextConditioning(eot: testTensor([2, 10], seed: 76), words: Tensor.zeros([2, 0, 10]), mask: Tensor.zeros([2, 0]))
        let padded = randomText(counts: [0, 0], length: 3, dim: 10, seed: 77)
        let y0 = a(x, text: empty), y1 = a(x, text: padded)
        XCTAssertEqual(y0.toArray(), y1.toArray())
        XCTAssertTrue(y0.toArray().allSatisfy { $0.isFinite })
        // Expected: x + Proj_out(f + gate·to_out.bias), built from the parts.
        let f = a.projIn(x)
        let perPlane = Tensor.concat([a.toOut.bias!, a.toOut.bias!, a.toOut.bias!], axis: 0).reshape([1, 3 * a.config.dim, 1, 1])
        let expected = x + a.projOut(f + perPlane * a.gate.reshape([1, 1, 1, 1]))
        assertClose(y0, expected, tol: 1e-6, "no-word output")
    }

    /// Gradients of x, the word tokens and every parameter against finite differences (small sizes, gate open).
    func testGradcheck() throws {
        let a = GatedCrossAttentionAdapter(AdapterConfig(channels: 3, dim: 2, heads: 2, innerDim: 4, textDim: 4),
                                           rng: RandomGenerator(seed: 80))
        try open(a, gamma: 0.9, seed: 81)
        let x = testTensor([2, 3, 3, 3], seed: 82, requiresGrad: true)
        let words = testTensor([2, 3, 4], seed: 83, requiresGrad: true)
        let eot = testTensor([2, 4], seed: 84)
        let mask = Tensor([1, 1, 1, 1, 1, 0], shape: [2, 3])
        let named = a.namedParameters()
        gradcheckInPlace([x, words] + named.map { $0.1 }, names: ["x", "words"] + named.map { $0.0 }, eps: 1e-2, tol: 1e-2,
                      "adapter") { a(x, text: TextConditioning(eot: eot, words: words, mask: mask)) }
    }

    /// Forward and gradients (x, words, all 13 parameters) against the plain-torch adapter at 1e-5 / 1e-4.
    func testParityWithTorch() throws {
        let file = try fixture("ops_adapter.safetensors")
        let keys = ["proj_in.weight", "proj_in.bias", "norm.weight", "norm.bias", "to_q.weight", "to_k.weight",
                    "to_v.weight", "to_out.weight", "to_out.bias", "proj_out.weight", "proj_out.bias", "beta", "gamma"]
        for name in ["adapter_basic", "adapter_heads_inner", "adapter_empty_prompt"] {
            let meta = try XCTUnwrap(file.metadata["case.\(name)"]?.data(using: .utf8))
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: meta) as? [String: Int])
            let inputs = try (0..<16).map { try file.tensor("\(name).x\($0)") }
            let x = Tensor(inputs[0].toArray(), shape: inputs[0].shape, requiresGrad: true)
            let words = Tensor(inputs[1].toArray(), shape: inputs[1].shape, requiresGrad: true)
            let a = GatedCrossAttentionAdapter(AdapterConfig(channels: x.shape[1], dim: json["dim"]!, heads: json["heads"]!,
                                                             innerDim: json["inner"]!, textDim: words.shape[2]),
                                               rng: RandomGenerator(seed: 0))
            try a.load(Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($0.element, inputs[$0.offset + 3]) }))
            let text = TextConditioning(eot: Tensor.zeros([x.shape[0], words.shape[2]]), words: words, mask: inputs[2])
            let y = a(x, text: text)
            let fwd = assertClose(y, try file.tensor("\(name).out"), tol: 1e-5, "\(name) forward")
            let params = a.stateDict()
            let wrt = [x, words] + keys.map { params[$0]! }
            let grads = gradients(of: y, wrt: wrt, seed: try file.tensor("\(name).r"))
            var worst = 0.0
            for (i, g) in grads.enumerated() {
                let idx = i < 2 ? i : i + 1
                let label = i < 2 ? ["x", "words"][i] : keys[i - 2]
                worst = Swift.max(worst, assertClose(g, try file.tensor("\(name).g\(idx)"), tol: 1e-4, "\(name) gradient of \(label)"))
            }
            print("adapter parity \(name): forward \(fwd), worst gradient \(worst)")
        }
    }

    func testPlacements() {
        XCTAssertEqual(AdapterPlacement.lastBlocks().map(\.description), ["8²×512", "16²×512", "32²×512", "64²×512", "128²×256", "256²×128"])
        XCTAssertEqual(AdapterPlacement.lastBlocks(6, imgResolution: 64, channelBase: 2048, channelMax: 64).map(\.resolution), [4, 8, 16, 32, 64])
        XCTAssertEqual(AdapterPlacement.lastBlocks(2, imgResolution: 64, channelBase: 2048, channelMax: 64).map(\.channels), [64, 32])
    }

    /// The conditioning module: checkpoint keys, and the identity (global and local) at initialisation.
    func testConditioningModuleKeysAndIdentity() {
        let full = DreamPortraitConditioning(ConditioningConfig(), rng: RandomGenerator(seed: 90))
        let shapes = Dictionary(uniqueKeysWithValues: full.namedParameters().map { ($0.0, $0.1.shape) })
        XCTAssertEqual(shapes.count, 10 + 6 * 13)
        XCTAssertEqual(shapes["semantics_mapping.fuse.weight"], [512, 1024])
        XCTAssertEqual(shapes["adapters.0.proj_in.weight"], [96, 512, 1, 1])
        XCTAssertEqual(shapes["adapters.5.proj_out.weight"], [128, 96, 1, 1])
        XCTAssertEqual(shapes["adapters.5.to_k.weight"], [96, 1024])
        XCTAssertEqual(shapes["adapters.3.gamma"], [1])

        let config = ConditioningConfig(wDim: 8, textDim: 6, hiddenDim: 5, adapterDim: 2, heads: 2,
                                        placements: AdapterPlacement.lastBlocks(3, imgResolution: 16, channelBase: 64, channelMax: 8))
        let cond = DreamPortraitConditioning(config, rng: RandomGenerator(seed: 91))
        let text = randomText(counts: [2, 0], length: 3, dim: 6, seed: 92)
        let ws = testTensor([2, 10, 8], seed: 93)
        XCTAssertEqual(cond.mapWS(ws, text: text).toArray(), ws.toArray())
        for p in config.placements {
            let x = testTensor([2, p.channels, p.resolution, p.resolution], seed: 94 + UInt64(p.resolution))
            XCTAssertEqual(cond.adapt(x, afterBlock: p.resolution, text: text).toArray(), x.toArray(), "\(p)")
        }
        let x32 = testTensor([2, 2, 32, 32], seed: 99)
        XCTAssertTrue(cond.adapt(x32, afterBlock: 32, text: text) === x32, "no adapter at 32²: x itself")
        XCTAssertNil(cond.adapter(afterBlock: 32))
    }
}
