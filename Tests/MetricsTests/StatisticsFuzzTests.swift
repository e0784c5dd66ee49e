// Mutation fuzzing of the binary files FID reads (issue 15): the safetensors header of a statistics file
// (`--reference`/`--images` statistics, the cache) and of the Inception weights: each tensor's dtype, shape
// and offsets (Inception: one tensor's dtype and shape) and each metadata entry set to 0, -1, 1e12, 2.5, a
// string, null, or deleted. The statistics go through GaussianStatistics(path:) and a Fréchet distance; the
// weights through FIDInceptionV3(weights:) (the unmutated file also through one 75x75 image's features). Every
// case must work or throw an error naming the file; none may trap, take over 10 s or reach 3 GB.
import Foundation
import XCTest
@testable import Metrics
import TensorCore
import TestSupport

final class StatisticsFuzzTests: XCTestCase {
    func testFuzzStatisticsFile() throws {
        let path = temporaryPath("fid-stats") + ".safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        // mean (4), an SPD covariance (4x4): diag 2, off-diagonal 0.5.
        let cov = (0..<16).map { $0 / 4 == $0 % 4 ? 2.0 : 0.5 }
        try safeTensorsData(float64: ["mu": ([0.1, -0.2, 0.3, 0.4], [4]), "sigma": (cov, [4, 4])], metadata: ["count": "10"])
            .write(to: URL(fileURLWithPath: path))
        let r = try JSONFuzz.runSafeTensorsHeader(file: path) {
            let s = try GaussianStatistics(path: path)
            XCTAssertEqual(try frechetDistance(s, s), 0, accuracy: 1e-9)
        }
        XCTAssertGreaterThan(r.threw, 0)
        XCTAssertGreaterThan(r.worked, 0)
    }

    func testFuzzInceptionWeightsHeader() throws {
        let path = temporaryPath("inception-fuzz") + ".safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try saveSafeTensors(FIDInceptionV3.randomized(seed: 1).stateDict(), to: path)
        // The unmutated file loads and gives one image's features.
        let image = testTensor([3, 75, 75], seed: 2, low: 0, high: 1)
        let features = withNoGrad { try! FIDInceptionV3(weights: path).features(FIDInceptionV3.resizedBatch([image])) }
        XCTAssertEqual(features.shape, [1, 2048])
        XCTAssertTrue(features.toArray().allSatisfy(\.isFinite))
        // One tensor's dtype and shape (offsets are fuzzed in the statistics file above and in TensorCore's
        // SafeTensorsFuzzTests; each case here rewrites and reloads 96 MB). Any change to a fixed architecture's
        // tensor must be refused.
        let r = try JSONFuzz.runSafeTensorsHeader(file: path, maxTensors: 1, skipKeys: JSONFuzz.campaign ? [] : ["data_offsets"]) {
            _ = try FIDInceptionV3(weights: path)
        }
        if !JSONFuzz.campaign { XCTAssertEqual(r.worked, 0, "a mutated dtype or shape was accepted") }
        XCTAssertGreaterThan(r.threw, 0)
    }
}
