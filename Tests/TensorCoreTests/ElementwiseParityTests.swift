// PyTorch parity for elementwise ops (fixtures: Scripts/fixtures/elementwise.py) and their gradchecks.
import XCTest
@testable import TensorCore
import TestSupport

final class ElementwiseParityTests: XCTestCase {
    static let unary: [String: (Tensor) -> Tensor] = [
        "neg": { $0.neg() }, "exp": { $0.exp() }, "tanh": { $0.tanh() }, "sigmoid": { $0.sigmoid() },
        "sin": { $0.sin() }, "cos": { $0.cos() }, "abs": { $0.abs() }, "relu": { $0.relu() }, "silu": { $0.silu() },
        "gelu": { $0.gelu() }, "gelu_tanh": { $0.gelu(approximate: .tanh) }, "leaky_relu": { $0.leakyRelu(0.2) },
        "softplus": { $0.softplus() }, "softplus_b2_t3": { $0.softplus(beta: 2, threshold: 3) },
        "clamp": { $0.clamp(min: -0.5, max: 0.7) }, "erf": { $0.erf() }, "pow3": { $0.pow(3) },
        "log": { $0.log() }, "sqrt": { $0.sqrt() }, "rsqrt": { $0.rsqrt() }, "pow_frac": { $0.pow(1.7) },
        "quick_gelu": { $0.quickGELU() },
    ]

    func testUnaryParity() throws {
        let f = try fixture("ops_elementwise.safetensors")
        var checked = 0
        for (name, op) in Self.unary {
            for n in [1, 7, 31, 33, 1000] {
                try checkParity(f, "\(name)_\(n)") { op($0[0]) }
                checked += 1
            }
        }
        XCTAssertEqual(checked, Self.unary.count * 5)
    }

    func testBinaryParity() throws {
        let f = try fixture("ops_elementwise.safetensors")
        try checkParity(f, "add_bcast") { $0[0] + $0[1] }
        try checkParity(f, "sub_bcast") { $0[0] - $0[1] }
        try checkParity(f, "mul_bcast") { $0[0] * $0[1] }
        try checkParity(f, "div_bcast") { $0[0] / $0[1] }
        try checkParity(f, "pow_tensor") { $0[0].pow($0[1]) }
        try checkParity(f, "mul_transposed") { $0[0].transpose(0, 1) * $0[1] }
        try checkParity(f, "where") { Tensor.where($0[0].gt(0), $0[1], $0[2]) }
        try checkParity(f, "scalar_ops") { (2.5 - $0[0]) * 3 / 0.5 + 1 }
        try checkParity(f, "reciprocal") { 2 / $0[0] }
    }

    /// The fused GEGLU (Ops/GEGLU.swift) against PyTorch (hidden * F.gelu(gate)), its kernels against the naive loops
    /// in float64 (odd widths: vector and scalar tails; many rows: several threads' ranges), the composed ops, and the
    /// finite-difference first- and second-order checks.
    func testGEGLU() throws {
        let f = try fixture("ops_elementwise.safetensors")
        try checkParity(f, "geglu") { $0[0].geglu() }
        try checkParity(f, "geglu_wide") { $0[0].geglu() }
        for (rows, d) in [(1, 1), (3, 15), (2, 16), (5, 33), (4096, 24)] {
            let x = testTensor([rows, 2 * d], seed: UInt64(rows * 100 + d), low: -4, high: 4)
            let dy = testTensor([rows, d], seed: 7)
            let (refOut, refDx) = gegluReference(x.toArray(), dy.toArray(), rows: rows, d: d)
            let leaf = x.detach(); leaf.requiresGrad = true
            let out = leaf.geglu()
            out.backward(seed: dy)
            XCTAssertLessThan(maxAbsDiff(out.toArray(), refOut), 2e-6, "geglu forward \(rows)x\(d)")
            XCTAssertLessThan(maxAbsDiff(leaf.grad!.toArray(), refDx), 4e-6, "geglu backward \(rows)x\(d)")
            let parts = x.chunk(2, axis: 1)
            XCTAssertLessThan(maxAbsDiff(x.geglu().toArray(), (parts[0] * parts[1].gelu()).toArray()), 1e-6)
        }
        // A view (the transposed input is copied first) and the tanh form (composed).
        let t = testTensor([6, 4], seed: 2).transpose(0, 1)
        let tp = t.contiguous().chunk(2, axis: 1)
        XCTAssertLessThan(maxAbsDiff(t.geglu().toArray(), (tp[0] * tp[1].gelu()).toArray()), 1e-6)
        XCTAssertLessThan(maxAbsDiff(t.geglu(approximate: .tanh).toArray(), (tp[0] * tp[1].gelu(approximate: .tanh)).toArray()), 1e-6)
        gradcheck([testTensor([3, 10], seed: 4)], "geglu") { $0[0].geglu() }
        gradgradcheck([testTensor([2, 6], seed: 5)], "geglu second order") { $0[0].geglu() }
    }

    func testUnaryGradcheck() {
        for (name, op) in Self.unary {
            let positive = ["log", "sqrt", "rsqrt", "pow_frac"].contains(name)
            // Keep clear of kinks (0 for relu/abs, the clamp bounds) so central differences are valid.
            var v = testTensor([13], seed: 3, low: positive ? 0.3 : -2, high: 2).toArray()
            v = v.map { Swift.abs($0) < 0.05 || Swift.abs($0 + 0.5) < 0.05 || Swift.abs($0 - 0.7) < 0.05 ? $0 + 0.11 : $0 }
            gradcheck([Tensor(v, shape: [13])], eps: 1e-3, tol: 1e-2, name) { op($0[0]) }
        }
    }

    func testBinaryGradcheckAndSecondOrder() {
        let a = testTensor([3, 4], seed: 1), b = testTensor([4], seed: 2, low: 0.5, high: 2)
        gradcheck([a, b], "add") { $0[0] + $0[1] }
        gradcheck([a, b], "div") { $0[0] / $0[1] }
        gradgradcheck([a, b], "mul-div") { ($0[0] * $0[1]) / ($0[1] + 1) }
        gradgradcheck([a], "elementwise chain") { $0[0].exp().tanh().sigmoid() * $0[0].leakyRelu(0.2) + $0[0].softplus() }
        gradgradcheck([b], "log sqrt rsqrt pow") { $0[0].log() + $0[0].sqrt() + $0[0].rsqrt() + $0[0].pow(2.5) }
    }
}

/// The largest |a − b| over two equal-length arrays.
private func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count, "maxAbsDiff: \(a.count) against \(b.count) values")
    return zip(a, b).reduce(0.0) { Swift.max($0, Double(Swift.abs($1.0 - $1.1))) }
}
