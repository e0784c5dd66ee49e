// The pyramid tri-grid: its forward equals the tri-plane it was initialised from, its coarse levels hold the
// low frequencies, and its gradient (through the OSG decoder at random points) passes the finite-difference check.
import Refine
import TensorCore
import TestSupport
import TriPlaneGAN
import XCTest

final class TriGridTests: XCTestCase {
    func testForwardEqualsTheTriPlaneItWasInitialisedFrom() {
        let planes = testTensor([1, 12, 32, 32], seed: 1, low: -3, high: 3)
        let grid = TriGrid(planes: planes, resolutions: [4, 8, 16, 32])
        XCTAssertEqual(grid.levels.map(\.shape), [[1, 12, 4, 4], [1, 12, 8, 8], [1, 12, 16, 16], [1, 12, 32, 32]])
        assertClose(grid.planes(), planes, tol: 1e-6, "Σ up(level) against the initialising tri-plane")
        // The coarsest level is the antialiased 4x4 downsampling of the planes (not zeros): the pyramid really is one.
        assertClose(grid.levels[0], interpolate(planes, size: (4, 4), mode: .bilinear, antialias: true), tol: 1e-6, "level 4")
        XCTAssertGreaterThan(Double(grid.levels[0].abs().max().item()), 0.1)
        // A one-level pyramid is the plain tri-plane.
        assertClose(TriGrid(planes: planes, resolutions: [32]).planes(), planes, tol: 0, "one level")
    }

    func testGradientPassesFiniteDifferences() {
        let grid = TriGrid(resolutions: [2, 4, 8], channels: 6, rng: RandomGenerator(seed: 2), std: 0.5)
        let decoder = OSGDecoder(inputFeatures: 2, hiddenFeatures: 8, outputFeatures: 3, rng: RandomGenerator(seed: 3))
        decoder.setRequiresGradForTest(false)
        let points = testTensor([1, 24, 3], seed: 4, low: -0.5, high: 0.5)
        gradcheckInPlace(grid.levels, names: ["level_2", "level_4", "level_8"], eps: 1e-2, tol: 1e-2, "tri-grid → decoder") {
            let p = grid.planes().reshape([1, 3, 2, 8, 8])
            let (sigma, rgb) = ImportanceRenderer.sampleDensity(planes: p, decoder: decoder, points: points)
            return Tensor.concat([sigma, rgb], axis: 2)
        }
    }

    func testLevelListsAreCheckedNamingTheFlag() throws {
        XCTAssertEqual(try TriGrid.resolutions(parsing: [16, 8], finest: 32), [8, 16, 32])
        XCTAssertThrowsError(try TriGrid.resolutions(parsing: [8, 64], finest: 32)) { e in
            XCTAssertEqual("\(e)", "--levels: level 64 is not in 1...32 (the plane resolution)")
        }
        XCTAssertThrowsError(try TriGrid.resolutions(parsing: [], finest: 32)) { e in XCTAssertTrue("\(e)".hasPrefix("--levels: no levels")) }
    }
}

extension Module {
    func setRequiresGradForTest(_ on: Bool) { for p in parameters() { p.requiresGrad = on } }
}
