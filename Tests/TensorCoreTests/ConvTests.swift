// conv2d, conv_transpose2d and the weight gradient: PyTorch parity (Scripts/fixtures/conv.py), the fast
// kernels against their naive twins on odd sizes, and first- and second-order gradient checks.
import XCTest
@testable import TensorCore
import TestSupport

final class ConvTests: XCTestCase {
    func testConv2dParity() throws {
        let f = try fixture("ops_conv.safetensors")
        // (name, bias, stride, padding, dilation, groups), as in conv.py
        let cases: [(String, Bool, (Int, Int), (Int, Int), (Int, Int), Int)] = [
            ("conv_basic", true, (1, 1), (1, 1), (1, 1), 1),
            ("conv_stride2", true, (2, 2), (1, 1), (1, 1), 1),
            ("conv_odd_k5", false, (2, 1), (2, 0), (1, 1), 1),
            ("conv_dilation", true, (1, 1), (2, 2), (2, 2), 1),
            ("conv_groups", true, (1, 1), (1, 1), (1, 1), 2),
            ("conv_groups_stride2", false, (2, 2), (1, 1), (1, 1), 2),
            ("conv_depthwise", false, (1, 1), (1, 1), (1, 1), 4),
            ("conv_1x1", true, (1, 1), (0, 0), (1, 1), 1),
            ("conv_1x1_stride2", false, (2, 2), (0, 0), (1, 1), 1),
            ("conv_1x1_groups", true, (1, 1), (0, 0), (1, 1), 2),
            ("conv_single", true, (1, 1), (0, 0), (1, 1), 1),
            ("conv_rect", true, (1, 2), (1, 0), (1, 1), 1),
            ("conv_16ch_33", true, (1, 1), (1, 1), (1, 1), 1),
            ("conv_batch4_31", true, (2, 2), (1, 1), (1, 1), 1),
            ("conv_k4_s2_pad_dil", true, (2, 2), (3, 1), (1, 2), 1),
        ]
        for (name, bias, st, pad, dil, grp) in cases {
            try checkParity(f, name) { conv2d($0[0], $0[1], bias: bias ? $0[2] : nil, stride: st, padding: pad, dilation: dil, groups: grp) }
        }
        try checkParity(f, "conv_noncontig") {
            conv2d($0[0].permute([0, 3, 1, 2]), $0[1].transpose(0, 1), bias: $0[2], stride: (2, 2), padding: (1, 1))
        }
        try checkParity(f, "conv_1x1_noncontig") { conv2d($0[0].permute([0, 3, 1, 2]), $0[1]) }
    }

    func testConvTranspose2dParity() throws {
        let f = try fixture("ops_conv.safetensors")
        // (name, bias, stride, padding, output padding, groups, dilation), as in conv.py
        let cases: [(String, Bool, (Int, Int), (Int, Int), (Int, Int), Int, (Int, Int))] = [
            ("convt_basic", true, (1, 1), (1, 1), (0, 0), 1, (1, 1)),
            ("convt_stride2", true, (2, 2), (1, 1), (0, 0), 1, (1, 1)),
            ("convt_outpad", false, (2, 2), (1, 1), (1, 1), 1, (1, 1)),
            ("convt_groups", true, (2, 2), (0, 0), (1, 1), 3, (1, 1)),
            ("convt_dilation_outpad", false, (1, 1), (0, 0), (1, 0), 1, (2, 2)),
            ("convt_1x1", true, (1, 1), (0, 0), (0, 0), 1, (1, 1)),
            ("convt_odd", true, (2, 1), (1, 0), (1, 0), 1, (1, 1)),
            ("convt_single", false, (1, 1), (0, 0), (0, 0), 1, (1, 1)),
        ]
        for (name, bias, st, pad, opad, grp, dil) in cases {
            try checkParity(f, name) {
                convTranspose2d($0[0], $0[1], bias: bias ? $0[2] : nil, stride: st, padding: pad, outputPadding: opad, groups: grp, dilation: dil)
            }
        }
        try checkParity(f, "convt_noncontig") { convTranspose2d($0[0].permute([0, 3, 1, 2]), $0[1], stride: (2, 2), padding: (1, 1)) }
    }

    func testWeightGradParity() throws {
        let f = try fixture("ops_conv.safetensors")
        let cases: [(String, (Int, Int), (Int, Int), (Int, Int), (Int, Int), Int)] = [
            ("wgrad_basic", (3, 3), (1, 1), (1, 1), (1, 1), 1),
            ("wgrad_stride2_groups", (3, 3), (2, 2), (1, 1), (1, 1), 2),
            ("wgrad_dilation", (3, 3), (1, 1), (0, 0), (2, 2), 1),
            ("wgrad_1x1", (1, 1), (1, 1), (0, 0), (1, 1), 1),
        ]
        for (name, k, st, pad, dil, grp) in cases {
            try checkParity(f, name) { conv2dWeightGrad($0[0], $0[1], kernel: k, stride: st, padding: pad, dilation: dil, groups: grp) }
        }
    }

    /// (n, c, o, groups, ih, iw, kh, kw, sh, sw, ph, pw, dh, dw): odd sizes, every path (pointwise,
    /// strided, dilated, grouped; items side by side, one GEMM per item, or items spread over threads).
    static let shapes: [[Int]] = [
        [1, 3, 5, 1, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1],
        [2, 4, 6, 2, 13, 11, 3, 2, 2, 1, 1, 0, 1, 1],
        [3, 5, 7, 1, 17, 15, 5, 5, 2, 2, 2, 1, 1, 2],
        [5, 6, 9, 3, 9, 9, 1, 1, 1, 1, 0, 0, 1, 1],
        [4, 7, 3, 1, 8, 6, 1, 1, 2, 2, 0, 0, 1, 1],
        [1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1],
        [6, 4, 4, 4, 10, 10, 3, 3, 1, 1, 3, 3, 3, 2],
        [1, 64, 64, 1, 17, 17, 3, 3, 1, 1, 1, 1, 1, 1],
        [4, 2, 3, 1, 32, 33, 3, 3, 1, 1, 1, 1, 1, 1],
        [2, 3, 4, 1, 33, 33, 1, 1, 1, 1, 0, 0, 1, 1],
        [1, 8, 8, 8, 9, 9, 3, 3, 2, 2, 1, 1, 1, 1],
    ]

    static func shape(_ v: [Int]) -> ConvShape {
        let oh = ConvShape.outputSize(v[4], k: v[6], s: v[8], p: v[10], d: v[12])
        let ow = ConvShape.outputSize(v[5], k: v[7], s: v[9], p: v[11], d: v[13])
        return ConvShape(n: v[0], c: v[1], o: v[2], groups: v[3], ih: v[4], iw: v[5], oh: oh, ow: ow, kh: v[6], kw: v[7],
                         sh: v[8], sw: v[9], ph: v[10], pw: v[11], dh: v[12], dw: v[13])
    }

    func testKernelsMatchReference() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        for threads in [1, 2, 4] {
            Parallel.threadCount = threads
            for (i, v) in Self.shapes.enumerated() {
                let s = Self.shape(v), tag = "shape \(v) threads \(threads)"
                let x = testTensor([s.n, s.c, s.ih, s.iw], seed: UInt64(i)), w = testTensor(s.weightShape, seed: 50 + UInt64(i))
                let y = testTensor([s.n, s.o, s.oh, s.ow], seed: 100 + UInt64(i))
                let bo = testTensor([s.o], seed: 7), bc = testTensor([s.c], seed: 8)
                let fast = Tensor(uninitializedShape: [s.n, s.o, s.oh, s.ow]), slow = Tensor(uninitializedShape: fast.shape)
                convForward(x.data, w.data, bo.data, s, fast.data)
                convForwardReference(x.data, w.data, bo.data, s, slow.data)
                assertClose(fast, slow, tol: 1e-5, "conv forward \(tag)")
                let fi = Tensor(uninitializedShape: x.shape), si = Tensor(uninitializedShape: x.shape)
                convTransposeForward(y.data, w.data, bc.data, s, fi.data)
                convTransposeReference(y.data, w.data, bc.data, s, si.data)
                assertClose(fi, si, tol: 1e-5, "conv transpose \(tag)")
                let fw = Tensor(uninitializedShape: s.weightShape), sw = Tensor(uninitializedShape: s.weightShape)
                convWeightGradReference(x.data, y.data, s, sw.data)
                // Both weight-gradient products: row-against-row dot products (gemmNT) and the packed GEMM.
                let savedLimit = weightGradDotProductMaxChannels
                for limit in [Int.max, 0] {
                    weightGradDotProductMaxChannels = limit
                    convWeightGrad(x.data, y.data, s, fw.data)
                    assertClose(fw, sw, tol: 1e-5, "conv weight grad \(tag), \(limit == 0 ? "packed GEMM" : "dot products")")
                }
                weightGradDotProductMaxChannels = savedLimit
                // im2col / col2im on one group's channels
                let cols = Tensor(uninitializedShape: [s.kdim * s.positions]), colsRef = Tensor(uninitializedShape: cols.shape)
                im2col(x.data, channels: s.cg, s, cols.data)
                im2colReference(x.data, channels: s.cg, s, colsRef.data)
                assertClose(cols, colsRef, tol: 0, "im2col \(tag)")
                XCTAssertEqual(batchesColumns(s), s.n > 1 && s.positions < 1024, "path of \(tag)")
                let img = Tensor.zeros([s.cg * s.imagePlane]), imgRef = Tensor.zeros([s.cg * s.imagePlane])
                col2im(cols.data, channels: s.cg, s, img.data)
                col2imReference(cols.data, channels: s.cg, s, imgRef.data)
                assertClose(img, imgRef, tol: 1e-6, "col2im \(tag)")
            }
        }
    }

    func testGradcheck() {
        let x = testTensor([2, 4, 6, 5], seed: 1), w = testTensor([6, 2, 3, 3], seed: 2), b = testTensor([6], seed: 3)
        gradcheck([x, w, b], "conv2d stride 2, padding, groups, bias") {
            conv2d($0[0], $0[1], bias: $0[2], stride: (2, 2), padding: (1, 1), groups: 2)
        }
        gradcheck([x, w], "conv2d dilation, asymmetric stride") {
            conv2d($0[0], $0[1], stride: (1, 2), padding: (2, 0), dilation: (2, 1), groups: 2)
        }
        let xt = testTensor([2, 4, 3, 4], seed: 4), wt = testTensor([4, 3, 3, 3], seed: 5), bt = testTensor([6], seed: 6)
        gradcheck([xt, wt, bt], "conv_transpose2d stride 2, output padding, groups, bias") {
            convTranspose2d($0[0], $0[1], bias: $0[2], stride: (2, 2), padding: (1, 1), outputPadding: (1, 0), groups: 2)
        }
        gradcheck([xt, wt], "conv_transpose2d dilation, output padding beyond stride") {
            convTranspose2d($0[0], $0[1], outputPadding: (1, 1), groups: 2, dilation: (2, 2))
        }
        let gy = testTensor([2, 6, 3, 3], seed: 7)
        gradcheck([x, gy], "conv2d weight grad") {
            conv2dWeightGrad($0[0], $0[1], kernel: (3, 3), stride: (2, 2), padding: (1, 1), groups: 2)
        }
        let x1 = testTensor([3, 5, 4, 4], seed: 8), w1 = testTensor([4, 5, 1, 1], seed: 9)
        gradcheck([x1, w1], "conv2d 1x1") { conv2d($0[0], $0[1]) }
    }

    /// Double backward (EG3D's R1 penalty differentiates the gradient of D with respect to its input).
    func testGradgradcheck() {
        let x = testTensor([2, 4, 5, 5], seed: 11), w = testTensor([6, 2, 3, 3], seed: 12), b = testTensor([6], seed: 13)
        gradgradcheck([x, w, b], "conv2d stride 2, padding, groups") {
            conv2d($0[0], $0[1], bias: $0[2], stride: (2, 2), padding: (1, 1), groups: 2).tanh()
        }
        let xt = testTensor([2, 4, 3, 3], seed: 14), wt = testTensor([4, 3, 3, 3], seed: 15)
        gradgradcheck([xt, wt], "conv_transpose2d stride 2, padding, output padding, groups") {
            convTranspose2d($0[0], $0[1], stride: (2, 2), padding: (1, 1), outputPadding: (1, 1), groups: 2).tanh()
        }
        let gy = testTensor([2, 6, 3, 3], seed: 16)
        gradgradcheck([x, gy], "conv2d weight grad") {
            conv2dWeightGrad($0[0], $0[1], kernel: (3, 3), stride: (2, 2), padding: (1, 1), groups: 2).tanh()
        }
        // The R1 pattern: |d sum(D(x)) / dx|², differentiated with respect to the weights.
        // (gradcheck evaluates f under no-grad for its finite differences; the inner gradient needs recording.)
        let w2 = testTensor([1, 6, 3, 3], seed: 17)
        gradcheck([x, w], "R1-style gradient penalty through two convolutions") { t in
            GradMode.with(enabled: true) {
                let d = conv2d(conv2d(t[0], t[1], stride: (2, 2), padding: (1, 1), groups: 2).tanh(), w2).sum()
                let gx = gradients(of: d, wrt: [t[0]], createGraph: true)[0]
                return (gx * gx).sum()
            }
        }
    }
}
