// The row-vector direct convolution (Kernels/RowConv.swift) against the naive direct loops on odd sizes (1, 3, 5, 16,
// 17 channels; widths 1..40, so partial chunks, several chunks and one-column images; kernels 1x1 … 3x3 with padding
// 0..2; partial channel and row blocks; 1 and 2 threads): conv2d, its transposed form (the input gradient) and the
// weight gradient. Then conv2d's dispatch, and first- and second-order gradients through the row path equal to the
// other paths'. `dreamportrait bench conv` times the row kernel against the paths it replaces.
import Foundation
import XCTest
@testable import TensorCore
import TestSupport

final class RowConvTests: XCTestCase {
    /// (n, c, o, h, w, kh, kw, ph, pw)
    static let shapes: [(Int, Int, Int, Int, Int, Int, Int, Int, Int)] = [
        (1, 1, 1, 1, 1, 3, 3, 1, 1), (4, 16, 16, 16, 16, 3, 3, 1, 1), (2, 3, 16, 16, 16, 3, 3, 1, 1),
        (2, 16, 3, 16, 16, 3, 3, 1, 1), (1, 5, 7, 9, 17, 3, 3, 1, 1), (3, 17, 5, 8, 8, 3, 3, 1, 1),
        (1, 3, 6, 7, 40, 3, 3, 0, 0), (2, 4, 9, 5, 33, 3, 3, 2, 2), (1, 5, 2, 6, 13, 1, 3, 0, 1),
        (2, 3, 5, 11, 1, 3, 1, 1, 0), (1, 6, 5, 5, 21, 2, 2, 1, 0), (1, 7, 3, 4, 6, 1, 1, 0, 0),
    ]

    override func setUp() { RowConvolution.mode = .always }
    override func tearDown() { RowConvolution.mode = .auto }

    func testKernelsMatchReference() {
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
                guard let rs = RowConvShape(cs, transposed: false) else { XCTFail("not a row convolution: \(tag)"); continue }
                XCTAssertEqual([rs.ho, rs.wo], [oh, ow], tag)
                for bias in [b, nil] {
                    let fast = Tensor(uninitializedShape: [n, o, oh, ow]), direct = Tensor(uninitializedShape: fast.shape)
                    rowConvForward(x.data, k.data, bias.map { UnsafePointer($0.data) }, rs, fast.data)
                    convForwardReference(x.data, k.data, bias.map { UnsafePointer($0.data) }, cs, direct.data)
                    assertClose(fast, direct, tol: 1e-5, "row conv vs direct, bias \(bias != nil), \(tag)")
                }
                let y = testTensor([n, o, oh, ow], seed: 60 + UInt64(i))
                let gw = Tensor(uninitializedShape: [o, c, kh, kw]), gwRef = Tensor(uninitializedShape: gw.shape)
                rowConvWeightGrad(x.data, y.data, rs, gw.data)
                convWeightGradReference(x.data, y.data, cs, gwRef.data)
                assertClose(gw, gwRef, tol: 1e-5, "row weight gradient vs direct \(tag)")
                guard let rt = RowConvShape(cs, transposed: true) else { continue }
                let bc = testTensor([c], seed: 80 + UInt64(i))
                let fastT = Tensor(uninitializedShape: [n, c, h, w]), directT = Tensor(uninitializedShape: fastT.shape)
                rowConvForward(y.data, k.data, bc.data, rt, fastT.data)
                convTransposeReference(y.data, k.data, bc.data, cs, directT.data)
                assertClose(fastT, directT, tol: 1e-5, "transposed row conv vs direct \(tag)")
            }
        }
    }

    /// Which convolutions take the row kernel with the measured limits (AVX-512 builds; AVX2 builds: one side ≤ 8).
    func testDispatch() {
        RowConvolution.mode = .auto
        func s(_ n: Int, _ c: Int, _ o: Int, _ h: Int, _ w: Int, kh: Int, kw: Int, s: Int = 1, ph: Int, pw: Int, d: Int = 1,
               g: Int = 1) -> ConvShape {
            TapConvTests.shape(n, c, o, h, w, kh: kh, kw: kw, s: s, ph: ph, pw: pw, d: d, g: g)
        }
        XCTAssertNotNil(RowConvShape(s(4, 3, 16, 16, 16, kh: 3, kw: 3, ph: 1, pw: 1), transposed: false))
        XCTAssertNotNil(RowConvShape(s(8, 128, 3, 32, 32, kh: 3, kw: 3, ph: 1, pw: 1), transposed: true))      // few outputs
        XCTAssertNotNil(RowConvShape(s(8, 64, 4, 16, 16, kh: 3, kw: 3, ph: 1, pw: 1), transposed: false, weightGradient: true))
        XCTAssertNil(RowConvShape(s(4, 16, 16, 16, 16, kh: 3, kw: 3, s: 2, ph: 1, pw: 1), transposed: false))  // stride 2
        XCTAssertNil(RowConvShape(s(4, 16, 16, 16, 16, kh: 3, kw: 3, ph: 1, pw: 1, d: 2), transposed: false))  // dilation
        XCTAssertNil(RowConvShape(s(4, 16, 16, 16, 16, kh: 3, kw: 3, ph: 1, pw: 1, g: 2), transposed: false))  // groups
        XCTAssertNil(RowConvShape(s(1, 4, 4, 16, 16, kh: 5, kw: 5, ph: 2, pw: 2), transposed: false))          // 5x5
        XCTAssertNil(RowConvShape(s(1, 4, 4, 16, 16, kh: 1, kw: 1, ph: 0, pw: 0), transposed: false))          // 1x1: a GEMM
        XCTAssertNil(RowConvShape(s(8, 32, 32, 8, 8, kh: 3, kw: 3, ph: 1, pw: 1), transposed: false))          // 32 at 8²
        XCTAssertNil(RowConvShape(s(4, 48, 48, 16, 16, kh: 3, kw: 3, ph: 1, pw: 1), transposed: false))        // 48 both
        XCTAssertNil(RowConvShape(s(8, 64, 64, 8, 8, kh: 3, kw: 3, ph: 1, pw: 1), transposed: false, weightGradient: true))
        XCTAssertNil(RowConvShape(s(1, 256, 256, 16, 16, kh: 3, kw: 3, ph: 1, pw: 1), transposed: false, weightGradient: true))
        #if TENSORCORE_AVX512
        XCTAssertNotNil(RowConvShape(s(4, 16, 16, 16, 16, kh: 3, kw: 3, ph: 1, pw: 1), transposed: false))   // bench overhead
        XCTAssertNotNil(RowConvShape(s(4, 16, 16, 16, 16, kh: 3, kw: 3, ph: 1, pw: 1), transposed: true))
        XCTAssertNotNil(RowConvShape(s(1, 16, 16, 64, 64, kh: 3, kw: 3, ph: 1, pw: 1), transposed: false))     // any width
        XCTAssertNotNil(RowConvShape(s(4, 32, 32, 16, 16, kh: 3, kw: 3, ph: 1, pw: 1), transposed: false))
        XCTAssertNotNil(RowConvShape(s(4, 64, 64, 16, 16, kh: 3, kw: 3, ph: 1, pw: 1), transposed: false, weightGradient: true))
        #else
        XCTAssertNil(RowConvShape(s(4, 16, 16, 16, 16, kh: 3, kw: 3, ph: 1, pw: 1), transposed: false))      // Winograd wins
        XCTAssertNotNil(RowConvShape(s(4, 16, 16, 16, 16, kh: 3, kw: 3, ph: 1, pw: 1), transposed: false, weightGradient: true))
        XCTAssertNil(RowConvShape(s(8, 16, 16, 8, 8, kh: 3, kw: 3, ph: 1, pw: 1), transposed: false, weightGradient: true))  // 8 wide
        XCTAssertNil(RowConvShape(s(4, 32, 32, 16, 16, kh: 3, kw: 3, ph: 1, pw: 1), transposed: false, weightGradient: true))
        XCTAssertNotNil(RowConvShape(s(8, 8, 8, 64, 64, kh: 3, kw: 3, ph: 1, pw: 1), transposed: false))
        #endif
    }

    /// conv2d's gradients (first and second order, as R1 needs) through the row path equal those of the other paths.
    func testGradientsMatchOtherPaths() {
        let x = testTensor([2, 5, 9, 12], seed: 1, requiresGrad: true), w = testTensor([6, 5, 3, 3], seed: 2, requiresGrad: true)
        let b = testTensor([6], seed: 3, requiresGrad: true), probe = testTensor([2, 6, 9, 12], seed: 4)
        func run(_ forced: Bool) -> [Tensor] {
            RowConvolution.mode = forced ? .always : .never
            let y = conv2d(x, w, bias: b, padding: (1, 1))
            let g = gradients(of: (y * probe).sum(), wrt: [x, w, b], createGraph: true)
            let second = gradients(of: (g[0] * g[0]).sum() + (g[1] * g[1]).sum(), wrt: [x, w])
            return [y] + g + second
        }
        let row = run(true), other = run(false)
        for (i, name) in ["output", "dx", "dw", "db", "d(|dx|² + |dw|²)/dx", "d(|dx|² + |dw|²)/dw"].enumerated() {
            assertClose(row[i], other[i], tol: 1e-5, name)
        }
    }
}
