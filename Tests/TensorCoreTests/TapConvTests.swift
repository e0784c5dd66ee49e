// The tap-GEMM convolution (Kernels/TapConv.swift) against the naive direct convolution on odd sizes (1, 7, 31, 33
// channels, widths 1..40, 1x7, 7x1, 5x5, 3x3 with padding 0/1/2, batches, 1 and 2 threads), for conv2d and for its
// transposed form (the input gradient); conv2d's dispatch; first- and second-order gradients equal to the implicit
// GEMM's.
import Foundation
import XCTest
@testable import TensorCore
import TestSupport

final class TapConvTests: XCTestCase {
    /// (n, c, o, h, w, kh, kw, ph, pw)
    static let shapes: [(Int, Int, Int, Int, Int, Int, Int, Int, Int)] = [
        (1, 1, 1, 1, 1, 3, 3, 1, 1), (2, 7, 31, 7, 33, 1, 7, 0, 3), (1, 33, 7, 31, 17, 7, 1, 3, 0), (3, 31, 33, 9, 12, 5, 5, 2, 2),
        (1, 7, 13, 40, 40, 3, 3, 0, 0), (2, 33, 1, 5, 23, 3, 3, 2, 2), (1, 1, 7, 8, 35, 5, 5, 0, 2), (2, 7, 25, 17, 17, 1, 7, 0, 3),
        (1, 31, 31, 3, 1, 3, 1, 1, 0), (1, 5, 9, 6, 8, 3, 5, 1, 2),
    ]

    func testKernelMatchesReference() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        for threads in [1, 2] {
            Parallel.threadCount = threads
            for (i, (n, c, o, h, w, kh, kw, ph, pw)) in Self.shapes.enumerated() {
                let tag = "\(n)x\(c)x\(h)x\(w) -> \(o), \(kh)x\(kw) pad (\(ph), \(pw)), \(threads) threads"
                let (oh, ow) = (h + 2 * ph - kh + 1, w + 2 * pw - kw + 1)
                let cs = ConvShape(n: n, c: c, o: o, groups: 1, ih: h, iw: w, oh: oh, ow: ow, kh: kh, kw: kw, sh: 1, sw: 1,
                                   ph: ph, pw: pw, dh: 1, dw: 1)
                let x = testTensor([n, c, h, w], seed: UInt64(i)), k = testTensor([o, c, kh, kw], seed: 20 + UInt64(i))
                let b = testTensor([o], seed: 40 + UInt64(i))
                let fast = Tensor(uninitializedShape: [n, o, oh, ow]), direct = Tensor(uninitializedShape: fast.shape)
                let ts = TapConvShape(n: n, c: c, o: o, h: h, w: w, kh: kh, kw: kw, ph: ph, pw: pw, flipped: false)
                XCTAssertEqual([ts.ho, ts.wo], [oh, ow], tag)
                tapConvForward(x.data, k.data, b.data, ts, fast.data)
                convForwardReference(x.data, k.data, b.data, cs, direct.data)
                assertClose(fast, direct, tol: 1e-5, "tap conv vs direct \(tag)")
                // Without bias, and transposed: y (n, o, oh, ow) -> (n, c, h, w) with the same weights.
                let plain = Tensor(uninitializedShape: fast.shape), plainRef = Tensor(uninitializedShape: fast.shape)
                tapConvForward(x.data, k.data, nil, ts, plain.data)
                convForwardReference(x.data, k.data, nil, cs, plainRef.data)
                assertClose(plain, plainRef, tol: 1e-5, "tap conv without bias \(tag)")
                guard ph < kh && pw < kw else { continue }
                let y = testTensor([n, o, oh, ow], seed: 60 + UInt64(i)), bc = testTensor([c], seed: 80 + UInt64(i))
                let fastT = Tensor(uninitializedShape: [n, c, h, w]), directT = Tensor(uninitializedShape: fastT.shape)
                tapConvForward(y.data, k.data, bc.data, TapConvShape(n: n, c: o, o: c, h: oh, w: ow, kh: kh, kw: kw,
                                                                     ph: kh - 1 - ph, pw: kw - 1 - pw, flipped: true), fastT.data)
                convTransposeReference(y.data, k.data, bc.data, cs, directT.data)
                assertClose(fastT, directT, tol: 1e-5, "transposed tap conv vs direct \(tag)")
            }
        }
    }

    static func shape(_ n: Int, _ c: Int, _ o: Int, _ h: Int, _ w: Int, kh: Int, kw: Int, s: Int = 1, ph: Int, pw: Int,
                      d: Int = 1, g: Int = 1) -> ConvShape {
        ConvShape(n: n, c: c, o: o, groups: g, ih: h, iw: w, oh: ConvShape.outputSize(h, k: kh, s: s, p: ph, d: d),
                  ow: ConvShape.outputSize(w, k: kw, s: s, p: pw, d: d), kh: kh, kw: kw, sh: s, sw: s, ph: ph, pw: pw, dh: d, dw: d)
    }

    /// Which convolutions conv2d and its input gradient send to the tap GEMMs.
    func testDispatch() {
        XCTAssertNotNil(TapConvShape(Self.shape(8, 48, 64, 35, 35, kh: 5, kw: 5, ph: 2, pw: 2), transposed: false))  // Mixed_5b
        XCTAssertNotNil(TapConvShape(Self.shape(8, 128, 192, 17, 17, kh: 7, kw: 1, ph: 3, pw: 0), transposed: false)) // Mixed_6b
        XCTAssertNotNil(TapConvShape(Self.shape(8, 128, 128, 17, 17, kh: 1, kw: 7, ph: 0, pw: 3), transposed: false)) // 6 of 23 dropped
        XCTAssertNil(TapConvShape(Self.shape(1, 32, 32, 5, 40, kh: 1, kw: 15, ph: 0, pw: 0), transposed: false))      // 14 of 40
        XCTAssertNil(TapConvShape(Self.shape(1, 4, 128, 32, 32, kh: 3, kw: 3, ph: 0, pw: 0), transposed: false))      // 4 channels
        XCTAssertNil(TapConvShape(Self.shape(8, 48, 64, 35, 35, kh: 5, kw: 5, ph: 2, pw: 2), transposed: true))       // gradient: off
        XCTAssertNil(TapConvShape(Self.shape(8, 448, 384, 8, 8, kh: 3, kw: 3, ph: 1, pw: 1), transposed: false))      // 8 wide
        XCTAssertNil(TapConvShape(Self.shape(1, 64, 64, 128, 128, kh: 3, kw: 3, ph: 1, pw: 1), transposed: false))    // wide
        XCTAssertNil(TapConvShape(Self.shape(1, 64, 64, 35, 35, kh: 3, kw: 3, s: 2, ph: 1, pw: 1), transposed: false))
        XCTAssertNil(TapConvShape(Self.shape(1, 64, 64, 35, 35, kh: 3, kw: 3, ph: 1, pw: 1, d: 2), transposed: false))
        XCTAssertNil(TapConvShape(Self.shape(1, 64, 64, 35, 35, kh: 3, kw: 3, ph: 1, pw: 1, g: 2), transposed: false))
        XCTAssertNil(TapConvShape(Self.shape(1, 64, 64, 35, 35, kh: 1, kw: 1, ph: 0, pw: 0), transposed: false))
        XCTAssertNil(TapConvShape(Self.shape(1, 64, 64, 20, 20, kh: 3, kw: 3, ph: 3, pw: 3), transposed: true))       // padding ≥ kernel
        // A weight gradient's narrower output-gradient shape (not the full output) is not a tap convolution.
        let s = Self.shape(1, 16, 16, 20, 20, kh: 3, kw: 3, ph: 0, pw: 0)
        XCTAssertNil(TapConvShape(ConvShape(n: 1, c: 16, o: 16, groups: 1, ih: 20, iw: 20, oh: s.oh - 1, ow: s.ow, kh: 3, kw: 3,
                                            sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1), transposed: false))
        // The 3x3 padding-1 shapes Winograd takes are decided before (convolve), so only the others reach this path.
        XCTAssertNotNil(WinogradShape(Self.shape(8, 64, 96, 35, 35, kh: 3, kw: 3, ph: 1, pw: 1), transposed: false))
    }

    /// The tap path reads its input through strides: a channel slice and a transposed view give the dense result.
    func testStridedInput() {
        let wide = testTensor([2, 40, 17, 17], seed: 3), k = testTensor([24, 32, 7, 1], seed: 4), b = testTensor([24], seed: 5)
        let slice = wide.slice(axis: 1, start: 5, end: 37), swapped = testTensor([2, 32, 17, 17], seed: 6).permute([0, 1, 3, 2])
        for (view, tag) in [(slice, "channel slice"), (swapped, "transposed H, W")] {
            XCTAssertFalse(view.isContiguous, tag)
            XCTAssertNotNil(TapConvShape(Self.shape(2, 32, 24, 17, 17, kh: 7, kw: 1, ph: 3, pw: 0), transposed: false))
            let dense = Tensor(view.contiguous().toArray(), shape: view.shape)
            let ref = Tensor(uninitializedShape: [2, 24, 17, 17])
            convForwardReference(dense.data, k.data, b.data, Self.shape(2, 32, 24, 17, 17, kh: 7, kw: 1, ph: 3, pw: 0), ref.data)
            assertClose(conv2d(view, k, bias: b, padding: (3, 0)), ref, tol: 1e-5, tag)
        }
    }

    /// conv2d through the tap GEMMs against the implicit GEMM (tap path switched off by its width range): output,
    /// gradients (input: transposed tap GEMMs; weight, bias: GEMM), and second-order gradients.
    func testConv2dGradientsMatchGEMM() {
        for (kh, kw, ph, pw) in [(5, 5, 2, 2), (1, 7, 0, 3), (7, 1, 3, 0), (3, 3, 0, 1)] {
            let (n, c, o, h, w) = (2, 7, 13, 13, 14)
            let (oh, ow) = (h + 2 * ph - kh + 1, w + 2 * pw - kw + 1)
            let tag = "\(kh)x\(kw) pad (\(ph), \(pw))"
            let saved = (tapConvMinimumWidth, tapConvMinimumChannels, tapConvTransposed, tapConvColumnsPerDropped)
            (tapConvMinimumWidth, tapConvMinimumChannels, tapConvTransposed, tapConvColumnsPerDropped) = (1, 1, true, 0)
            XCTAssertNotNil(TapConvShape(Self.shape(n, c, o, h, w, kh: kh, kw: kw, ph: ph, pw: pw), transposed: false), tag)
            XCTAssertNotNil(TapConvShape(Self.shape(n, c, o, h, w, kh: kh, kw: kw, ph: ph, pw: pw), transposed: true), tag)
            let x = testTensor([n, c, h, w], seed: 11), k = testTensor([o, c, kh, kw], seed: 12), b = testTensor([o], seed: 13)
            let r = testTensor([n, o, oh, ow], seed: 14)
            func run() -> [Tensor] {
                let xs = [x, k, b].map { t -> Tensor in let c = Tensor(t.toArray(), shape: t.shape); c.requiresGrad = true; return c }
                let y = conv2d(xs[0], xs[1], bias: xs[2], padding: (ph, pw))
                let g = gradients(of: (y * r).sum(), wrt: xs, createGraph: true)
                let gg = gradients(of: (g[0] * g[0]).sum() + (g[1] * g[1]).sum(), wrt: Array(xs[0...1]))
                return [y.detach(), g[0].detach(), g[1].detach(), g[2].detach()] + gg
            }
            let fast = run()
            tapConvMinimumWidth = Int.max
            let gemm = run()
            (tapConvMinimumWidth, tapConvMinimumChannels, tapConvTransposed, tapConvColumnsPerDropped) = saved
            for (i, what) in ["output", "input gradient", "weight gradient", "bias gradient", "d²/dx", "d²/dw"].enumerated() {
                assertClose(fast[i], gemm[i], tol: 1e-5, "\(what) \(tag)")
            }
        }
    }
}
