// The discriminator's structure: state_dict names and shapes against the official FFHQ-512 listing (spec §15.3),
// load errors that name full key paths, minibatch-stddev grouping, the configuration's JSON form, camera-label
// noise and the unconditional variant.
import Foundation
import XCTest
import TensorCore
import TriPlaneGAN
import TestSupport

final class DiscriminatorStructureTests: XCTestCase {
    /// (key, shape, kind) in PyTorch state_dict order: per module its parameters, then its buffers, then its children.
    func stateDictListing(_ m: Module) -> [String] {
        var rows: [String] = []
        for (path, module) in m.namedModules() {
            let prefix = path.isEmpty ? "" : path + "."
            for (name, t) in module.localParameters { rows.append("\(prefix)\(name)\t\(t.shape.map(String.init).joined(separator: ","))\tparam") }
            for (name, t) in module.localBuffers { rows.append("\(prefix)\(name)\t\(t.shape.map(String.init).joined(separator: ","))\tbuffer") }
        }
        return rows
    }

    func testFFHQ512StateDictMatchesOfficialListing() throws {
        let text = try String(contentsOfFile: fixturePath("eg3d/ffhq512_D_state_dict.txt"), encoding: .utf8)
        let official = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(official.count, 92)
        let d = DualDiscriminator(.ffhq512, rng: RandomGenerator(seed: 1))
        let ours = stateDictListing(d)
        XCTAssertEqual(ours.count, official.count)
        for (i, (a, b)) in zip(ours, official).enumerated() where a != b { XCTFail("entry \(i): ours \(a), official \(b)") }
        XCTAssertEqual(Set(ours).symmetricDifference(official), [])
        XCTAssertEqual(d.stateDict().count, 92)
        // Parameter counts of spec §15.2.
        func count(_ m: Module) -> Int { m.parameters().map(\.count).reduce(0, +) }
        XCTAssertEqual(count(d), 31_359_744)
        XCTAssertEqual(count(d.mapping!), 2_114_560)
        XCTAssertEqual(count(d.b4), 6_821_888)
    }

    func testTinyStateDictIsTheFixtures() throws {
        let d = DualDiscriminator(.tiny128, rng: RandomGenerator(seed: 1))
        let fixtureKeys = Set(discriminatorFixture.keys.filter { $0.hasPrefix("D.") }.map { String($0.dropFirst(2)) })
        XCTAssertEqual(fixtureKeys.count, 74)
        XCTAssertEqual(Set(d.stateDict().keys), fixtureKeys)
        XCTAssertNoThrow(try loadFixtureDiscriminator())
    }

    func testLoadErrorsNameTheFullPath() throws {
        let d = DualDiscriminator(.tiny128, rng: RandomGenerator(seed: 1))
        var state = d.stateDict()
        state["b64.conv1.weigth"] = state.removeValue(forKey: "b64.conv1.weight")
        state["mapping.fc3.bias"] = Tensor.zeros([63])
        state.removeValue(forKey: "b4.out.bias")
        XCTAssertThrowsError(try d.load(state)) { error in
            let message = "\(error)"
            for part in ["missing key", "b64.conv1.weight", "b4.out.bias", "unexpected key: b64.conv1.weigth",
                         "mapping.fc3.bias expected [64] got [63]"] {
                XCTAssertTrue(message.contains(part), "\"\(part)\" not in: \(message)")
            }
        }
        // The fixture without the prefix stripped: every key is reported with its full path, and the file is named.
        XCTAssertThrowsError(try d.load(safetensors: fixturePath("eg3d/tiny128.safetensors"),
                                        remap: KeyRemap(custom: { $0.hasPrefix("D.") ? $0 : nil }))) { error in
            let message = "\(error)"
            for part in ["tiny128.safetensors", "D.b128.fromrgb.weight", "D.mapping.fc7.bias", "b4.conv.weight"] {
                XCTAssertTrue(message.contains(part), "\"\(part)\" not in: \(message)")
            }
        }
    }

    /// Groups are strided (sample i in group i mod N/G), the std is biased with +1e-8, averaged over the channels
    /// of each of the F blocks and all pixels, and G is clamped to the batch.
    func testMinibatchStdGroupsAreStrided() {
        let (n, c, h, w) = (4, 4, 2, 3)
        let x = RandomGenerator(seed: 3).normal([n, c, h, w])
        let v = x.toArray()
        func at(_ i: Int, _ ch: Int, _ p: Int) -> Double { Double(v[(i * c + ch) * h * w + p]) }
        for f in [1, 2] {
            let y = MinibatchStdLayer(groupSize: 2, numChannels: f)(x)
            XCTAssertEqual(y.shape, [n, c + f, h, w])
            let out = y.toArray()
            for i in 0..<n {
                let j = (i + 2) % 4   // the other member of i's group: {0, 2}, {1, 3}
                for k in 0..<f {
                    var s = 0.0
                    for ch in (k * c / f)..<((k + 1) * c / f) {
                        for p in 0..<(h * w) { s += ((at(i, ch, p) - at(j, ch, p)) * (at(i, ch, p) - at(j, ch, p)) / 4 + 1e-8).squareRoot() }
                    }
                    s /= Double(c / f * h * w)
                    for p in 0..<(h * w) { XCTAssertEqual(Double(out[(i * (c + f) + c + k) * h * w + p]), s, accuracy: 1e-5) }
                }
                for ch in 0..<c { for p in 0..<(h * w) { XCTAssertEqual(Double(out[(i * (c + f) + ch) * h * w + p]), at(i, ch, p)) } }
            }
        }
        // G = min(4, N): a batch of 2 is one group of 2.
        let two = x.slice(axis: 0, start: 0, end: 2).contiguous()
        let a = MinibatchStdLayer(groupSize: 4)(two), b = MinibatchStdLayer(groupSize: 2)(two)
        XCTAssertEqual(a.toArray(), b.toArray())
    }

    func testConfigJSONUsesOfficialNames() throws {
        let data = try JSONEncoder().encode(DiscriminatorConfig.tiny128)
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        for key in ["c_dim", "img_resolution", "img_channels", "channel_base", "channel_max", "mbstd_group_size",
                    "mbstd_num_channels", "mapping_layers", "conv_clamp", "architecture", "disc_c_noise"] {
            XCTAssertNotNil(object[key], key)
        }
        XCTAssertEqual(object["architecture"] as? String, "resnet")
        XCTAssertEqual(try JSONDecoder().decode(DiscriminatorConfig.self, from: data), .tiny128)
        let c = DiscriminatorConfig.ffhq512
        XCTAssertEqual(c.blockResolutions, [512, 256, 128, 64, 32, 16, 8])
        XCTAssertEqual(c.blockResolutions.map(c.channels(at:)), [64, 128, 256, 512, 512, 512, 512])
        XCTAssertEqual(c.resolvedCmapDim, 512)
        XCTAssertEqual(DiscriminatorConfig.tiny128.resolvedCmapDim, 64)
    }

    /// disc_c_noise perturbs the label (reproducibly per seed) without touching the caller's tensor.
    func testCameraNoise() throws {
        var config = DiscriminatorConfig.tiny128
        config.discCNoise = 0.5
        let d = DualDiscriminator(config, rng: RandomGenerator(seed: 5))
        try d.load(safetensors: fixturePath("eg3d/tiny128.safetensors"), remap: discriminatorKeyRemap)
        let image = try discriminatorFixture.tensor("d.real_image"), raw = try discriminatorFixture.tensor("d.real_image_raw")
        let c = try discriminatorFixture.tensor("input.c_render"), before = c.toArray()
        let l1 = withNoGrad { d(image: image, imageRaw: raw, c: c, rng: RandomGenerator(seed: 9)) }
        let l2 = withNoGrad { d(image: image, imageRaw: raw, c: c, rng: RandomGenerator(seed: 9)) }
        let l3 = withNoGrad { d(image: image, imageRaw: raw, c: c, rng: RandomGenerator(seed: 10)) }
        XCTAssertEqual(l1.toArray(), l2.toArray())
        XCTAssertNotEqual(l1.toArray(), l3.toArray())
        XCTAssertNotEqual(l1.toArray(), try discriminatorFixture.tensor("d.logits").toArray())
        XCTAssertEqual(c.toArray(), before)
    }

    /// c_dim 0: no mapping, `b4.out` has one output, which is the logit.
    func testUnconditional() {
        var config = DiscriminatorConfig.tiny128
        config.cDim = 0
        let d = DualDiscriminator(config, rng: RandomGenerator(seed: 2))
        XCTAssertNil(d.mapping)
        XCTAssertFalse(d.stateDict().keys.contains { $0.hasPrefix("mapping.") })
        XCTAssertEqual(d.b4.out.weight.shape, [1, 64])
        let rng = RandomGenerator(seed: 4)
        let logits = withNoGrad { d(image: rng.normal([2, 3, 128, 128]), imageRaw: rng.normal([2, 3, 32, 32]), c: nil) }
        XCTAssertEqual(logits.shape, [2, 1])
        XCTAssertTrue(logits.toArray().allSatisfy(\.isFinite))
    }
}
