// The vector math the fast paths use instead of a libm call per lane: verf (PyTorch's vectorised erf formula)
// and vsqrt (Newton with an FMA correction) against Double references, and the axis collapse of the broadcast
// elementwise walk against the plain element-by-element definition.
import Foundation
@testable import TensorCore
import XCTest

final class VectorMathTests: XCTestCase {
    func testErfWithinFormulaError() {
        var worst = 0.0
        for i in -4000...4000 {
            let x = Float(i) / 500
            let e = Double(verf(V(repeating: x))[0])
            worst = max(worst, abs(e - Foundation.erf(Double(x))))
        }
        XCTAssertLessThan(worst, 5e-7, "A&S 7.1.26 is within 1.5e-7 of erf; float rounding of its terms adds about 2.5e-7")
        XCTAssertEqual(verf(V(repeating: .infinity))[0], 1)
        XCTAssertEqual(verf(V(repeating: -.infinity))[0], -1)
        XCTAssertTrue(verf(V(repeating: .nan))[0].isNaN)
    }

    func testSqrtWithinOneUlp() {
        let rng = RandomGenerator(seed: 3)
        let values = rng.uniform([4096], low: -30, high: 30).toArray().map { Float(Foundation.exp(Double($0))) } + [0, 1, 4, 1e-30, 3e30]
        for x in values {
            let s = vsqrt(V(repeating: x))[0], exact = x.squareRoot()
            XCTAssertLessThanOrEqual(abs(s - exact), exact.ulp, "vsqrt(\(x)) = \(s), exact \(exact)")
        }
    }

    func testBroadcastWalkWithCollapsedAxes() {
        let rng = RandomGenerator(seed: 5)
        for (sa, sb) in [([4, 16, 8, 8], [1, 16, 1, 1]), ([4, 16, 8, 8], [16, 1, 1]), ([3, 5, 7], [3, 1, 7]), ([2, 3, 4], [4]),
                         ([1, 1, 6], [6, 1, 1]), ([5, 1, 3], [1, 4, 1])] {
            let a = rng.normal(sa), b = rng.normal(sb)
            let out = a * b
            let shape = broadcastShape(sa, sb)!
            let ea = a.expand(shape).contiguous().toArray(), eb = b.expand(shape).contiguous().toArray()
            XCTAssertEqual(out.shape, shape)
            XCTAssertEqual(out.toArray(), zip(ea, eb).map { $0 * $1 }, "\(sa) * \(sb)")
        }
        // A transposed (non-contiguous) operand.
        let t = rng.normal([6, 5]).transpose(0, 1), c = rng.normal([5, 1])
        XCTAssertEqual((t + c).toArray(), zip(t.contiguous().toArray(), c.expand([5, 6]).contiguous().toArray()).map { $0 + $1 })
    }
}
