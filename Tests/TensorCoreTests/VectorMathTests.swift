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

    func testLogLog1pAndSoftplusAgainstDouble() {
        let rng = RandomGenerator(seed: 11)
        // vlog: within 2 ulp over 80 decades; special values as libm.
        for x in rng.uniform([4096], low: -80, high: 80).toArray().map({ Float(Foundation.exp(Double($0))) }) + [1, 2, 0.5, 1e-37, 3e38] {
            let l = vlog(V(repeating: x))[0], exact = Float(Foundation.log(Double(x)))
            XCTAssertLessThanOrEqual(abs(l - exact), 2 * max(exact.ulp, Float(1).ulp / 2), "vlog(\(x)) = \(l), exact \(exact)")
        }
        XCTAssertEqual(vlog(V(repeating: 0))[0], -.infinity)
        XCTAssertTrue(vlog(V(repeating: -1))[0].isNaN)
        XCTAssertEqual(vlog(V(repeating: .infinity))[0], .infinity)
        // softplus: relative error ≤ 4e-7 from −80 (values ~1e-35, where log(1 + eˣ) without log1p is 0) to 80.
        var worst = 0.0
        for i in -16000...16000 {
            let x = Float(i) / 200
            let s = Double(vsoftplus(V(repeating: x))[0]), exact = Foundation.log1p(Foundation.exp(Double(x)))
            worst = max(worst, abs(s - exact) / exact)
        }
        XCTAssertLessThan(worst, 4e-7)
        let u: [Float] = [1e-9, 1e-5, 0.3, 1]
        for v in u { XCTAssertEqual(Double(vlog1p(V(repeating: v))[0]), Foundation.log1p(Double(v)), accuracy: 2e-7 * Foundation.log1p(Double(v))) }
        XCTAssertTrue(vsoftplus(V(repeating: .nan))[0].isNaN)
        // The tensor op: threshold and β as torch.nn.functional.softplus.
        let x = Tensor([-30, -1, 0, 2, 19, 21, 100], shape: [7])
        let y = x.softplus(beta: 2, threshold: 20).toArray()
        for (a, b) in zip(x.toArray(), y) {
            let exact = 2 * Double(a) > 20 ? Double(a) : Foundation.log1p(Foundation.exp(2 * Double(a))) / 2
            XCTAssertEqual(Double(b), exact, accuracy: 4e-7 * max(abs(exact), 1e-30), "softplus(\(a))")
        }
    }

    /// The no-transpose sum over consecutive axes followed by kept axes equals the plain definition (in Double,
    /// to float rounding), for shapes with one and many row blocks and SIMD remainders, and is the same on 1 and 2
    /// threads bit for bit.
    func testSumOverMiddleAxesMatchesReferenceAndIgnoresThreadCount() {
        let rng = RandomGenerator(seed: 12)
        for (shape, axes) in [([5000, 37], [0]), ([3, 7, 16], [1]), ([2, 3, 1000, 5], [1]), ([4, 300, 2, 33], [1, 2]), ([1, 70000, 3], [1]), ([6, 0, 4], [1])] {
            let x = rng.normal(shape)
            let saved = Parallel.threadCount
            Parallel.threadCount = 1
            let one = x.sum(axes: axes).toArray()
            Parallel.threadCount = 2
            let two = x.sum(axes: axes, keepDims: true)
            Parallel.threadCount = saved
            XCTAssertEqual(one, two.toArray(), "\(shape) over \(axes): thread count changed the sum")
            XCTAssertEqual(two.shape, shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element })
            let outer = shape[..<axes[0]].reduce(1, *), r = axes.map { shape[$0] }.reduce(1, *), inner = shape[(axes.last! + 1)...].reduce(1, *)
            var ref = [Float](repeating: 0, count: outer * inner)
            x.toArray().withUnsafeBufferPointer { p in ref.withUnsafeMutableBufferPointer { sumMiddleAxisReference(p.baseAddress!, outer: outer, r: r, inner: inner, $0.baseAddress!) } }
            let maxErr = zip(one, ref).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(maxErr, 1e-5 * Float(max(r, 1)).squareRoot() * 4, "\(shape) over \(axes)")
            // The permute-and-reduce path (a non-contiguous input) agrees.
            let viaPermute = x.permute(Array((0..<shape.count).reversed())).contiguous().permute(Array((0..<shape.count).reversed())).sum(axes: axes).toArray()
            XCTAssertEqual(viaPermute.count, one.count)
            for (a, b) in zip(viaPermute, one) { XCTAssertEqual(a, b, accuracy: 1e-5 * Float(max(r, 1)).squareRoot() * 4) }
        }
    }

    /// The sum over axes on both sides of a kept block (a bias gradient over N, H, W) equals the plain definition in
    /// Double, with and without kept dims, on 1 and 2 threads alike, and agrees with the permute-and-reduce path.
    func testSumAroundKeptAxesMatchesReference() {
        let rng = RandomGenerator(seed: 13)
        for (shape, axes) in [([4, 16, 16, 16], [0, 2, 3]), ([3, 5, 7], [0, 2]), ([2, 3, 4, 33, 5], [0, 3, 4]), ([1, 9, 1], [0, 2])] {
            let x = rng.normal(shape), v = x.toArray()
            let kept = (0..<shape.count).filter { !axes.contains($0) }
            let a = shape[..<kept[0]].reduce(1, *), k = kept.map { shape[$0] }.reduce(1, *)
            let b = shape[(kept.last! + 1)...].reduce(1, *)
            var ref = [Double](repeating: 0, count: k)
            for i in 0..<a { for j in 0..<k { for l in 0..<b { ref[j] += Double(v[(i * k + j) * b + l]) } } }
            let saved = Parallel.threadCount
            Parallel.threadCount = 1
            let one = x.sum(axes: axes)
            Parallel.threadCount = 2
            let two = x.sum(axes: axes, keepDims: true)
            Parallel.threadCount = saved
            XCTAssertEqual(one.shape, kept.map { shape[$0] })
            XCTAssertEqual(two.shape, shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element })
            XCTAssertEqual(one.toArray(), two.toArray(), "\(shape) over \(axes): thread count changed the sum")
            for (got, want) in zip(one.toArray(), ref) { XCTAssertEqual(Double(got), want, accuracy: 1e-5 * max(1, abs(want)), "\(shape) over \(axes)") }
            let viaPermute = x.permute(Array((0..<shape.count).reversed())).contiguous().permute(Array((0..<shape.count).reversed())).sum(axes: axes)
            for (p, q) in zip(viaPermute.toArray(), one.toArray()) { XCTAssertEqual(p, q, accuracy: 1e-4) }
        }
    }
}
