// LatentDirections: the class-mean direction against hand-computed values, the fit-and-shift loop on a stand-in
// generator whose one attribute is a known linear function of w (the direction must find it and the shift must
// switch it on and off), and the real rendering path on the tiny random generator (8-bit values, determinism).
import Foundation
import XCTest
import PortraitWorld
import TensorCore
import TriPlaneGAN
@testable import PortraitExport
import TestSupport

final class LatentDirectionsTests: XCTestCase {
    func testDirectionIsTheDifferenceOfClassMeans() throws {
        let ws: [[Float]] = [[1, 0], [3, 2], [0, 0], [-2, 4], [1, -1]]
        let verdicts = [true, true, false, false, false]
        let d = try XCTUnwrap(LatentDirections.direction(ws: ws, verdicts: verdicts, minimumEachSide: 2))
        // mean(present) = (2, 1); mean(absent) = (-1/3, 1).
        XCTAssertEqual(d[0], 2 + 1.0 / 3, accuracy: 1e-6)
        XCTAssertEqual(d[1], 0, accuracy: 1e-6)
        XCTAssertNil(LatentDirections.direction(ws: ws, verdicts: verdicts, minimumEachSide: 3), "two present rows are fewer than three")
    }

    /// A stand-in generator: w = normal(seed) in 8 dimensions; "Male" is present when w·u > 0 for a fixed unit u,
    /// "Eyeglasses" never. The fitted direction must point along u, α = 0 must give the base rate (about half),
    /// a large positive shift every sample and a large negative one none; Eyeglasses gets no row.
    func testShiftAlongTheFittedDirectionSwitchesALinearAttribute() throws {
        let u: [Float] = [0.6, 0, -0.8, 0, 0, 0, 0, 0]
        let all = Attribute.allCases, male = all.firstIndex(of: .male)!
        var s = LatentDirections.Settings()
        s.fitCount = 200; s.testCount = 40; s.alphas = [-3, 0, 3]; s.minimumEachSide = 5
        var renders = 0
        let rows = try LatentDirections.measure(
            attributes: [.male, .eyeglasses], settings: s,
            sampleW: { RandomGenerator(seed: $0).normal([1, 8]) },
            probabilities: { w, _ in
                let x = w.toArray(), dot = zip(x, u).reduce(0) { $0 + $1.0 * $1.1 }
                var p = [Float](repeating: 0, count: all.count)
                p[male] = dot > 0 ? 0.9 : 0.1
                return p
            },
            progress: { done, total in renders = done; XCTAssertEqual(total, 200 + 2 * 3 * 40) })
        XCTAssertEqual(renders, 200 + 2 * 3 * 40, "progress reaches the total, the skipped attribute counted")
        XCTAssertEqual(rows.count, 2)
        let m = rows[0]
        XCTAssertEqual(m.attribute, .male)
        XCTAssertGreaterThan(m.presentInFit, 70); XCTAssertLessThan(m.presentInFit, 130)
        XCTAssertEqual(m.shifted.map(\.alpha), [-3, 0, 3])
        XCTAssertEqual(m.shifted[0].present, 0, "a large shift against the direction removes the attribute everywhere")
        XCTAssertEqual(m.shifted[2].present, 40, "a large shift along it gives it everywhere")
        XCTAssertGreaterThan(m.shifted[1].present, 8); XCTAssertLessThan(m.shifted[1].present, 32)
        XCTAssertEqual(try XCTUnwrap(m.swing), 1, accuracy: 1e-12)
        XCTAssertEqual(rows[1].attribute, .eyeglasses)
        XCTAssertEqual(rows[1].presentInFit, 0)
        XCTAssertTrue(rows[1].shifted.isEmpty)
        XCTAssertNil(rows[1].swing)
    }

    /// The rendering path: the tiny random generator's frontal view at a truncated w is (1, 3, S, S) of 8-bit values
    /// mapped to [-1, 1], the same for the same seeds, and different when w is shifted.
    func testFrontalImageOfTheTinyGeneratorIsQuantisedAndDeterministic() throws {
        let g = TriPlaneGenerator(config: .tiny128, rng: RandomGenerator(seed: 7))
        let w = LatentDirections.truncatedW(g, seed: 3, psi: 0.7)
        XCTAssertEqual(w.shape, [1, w.shape[1], g.config.wDim])
        let a = LatentDirections.frontalImage(g, ws: w, seed: 1)
        XCTAssertEqual(a.shape, [1, 3, g.config.imgResolution, g.config.imgResolution])
        let values = a.toArray()
        for v in values.prefix(2000) {
            XCTAssert(v >= -1 && v <= 1)
            let level = (v + 1) * 127.5
            XCTAssertEqual(level, level.rounded(), accuracy: 1e-3, "8-bit levels")
        }
        XCTAssertEqual(LatentDirections.frontalImage(g, ws: LatentDirections.truncatedW(g, seed: 3, psi: 0.7), seed: 1).toArray(), values)
        let shifted = LatentDirections.frontalImage(g, ws: w + 2, seed: 1).toArray()
        XCTAssertNotEqual(shifted, values)
    }
}
