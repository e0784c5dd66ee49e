// The convolution paths the VAE leans on at full resolution, against TensorCore's naive reference: implicit
// GEMM in column chunks, the vector-copy interior panels at stride 1 and the even-lane panels at stride 2,
// with the image edges, at one and two threads.
import Foundation
import XCTest
@testable import TensorCore
import TestSupport

final class VAEKernelTests: XCTestCase {
    func testChunkedConvolutionMatchesReference() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        for threads in [1, 2] {
            Parallel.threadCount = threads
            for (c, o, hw, stride, pad) in [(3, 8, 70, 1, 1), (16, 12, 67, 1, 1), (16, 8, 71, 2, 0), (32, 8, 80, 2, 1), (32, 7, 40, 1, 0)] {
                let x = RandomGenerator(seed: 1).normal([1, c, hw, hw]), w = RandomGenerator(seed: 2).normal([o, c, 3, 3])
                let b = RandomGenerator(seed: 3).normal([o])
                let y = withNoGrad { conv2d(x, w, bias: b, stride: (stride, stride), padding: (pad, pad)) }
                let oh = (hw + 2 * pad - 3) / stride + 1
                let s = ConvShape(n: 1, c: c, o: o, groups: 1, ih: hw, iw: hw, oh: oh, ow: oh, kh: 3, kw: 3,
                                  sh: stride, sw: stride, ph: pad, pw: pad, dh: 1, dw: 1)
                XCTAssertGreaterThan(s.positions, convColumnChunk(k: s.kdim, p: s.positions), "the case should span several chunks")
                let ref = Tensor.zeros([1, o, oh, oh])
                convForwardReference(x.data, w.data, b.data, s, ref.data)
                assertClose(y, ref, tol: 1e-5, "conv \(c)->\(o) \(hw)² stride \(stride) pad \(pad), \(threads) threads")
            }
        }
    }
}

final class GroupNormSiLUTests: XCTestCase {
    /// Fused in inference, the composition when a gradient is wanted: the same values either way.
    func testFusedMatchesComposition() {
        let x = RandomGenerator(seed: 1).normal([2, 8, 5, 7]), w = RandomGenerator(seed: 2).normal([8]), b = RandomGenerator(seed: 3).normal([8])
        let composed = withNoGrad { groupNorm(x, groups: 4, weight: w, bias: b, eps: 1e-6).silu() }
        let fused = withNoGrad { groupNormSiLU(x, groups: 4, weight: w, bias: b, eps: 1e-6) }
        assertClose(fused, composed, tol: 1e-6, "fused forward")
        XCTAssertNil(fused.node)
        let xg = x.detach(); xg.requiresGrad = true
        let y = groupNormSiLU(xg, groups: 4, weight: w, bias: b, eps: 1e-6)
        XCTAssertEqual(y.node?.op, "silu")
        assertClose(y, composed, tol: 1e-6, "recorded forward")
        let r = RandomGenerator(seed: 4).normal(y.shape)
        let g = gradients(of: (y * r).sum(), wrt: [xg])[0]
        let xr = x.detach(); xr.requiresGrad = true
        let gRef = gradients(of: (groupNorm(xr, groups: 4, weight: w, bias: b, eps: 1e-6).silu() * r).sum(), wrt: [xr])[0]
        assertClose(g, gRef, tol: 1e-6, "gradient")
    }
}
