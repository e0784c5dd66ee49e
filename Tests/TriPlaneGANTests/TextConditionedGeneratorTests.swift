// The text-conditioned generator (DreamPortrait §3.2-3.3; method doc docs/dreamportrait-method.md §3, §4, §6):
// a freshly wrapped pre-trained EG3D (the official tiny128 weights) reproduces it bit for bit for any text; with
// open gates the output depends on the unmasked words only; gradients reach the conditioning and match finite
// differences; checkpoints round-trip; the conditioning configuration derives from the generator and its JSON
// is validated.
import Foundation
import XCTest
@testable import TensorCore
@testable import TriPlaneGAN
import TestSupport

final class TextConditionedGeneratorTests: XCTestCase {
    // MARK: Helpers

    /// Opens every gate (γ ≠ 0), gives every Proj_out random values and the Fuse layer a random weight and bias, so
    /// that both injections act.
    func openConditioning(_ g: TextConditionedGenerator, seed: UInt64) throws {
        var state: [String: Tensor] = [:]
        let rng = RandomGenerator(seed: seed)
        for (i, a) in g.conditioning.adapters.items.enumerated() {
            let bound = 1 / Float(3 * a.config.dim).squareRoot()
            state["conditioning.adapters.\(i).gamma"] = Tensor([0.4 + 0.1 * Float(i)], shape: [1])
            state["conditioning.adapters.\(i).proj_out.weight"] = rng.uniform(a.projOut.weight.shape, low: -bound, high: bound)
            state["conditioning.adapters.\(i).proj_out.bias"] = rng.uniform(a.projOut.bias.shape, low: -bound, high: bound)
        }
        let fuse = g.conditioning.semanticsMapping.fuse
        state["conditioning.semantics_mapping.fuse.weight"] = rng.normal(fuse.weight.shape, std: 30)
        state["conditioning.semantics_mapping.fuse.bias"] = rng.uniform(fuse.bias!.shape, low: -5, high: 5)
        try g.load(state, strict: false)
    }

    /// A small generator (planes 16², 3 synthesis blocks, no importance sampling so that the render is a
    /// differentiable function of every parameter) for gradient checks and checkpoints.
    static let small = TriPlaneConfig(
        zDim: 8, wDim: 16, cDim: 25, imgResolution: 128, channelBase: 128, channelMax: 16, mappingLayers: 2,
        planeResolution: 16, planeChannels: 4, decoderHiddenDim: 8, decoderOutputDim: 4, srChannels: [4, 4],
        neuralRenderingResolution: 8, rendering: .ffhq(.hybrid2X, depthResolution: 6, depthResolutionImportance: 0))

    /// A fresh small text-conditioned generator (text dim 6, d 2, 2 heads) with open gates.
    func smallConditioned(seed: UInt64 = 1) throws -> TextConditionedGenerator {
        let cond = ConditioningConfig(generator: Self.small, textDim: 6, hiddenDim: 8, adapterDim: 2, heads: 2)
        let g = TextConditionedGenerator(config: Self.small, conditioning: cond, rng: RandomGenerator(seed: seed))
        try openConditioning(g, seed: seed + 1)
        return g
    }

    /// Latents and cameras for the small generator: z (2, 8), c (2, 25) from the fixture's cameras.
    func smallInputs() throws -> (z: Tensor, c: Tensor) {
        let f = try fixture("eg3d/tiny128.safetensors")
        return (testTensor([2, 8], seed: 70, low: -2, high: 2), try f.tensor("input.c_render"))
    }

    func runSmall(_ g: TextConditionedGenerator, _ text: TextConditioning) throws -> GeneratorOutput {
        let (z, c) = try smallInputs()
        return g(z: z, cCond: c, text: text, truncationPsi: 0.8, noiseMode: .const, random: GeneratorRandomSource(seed: 71))
    }

    func runTiny(_ g: TextConditionedGenerator, _ f: SafeTensorsFile, _ text: TextConditioning) throws -> GeneratorOutput {
        let random = ReplayRandomSource(stratified: try f.tensor("rand.stratified"), importance: try f.tensor("rand.importance"))
        return g(z: try f.tensor("input.z"), cCond: try f.tensor("input.c_cond"), cRender: try f.tensor("input.c_render"),
                 text: text, truncationPsi: 0.7, noiseMode: .const, resolution: 32, random: random)
    }

    func runBase(_ g: TriPlaneGenerator, _ f: SafeTensorsFile) throws -> GeneratorOutput {
        let random = ReplayRandomSource(stratified: try f.tensor("rand.stratified"), importance: try f.tensor("rand.importance"))
        return g(z: try f.tensor("input.z"), cCond: try f.tensor("input.c_cond"), cRender: try f.tensor("input.c_render"),
                 truncationPsi: 0.7, noiseMode: .const, resolution: 32, random: random)
    }

    func assertSameOutputs(_ a: GeneratorOutput, _ b: GeneratorOutput, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.image.toArray(), b.image.toArray(), "\(what): image", file: file, line: line)
        XCTAssertEqual(a.imageRaw.toArray(), b.imageRaw.toArray(), "\(what): image_raw", file: file, line: line)
        XCTAssertEqual(a.imageDepth.toArray(), b.imageDepth.toArray(), "\(what): depth", file: file, line: line)
        XCTAssertEqual(a.planes.toArray(), b.planes.toArray(), "\(what): planes", file: file, line: line)
    }

    /// Sample i of a batched tensor.
    func sample(_ t: Tensor, _ i: Int) -> [Float] { t.slice(axis: 0, start: i, end: i + 1).toArray() }

    // MARK: Tests

    /// The official tiny128 weights wrapped with a fresh conditioning (derived from the config: six adapters at
    /// 8² … 256², text dim 1024) give the base generator's image, image_raw and depth bit for bit, with the
    /// fixture's renderer draws, for several texts: different lengths, partial and empty masks, one prompt for
    /// the whole batch.
    func testFreshWrapReproducesEG3DBitForBit() throws {
        let f = try fixture("eg3d/tiny128.safetensors")
        let base = try GeneratorParityTests.officialGenerator(f)
        let expected = try withNoGrad { try runBase(base, f) }
        let g = TextConditionedGenerator(generator: base, rng: RandomGenerator(seed: 3))
        XCTAssertEqual(g.conditioningConfig.placements.map(\.resolution), [8, 16, 32, 64, 128, 256])
        XCTAssertEqual(g.conditioningConfig.placements.map(\.channels), [64, 64, 64, 32, 16, 8])
        XCTAssertEqual(g.conditioningConfig.textDim, 1024)
        // Keys: the generator's, unchanged, plus conditioning.*.
        let keys = Set(g.stateDict().keys), baseKeys = Set(base.stateDict().keys)
        XCTAssertEqual(keys.subtracting(baseKeys), Set(g.conditioning.stateDict().keys.map { "conditioning." + $0 }))
        XCTAssertTrue(baseKeys.isSubset(of: keys))
        XCTAssertTrue(keys.contains("conditioning.adapters.5.proj_out.weight") && keys.contains("conditioning.semantics_mapping.fuse.bias"))

        let texts: [(String, TextConditioning)] = [
            ("5 slots, 5 and 2 words", randomText(counts: [5, 2], length: 5, dim: 1024, seed: 10)),
            ("75 slots, 12 words and an empty prompt", randomText(counts: [12, 0], length: 75, dim: 1024, seed: 20)),
            ("1 slot", randomText(counts: [1, 1], length: 1, dim: 1024, seed: 30)),
            ("one prompt for the batch", randomText(counts: [3], length: 8, dim: 1024, seed: 40)),
        ]
        for (what, text) in texts {
            let out = try withNoGrad { try runTiny(g, f, text) }
            assertSameOutputs(out, expected, what)
        }
        // The stages agree with the one-call form: w_t equals EG3D's ws, and rendering with it gives the same image.
        let (z, c) = (try f.tensor("input.z"), try f.tensor("input.c_cond"))
        let ws = withNoGrad { g.mapping(z, c, text: texts[0].1, truncationPsi: 0.7) }
        XCTAssertEqual(ws.toArray(), withNoGrad { base.mapping(z, c, truncationPsi: 0.7) }.toArray(), "w_t = ws")
    }

    /// With open gates (γ ≠ 0, random Proj_out) and a non-zero Fuse layer on the tiny128 generator, the output
    /// depends on the words: changing an unmasked word of sample 0 changes its image (and leaves sample 1's
    /// untouched, bit for bit), changing a padded word changes nothing, changing t_EOT changes the image.
    func testOutputDependsOnUnmaskedWordsOnly() throws {
        let f = try fixture("eg3d/tiny128.safetensors")
        let g = TextConditionedGenerator(generator: try GeneratorParityTests.officialGenerator(f), textDim: 32,
                                         rng: RandomGenerator(seed: 5))
        try openConditioning(g, seed: 6)
        let text = randomText(counts: [4, 3], length: 6, dim: 32, seed: 50)
        let out = try withNoGrad { try runTiny(g, f, text) }
        let base = try withNoGrad { try runBase(g.generator, f) }
        XCTAssertGreaterThan(relativeError(out.image, base.image), 1e-3, "open conditioning changes the image")

        let unmasked = try withNoGrad { try runTiny(g, f, replacingWord(text, sample: 0, slot: 1, seed: 51)) }
        let e = relativeError(unmasked.image.slice(axis: 0, start: 0, end: 1), out.image.slice(axis: 0, start: 0, end: 1))
        XCTAssertGreaterThan(e, 1e-4, "an unmasked word changes the image")
        XCTAssertGreaterThan(relativeError(unmasked.imageRaw, out.imageRaw), 1e-5, "an unmasked word changes image_raw")
        XCTAssertEqual(sample(unmasked.image, 1), sample(out.image, 1), "sample 1's prompt did not change")
        XCTAssertEqual(sample(unmasked.imageDepth, 1), sample(out.imageDepth, 1))

        let padded = try withNoGrad { try runTiny(g, f, replacingWord(text, sample: 1, slot: 4, seed: 52)) }
        assertSameOutputs(padded, out, "a padded word")

        var eot = text.eot.toArray()
        eot[3] += 1
        let newEOT = TextConditioning(eot: Tensor(eot, shape: text.eot.shape), words: text.words, mask: text.mask)
        let global = try withNoGrad { try runTiny(g, f, newEOT) }
        XCTAssertGreaterThan(relativeError(global.image.slice(axis: 0, start: 0, end: 1), out.image.slice(axis: 0, start: 0, end: 1)),
                             1e-4, "t_EOT changes the image")
        print("TextConditionedGeneratorTests: open conditioning vs EG3D \(relativeError(out.image, base.image)), one word \(e)")
    }

    /// `switchOff` (eval --text-path): with one path off the output differs from the full model and from the wrapped
    /// EG3D; with both off it is the wrapped EG3D bit for bit.
    func testSwitchingPathsOff() throws {
        let text = randomText(counts: [3, 2], length: 4, dim: 6, seed: 63)
        let full = try withNoGrad { try runSmall(try smallConditioned(), text) }
        let (z, c) = try smallInputs()
        let base = try smallConditioned()
        let plain = withNoGrad { base.generator(z: z, cCond: c, truncationPsi: 0.8, noiseMode: .const, random: GeneratorRandomSource(seed: 71)) }
        for path in DreamPortraitConditioning.Path.allCases {
            let g = try smallConditioned()
            g.conditioning.switchOff(path)
            let out = try withNoGrad { try runSmall(g, text) }
            XCTAssertGreaterThan(relativeError(out.image, full.image), 1e-4, "\(path) off changes the image")
            XCTAssertGreaterThan(relativeError(out.image, plain.image), 1e-4, "the other path still conditions it")
            g.conditioning.switchOff(path == .global ? .adapters : .global)
            assertSameOutputs(try withNoGrad { try runSmall(g, text) }, plain, "both paths off")
        }
    }

    /// `scale` (eval --text-scale): multiplies exactly the parameters that carry a path's contribution (Fuse for
    /// .global, every proj_out for .adapters) and nothing else; scale 1 leaves the outputs bit for bit.
    func testScalingPaths() throws {
        let text = randomText(counts: [3, 2], length: 4, dim: 6, seed: 64)
        let g = try smallConditioned(), reference = try smallConditioned()
        let full = try withNoGrad { try runSmall(reference, text) }
        for path in DreamPortraitConditioning.Path.allCases { g.conditioning.scale(path, by: 1) }
        assertSameOutputs(try withNoGrad { try runSmall(g, text) }, full, "scale 1")
        g.conditioning.scale(.adapters, by: 2.5)
        let before = reference.stateDict(), after = g.stateDict()
        for (key, t) in after {
            let scaled = key.contains("proj_out")
            let expected = before[key]!.toArray().map { scaled ? $0 * 2.5 : $0 }
            XCTAssertEqual(t.toArray(), expected, "\(key) \(scaled ? "scaled by 2.5" : "unchanged")")
        }
        XCTAssertTrue(after.keys.contains { $0.contains("proj_out") } && after.keys.contains { $0.contains("fuse") })
        XCTAssertGreaterThan(relativeError(try withNoGrad { try runSmall(g, text) }.image, full.image), 1e-4, "scale 2.5 changes the image")
    }

    /// Gradients of a loss on image and image_raw reach every conditioning parameter (non-zero and finite), and
    /// match central differences on scalar parameters: every adapter's gate γ (the last one sits at the plane
    /// resolution, where only the block's ToRGB reads x), one β, one Fuse weight and bias, one Proj_in weight
    /// (small generator, Float32 forward, loss summed in Float64; steps small enough to cross few lrelu kinks).
    func testGradientsReachConditioningAndMatchFiniteDifferences() throws {
        let g = try smallConditioned()
        XCTAssertEqual(g.conditioningConfig.placements.map(\.resolution), [4, 8, 16], "fewer than six blocks: all of them")
        let text = randomText(counts: [3, 2], length: 4, dim: 6, seed: 60)
        let r1 = testTensor([2, 3, 128, 128], seed: 61), r2 = testTensor([2, 3, 8, 8], seed: 62)
        func loss() throws -> Tensor {
            let out = try runSmall(g, text)
            return (out.image * r1).sum() + (out.imageRaw * r2).sum()
        }
        let named = g.conditioning.namedParameters()
        let grads = gradients(of: try loss(), wrt: named.map(\.1))
        for ((name, _), grad) in zip(named, grads) {
            let v = grad.toArray()
            XCTAssertTrue(v.allSatisfy(\.isFinite), "gradient of \(name) is not finite")
            XCTAssertGreaterThan(v.map(abs).max() ?? 0, 0, "no gradient reaches \(name)")
        }
        // Central differences on single scalars of the conditioning.
        let adapters = g.conditioning.adapters.items
        var checks: [(String, Tensor, Int, Float)] = adapters.enumerated().map { ("adapters.\($0.offset).gamma", $0.element.gamma, 0, 1e-2) }
        checks.append(("adapters.1.beta", adapters[1].beta, 0, 1e-2))
        // The Fuse layer's stored values are scaled by λ/√in = 0.0025 and λ = 0.01: large steps, small effective ones.
        checks.append(("semantics_mapping.fuse.weight[3]", g.conditioning.semanticsMapping.fuse.weight, 3, 20))
        checks.append(("semantics_mapping.fuse.bias[5]", g.conditioning.semanticsMapping.fuse.bias!, 5, 0.05))
        checks.append(("adapters.2.proj_in.weight[5]", adapters[2].projIn.weight, 5, 1e-2))
        // The loss for differences is summed in Float64, so that only the forward's own rounding is left.
        let (r1v, r2v) = (r1.toArray(), r2.toArray())
        func lossValue() throws -> Double {
            let out = try withNoGrad { try runSmall(g, text) }
            let (a, b) = (out.image.toArray(), out.imageRaw.toArray())
            return zip(a, r1v).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } + zip(b, r2v).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        let analytic = gradients(of: try loss(), wrt: checks.map(\.1))
        for ((name, t, i, eps), a) in zip(checks, analytic) {
            let base = t.storage.base[t.offset + i]
            t.storage.base[t.offset + i] = base + eps
            let up = try lossValue()
            t.storage.base[t.offset + i] = base - eps
            let down = try lossValue()
            t.storage.base[t.offset + i] = base
            let numeric = (up - down) / (2 * Double(eps)), exact = Double(a.toArray()[i])
            let err = abs(exact - numeric) / max(abs(numeric), 1e-3)
            XCTAssertLessThanOrEqual(err, 1e-2, "d loss / d \(name): autograd \(exact), finite differences \(numeric)")
            XCTAssertGreaterThan(abs(up - down), 1e-2, "\(name) must move the loss well above rounding for the check to mean anything")
            print("TextConditionedGeneratorTests: d/d \(name) autograd \(exact) numeric \(numeric) relative error \(err)")
        }
    }

    /// At initialisation the gates receive no gradient (Proj_out is zero) but Proj_out and Fuse do, so training
    /// opens the conditioning from the identity (method doc §4 step 5, §3).
    func testFreshConditioningGradients() throws {
        let cond = ConditioningConfig(generator: Self.small, textDim: 6, hiddenDim: 8, adapterDim: 2, heads: 2)
        let g = TextConditionedGenerator(config: Self.small, conditioning: cond, rng: RandomGenerator(seed: 8))
        let out = try runSmall(g, randomText(counts: [2, 4], length: 4, dim: 6, seed: 63))
        let loss = (out.image * testTensor([2, 3, 128, 128], seed: 64)).sum()
        let a = g.conditioning.adapters.items[1]
        let fuse = g.conditioning.semanticsMapping.fuse
        let grads = gradients(of: loss, wrt: [a.gamma, a.projOut.weight, a.projOut.bias, fuse.weight, fuse.bias!])
        XCTAssertEqual(grads[0].toArray(), [0], "the closed gate's gradient is exactly 0 while Proj_out is 0")
        for (name, gr) in zip(["proj_out.weight", "proj_out.bias", "fuse.weight", "fuse.bias"], grads.dropFirst()) {
            XCTAssertGreaterThan(gr.toArray().map(abs).max() ?? 0, 0, "\(name) gets a gradient at initialisation")
        }
    }

    /// One prompt serves the whole batch: the same outputs, bit for bit, as that prompt repeated per sample (open
    /// gates, so the text matters).
    func testOnePromptServesTheBatch() throws {
        let g = try smallConditioned(seed: 14)
        let one = randomText(counts: [3], length: 5, dim: 6, seed: 66)
        let repeated = TextConditioning(eot: Tensor.concat([one.eot, one.eot], axis: 0),
                                        words: Tensor.concat([one.words, one.words], axis: 0),
                                        mask: Tensor.concat([one.mask, one.mask], axis: 0))
        let expanded = one.expanded(toBatch: 2)
        XCTAssertEqual(expanded.batch, 2)
        XCTAssertEqual(expanded.wordCounts, [3, 3])
        assertSameOutputs(try withNoGrad { try runSmall(g, one) }, try withNoGrad { try runSmall(g, repeated) }, "broadcast prompt")
    }

    /// save → load gives the same state and the same outputs, bit for bit; a `G_ema.` prefix is found; every bad
    /// key and bad metadata is named.
    func testCheckpointRoundTripAndErrors() throws {
        let g = try smallConditioned(seed: 12)
        let text = randomText(counts: [4, 1], length: 5, dim: 6, seed: 65)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tcg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("g.safetensors").path
        try g.save(path: path, metadata: ["note": "test"])
        let file = try SafeTensorsFile(path: path)
        XCTAssertEqual(file.metadata["note"], "test")
        XCTAssertEqual(try ConditioningConfig(json: file.metadata["conditioning"]!), g.conditioningConfig)
        let loaded = try TextConditionedGenerator.load(path: path)
        XCTAssertEqual(loaded.config, Self.small)
        XCTAssertEqual(loaded.conditioningConfig, g.conditioningConfig)
        for (k, t) in g.stateDict() { XCTAssertEqual(loaded.stateDict()[k]?.toArray(), t.toArray(), k) }
        assertSameOutputs(try withNoGrad { try runSmall(loaded, text) }, try withNoGrad { try runSmall(g, text) }, "after save → load")

        // Under a prefix, as a training snapshot stores it.
        var state = g.stateDict()
        var prefixed: [String: Tensor] = [:]
        for (k, t) in state { prefixed["G_ema." + k] = t; prefixed["G." + k] = t * 0 }
        let snapshot = dir.appendingPathComponent("snapshot.safetensors").path
        try saveSafeTensors(prefixed, metadata: try g.checkpointMetadata(), to: snapshot)
        let ema = try TextConditionedGenerator.load(path: snapshot)
        XCTAssertEqual(ema.conditioning.adapters.items[0].gamma.toArray(), g.conditioning.adapters.items[0].gamma.toArray())

        // Bad keys: each named, with the file.
        state["conditioning.adapters.1.gamma"] = nil
        state["conditioning.adapters.0.proj_out.weight"] = Tensor.zeros([3, 6, 1, 1])
        state["conditioning.extra"] = Tensor.zeros([1])
        let bad = dir.appendingPathComponent("bad.safetensors").path
        try saveSafeTensors(state, metadata: try g.checkpointMetadata(), to: bad)
        XCTAssertThrowsError(try TextConditionedGenerator.load(path: bad)) { e in
            let s = "\(e)"
            for part in ["bad.safetensors", "conditioning.adapters.1.gamma", "conditioning.adapters.0.proj_out.weight", "conditioning.extra"] {
                XCTAssertTrue(s.contains(part), "\(part) missing from: \(s)")
            }
        }
        // A plain EG3D checkpoint: refused with the way to wrap it.
        try saveSafeTensors(g.generator.stateDict(), metadata: ["config": try Self.small.jsonString()], to: bad)
        XCTAssertThrowsError(try TextConditionedGenerator.load(path: bad)) { XCTAssertTrue("\($0)".contains("TriPlaneGenerator.load"), "\($0)") }
        // Conditioning metadata that does not fit the generator: named.
        var wrong = g.conditioningConfig
        wrong.placements[2] = AdapterPlacement(resolution: 16, channels: 5)
        try saveSafeTensors(g.stateDict(), metadata: ["config": try Self.small.jsonString(), "conditioning": try wrong.jsonString()], to: bad)
        XCTAssertThrowsError(try TextConditionedGenerator.load(path: bad)) { e in
            XCTAssertTrue("\(e)".contains("16²") && "\(e)".contains("5 channels") && "\(e)".contains("bad.safetensors"), "\(e)")
        }
    }

    /// Derivation from generator configurations, JSON round trip with snake_case keys, and named errors.
    func testConditioningConfigDerivationAndJSON() throws {
        let ffhq = ConditioningConfig(generator: .ffhq512)
        XCTAssertEqual(ffhq.placements, AdapterPlacement.lastBlocks())
        XCTAssertEqual(ffhq.placements.map(\.channels), [512, 512, 512, 512, 256, 128])
        XCTAssertEqual([ffhq.wDim, ffhq.textDim, ffhq.hiddenDim, ffhq.adapterDim, ffhq.heads], [512, 1024, 512, 32, 4])
        XCTAssertEqual(ffhq.axes, .eg3d)
        XCTAssertEqual(ffhq.problems(for: .ffhq512), [])
        XCTAssertEqual(ConditioningConfig(generator: .tiny128, textDim: 512, adapters: 2).placements,
                       [AdapterPlacement(resolution: 128, channels: 16), AdapterPlacement(resolution: 256, channels: 8)])

        let json = try ffhq.jsonString()
        for key in ["\"w_dim\":512", "\"text_dim\":1024", "\"hidden_dim\":512", "\"mapping_lr_multiplier\"", "\"adapter_dim\":32",
                    "\"heads\":4", "\"inner_dim\":null", "{\"channels\":128,\"resolution\":256}", "{\"column\":\"z\",\"row\":\"x\"}"] {
            XCTAssertTrue(json.contains(key), "\(key) not in \(json)")
        }
        XCTAssertEqual(try ConditioningConfig(json: json), ffhq)
        var other = ffhq
        other.innerDim = 64; other.axes = .orthogonal
        XCTAssertEqual(try ConditioningConfig(json: try other.jsonString()), other)

        func assertRejects(_ json: String, mentioning parts: [String], line: UInt = #line) {
            XCTAssertThrowsError(try ConditioningConfig(json: json), line: line) { e in
                for p in parts { XCTAssertTrue("\(e)".contains(p), "\(p) not in: \(e)", line: line) }
            }
        }
        assertRejects(json.replacingOccurrences(of: "\"text_dim\":1024,", with: ""), mentioning: ["text_dim"])
        assertRejects(json.replacingOccurrences(of: "\"column\":\"z\"", with: "\"column\":\"w\""), mentioning: ["\"w\""])
        assertRejects(json.replacingOccurrences(of: "\"resolution\":256", with: "\"resolution\":12"), mentioning: ["12"])
        assertRejects(json.replacingOccurrences(of: "\"heads\":4", with: "\"heads\":5"), mentioning: ["heads = 5"])
        assertRejects(json.replacingOccurrences(of: "\"resolution\":8}", with: "\"resolution\":512}"), mentioning: ["increasing"])

        let problems = ffhq.problems(for: .tiny128)
        XCTAssertTrue(problems.contains { $0.contains("the adapter at 8² has 512 channels, the generator's block has 64") }, "\(problems)")
        XCTAssertEqual(ConditioningConfig(generator: .tiny128).problems(for: .ffhq512).count, 6, "every placement's channels differ")
        var missing = ffhq
        missing.wDim = 16
        missing.placements.append(AdapterPlacement(resolution: 512, channels: 64))
        XCTAssertEqual(missing.problems(for: .ffhq512).count, 2, "\(missing.problems(for: .ffhq512))")
    }
}
