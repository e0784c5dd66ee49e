// Mutation fuzzing of our text-conditioned generator checkpoints (issue 15): each field of the `conditioning`
// metadata (ConditioningConfig JSON: widths, heads, each adapter placement) set to 0, -1, 1e12, 2.5, a string,
// null, or deleted; TextConditionedGenerator.load runs on each mutant and, where it loads, one forward of the
// small generator per distinct configuration. Every case must work or throw an error naming the checkpoint;
// none may trap, take over 10 s or reach 3 GB.
import Foundation
import XCTest
@testable import TriPlaneGAN
import TensorCore
import TestSupport

final class ConditioningFuzzTests: XCTestCase {
    func testFuzzConditioningMetadata() throws {
        let small = TextConditionedGeneratorTests.small
        let cond = ConditioningConfig(generator: small, textDim: 6, hiddenDim: 8, adapterDim: 2, heads: 2)
        let g = TextConditionedGenerator(config: small, conditioning: cond, rng: RandomGenerator(seed: 1))
        let path = temporaryPath("conditioning-fuzz") + ".safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try g.save(path: path)
        let file = SafeTensorsBytes(try Data(contentsOf: URL(fileURLWithPath: path)))
        var header = try JSONSerialization.jsonObject(with: file.header) as! [String: Any]
        let text = TextConditioning(eot: testTensor([1, 6], seed: 3), words: testTensor([1, 4, 6], seed: 4),
                                    mask: Tensor([1, 1, 1, 0], shape: [1, 4]))
        var forwarded: [ConditioningConfig] = []
        let r = try JSONFuzz.run(json: Data(try cond.jsonString().utf8), name: "conditioning metadata", errorNames: [path]) { mutant in
            var meta = header["__metadata__"] as! [String: String]
            meta["conditioning"] = String(decoding: mutant, as: UTF8.self)
            header["__metadata__"] = meta
            try file.with(header: try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])).write(to: URL(fileURLWithPath: path))
            let loaded = try TextConditionedGenerator.load(path: path)
            guard !forwarded.contains(loaded.conditioningConfig) else { return }
            forwarded.append(loaded.conditioningConfig)
            let out = withNoGrad {
                loaded(z: testTensor([1, 8], seed: 5), cCond: Camera.labels([Camera.frontal()]), text: text, truncationPsi: 0.8,
                       noiseMode: .const, random: GeneratorRandomSource(seed: 6))
            }
            XCTAssertEqual(out.image.shape, [1, 3, 128, 128])
        }
        XCTAssertGreaterThan(r.threw, 0)
        XCTAssertGreaterThan(r.worked, 0)
    }
}
