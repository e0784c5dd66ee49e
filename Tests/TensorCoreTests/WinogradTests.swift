// conv2dWinograd (F(2×2, 3×3)) against conv2d: forward on odd and even sizes, with and without bias, several
// bands and output-channel blocks; gradients equal conv2d's.
import XCTest
@testable import TensorCore

final class WinogradTests: XCTestCase {
    func testMatchesConv2d() {
        for (n, c, o, h, w) in [(1, 1, 1, 1, 1), (2, 3, 5, 7, 9), (1, 8, 4, 16, 16), (2, 16, 24, 33, 31), (3, 5, 7, 2, 40)] {
            let x = testTensor([n, c, h, w], seed: 1), k = testTensor([o, c, 3, 3], seed: 2), b = testTensor([o], seed: 3)
            withNoGrad {
                assertClose(conv2dWinograd(x, k, bias: b), conv2d(x, k, bias: b, padding: (1, 1)), tol: 1e-5, "\(n)x\(c)x\(h)x\(w) -> \(o)")
                assertClose(conv2dWinograd(x, k), conv2d(x, k, padding: (1, 1)), tol: 1e-5, "no bias")
            }
        }
    }

    /// Several bands of tile rows (the band budget lowered) and input channels over several blocks of winogradKC.
    func testBandsAndBlocks() {
        let saved = winogradBandBudget
        defer { winogradBandBudget = saved }
        winogradBandBudget = 16 * 300 * 15 * 3   // 3 tile rows of 15 tiles per band at c = 300
        let c = 300, o = 29
        let x = testTensor([2, c, 50, 30], seed: 4), k = testTensor([o, c, 3, 3], seed: 5), b = testTensor([o], seed: 6)
        withNoGrad { assertClose(conv2dWinograd(x, k, bias: b), conv2d(x, k, bias: b, padding: (1, 1)), tol: 1e-5, "bands") }
    }

    func testGradientsAreConv2ds() {
        let x = testTensor([2, 3, 6, 5], seed: 7, requiresGrad: true), k = testTensor([4, 3, 3, 3], seed: 8, requiresGrad: true)
        let b = testTensor([4], seed: 9, requiresGrad: true)
        let r = testTensor([2, 4, 6, 5], seed: 10)
        let g1 = gradients(of: conv2dWinograd(x, k, bias: b), wrt: [x, k, b], seed: r)
        let g2 = gradients(of: conv2d(x, k, bias: b, padding: (1, 1)), wrt: [x, k, b], seed: r)
        for i in 0..<3 { assertClose(g1[i], g2[i], tol: 1e-6, "gradient \(i)") }
        gradcheck([x, k, b], "winograd") { conv2dWinograd($0[0], $0[1], bias: $0[2]) }
    }
}
