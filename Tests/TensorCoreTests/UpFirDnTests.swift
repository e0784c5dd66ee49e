// upfirdn2d (and its wrappers) and bias_act: PyTorch parity against the ported EG3D references
// (Scripts/fixtures/upfirdn.py), the fast upfirdn kernel against its naive twin, gradient checks.
import XCTest
@testable import TensorCore
import TestSupport

final class UpFirDnTests: XCTestCase {
    func testSetupFilter() throws {
        let f = try fixture("ops_upfirdn.safetensors")
        assertClose(setupFilter([1, 3, 3, 1]), try f.tensor("filter_1331"), tol: 0, "setup_filter [1, 3, 3, 1]")
        XCTAssertEqual(setupFilter([Float](repeating: 1, count: 8)).shape, [8], "8 taps default to separable")
        assertClose(setupFilter([1, 2], normalize: false, flipFilter: true, gain: 4), Tensor([16, 8, 8, 4], shape: [2, 2]), tol: 0,
                    "setup_filter flip and gain")
    }

    func testUpFirDnParity() throws {
        let f = try fixture("ops_upfirdn.safetensors")
        let cases: [(String, ([Tensor]) -> Tensor)] = [
            ("up2_1331", { upsample2d($0[0], $0[1]) }),
            ("up2_1331_odd", { upsample2d($0[0], $0[1]) }),
            ("down2_1331", { downsample2d($0[0], $0[1]) }),
            ("down2_1331_odd", { downsample2d($0[0], $0[1]) }),
            ("filter2d_1331", { filter2d($0[0], $0[1]) }),
            ("filter2d_pad", { filter2d($0[0], $0[1], padding: (1, 0, 2, 1)) }),
            ("pad_only", { upfirdn2d($0[0], $0[1], padding: (1, 2, 0, 3)) }),
            ("up2_negpad", { upfirdn2d($0[0], $0[1], up: (2, 2), padding: (-1, 2, 1, -2)) }),
            ("up_x2_down_y2", { upfirdn2d($0[0], $0[1], up: (2, 1), down: (1, 2), padding: (2, 1, 1, 2)) }),
            ("up3_down2", { upfirdn2d($0[0], $0[1], up: (3, 3), down: (2, 2), padding: (1, 1, 2, 0)) }),
            ("asym_flip", { upfirdn2d($0[0], $0[1], padding: (2, 2, 1, 1), flipFilter: true, gain: 3) }),
            ("asym_noflip", { upfirdn2d($0[0], $0[1], padding: (2, 2, 1, 1), gain: 0.5) }),
            ("asym_up2_down2", { upfirdn2d($0[0], $0[1], up: (2, 2), down: (2, 2), padding: (1, 3, 2, 0)) }),
            ("separable8_up2", { upsample2d($0[0], $0[1]) }),
            ("separable8_down2", { downsample2d($0[0], $0[1], gain: 2) }),
            ("tiny_up2", { upsample2d($0[0], $0[1]) }),
            ("noncontig_down2", { downsample2d($0[0].permute([0, 3, 1, 2]), $0[1]) }),
            ("identity_pad", { upfirdn2d($0[0], nil, down: (2, 2), padding: (1, 0, 0, 2)) }),
        ]
        for (name, fn) in cases { try checkParity(f, name, fn) }
    }

    func testBiasActParity() throws {
        let f = try fixture("ops_upfirdn.safetensors")
        for act in BiasActivation.allCases {
            try checkParity(f, "bias_act_\(act.rawValue)") { biasAct($0[0], $0[1], act: act) }
        }
        try checkParity(f, "bias_act_lrelu_clamp") { biasAct($0[0], $0[1], act: .lrelu, clamp: 0.5) }
        try checkParity(f, "bias_act_lrelu_alpha_gain") { biasAct($0[0], $0[1], act: .lrelu, alpha: 0.1, gain: 1.5) }
        try checkParity(f, "bias_act_linear_fc") { biasAct($0[0], $0[1], act: .linear, gain: 0.5) }
        try checkParity(f, "bias_act_lrelu_fc") { biasAct($0[0], $0[1], act: .lrelu) }
        try checkParity(f, "bias_act_lrelu_lastdim") { biasAct($0[0], $0[1], dim: 3, act: .lrelu, clamp: 1) }
        try checkParity(f, "bias_act_relu_nobias") { biasAct($0[0], nil, act: .relu) }
        try checkParity(f, "bias_act_tanh_clamp") { biasAct($0[0], $0[1], act: .tanh, gain: 2, clamp: 1.5) }
        try checkParity(f, "bias_act_noncontig") { biasAct($0[0].permute([0, 3, 1, 2]), $0[1], act: .lrelu) }
    }

    /// The fast kernel against the definition, over factors, pads (negative too), filter sizes and odd sizes.
    func testUpFirDnMatchesReference() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        // (planes, ih, iw, upx, upy, downx, downy, padx0, padx1, pady0, pady1, fh, fw)
        let shapes: [[Int]] = [
            [3, 7, 9, 1, 1, 1, 1, 1, 2, 0, 3, 4, 4],
            [2, 31, 33, 2, 2, 1, 1, 2, 1, 2, 1, 4, 4],
            [5, 33, 31, 1, 1, 2, 2, 1, 1, 1, 1, 4, 4],
            [1, 9, 8, 2, 1, 1, 2, 2, 1, 1, 2, 3, 5],
            [2, 7, 7, 3, 3, 2, 2, -1, 2, 1, -2, 4, 4],
            [1, 1, 1, 2, 2, 1, 1, 2, 1, 2, 1, 4, 4],
            [7, 20, 18, 1, 1, 3, 2, 0, 0, 0, 0, 8, 8],
            [1, 40, 40, 2, 2, 1, 1, 2, 1, 2, 1, 4, 4],
            [2, 9, 11, 1, 1, 1, 1, -2, 1, -1, 2, 3, 3],
            [2, 8, 10, 1, 2, 1, 2, -1, -1, 1, 0, 2, 3],
            [3, 6, 5, 1, 1, 1, 1, 4, 3, 0, 0, 4, 4],
        ]
        for threads in [1, 4] {
            Parallel.threadCount = threads
            for (i, v) in shapes.enumerated() {
                let s = UpFirDnShape(planes: v[0], ih: v[1], iw: v[2], upx: v[3], upy: v[4], downx: v[5], downy: v[6],
                                     padx0: v[7], padx1: v[8], pady0: v[9], pady1: v[10], fh: v[11], fw: v[12])
                let x = testTensor([s.planes, s.ih, s.iw], seed: UInt64(i)), w = testTensor([s.fh, s.fw], seed: 40 + UInt64(i))
                let fast = Tensor(uninitializedShape: [s.planes, s.oh, s.ow]), slow = Tensor(uninitializedShape: fast.shape)
                upfirdnForward(x.data, w.data, s, fast.data)
                upfirdnReference(x.data, w.data, s, slow.data)
                assertClose(fast, slow, tol: 1e-6, "upfirdn \(v) threads \(threads)")
                // The backward's shape maps the output back onto the input.
                XCTAssertEqual([s.transposed.oh, s.transposed.ow], [s.ih, s.iw], "transposed shape of \(v)")
            }
        }
    }

    func testBiasLeakyMatchesReference() {
        for (outer, c, inner) in [(3, 5, 7), (4, 37, 1), (2, 16, 33), (1, 1, 1)] {
            let x = testTensor([outer, c, inner], seed: 1, low: -2, high: 2), b = testTensor([c], seed: 2)
            for (slope, gain, clamp) in [(Float(0.2), Float(2.0.squareRoot()), Float.infinity), (0, 1.5, 0.7), (1, 0.5, 0.3)] {
                let fast = Tensor(uninitializedShape: x.shape), slow = Tensor(uninitializedShape: x.shape)
                biasLeakyForward(x.data, b.data, outer: outer, c: c, inner: inner, slope: slope, gain: gain, clamp: clamp, fast.data)
                biasLeakyReference(x.data, b.data, outer: outer, c: c, inner: inner, slope: slope, gain: gain, clamp: clamp, slow.data)
                assertClose(fast, slow, tol: 1e-6, "bias_act fused (\(outer), \(c), \(inner)) slope \(slope)")
            }
        }
    }

    func testGradchecks() {
        let x = testTensor([2, 3, 5, 6], seed: 1)
        let f4 = setupFilter([1, 3, 3, 1]), f35 = testTensor([3, 5], seed: 2)
        gradcheck([x], "upsample2d") { upsample2d($0[0], f4) }
        gradcheck([x], "downsample2d") { downsample2d($0[0], f4) }
        gradcheck([x], "upfirdn2d asymmetric filter, up 2 down (1, 2), negative pad") {
            upfirdn2d($0[0], f35, up: (2, 2), down: (1, 2), padding: (-1, 3, 2, 0), gain: 2)
        }
        gradgradcheck([x], "upsample2d second order") { upsample2d($0[0], f4).tanh() }
        gradgradcheck([x], "downsample2d second order") { downsample2d($0[0], f35, flipFilter: true).tanh() }

        // bias_act: inputs kept away from the kinks (0 for relu/lrelu) so finite differences do not cross them.
        let xs = Tensor(testTensor([2, 4, 3, 3], seed: 3).toArray().enumerated().map { (i, v) in (0.1 + Swift.abs(v)) * (i % 3 == 0 ? -1 : 1) },
                        shape: [2, 4, 3, 3])
        let b = testTensor([4], seed: 4, low: -0.02, high: 0.02)
        for act in BiasActivation.allCases {
            gradcheck([xs, b], "bias_act \(act)") { biasAct($0[0], $0[1], act: act) }
            gradgradcheck([xs, b], "bias_act \(act) second order") { biasAct($0[0], $0[1], act: act).pow(2) }
        }
        // An EG3D discriminator block under the R1 penalty: conv -> bias_act(lrelu) -> filter2d -> stride-2 conv,
        // the squared input gradient differentiated with respect to the weights (double backward through all).
        let img = testTensor([2, 3, 6, 6], seed: 5), w1 = testTensor([4, 3, 3, 3], seed: 6), b1 = testTensor([4], seed: 7)
        let w2 = testTensor([2, 4, 3, 3], seed: 8)
        gradcheck([w1, b1, w2], "R1 through a discriminator block") { t in
            GradMode.with(enabled: true) {
                let x = Tensor(img.toArray(), shape: img.shape, requiresGrad: true)
                let h = biasAct(conv2d(x, t[0], padding: (1, 1)), t[1], act: .lrelu)
                let d = conv2d(filter2d(h, f4, padding: (1, 1, 1, 1)), t[2], stride: (2, 2)).sum()
                let gx = gradients(of: d, wrt: [x], createGraph: true)[0]
                return (gx * gx).sum()
            }
        }
        gradcheck([xs, b], "bias_act lrelu last dim") { biasAct($0[0].permute([0, 2, 3, 1]), $0[1], dim: 3, act: .lrelu, alpha: 0.3) }
    }
}
