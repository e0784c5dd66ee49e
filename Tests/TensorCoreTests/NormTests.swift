// layerNorm, groupNorm, softmax, logSoftmax: PyTorch parity (Scripts/fixtures/norm.py), fused kernels against
// naive references, the fused first-order backward against the createGraph (op-composed) backward, and
// first- and second-order finite-difference checks.
import XCTest
@testable import TensorCore
import TestSupport

final class NormTests: XCTestCase {
    func testLayerNormParity() throws {
        let f = try fixture("ops_norm.safetensors")
        let shapes: [(String, [Int])] = [("1", [1]), ("7x33", [33]), ("2x3x31", [3, 31]), ("4x1000", [1000]), ("5x7", [7])]
        for (name, ns) in shapes {
            try checkParity(f, "ln_\(name)_affine") { layerNorm($0[0], normalizedShape: ns, weight: $0[1], bias: $0[2]) }
            try checkParity(f, "ln_\(name)_plain") { layerNorm($0[0], normalizedShape: ns) }
            try checkParity(f, "ln_\(name)_weight") { layerNorm($0[0], normalizedShape: ns, weight: $0[1], eps: 1e-3) }
        }
        try checkParity(f, "ln_transposed") { layerNorm($0[0].transpose(0, 1), normalizedShape: [33], weight: $0[1], bias: $0[2]) }
        XCTAssertEqual(shapes.count * 3 + 1, parityCases(f, prefix: "ln_").count)
    }

    /// One element per row: the output is the bias and the x and weight gradients are exactly zero.
    func testLayerNormSingleElement() {
        let x = testTensor([4, 1], seed: 1, requiresGrad: true), w = testTensor([1], seed: 2, requiresGrad: true)
        let b = testTensor([1], seed: 3, requiresGrad: true)
        let y = layerNorm(x, normalizedShape: [1], weight: w, bias: b)
        XCTAssertEqual(y.toArray(), [Float](repeating: b.item(), count: 4))
        let g = gradients(of: y, wrt: [x, w, b], seed: testTensor([4, 1], seed: 4))
        XCTAssertEqual(g[0].toArray(), [0, 0, 0, 0])
        XCTAssertEqual(g[1].toArray(), [0])
    }

    func testGroupNormParity() throws {
        let f = try fixture("ops_norm.safetensors")
        let shapes: [(String, Int)] = [("2x6x7x5_g3", 3), ("1x32x9x9_g32", 32), ("1x32x9x9_g1", 1), ("3x4x33_g2", 2),
                                       ("2x9_g3", 3), ("2x64x31x1_g32", 32), ("1x4x1000_g2", 2)]
        for (name, groups) in shapes {
            try checkParity(f, "gn_\(name)_affine") { groupNorm($0[0], groups: groups, weight: $0[1], bias: $0[2]) }
            try checkParity(f, "gn_\(name)_plain") { groupNorm($0[0], groups: groups, eps: 1e-3) }
        }
        try checkParity(f, "gn_nhwc") { groupNorm($0[0].permute([0, 3, 1, 2]), groups: 3, weight: $0[1], bias: $0[2]) }
        XCTAssertEqual(shapes.count * 2 + 1, parityCases(f, prefix: "gn_").count)
    }

    func testSoftmaxParity() throws {
        let f = try fixture("ops_norm.safetensors")
        let shapes: [(String, Int)] = [("1", -1), ("7", -1), ("3x33", -1), ("4x1000", -1), ("5x7x9_d0", 0), ("5x7x9_d1", 1), ("31x17_d-1", -1)]
        for (name, axis) in shapes {
            try checkParity(f, "softmax_\(name)") { $0[0].softmax(axis: axis) }
            try checkParity(f, "log_softmax_\(name)") { $0[0].logSoftmax(axis: axis) }
        }
        try checkParity(f, "softmax_large") { $0[0].softmax(axis: -1) }
        try checkParity(f, "log_softmax_large") { $0[0].logSoftmax(axis: -1) }
        try checkParity(f, "softmax_transposed") { $0[0].transpose(0, 1).softmax(axis: -1) }
        try checkParity(f, "log_softmax_transposed") { $0[0].transpose(0, 1).logSoftmax(axis: 0) }
        XCTAssertEqual(shapes.count * 2 + 4, parityCases(f, prefix: "softmax_").count + parityCases(f, prefix: "log_softmax_").count)
    }

    /// Fused forward/backward kernels against the naive Float64 reference (layer-norm and group layouts).
    func testNormKernelsMatchReference() {
        let layouts = [NormLayout(rows: 5, groups: 1, segments: 37, segmentLength: 1),
                       NormLayout(rows: 3, groups: 1, segments: 1000, segmentLength: 1),
                       NormLayout(rows: 6, groups: 3, segments: 2, segmentLength: 35),
                       NormLayout(rows: 4, groups: 2, segments: 3, segmentLength: 1),
                       NormLayout(rows: 2, groups: 1, segments: 5, segmentLength: 17),
                       NormLayout(rows: 64, groups: 32, segments: 1, segmentLength: 9)]
        for l in layouts {
            let d = l.rowLength
            let x = testTensor([l.rows, d], seed: 1, low: 2, high: 5), g = testTensor([l.rows, d], seed: 2)
            let w = testTensor([l.parameters], seed: 3), b = testTensor([l.parameters], seed: 4)
            let ref = normReference(x.toArray(), w.toArray(), b.toArray(), l, eps: 1e-5, g: g.toArray())
            let y = Tensor(uninitializedShape: [l.rows, d]), mean = Tensor(uninitializedShape: [l.rows]), rstd = Tensor(uninitializedShape: [l.rows])
            normForward(x.data, w.data, b.data, l, eps: 1e-5, y.data, mean: mean.data, rstd: rstd.data)
            let dx = Tensor(uninitializedShape: [l.rows, d]), dw = Tensor(uninitializedShape: [l.parameters]), db = Tensor(uninitializedShape: [l.parameters])
            normBackward(g.data, x.data, w.data, l, mean: mean.data, rstd: rstd.data, dx: dx.data, dw: dw.data, db: db.data)
            let what = "norm layout \(l)"
            assertClose(y, Tensor(ref.y, shape: y.shape), tol: 1e-5, what + " y")
            assertClose(dx, Tensor(ref.dx, shape: dx.shape), tol: 1e-5, what + " dx")
            assertClose(dw, Tensor(ref.dw, shape: dw.shape), tol: 1e-5, what + " dw")
            assertClose(db, Tensor(ref.db, shape: db.shape), tol: 1e-5, what + " db")
        }
    }

    func testSoftmaxKernelMatchesReference() {
        for (rows, n) in [(1, 1), (3, 7), (5, 31), (2, 33), (4, 1000)] {
            let x = testTensor([rows, n], seed: 5, low: -20, high: 20)
            for log in [false, true] {
                let y = Tensor(uninitializedShape: [rows, n])
                softmaxRows(x.data, y.data, rows: rows, length: n, log: log)
                assertClose(y, Tensor(softmaxRowsReference(x.toArray(), rows: rows, length: n, log: log), shape: [rows, n]),
                            tol: 1e-6, "softmax rows \(rows)x\(n) log \(log)")
            }
        }
    }

    /// First-order gradients from the fused backward kernel equal those of the op-composed (createGraph) backward.
    func testFusedBackwardMatchesComposed() {
        let cases: [(String, [Tensor], ([Tensor]) -> Tensor)] = [
            ("layerNorm", [testTensor([4, 3, 19], seed: 1), testTensor([3, 19], seed: 2), testTensor([3, 19], seed: 3)],
             { layerNorm($0[0], normalizedShape: [3, 19], weight: $0[1], bias: $0[2]) }),
            ("groupNorm", [testTensor([2, 6, 5, 7], seed: 4), testTensor([6], seed: 5), testTensor([6], seed: 6)],
             { groupNorm($0[0], groups: 2, weight: $0[1], bias: $0[2]) }),
            ("softmax", [testTensor([3, 5, 37], seed: 7, low: -5, high: 5)], { $0[0].softmax(axis: -1) }),
            ("logSoftmax", [testTensor([3, 5, 37], seed: 8, low: -5, high: 5)], { $0[0].logSoftmax(axis: 2) }),
        ]
        for (what, inputs, f) in cases {
            for t in inputs { t.requiresGrad = true }
            let y = f(inputs)
            let seed = testTensor(y.shape, seed: 9)
            let fused = gradients(of: f(inputs), wrt: inputs, seed: seed)
            let composed = gradients(of: y, wrt: inputs, seed: seed, createGraph: true)
            for i in 0..<inputs.count { assertClose(fused[i], composed[i], tol: 1e-5, "\(what) gradient \(i)") }
        }
    }

    func testGradchecks() {
        let x = testTensor([3, 2, 5], seed: 21, low: -2, high: 2)
        let w = testTensor([2, 5], seed: 22), b = testTensor([2, 5], seed: 23)
        // (Seeds differ from gradgradcheck's cotangent seeds 7, 11, 12, 13: a cotangent equal to x hides terms.)
        gradcheck([x, w, b], eps: 1e-3, "layerNorm") { layerNorm($0[0], normalizedShape: [2, 5], weight: $0[1], bias: $0[2]) }
        gradgradcheck([x, w, b], eps: 1e-3, "layerNorm second order") { layerNorm($0[0], normalizedShape: [2, 5], weight: $0[1], bias: $0[2]) }
        gradgradcheck([x], eps: 1e-3, "layerNorm (no affine) second order") { layerNorm($0[0], normalizedShape: [5]).tanh() }

        let xg = testTensor([2, 4, 3, 2], seed: 14, low: -2, high: 2)
        let wg = testTensor([4], seed: 15), bg = testTensor([4], seed: 16)
        gradcheck([xg, wg, bg], eps: 1e-3, "groupNorm") { groupNorm($0[0], groups: 2, weight: $0[1], bias: $0[2]) }
        gradgradcheck([xg, wg, bg], eps: 1e-3, "groupNorm second order") { groupNorm($0[0], groups: 2, weight: $0[1], bias: $0[2]) }

        let s = testTensor([3, 4, 5], seed: 17, low: -3, high: 3)
        for axis in [0, 1, -1] {
            gradcheck([s], eps: 1e-3, "softmax axis \(axis)") { $0[0].softmax(axis: axis) }
            gradcheck([s], eps: 1e-3, "logSoftmax axis \(axis)") { $0[0].logSoftmax(axis: axis) }
        }
        gradgradcheck([s], eps: 1e-3, "softmax second order") { $0[0].softmax(axis: -1) }
        gradgradcheck([s], eps: 1e-3, "logSoftmax second order") { $0[0].logSoftmax(axis: 1) }
    }
}
