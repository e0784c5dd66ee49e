// The fused Winograd F(2×2, 3×3) kernel (Kernels/WinogradKernels.swift) against the naive direct convolution and the
// naive Winograd reference on odd sizes (1, 7, 31, 33 channels and positions), for conv2d and for its transposed
// form (the input gradient, rotated filters); several bands and channel blocks; conv2d's dispatch, first- and
// second-order gradients equal to the GEMM convolution's; conv2dWinograd's gradients.
import XCTest
@testable import TensorCore
import TestSupport

final class WinogradTests: XCTestCase {
    /// (n, c, o, h, w): odd channel counts and positions, partial strips and panels, images narrower than a vector.
    static let shapes: [(Int, Int, Int, Int, Int)] = [
        (1, 1, 1, 1, 1), (2, 7, 31, 7, 33), (1, 33, 7, 31, 31), (3, 31, 33, 1, 7), (1, 16, 13, 33, 33), (2, 7, 1, 31, 7),
        (4, 17, 24, 8, 8), (1, 5, 9, 2, 40),
        // Tile rows narrower than a vector, several per vector (Winograd's narrow path): 8, 2 and 1 tiles a row,
        // a partial last group, odd widths and heights.
        (4, 16, 16, 16, 16), (3, 5, 6, 5, 3), (2, 9, 4, 7, 15), (5, 3, 2, 3, 2),
    ]

    func testKernelMatchesReferences() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        for threads in [1, 2] {
            Parallel.threadCount = threads
            for (i, (n, c, o, h, w)) in Self.shapes.enumerated() {
                let tag = "\(n)x\(c)x\(h)x\(w) -> \(o), \(threads) threads"
                let x = testTensor([n, c, h, w], seed: UInt64(i)), k = testTensor([o, c, 3, 3], seed: 20 + UInt64(i))
                let b = testTensor([o], seed: 40 + UInt64(i)), s = WinogradShape(n: n, c: c, o: o, h: h, w: w)
                let cs = ConvShape(n: n, c: c, o: o, groups: 1, ih: h, iw: w, oh: h, ow: w, kh: 3, kw: 3, sh: 1, sw: 1,
                                   ph: 1, pw: 1, dh: 1, dw: 1)
                let fast = Tensor(uninitializedShape: [n, o, h, w]), direct = Tensor(uninitializedShape: fast.shape)
                let naive = Tensor(uninitializedShape: fast.shape)
                winogradConvForward(x.data, k.data, b.data, s, fast.data)
                convForwardReference(x.data, k.data, b.data, cs, direct.data)
                winogradConvReference(x.data, k.data, b.data, s, naive.data)
                assertClose(fast, direct, tol: 1e-5, "winograd vs direct \(tag)")
                assertClose(naive, direct, tol: 1e-6, "naive winograd vs direct \(tag)")
                // Transposed: y (n, o, h, w) -> (n, c, h, w) with the same weights.
                let y = testTensor([n, o, h, w], seed: 60 + UInt64(i)), bc = testTensor([c], seed: 80 + UInt64(i))
                let fastT = Tensor(uninitializedShape: [n, c, h, w]), directT = Tensor(uninitializedShape: fastT.shape)
                winogradConvForward(y.data, k.data, bc.data, WinogradShape(n: n, c: o, o: c, h: h, w: w), fastT.data, flipped: true)
                convTransposeReference(y.data, k.data, bc.data, cs, directT.data)
                assertClose(fastT, directT, tol: 1e-5, "transposed winograd vs direct \(tag)")
            }
        }
    }

    /// The weight gradient by F(2×2, 3×3) (Kernels/WinogradWeightGrad.swift) against the naive direct sum on the same
    /// odd shapes, 1 and 2 threads, and with the tile budget lowered so that the tiles go in several chunks.
    func testWeightGradMatchesReference() {
        let savedThreads = Parallel.threadCount, savedBudget = winogradGradBudget, savedTiles = winogradGradMinimumTiles
        defer { Parallel.threadCount = savedThreads; winogradGradBudget = savedBudget; winogradGradMinimumTiles = savedTiles }
        for (threads, budget) in [(1, 1 << 22), (2, 1 << 22), (2, 16 * 40 * 3)] {
            Parallel.threadCount = threads
            winogradGradBudget = budget
            winogradGradMinimumTiles = budget < 1 << 22 ? 1 : savedTiles
            for (i, (n, c, o, h, w)) in (Self.shapes + [(2, 40, 24, 11, 21)]).enumerated() {
                let tag = "\(n)x\(c)x\(h)x\(w) -> \(o), \(threads) threads, budget \(budget)"
                let x = testTensor([n, c, h, w], seed: UInt64(i)), gy = testTensor([n, o, h, w], seed: 90 + UInt64(i))
                let cs = ConvShape(n: n, c: c, o: o, groups: 1, ih: h, iw: w, oh: h, ow: w, kh: 3, kw: 3, sh: 1, sw: 1,
                                   ph: 1, pw: 1, dh: 1, dw: 1)
                let fast = Tensor(uninitializedShape: [o, c, 3, 3]), direct = Tensor(uninitializedShape: fast.shape)
                winogradWeightGrad(x.data, gy.data, WinogradShape(n: n, c: c, o: o, h: h, w: w), fast.data)
                convWeightGradReference(x.data, gy.data, cs, direct.data)
                assertClose(fast, direct, tol: 2e-6, "winograd weight gradient vs direct \(tag)")
            }
        }
        // conv2d's weight gradient takes it from 32 channels on both sides (enough tiles, no row kernel), and not when off.
        // 40 channels on 12² maps: neither the row kernel's nor the dot-product path's.
        let x = testTensor([2, 40, 12, 12], seed: 1, requiresGrad: true), w = testTensor([40, 40, 3, 3], seed: 2, requiresGrad: true)
        let gy = testTensor([2, 40, 12, 12], seed: 3)
        let on = gradients(of: conv2d(x, w, padding: (1, 1)), wrt: [w], seed: gy)[0]
        winogradWeightGradEnabled = false
        let off = gradients(of: conv2d(x, w, padding: (1, 1)), wrt: [w], seed: gy)[0]
        winogradWeightGradEnabled = true
        assertClose(on, off, tol: 2e-6, "conv2d weight gradient, Winograd against GEMM")
        XCTAssertFalse(on.toArray() == off.toArray(), "the Winograd weight gradient did not run (bit-equal to the GEMM's)")
    }

    /// Several bands of tile rows (the band budget lowered) and input channels over two blocks of winogradKC.
    func testBandsAndBlocks() {
        let saved = winogradBandBudget
        defer { winogradBandBudget = saved }
        let (n, c, o, h, w) = (2, winogradKC + 44, 29, 20, 30)
        winogradBandBudget = 16 * c * 15 * 3   // 3 tile rows of 15 tiles per band
        let x = testTensor([n, c, h, w], seed: 4), k = testTensor([o, c, 3, 3], seed: 5), b = testTensor([o], seed: 6)
        let cs = ConvShape(n: n, c: c, o: o, groups: 1, ih: h, iw: w, oh: h, ow: w, kh: 3, kw: 3, sh: 1, sw: 1,
                           ph: 1, pw: 1, dh: 1, dw: 1)
        let fast = Tensor(uninitializedShape: [n, o, h, w]), gemm = Tensor(uninitializedShape: fast.shape)
        winogradConvForward(x.data, k.data, b.data, WinogradShape(n: n, c: c, o: o, h: h, w: w), fast.data)
        convForward(x.data, k.data, b.data, cs, gemm.data)   // the GEMM convolution, itself checked in ConvTests
        assertClose(fast, gemm, tol: 1e-5, "bands and channel blocks")
    }

    /// Which convolutions conv2d and its input gradient send to the Winograd kernel.
    func testDispatch() {
        func shape(_ n: Int, _ c: Int, _ o: Int, _ h: Int, _ w: Int, k: Int = 3, s: Int = 1, p: Int = 1, g: Int = 1) -> ConvShape {
            ConvShape(n: n, c: c, o: o, groups: g, ih: h, iw: w, oh: ConvShape.outputSize(h, k: k, s: s, p: p, d: 1),
                      ow: ConvShape.outputSize(w, k: k, s: s, p: p, d: 1), kh: k, kw: k, sh: s, sw: s, ph: p, pw: p, dh: 1, dw: 1)
        }
        XCTAssertNotNil(WinogradShape(shape(1, 512, 512, 32, 32), transposed: false))
        XCTAssertNotNil(WinogradShape(shape(1, 16, 3, 16, 16), transposed: false))      // 64 tiles
        XCTAssertNotNil(WinogradShape(shape(4, 16, 3, 8, 8), transposed: false))        // 64 tiles over the batch
        XCTAssertNil(WinogradShape(shape(1, 512, 512, 12, 12), transposed: false))      // 36 tiles
        XCTAssertNil(WinogradShape(shape(1, 8, 64, 64, 64), transposed: false))         // 8 input channels
        XCTAssertNotNil(WinogradShape(shape(1, 8, 64, 64, 64), transposed: true))       // its gradient has 64
        XCTAssertNil(WinogradShape(shape(1, 64, 64, 64, 64, s: 2), transposed: false))
        XCTAssertNil(WinogradShape(shape(1, 64, 64, 64, 64, p: 0), transposed: false))
        XCTAssertNil(WinogradShape(shape(1, 64, 64, 64, 64, g: 2), transposed: false))
        XCTAssertNil(WinogradShape(shape(1, 64, 64, 64, 64, k: 5, p: 2), transposed: false))
    }

    /// conv2d through the Winograd kernel against the GEMM convolution (Winograd switched off by its thresholds):
    /// output, gradients (input: transposed Winograd; weight, bias: GEMM), and second-order gradients.
    func testConv2dGradientsMatchGEMM() {
        let x = testTensor([2, 16, 9, 14], seed: 11), w = testTensor([20, 16, 3, 3], seed: 12), b = testTensor([20], seed: 13)
        let r = testTensor([2, 20, 9, 14], seed: 14)
        XCTAssertNotNil(WinogradShape(ConvShape(n: 2, c: 16, o: 20, groups: 1, ih: 9, iw: 14, oh: 9, ow: 14, kh: 3, kw: 3,
                                                sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1), transposed: true))
        func run() -> [Tensor] {
            let xs = [x, w, b].map { t -> Tensor in let c = Tensor(t.toArray(), shape: t.shape); c.requiresGrad = true; return c }
            let y = conv2d(xs[0], xs[1], bias: xs[2], padding: (1, 1))
            let g = gradients(of: (y * r).sum(), wrt: xs, createGraph: true)
            // A scalar of the first-order gradients, differentiated again (R1's double backward).
            let gg = gradients(of: (g[0] * g[0]).sum() + (g[1] * g[1]).sum(), wrt: Array(xs[0...1]))
            return [y.detach(), g[0].detach(), g[1].detach(), g[2].detach()] + gg
        }
        let fast = run()
        let saved = winogradMinimumTiles
        winogradMinimumTiles = Int.max
        let gemm = run()
        winogradMinimumTiles = saved
        for (i, what) in ["output", "input gradient", "weight gradient", "bias gradient", "d²/dx", "d²/dw"].enumerated() {
            assertClose(fast[i], gemm[i], tol: 1e-5, what)
        }
    }

    func testConv2dWinogradGradientsAreConv2ds() {
        let x = testTensor([2, 3, 6, 5], seed: 7, requiresGrad: true), k = testTensor([4, 3, 3, 3], seed: 8, requiresGrad: true)
        let b = testTensor([4], seed: 9, requiresGrad: true)
        let r = testTensor([2, 4, 6, 5], seed: 10)
        let g1 = gradients(of: conv2dWinograd(x, k, bias: b), wrt: [x, k, b], seed: r)
        let g2 = gradients(of: conv2d(x, k, bias: b, padding: (1, 1)), wrt: [x, k, b], seed: r)
        for i in 0..<3 { assertClose(g1[i], g2[i], tol: 1e-6, "gradient \(i)") }
        gradcheck([x, k, b], "winograd") { conv2dWinograd($0[0], $0[1], bias: $0[2]) }
    }
}
