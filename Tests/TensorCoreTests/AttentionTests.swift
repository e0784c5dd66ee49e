// scaledDotProductAttention: PyTorch parity (Scripts/fixtures/attention.py) with the default blocks and with
// small odd blocks (every query/key block edge), the fused kernels against the unfused op composition, and
// finite-difference checks (second order through the createGraph backward).
import Foundation
import XCTest
@testable import TensorCore
import TestSupport

final class AttentionTests: XCTestCase {
    static let cases: [(String, Float?)] = [("attn_nomask", nil), ("attn_mask", nil), ("attn_mask_scale", 0.3), ("attn_tiny", nil),
                                            ("attn_long", nil), ("attn_fully_masked", nil)]

    func testParity() throws {
        let f = try fixture("ops_attention.safetensors")
        for (qb, kb) in [(64, 256), (7, 13), (1, 1), (128, 32)] {
            for (name, scale) in Self.cases {
                try checkParity(f, name) { attention($0[0], $0[1], $0[2], $0.count > 3 ? $0[3] : nil, scale, queryBlock: qb, keyBlock: kb) }
            }
            try checkParity(f, "attn_views") {
                attention($0[0].transpose(1, 2), $0[1].transpose(1, 2), $0[2].transpose(1, 2), $0[3], nil, queryBlock: qb, keyBlock: kb)
            }
        }
        try checkParity(f, "attn_mask") { scaledDotProductAttention(q: $0[0], k: $0[1], v: $0[2], keyMask: $0[3]) }
        XCTAssertEqual(Self.cases.count + 1, parityCases(f).count)
    }

    /// Fused (blocked, streamed softmax) against the unfused composition, forward and gradients.
    func testFusedMatchesComposite() {
        for (b, h, lq, lk, d, dv) in [(1, 1, 1, 1, 1, 1), (2, 3, 67, 45, 17, 9), (1, 2, 130, 300, 33, 16)] {
            let q = testTensor([b, h, lq, d], seed: 1, requiresGrad: true), k = testTensor([b, h, lk, d], seed: 2, requiresGrad: true)
            let v = testTensor([b, h, lk, dv], seed: 3, requiresGrad: true)
            var m = testTensor([b, lk], seed: 4).gt(-0.5).toArray()
            for j in 0..<lk { m[j] = 1 }                 // batch 0 keeps every key
            if b > 1 { for j in 0..<lk { m[lk + j] = j % 3 == 0 ? 0 : m[lk + j] } }
            let mask = Tensor(m, shape: [b, lk])
            let seed = testTensor([b, h, lq, dv], seed: 5)
            let ref = attentionComposite(q: q, k: k, v: v, keyMask: mask)
            let refGrads = gradients(of: ref, wrt: [q, k, v], seed: seed)
            for (qb, kb) in [(64, 256), (5, 11)] {
                let out = attention(q, k, v, mask, nil, queryBlock: qb, keyBlock: kb)
                let grads = gradients(of: out, wrt: [q, k, v], seed: seed)
                let what = "attention \([b, h, lq, lk, d, dv]) blocks \(qb)x\(kb)"
                assertClose(out, ref, tol: 1e-5, what + " forward")
                for i in 0..<3 { assertClose(grads[i], refGrads[i], tol: 1e-5, what + " gradient \(i)") }
            }
        }
    }

    /// Trailing keys that every row masks (text padding) are skipped: the result equals attention over the kept
    /// prefix, bit for bit, whatever the padded keys and values hold (inf and NaN included), and their gradients are 0.
    func testTrailingMaskedKeysAreSkipped() {
        let (b, h, lq, lk, d, dv) = (2, 3, 37, 77, 16, 8)
        let kept = [5, 11]                                       // row 0 keeps 0..<5, row 1 keeps 0..<11 minus key 3
        var m = [Float](repeating: 0, count: b * lk)
        for r in 0..<b { for j in 0..<kept[r] { m[r * lk + j] = 1 } }
        m[lk + 3] = 0
        let n = kept.max()!
        let q = testTensor([b, h, lq, d], seed: 1, requiresGrad: true)
        var kv = testTensor([b, h, lk, d], seed: 2).toArray(), vv = testTensor([b, h, lk, dv], seed: 3).toArray()
        for bh in 0..<(b * h) {
            for j in n..<lk {
                kv[(bh * lk + j) * d] = j % 2 == 0 ? .nan : .infinity
                vv[(bh * lk + j) * dv + 1] = j % 2 == 0 ? .infinity : .nan
            }
        }
        let k = Tensor(kv, shape: [b, h, lk, d]), v = Tensor(vv, shape: [b, h, lk, dv])
        k.requiresGrad = true; v.requiresGrad = true
        let mask = Tensor(m, shape: [b, lk])
        let seed = testTensor([b, h, lq, dv], seed: 5)
        for (qb, kb) in [(128, 256), (7, 4)] {
            let out = attention(q, k, v, mask, nil, queryBlock: qb, keyBlock: kb)
            let g = gradients(of: out, wrt: [q, k, v], seed: seed)
            // The same attention on the kept prefix (copies, so no view of the padded rows reaches the kernels).
            let kp = k.detach().slice(axis: 2, start: 0, end: n).contiguous(), vp = v.detach().slice(axis: 2, start: 0, end: n).contiguous()
            kp.requiresGrad = true; vp.requiresGrad = true
            let mp = mask.slice(axis: 1, start: 0, end: n).contiguous()
            let ref = attention(q, kp, vp, mp, nil, queryBlock: qb, keyBlock: kb)
            let gr = gradients(of: ref, wrt: [q, kp, vp], seed: seed)
            XCTAssertEqual(out.toArray(), ref.toArray(), "forward, blocks \(qb)x\(kb)")
            XCTAssertEqual(g[0].toArray(), gr[0].toArray(), "dq, blocks \(qb)x\(kb)")
            XCTAssertEqual(g[1].slice(axis: 2, start: 0, end: n).contiguous().toArray(), gr[1].toArray(), "dk, blocks \(qb)x\(kb)")
            XCTAssertEqual(g[2].slice(axis: 2, start: 0, end: n).contiguous().toArray(), gr[2].toArray(), "dv, blocks \(qb)x\(kb)")
            for t in [g[1], g[2]] {
                XCTAssertTrue(t.slice(axis: 2, start: n, end: lk).contiguous().toArray().allSatisfy { $0 == 0 }, "padded keys' gradients")
            }
        }
        // Every key masked: zeros out and in.
        let none = Tensor.zeros([b, lk])
        let z = attention(q, k, v, none, nil, queryBlock: 8, keyBlock: 8)
        XCTAssertTrue(z.toArray().allSatisfy { $0 == 0 })
        XCTAssertTrue(gradients(of: z, wrt: [q, k, v], seed: seed).allSatisfy { $0.toArray().allSatisfy { $0 == 0 } })
    }

    /// The few-keys forward (every key in one block of <= 64: a prompt's words) against the blocked kernels and the
    /// composite, forward and gradients: strided q, k, v views, 4 + 1 query rows per (b, h), a sample whose keys are
    /// all masked (zeros out and zero gradients), a masked key in the middle.
    func testFewKeysKernelsMatchBlockedAndComposite() {
        let (b, h, lq, lk, d, dv) = (3, 2, 21, 13, 24, 20)
        let q = testTensor([b, lq, h, d], seed: 11, requiresGrad: true), k = testTensor([b, lk, h, d], seed: 12, requiresGrad: true)
        let v = testTensor([b, lk, h, dv], seed: 13, requiresGrad: true)
        var m = [Float](repeating: 1, count: b * lk)
        for j in 0..<lk { m[lk + j] = 0 }                // sample 1: every key masked
        m[2 * lk + 4] = 0; for j in 9..<lk { m[2 * lk + j] = 0 }
        let mask = Tensor(m, shape: [b, lk])
        let seed = testTensor([b, h, lq, dv], seed: 14)
        // Fresh (B, H, L, ·) views for each run: a backward frees the graph of the views it went through.
        func run(_ f: (Tensor, Tensor, Tensor) -> Tensor) -> (Tensor, [Tensor]) {
            let out = f(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
            return (out, gradients(of: out, wrt: [q, k, v], seed: seed))
        }
        let (ref, refGrads) = run { attentionComposite(q: $0, k: $1, v: $2, keyMask: mask) }
        let (few, fewGrads) = run { attention($0, $1, $2, mask, nil, queryBlock: 128, keyBlock: 256) }
        let (blocked, blockedGrads) = run { attention($0, $1, $2, mask, nil, queryBlock: 8, keyBlock: 5) }
        assertClose(few, ref, tol: 1e-5, "few-keys forward")
        assertClose(blocked, ref, tol: 1e-5, "blocked forward")
        for i in 0..<3 {
            assertClose(fewGrads[i], refGrads[i], tol: 1e-5, "few-keys gradient \(i)")
            assertClose(fewGrads[i], blockedGrads[i], tol: 1e-5, "few-keys against blocked gradient \(i)")
        }
        let out1 = few.slice(axis: 0, start: 1, end: 2).contiguous().toArray()
        XCTAssertTrue(out1.allSatisfy { $0 == 0 }, "a sample with every key masked outputs zeros")
        for i in 0..<3 {
            XCTAssertTrue(fewGrads[i].slice(axis: 0, start: 1, end: 2).contiguous().toArray().allSatisfy { $0 == 0 }, "its gradients are 0 (\(i))")
        }
        XCTAssertGreaterThan(fewGrads[1].toArray().map(abs).max()!, 0.01, "the other samples' key gradients are not all 0")
    }

    func testGradchecks() {
        let q = testTensor([2, 2, 5, 3], seed: 16), k = testTensor([2, 2, 4, 3], seed: 17), v = testTensor([2, 2, 4, 2], seed: 18)
        let mask = Tensor([1, 1, 1, 1, 1, 0, 1, 0], shape: [2, 4])
        gradcheck([q, k, v], eps: 1e-3, "attention") { attention($0[0], $0[1], $0[2], mask, nil, queryBlock: 2, keyBlock: 3) }
        gradgradcheck([q, k, v], eps: 1e-3, "attention second order") {
            scaledDotProductAttention(q: $0[0], k: $0[1], v: $0[2], keyMask: mask, scale: 0.7)
        }
    }
}
