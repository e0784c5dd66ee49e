// `train --config FILE.json` under mutation (issue 15's campaign for the training config): every key of the
// generator and training sections set to 0, -1, a huge value, a float, a string, null, or deleted. Each case
// either loads and builds G and D (bounded memory and time) or throws an error naming the file — never a trap.
import Distill
import Foundation
import TensorCore
import TestSupport
import TriPlaneGAN
import XCTest

final class RunConfigFuzzTests: XCTestCase {
    func testFuzzRunConfigFile() throws {
        let dir = try temporaryFolder("runconfig-fuzz")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/run.json"
        let generator = try JSONSerialization.jsonObject(with: Data(try TriPlaneConfig.tiny128.jsonString().utf8))
        let training = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(TrainingOptions.eg3d(batch: 4, neuralRenderingResolution: 32)))
        let top: [String: Any] = ["base": "tiny128", "generator": generator, "training": training]
        try JSONSerialization.data(withJSONObject: top, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try RunConfig.load(path, batch: nil).generator, .tiny128, "the unmutated file is tiny128")
        var built: [TriPlaneConfig] = []
        let report = try JSONFuzz.run(file: path, maxSeconds: 10, maxResidentMB: 3000) {
            let config = try RunConfig.load(path, batch: nil)
            guard !built.contains(config.generator) else { return }
            built.append(config.generator)
            _ = TriPlaneGenerator(config: config.generator, rng: RandomGenerator(seed: 0))
            _ = DualDiscriminator(config.generator.discriminatorConfig, rng: RandomGenerator(seed: 0))
        }
        XCTAssertGreaterThan(report.cases, 200)
        XCTAssertGreaterThan(report.threw, 50, "bad values are refused")
        XCTAssertGreaterThan(report.worked, 20, "harmless mutations still load")
    }
}
