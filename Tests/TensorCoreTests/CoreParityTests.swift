// PyTorch parity for reductions, movement ops and matmul (Scripts/fixtures/reduce_move_matmul.py).
import XCTest
@testable import TensorCore
import TestSupport

final class CoreParityTests: XCTestCase {
    func testReductions() throws {
        let f = try fixture("ops_reduce_move_matmul.safetensors")
        for axes in [[0], [1], [2], [0, 2], [0, 1, 2]] {
            let tag = axes.map(String.init).joined()
            try checkParity(f, "sum_\(tag)") { $0[0].sum(axes: axes) }
            try checkParity(f, "mean_\(tag)") { $0[0].mean(axes: axes, keepDims: true) }
            try checkParity(f, "var_\(tag)") { $0[0].variance(axes: axes) }
            try checkParity(f, "amax_\(tag)") { $0[0].max(axes: axes) }
            try checkParity(f, "amin_\(tag)") { $0[0].min(axes: axes) }
            try checkParity(f, "logsumexp_\(tag)") { ($0[0] * 10).logsumexp(axes: axes) }
        }
        try checkParity(f, "sum_1000") { $0[0].sum() }
        try checkParity(f, "var_pop_1000") { $0[0].variance(correction: 0) }
        try checkParity(f, "sum_transposed") { $0[0].transpose(0, 2).sum(axis: 1) }
        try checkParity(f, "argmax_1") { $0[0].argmax(axis: 1) }
    }

    func testMovement() throws {
        let f = try fixture("ops_reduce_move_matmul.safetensors")
        try checkParity(f, "permute") { $0[0].permute([2, 0, 1]) * 1.5 }
        try checkParity(f, "reshape_t") { $0[0].transpose(1, 2).reshape([3, -1]) }
        try checkParity(f, "slice_step") { $0[0].slice(axis: 1, start: 1, end: 6, step: 2).slice(axis: 2, step: 3) }
        try checkParity(f, "concat") { Tensor.concat([$0[0], $0[1] * 2], axis: 1) }
        try checkParity(f, "stack") { Tensor.stack([$0[0], $0[1]], axis: 1) }
        try checkParity(f, "split") { $0[0].split([2, 5], axis: 1)[1] * 3 }
        try checkParity(f, "pad") { $0[0].pad([(0, 0), (0, 3), (1, 2)], value: 0.5) }
        try checkParity(f, "expand") { $0[0].expand([4, 7, 33]) * Tensor((0..<(4 * 7 * 33)).map { Float($0) / 100 }, shape: [4, 7, 33]) }
        try checkParity(f, "repeat") { $0[0].repeat([2, 1, 3]) }
    }

    func testMatmul() throws {
        let f = try fixture("ops_reduce_move_matmul.safetensors")
        for (m, k, n) in [(1, 1, 1), (7, 31, 33), (33, 64, 7), (65, 100, 50), (128, 300, 96)] {
            try checkParity(f, "matmul_\(m)_\(k)_\(n)") { $0[0].matmul($0[1]) }
        }
        try checkParity(f, "matmul_batched_bcast") { $0[0].matmul($0[1]) }
        try checkParity(f, "matmul_transposed") { $0[0].transpose(0, 1).matmul($0[1].transpose(0, 1)) }
        try checkParity(f, "matmul_vec") { $0[0].matmul($0[1]) }
        try checkParity(f, "linear") { $0[0].linear($0[1], $0[2]) }
    }

    /// The fast GEMM against the naive reference, over odd sizes that exercise every edge tile, with either
    /// operand transposed (each has its own packing path).
    func testGemmMatchesReference() {
        for (m, n, k) in [(1, 1, 1), (5, 17, 3), (13, 33, 300), (97, 65, 257), (200, 40, 600)] {
            for transA in [false, true] {
                for transB in [false, true] {
                    let a = testTensor(transA ? [k, m] : [m, k], seed: 1), b = testTensor(transB ? [n, k] : [k, n], seed: 2)
                    let ar = transA ? MatrixRef(a.data, rs: 1, cs: m) : MatrixRef(a.data, rs: k, cs: 1)
                    let br = transB ? MatrixRef(b.data, rs: 1, cs: k) : MatrixRef(b.data, rs: n, cs: 1)
                    let fast = Tensor.zeros([m, n]), slow = Tensor.zeros([m, n])
                    gemm(m: m, n: n, k: k, ar, br, fast.data, ldc: n)
                    gemmReference(m: m, n: n, k: k, ar, br, slow.data, ldc: n)
                    assertClose(fast, slow, tol: 1e-5, "gemm \(m)x\(n)x\(k) transA \(transA) transB \(transB)")
                }
            }
        }
    }

    /// The unpacked small-GEMM kernel (Kernels/GemmSmall.swift) against the naive reference: row counts that leave
    /// partial row blocks, column counts of 1 to 9 vectors (partial vector blocks), k from 1 to past the packed path's
    /// block, A row-major and transposed, with and without accumulation; and `gemm`'s dispatch to it.
    func testSmallGemmMatchesReference() {
        for (m, n, k) in [(1, 16, 1), (3, 16, 7), (4, 64, 64), (5, 48, 33), (13, 80, 300), (64, 64, 64), (7, 144, 5)] {
            for transA in [false, true] {
                for accumulate in [false, true] {
                    let tag = "\(m)x\(n)x\(k) transA \(transA) accumulate \(accumulate)"
                    let a = testTensor(transA ? [k, m] : [m, k], seed: 1), b = testTensor([k, n + 3], seed: 2)
                    let ar = transA ? MatrixRef(a.data, rs: 1, cs: m) : MatrixRef(a.data, rs: k, cs: 1)
                    let br = MatrixRef(b.data, rs: n + 3, cs: 1)   // padded rows: only the row stride is used
                    let fast = testTensor([m, n + 2], seed: 3), slow = Tensor(fast.toArray(), shape: fast.shape)
                    gemmSmall(m: m, n: n, k: k, ar, br, fast.data, ldc: n + 2, accumulate: accumulate)
                    gemmReference(m: m, n: n, k: k, ar, br, slow.data, ldc: n + 2, accumulate: accumulate)
                    assertClose(fast, slow, tol: 1e-5, "small gemm \(tag)")   // the two padding columns untouched too
                }
            }
        }
        let dense = testTensor([64, 64], seed: 4)
        XCTAssertTrue(gemmTakesSmallPath(m: 64, n: 64, k: 64, MatrixRef(dense.data, rs: 64, cs: 1)))
        XCTAssertFalse(gemmTakesSmallPath(m: 64, n: 64, k: 64, MatrixRef(dense.data, rs: 1, cs: 64)))   // Bᵀ: packed
        XCTAssertFalse(gemmTakesSmallPath(m: 64, n: 60, k: 64, MatrixRef(dense.data, rs: 64, cs: 1)))   // not whole vectors
        XCTAssertFalse(gemmTakesSmallPath(m: 128, n: 64, k: 64, MatrixRef(dense.data, rs: 64, cs: 1)))  // over 2^18
    }

    /// Packing the row blocks of a transposed A in one pass over k (packAColumns, Gemm.swift) gives packA's strips
    /// exactly: whole strips, a partial last strip (zero rows past the block), any column stride and offset.
    func testColumnPackingOfTransposedAEqualsStripPacking() {
        for (mc, kc, m, i0) in [(gemmMR * 3, 7, 40, 2), (gemmMR * 2 + 1, 5, 50, 9), (gemmMR - 1, 9, gemmMR - 1, 0), (1, 4, 3, 2)] {
            let k = kc + 3, a = testTensor([k, m], seed: 11)                  // A (m x k) stored transposed: rs 1, cs m
            let ar = MatrixRef(a.data, rs: 1, cs: m), strips = (mc + gemmMR - 1) / gemmMR
            let fast = Tensor.zeros([strips * gemmMR * kc]), slow = Tensor.ones([strips * gemmMR * kc])
            packAColumns(ar, i0: i0, mc: mc, k0: 2, kc: kc, into: fast.data)
            for s in 0..<strips {
                packA(ar, i0: i0 + s * gemmMR, m: i0 + mc, k0: 2, kc: kc, into: slow.data + s * gemmMR * kc)
            }
            XCTAssertEqual(fast.toArray(), slow.toArray(), "mc \(mc), kc \(kc), m \(m), i0 \(i0)")
        }
    }

    /// Split-K GEMM (long reduction, small result: weight gradients) against the naive reference: a partial last
    /// chunk, transposed A (gᵀ · x as linear's weight gradient reads it), accumulate, a padded C; bit-equal on 1 and
    /// 2 threads (the chunks do not depend on the thread count); and which products take it.
    func testSplitKGemmMatchesReferenceOnAnyThreadCount() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        let (m, n, k) = (24, 40, 2 * gemmSplitKChunk + 517)
        XCTAssertTrue(gemmSplitsK(m: m, n: n, k: k))
        XCTAssertFalse(gemmSplitsK(m: m, n: n, k: 2 * gemmSplitKChunk - 1))          // too short a reduction
        XCTAssertFalse(gemmSplitsK(m: 1024, n: 1024, k: 8192))                       // too large a result
        for transA in [false, true] {
            for accumulate in [false, true] {
                let a = testTensor(transA ? [k, m] : [m, k], seed: 5), b = testTensor([k, n], seed: 6)
                let ar = transA ? MatrixRef(a.data, rs: 1, cs: m) : MatrixRef(a.data, rs: k, cs: 1)
                let br = MatrixRef(b.data, rs: n, cs: 1)
                checkOnOneAndTwoThreads(m: m, n: n, k: k, ar, br, padding: 2, accumulate: accumulate, seed: 7,
                                        "split-K gemm transA \(transA) accumulate \(accumulate)")
            }
        }
    }

    /// `gemm` into a C padded by `padding` columns (left untouched) against the naive reference on 1 and 2 threads,
    /// and bit-equal between them. Restores nothing: callers save and restore the thread count.
    func checkOnOneAndTwoThreads(m: Int, n: Int, k: Int, _ ar: MatrixRef, _ br: MatrixRef, padding: Int, accumulate: Bool,
                                 seed: UInt64, _ tag: String) {
        let c0 = testTensor([m, n + padding], seed: seed)
        let slow = Tensor(c0.toArray(), shape: c0.shape)
        gemmReference(m: m, n: n, k: k, ar, br, slow.data, ldc: n + padding, accumulate: accumulate)
        var results: [[Float]] = []
        for threads in [1, 2] {
            Parallel.threadCount = threads
            let fast = Tensor(c0.toArray(), shape: c0.shape)
            gemm(m: m, n: n, k: k, ar, br, fast.data, ldc: n + padding, accumulate: accumulate)
            assertClose(fast, slow, tol: 1e-5, "\(tag), \(threads) threads")
            results.append(fast.toArray())
        }
        XCTAssertEqual(results[0], results[1], "\(tag) differs between 1 and 2 threads")
    }

    /// GEMM with one band of rows or columns per thread (Gemm.swift `gemmBands`) against the naive reference: a
    /// tall product (rows split; row-major A packed row by row, a partial last strip) and a wide one (columns split, a
    /// partial last panel), either operand transposed, accumulate, padded C; bit-equal on 1 and 2 threads.
    func testBandSplitGemmMatchesReferenceOnAnyThreadCount() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        for (m, n, k) in [(301, 150, 520), (97, 411, 300)] {
            Parallel.threadCount = 2
            #if !TENSORCORE_WIDE
            XCTAssertTrue(gemmSplitsBands(m: m, n: n, k: k), "\(m)x\(n)x\(k) is split into bands")
            XCTAssertEqual(gemmBandSplitsColumns(m: m, n: n), n > m)
            #endif
            for transA in [false, true] {
                for transB in [false, true] {
                    for accumulate in [false, true] {
                        let tag = "\(m)x\(n)x\(k) transA \(transA) transB \(transB) accumulate \(accumulate)"
                        let a = testTensor(transA ? [k, m] : [m, k], seed: 8), b = testTensor(transB ? [n, k] : [k, n], seed: 9)
                        let ar = transA ? MatrixRef(a.data, rs: 1, cs: m) : MatrixRef(a.data, rs: k, cs: 1)
                        let br = transB ? MatrixRef(b.data, rs: 1, cs: k) : MatrixRef(b.data, rs: n, cs: 1)
                        checkOnOneAndTwoThreads(m: m, n: n, k: k, ar, br, padding: 3, accumulate: accumulate, seed: 10, "band gemm \(tag)")
                    }
                }
            }
        }
    }

    /// A product wider than two column blocks (`gemmNC`, set by the L2 size) against the naive reference, so that each
    /// of two threads' column bands still spans more than one block: B row-major (packed a row at a time, the last panel
    /// partial) and transposed, K past one block, accumulate; bit-equal on 1 and 2 threads.
    func testGemmWiderThanOneColumnBlockMatchesReference() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        let n = 2 * gemmNC + 2 * gemmNR + 5, k = gemmKC + 44
        for m in [13, 61] {
            for transB in [false, true] {
                let a = testTensor([m, k], seed: 11), b = testTensor(transB ? [n, k] : [k, n], seed: 12)
                let ar = MatrixRef(a.data, rs: k, cs: 1)
                let br = transB ? MatrixRef(b.data, rs: 1, cs: k) : MatrixRef(b.data, rs: n, cs: 1)
                for accumulate in [false, true] {
                    checkOnOneAndTwoThreads(m: m, n: n, k: k, ar, br, padding: 3, accumulate: accumulate, seed: 13,
                                            "gemm \(m)x\(n)x\(k) (column blocks of \(gemmNC)) transB \(transB) accumulate \(accumulate)")
                }
            }
        }
    }

    /// The k-contiguous product (a convolution's weight gradient) against the naive reference: odd sizes that leave
    /// partial row blocks of A and B and a k tail past the last vector, with and without accumulation, 1 and 2 threads.
    func testGemmNTMatchesReference() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        for threads in [1, 2] {
            Parallel.threadCount = threads
            for (m, n, k) in [(1, 1, 1), (5, 17, 3), (16, 144, 1024), (13, 33, 300), (7, 2, 4100)] {
                let a = testTensor([m, k + 3], seed: 1), b = testTensor([n, k + 5], seed: 2), c0 = testTensor([m, n], seed: 3)
                for accumulate in [false, true] {
                    let fast = Tensor(c0.toArray(), shape: [m, n]), slow = Tensor(c0.toArray(), shape: [m, n])
                    gemmNT(m: m, n: n, k: k, a.data, lda: k + 3, b.data, ldb: k + 5, fast.data, ldc: n, accumulate: accumulate)
                    gemmReference(m: m, n: n, k: k, MatrixRef(a.data, rs: k + 3, cs: 1), MatrixRef(b.data, rs: 1, cs: k + 5),
                                  slow.data, ldc: n, accumulate: accumulate)
                    assertClose(fast, slow, tol: 1e-5, "gemmNT \(m)x\(n)x\(k) accumulate \(accumulate), \(threads) threads")
                }
            }
        }
    }

    func testGradchecks() {
        let x = testTensor([3, 4, 5], seed: 4)
        gradcheck([x], "sum/mean/var") { $0[0].sum(axes: [1]) + $0[0].mean(axes: [1]) * 2 + $0[0].variance(axes: [1]) }
        gradcheck([x], "max/min/logsumexp") { $0[0].max(axes: [2]) + $0[0].min(axes: [0]).sum(axes: [1]) + $0[0].logsumexp(axes: [1, 2]).sum() }
        gradcheck([x], "movement") { Tensor.concat([$0[0].permute([2, 0, 1]).reshape([5, 12]), $0[0].sum(axes: [0]).transpose(0, 1)], axis: 1).pad([(1, 0), (0, 2)]) }
        let a = testTensor([2, 3, 4], seed: 5), b = testTensor([4, 5], seed: 6)
        gradcheck([a, b], "matmul") { $0[0].matmul($0[1]) }
        gradgradcheck([a, b], "matmul second order") { $0[0].matmul($0[1]).tanh() }
        gradgradcheck([x], "var second order (minibatch std)") { ($0[0].variance(axes: [0], correction: 0) + 1e-8).sqrt().mean() * $0[0].sum(axes: [0]) }
        gradgradcheck([x], "reshape/permute/slice second order") { $0[0].permute([2, 0, 1]).reshape([5, 12]).slice(axis: 1, start: 2, end: 9).pow(2) }
    }

    func testMoreGradchecks() {
        let x = testTensor([3, 4], seed: 8), y = testTensor([3, 4], seed: 9), e = testTensor([4], seed: 10, low: 0.5, high: 2)
        let pos = testTensor([3, 4], seed: 12, low: 0.5, high: 2)
        gradcheck([x, y], "where") { Tensor.where($0[0].gt(0.1), $0[0] * 2, $0[1]) }
        gradcheck([pos, e], "pow(tensor)") { $0[0].pow($0[1]) }
        gradcheck([x], "expand/repeat") { $0[0].unsqueeze(0).expand([2, 3, 4]) * $0[0] + $0[0].repeat([2, 1, 2]).sum(axes: [0]).slice(axis: 1, start: 0, end: 4) }
        gradcheck([x, y], "stack/split/chunk") { Tensor.stack([$0[0], $0[1]], axis: 2).split([1, 2], axis: 0)[1].sum(axes: [2]) * $0[1].chunk(3, axis: 0)[0] }
        gradcheck([x], "slice with step, squeeze") { $0[0].slice(axis: 1, start: 1, step: 2).unsqueeze(1).squeeze(1).exp() }
        gradgradcheck([x, y], "where/concat/expand second order") {
            Tensor.concat([Tensor.where($0[0].gt(0), $0[0] * $0[1], $0[1].exp()), $0[0].sum(axes: [1], keepDims: true).expand([3, 2])], axis: 1).pow(2)
        }
        gradgradcheck([x], "max/logsumexp second order") { $0[0].max(axes: [1]) * $0[0].logsumexp(axes: [1]) }
    }

    func testShapeErrorsNameTheOp() {
        // Shape errors are preconditions; their messages are checked here through the helper that builds them.
        XCTAssertNil(broadcastShape([2, 3], [4, 3]))
        XCTAssertEqual(broadcastShape([2, 1, 3], [4, 1]), [2, 4, 3])
    }
}
