// The transposed convolution makes its column matrix a band of input rows at a time; every banding must give
// the reference result (the bands' col2im calls add into the same image).
import XCTest
@testable import TensorCore

final class ConvTransposeBandTests: XCTestCase {
    func testBandedColumnsMatchTheReference() {
        let saved = transposedColumnBudget
        defer { transposedColumnBudget = saved }
        // (n, c, o, groups, ih, iw, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw): stride-2 up-convolutions as EG3D's,
        // a stride-1 one, padding larger than a band, dilation, groups.
        let shapes: [[Int]] = [
            [1, 4, 6, 1, 13, 13, 6, 6, 3, 3, 2, 2, 0, 0, 1, 1],
            [1, 3, 5, 1, 9, 11, 9, 11, 3, 3, 1, 1, 1, 1, 1, 1],
            [2, 4, 4, 2, 12, 12, 5, 5, 4, 4, 2, 2, 0, 0, 1, 1],
            [1, 2, 3, 1, 10, 9, 8, 5, 3, 3, 1, 2, 2, 1, 2, 1],
        ]
        for (i, v) in shapes.enumerated() {
            let s = ConvShape(n: v[0], c: v[1], o: v[2], groups: v[3], ih: v[4], iw: v[5], oh: v[6], ow: v[7], kh: v[8], kw: v[9],
                              sh: v[10], sw: v[11], ph: v[12], pw: v[13], dh: v[14], dw: v[15])
            let y = RandomGenerator(seed: UInt64(i)).normal([s.n, s.o, s.oh, s.ow])
            let w = RandomGenerator(seed: 10 + UInt64(i)).normal(s.weightShape)
            let bias = RandomGenerator(seed: 20 + UInt64(i)).normal([s.c])
            let ref = Tensor(uninitializedShape: [s.n, s.c, s.ih, s.iw])
            convTransposeReference(y.data, w.data, bias.data, s, ref.data)
            for rowsPerBand in [1, 2, 3, s.oh] {
                transposedColumnBudget = rowsPerBand * s.kdim * s.ow
                let out = Tensor(uninitializedShape: ref.shape)
                convTransposeForward(y.data, w.data, bias.data, s, out.data)
                let err = zip(out.toArray(), ref.toArray()).map { abs($0 - $1) }.max() ?? 0
                XCTAssertLessThan(err, 1e-4, "shape \(v), \(rowsPerBand) rows per band")
            }
        }
    }
}
