// Module naming (full dotted checkpoint keys), buffers, strict in-place loading with complete error
// reports, and loading safetensors files through a key remap table.
import Foundation
import XCTest
@testable import TensorCore

/// A toy generator named like EG3D's checkpoint keys.
final class ToyAffineConv: Module {
    let affine: Linear, weight: Tensor, noiseStrength: Tensor, noiseConst: Tensor
    init(_ c: Int, rng: RandomGenerator) {
        affine = Linear(4, c, rng: rng)
        weight = rng.normal([c, c, 3, 3])
        noiseStrength = Tensor.zeros([])
        noiseConst = rng.normal([8, 8])
        super.init()
        registerModule("affine", affine)
        registerParameter("weight", weight)
        registerParameter("noise_strength", noiseStrength)
        registerBuffer("noise_const", noiseConst)
    }
}

final class ToyGenerator: Module {
    final class Mapping: Module {
        let fc0: Linear, fc1: Linear, wAvg: Tensor
        init(rng: RandomGenerator) {
            fc0 = Linear(4, 4, rng: rng); fc1 = Linear(4, 4, bias: false, rng: rng); wAvg = Tensor.zeros([4])
            super.init()
            registerModule("fc0", fc0); registerModule("fc1", fc1); registerBuffer("w_avg", wAvg)
        }
    }
    final class Block: Module {
        init(rng: RandomGenerator) {
            super.init()
            registerModule("conv0", ToyAffineConv(3, rng: rng))
            registerModule("conv1", ToyAffineConv(3, rng: rng))
        }
    }
    final class Synthesis: Module {
        init(rng: RandomGenerator) { super.init(); registerModule("b4", Block(rng: rng)) }
    }
    let mapping: Mapping, synthesis: Synthesis
    init(seed: UInt64) {
        let rng = RandomGenerator(seed: seed)
        mapping = Mapping(rng: rng); synthesis = Synthesis(rng: rng)
        super.init()
        registerModule("mapping", mapping); registerModule("synthesis", synthesis)
    }
}

final class ModuleTests: XCTestCase {
    static let parameterNames = [
        "mapping.fc0.weight", "mapping.fc0.bias", "mapping.fc1.weight",
        "synthesis.b4.conv0.weight", "synthesis.b4.conv0.noise_strength", "synthesis.b4.conv0.affine.weight", "synthesis.b4.conv0.affine.bias",
        "synthesis.b4.conv1.weight", "synthesis.b4.conv1.noise_strength", "synthesis.b4.conv1.affine.weight", "synthesis.b4.conv1.affine.bias",
    ]

    func testNamesMirrorCheckpointKeys() {
        let g = ToyGenerator(seed: 1)
        XCTAssertEqual(g.namedParameters().map(\.0), Self.parameterNames)
        XCTAssertEqual(g.namedBuffers().map(\.0), ["mapping.w_avg", "synthesis.b4.conv0.noise_const", "synthesis.b4.conv1.noise_const"])
        XCTAssertEqual(Set(g.stateDict().keys), Set(Self.parameterNames + g.namedBuffers().map(\.0)))
        XCTAssertTrue(g.parameters().allSatisfy(\.requiresGrad))
        XCTAssertTrue(g.namedBuffers().allSatisfy { !$0.1.requiresGrad })
        XCTAssertEqual(g.namedModules().map(\.0).prefix(4), ["", "mapping", "mapping.fc0", "mapping.fc1"])
        g.train(false)
        XCTAssertFalse(g.synthesis.isTraining || g.mapping.fc0.isTraining)
    }

    func testSharedParameterListedOnce() {
        let shared = Linear(2, 2, rng: RandomGenerator(seed: 3))
        let m = Module()
        m.registerModule("a", shared)
        m.registerModule("b", shared)
        XCTAssertEqual(m.namedParameters().map(\.0), ["a.weight", "a.bias"])
    }

    func testLoadCopiesInPlace() throws {
        let g = ToyGenerator(seed: 1), source = ToyGenerator(seed: 2)
        let before = g.stateDict()
        try g.load(source.stateDict())
        for (k, t) in g.stateDict() {
            XCTAssertTrue(t === before[k]!, "\(k) is still the same tensor")
            XCTAssertEqual(t.toArray(), source.stateDict()[k]!.toArray(), k)
        }
        XCTAssertEqual(g.synthesis.children[0].module.children[1].module.localParameters[0].tensor.toArray(),
                       source.stateDict()["synthesis.b4.conv1.weight"]!.toArray())
    }

    func testLoadReportsEveryProblemAndWritesNothing() throws {
        let g = ToyGenerator(seed: 1)
        let original = g.mapping.fc0.weight.toArray()
        var d = ToyGenerator(seed: 2).stateDict()
        d["mapping.fc1.weight"] = nil
        d["synthesis.b4.conv0.noise_const"] = nil
        d["synthesis.b4.torgb.weight"] = Tensor.zeros([1])
        d["synthesis.b4.conv1.affine.weight"] = Tensor.zeros([4, 3])
        XCTAssertThrowsError(try g.load(d)) { error in
            XCTAssertEqual("\(error)", "state dict does not match: 2 missing keys: mapping.fc1.weight, synthesis.b4.conv0.noise_const; "
                + "1 unexpected key: synthesis.b4.torgb.weight; "
                + "1 shape mismatch: synthesis.b4.conv1.affine.weight expected [3, 4] got [4, 3]")
        }
        XCTAssertEqual(g.mapping.fc0.weight.toArray(), original, "nothing is copied when verification fails")
        // strict: false tolerates missing and unexpected keys, never a shape mismatch.
        XCTAssertThrowsError(try g.load(d, strict: false))
        d["synthesis.b4.conv1.affine.weight"] = nil
        try g.load(d, strict: false)
        XCTAssertEqual(g.mapping.fc0.weight.toArray(), d["mapping.fc0.weight"]!.toArray())
    }

    func testLoadFileThroughRemap() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tc-module-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = ToyGenerator(seed: 5)
        // The file uses another naming: "G_ema." prefix, "map." for "mapping.", plus a key to drop.
        var foreign: [String: Tensor] = ["G_ema.augment_pipe.p": Tensor.zeros([1])]
        for (k, t) in source.stateDict() {
            foreign["G_ema." + (k.hasPrefix("mapping.") ? "map." + k.dropFirst("mapping.".count) : k)] = t
        }
        let path = dir.appendingPathComponent("ckpt.safetensors").path
        try saveSafeTensors(foreign, to: path)
        let remap = KeyRemap(prefixes: [("G_ema.map.", "mapping."), ("G_ema.", "")],
                             custom: { $0.hasPrefix("augment_pipe.") ? nil : $0 })
        let g = ToyGenerator(seed: 6)
        try g.load(safetensors: path, remap: remap)
        for (k, t) in g.stateDict() { XCTAssertEqual(t.toArray(), source.stateDict()[k]!.toArray(), k) }

        // Without the remap: every key is unexpected and every own key missing, in a FileError naming the file.
        XCTAssertThrowsError(try g.load(safetensors: path)) { error in
            guard let e = error as? FileError else { return XCTFail("not a FileError: \(error)") }
            XCTAssertEqual(e.path, path)
            XCTAssertTrue(e.description.hasPrefix("\(path): does not fit ToyGenerator: state dict does not match: 14 missing keys: mapping.fc0.bias"), e.description)
            XCTAssertTrue(e.description.contains("15 unexpected keys: G_ema.augment_pipe.p, G_ema.map.fc0.bias"), e.description)
        }
        // Two file keys renamed onto one.
        XCTAssertThrowsError(try g.load(safetensors: path, remap: KeyRemap(custom: { _ in "same" }))) { error in
            XCTAssertTrue("\(error)".contains("key collision"), "\(error)")
        }
        XCTAssertThrowsError(try g.load(safetensors: dir.appendingPathComponent("absent.safetensors").path)) { error in
            XCTAssertTrue("\(error)".contains("absent.safetensors: cannot open"), "\(error)")
        }
    }

    func testSaveLoadRoundTrip() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tc-roundtrip-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let a = ToyGenerator(seed: 7), b = ToyGenerator(seed: 8)
        try a.save(safetensors: path)
        try b.load(safetensors: path)
        for (k, t) in b.stateDict() { XCTAssertEqual(t.toArray(), a.stateDict()[k]!.toArray(), k) }
        a.mapping.fc0.weight.grad = Tensor.ones([4, 4])
        a.zeroGrad()
        XCTAssertNil(a.mapping.fc0.weight.grad)
    }
}
