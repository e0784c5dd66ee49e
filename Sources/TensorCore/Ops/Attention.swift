// scaled_dot_product_attention with a boolean key-padding mask, as torch.nn.functional.scaled_dot_product_attention
// (attn_mask = mask[:, None, None, :] as bool, no dropout, not causal). Forward and first-order backward are the
// fused flash-style kernels (Kernels/AttentionKernels.swift); under createGraph the backward is composed of TensorCore
// ops (matmul, softmax), so attention differentiates twice. `attentionComposite` is the unfused reference.
import Foundation

/// softmax(q · kᵀ · scale, keys masked) · v for q (B, H, Lq, D), k (B, H, Lk, D), v (B, H, Lk, Dv).
/// `keyMask` (B, Lk): nonzero keeps a key, 0 masks it for every head and query; a query whose keys are all
/// masked outputs zeros (as PyTorch's CPU kernels). `scale` defaults to 1/√D. Returns (B, H, Lq, Dv).
/// Memory is O(block) per thread: no Lq × Lk matrix is formed.
public func scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, keyMask: Tensor? = nil, scale: Float? = nil) -> Tensor {
    attention(q, k, v, keyMask, scale, queryBlock: 128, keyBlock: 256)
}

/// The fused op with explicit block sizes (tests use small blocks to exercise every edge).
func attention(_ q: Tensor, _ k: Tensor, _ v: Tensor, _ keyMask: Tensor?, _ scale: Float?,
               queryBlock: Int, keyBlock: Int) -> Tensor {
    require(q.rank == 4 && k.rank == 4 && v.rank == 4,
            "scaledDotProductAttention: q, k, v must be (B, H, L, D); got \(q.shape), \(k.shape), \(v.shape)")
    let (b, h, lq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
    let lk = k.shape[2], dv = v.shape[3]
    require(k.shape == [b, h, lk, d] && Array(v.shape[0..<3]) == [b, h, lk],
            "scaledDotProductAttention: shapes q \(q.shape), k \(k.shape), v \(v.shape) do not agree")
    if let keyMask {
        require(keyMask.shape == [b, lk], "scaledDotProductAttention: keyMask \(keyMask.shape) must be (B, Lk) = [\(b), \(lk)]")
    }
    require(queryBlock >= 1 && keyBlock >= 1, "scaledDotProductAttention: block sizes must be positive")
    let sc = scale ?? 1 / Float(d).squareRoot()
    let mask = keyMask.map { m in withNoGrad { m.detach().contiguous() } }
    // Keys after the last one that any row keeps are masked for every query (text padding: a prompt of 10 tokens in
    // CLIP's 77), so the kernels stop there. Exact: a masked key adds exp(-inf) = 0 to every sum and gets no gradient.
    let active = mask.map { keptKeyCount($0, rows: b, keys: lk) } ?? lk
    let geo = AttentionGeometry(b: b, h: h, lq: lq, lk: active, keyRows: lk, d: d, dv: dv, qs: q.strides, ks: k.strides,
                                vs: v.strides, scale: sc, queryBlock: queryBlock, keyBlock: keyBlock)
    let out = Tensor(uninitializedShape: [b, h, lq, dv]), lse = Tensor(uninitializedShape: [b, h, lq])
    let (pq, pk, pv) = (q.storage.base + q.offset, k.storage.base + k.offset, v.storage.base + v.offset)
    if active == 0 { out.storage.base.initialize(repeating: 0, count: out.count) } else {
        withExtendedLifetime((q, k, v, mask)) {
            attentionForward(pq, pk, pv, mask.map { UnsafePointer($0.data) }, geo, out: out.data, lse: lse.data)
        }
    }
    let saved = out.detach()
    return out.recorded("scaled_dot_product_attention", [q, k, v]) { g, needs in
        if GradMode.isEnabled {
            // createGraph: the gradients in ops, so they differentiate again.
            let p = attentionProbabilities(q, k, mask, sc)
            let dp = g.matmul(v.transpose(-1, -2))
            let ds = p * (dp - (dp * p).sum(axes: [-1], keepDims: true)) * sc
            return [needs[0] ? ds.matmul(k) : nil, needs[1] ? ds.transpose(-1, -2).matmul(q) : nil,
                    needs[2] ? p.transpose(-1, -2).matmul(g) : nil]
        }
        let gc = g.contiguous()
        let dq = Tensor(uninitializedShape: [b, h, lq, d]), dk = Tensor(uninitializedShape: [b, h, lk, d])
        let dvt = Tensor(uninitializedShape: [b, h, lk, dv])
        if active == 0 || lq == 0 {
            for t in [dq, dk, dvt] { t.storage.base.initialize(repeating: 0, count: t.count) }
        } else {
            withExtendedLifetime((q, k, v, mask, saved, lse, gc)) {
                attentionBackward(pq, pk, pv, mask.map { UnsafePointer($0.data) }, geo, out: saved.data, lse: lse.data,
                                  dout: gc.data, dq: dq.data, dk: dk.data, dv: dvt.data)
            }
        }
        return [needs[0] ? dq : nil, needs[1] ? dk : nil, needs[2] ? dvt : nil]
    }
}

/// 1 + the last key position that any row of the dense (rows, keys) mask keeps; 0 when every key is masked.
func keptKeyCount(_ mask: Tensor, rows: Int, keys: Int) -> Int {
    let m = mask.data
    var last = 0
    for r in 0..<rows {
        var j = keys
        while j > last, m[r * keys + j - 1] == 0 { j -= 1 }
        last = Swift.max(last, j)
    }
    return last
}

/// softmax(q kᵀ · scale) with masked keys excluded, in recorded ops; rows with every key masked are 0.
func attentionProbabilities(_ q: Tensor, _ k: Tensor, _ mask: Tensor?, _ scale: Float) -> Tensor {
    var s = q.matmul(k.transpose(-1, -2)) * scale
    guard let mask else { return s.softmax(axis: -1) }
    let keep = mask.ne(0)
    let (b, lk) = (mask.shape[0], mask.shape[1])
    // A large finite bias (not -inf), so fully masked rows stay finite before being zeroed.
    s = s + ((keep - 1) * 1e30).reshape([b, 1, 1, lk])
    let anyKept = keep.sum(axes: [1]).gt(0).reshape([b, 1, 1, 1])
    return s.softmax(axis: -1) * anyKept
}

/// Unfused reference: attentionProbabilities · v, all in ops (forms the full Lq × Lk matrix).
func attentionComposite(q: Tensor, k: Tensor, v: Tensor, keyMask: Tensor?, scale: Float? = nil) -> Tensor {
    attentionProbabilities(q, k, keyMask, scale ?? 1 / Float(q.shape[3]).squareRoot()).matmul(v)
}
