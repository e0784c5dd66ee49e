// biasActInPlace: the same values as biasAct, written over the input at inference, and plain biasAct (with its
// gradient) whenever a graph is recorded.
import XCTest
@testable import TensorCore

final class BiasActInPlaceTests: XCTestCase {
    func testMatchesBiasActAndReusesTheStorageOnlyWithoutAGraph() {
        for (act, dim, shape) in [(BiasActivation.lrelu, 1, [2, 5, 3, 7]), (.relu, 3, [2, 3, 4, 9]), (.linear, 0, [6, 11])] {
            let x = RandomGenerator(seed: 1).normal(shape, std: 3), b = RandomGenerator(seed: 2).normal([shape[dim]])
            let expected = biasAct(x, b, dim: dim, act: act, gain: 1.3, clamp: 2.5).toArray()
            let copy = Tensor(x.toArray(), shape: shape)
            let y = withNoGrad { biasActInPlace(copy, b, dim: dim, act: act, gain: 1.3, clamp: 2.5) }
            XCTAssertTrue(y === copy, "\(act): not in place")
            XCTAssertEqual(y.toArray(), expected, "\(act)")
        }
        // Recording: a new tensor with a gradient, the input untouched.
        let x = Tensor(RandomGenerator(seed: 3).normal([2, 4, 5]).toArray(), shape: [2, 4, 5], requiresGrad: true)
        let before = x.toArray()
        let y = biasActInPlace(x, nil, dim: 1, act: .lrelu)
        XCTAssertFalse(y === x)
        XCTAssertEqual(x.toArray(), before)
        y.sum().backward()
        XCTAssertEqual(x.grad?.toArray(), before.map { $0 > 0 ? Float(2.0.squareRoot()) : 0.2 * Float(2.0.squareRoot()) })
        // Non-contiguous input: falls back to a copy.
        let t = RandomGenerator(seed: 4).normal([3, 4]).transpose(0, 1)
        let z = withNoGrad { biasActInPlace(t, nil, dim: 1, act: .relu) }
        XCTAssertFalse(z === t)
        XCTAssertEqual(z.toArray(), t.toArray().map { Swift.max($0, 0) * Float(2.0.squareRoot()) })
    }
}
