// Mutation fuzzing of `dreamportrait data synth --config FILE.json` (issue 15): every sampling parameter of a
// file that lists them all set to 0, -1, 1e12, 2.5, a string, null, or deleted; SamplerConfig(json:) reads
// each mutant and, where it is accepted, 50 identities are sampled and one 16x16 image is rendered. Every case
// must work or throw an error naming the file; none may trap, take over 10 s or reach 3 GB.
import Foundation
import XCTest
@testable import PortraitWorld
import TestSupport

final class SamplerConfigFuzzTests: XCTestCase {
    func testFuzzSamplerConfigFile() throws {
        let path = temporaryPath("sampler-config") + ".json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let all = Dictionary(uniqueKeysWithValues: SamplerConfig.parameters.map { ($0.name, $0.value) })
        try JSONSerialization.data(withJSONObject: all, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
        let r = try JSONFuzz.run(file: path, errorNames: [path], maxElements: 2) {
            var s = SynthSettings(count: 1, resolution: 16, seed: 5)
            s.sampler = try SamplerConfig(json: Data(contentsOf: URL(fileURLWithPath: path)), source: path)
            let sampler = AttributeSampler(config: s.sampler)
            for i in 0..<50 { _ = sampler.identity(seed: 5, index: i) }
            XCTAssertEqual(World.record(s, index: 0).rendering.rgb.count, 16 * 16 * 3)
        }
        XCTAssertGreaterThan(r.threw, 0)
        XCTAssertGreaterThan(r.worked, 0)
    }
}
