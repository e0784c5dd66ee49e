// 3D consistency (ReprojectionConsistency) on a case with a known answer: a sphere's exact depth maps seen from
// the MSC cameras. Consistent depth gives ~0 (the bilinear interpolation of a curved surface); moving one view's
// surface by δ along its rays gives δ one way.
import Foundation
import XCTest
@testable import Metrics

final class ReprojectionConsistencyTests: XCTestCase {
    static let centre = SIMD3<Double>(0, 0, 0.2), radius = 0.2

    /// The exact depth map of the sphere at `view` (R×R), weight 1 where the ray hits it, plus `offset`.
    func sphere(_ view: MSCView, resolution r: Int = 64, offset: Float = 0) -> DepthView {
        let empty = DepthView(resolution: r, depth: [Float](repeating: 0, count: r * r), weight: [Float](repeating: 0, count: r * r), label: view.label)
        var depth = empty.depth, weight = empty.weight
        let o = empty.origin, oc = o - Self.centre
        for i in 0..<r { for j in 0..<r {
            let d = empty.ray(row: i, column: j)
            let b = (d * oc).sum(), c = (oc * oc).sum() - Self.radius * Self.radius
            let disc = b * b - c
            guard disc > 0 else { continue }
            depth[i * r + j] = Float(-b - disc.squareRoot()) + offset
            weight[i * r + j] = 1
        } }
        return DepthView(resolution: r, depth: depth, weight: weight, label: view.label)
    }

    func testProjectionInvertsTheRay() {
        let v = sphere(.left)
        for (i, j) in [(0, 0), (10, 50), (63, 31)] {
            let p = v.origin + v.ray(row: i, column: j) * 2.5
            let q = v.project(p)
            // The label's rotation is Float32, so its transpose inverts it to ~1e-7: 2e-6 pixels here.
            XCTAssertEqual(q.row, Double(i), accuracy: 1e-5)
            XCTAssertEqual(q.column, Double(j), accuracy: 1e-5)
        }
    }

    func testConsistentSurfaceGivesNearlyZero() {
        let f = sphere(.frontal), l = sphere(.left), r = sphere(.right)
        let same = ReprojectionConsistency.oneWay(from: f, to: f)
        XCTAssertLessThan(same.meanError, 1e-6)
        let s = ReprojectionConsistency.sample([.frontal: f, .left: l, .right: r])!
        print("sphere, consistent: mean error \(s.meanError), coverage \(s.coverage), pixels \(s.pixels) of \(s.foreground)")
        XCTAssertLessThan(s.meanError, 2e-3, "bilinear interpolation of a sphere of radius 0.2 at 64²")
        XCTAssertGreaterThan(s.coverage, 0.85, "15° apart, most of the sphere is seen by both views")
        XCTAssertGreaterThan(s.foreground, 4 * 400)
    }

    func testOffsetSurfaceGivesTheOffset() {
        let f = sphere(.frontal), l = sphere(.left, offset: 0.05)
        let e = ReprojectionConsistency.oneWay(from: f, to: l)
        print("sphere, F -> L15 offset by 0.05: mean error \(e.meanError), coverage \(e.coverage)")
        XCTAssertEqual(e.meanError, 0.05, accuracy: 2e-3)
        XCTAssertGreaterThan(e.coverage, 0.85)
        // A view with no foreground: nothing lands.
        let blank = DepthView(resolution: 8, depth: [Float](repeating: 0, count: 64), weight: [Float](repeating: 0, count: 64), label: MSCView.left.label)
        let none = ReprojectionConsistency.oneWay(from: f, to: blank)
        XCTAssertEqual(none.pixels, 0)
        XCTAssertTrue(none.meanError.isNaN)
        XCTAssertNil(ReprojectionConsistency.sample([.frontal: f]))
    }
}
