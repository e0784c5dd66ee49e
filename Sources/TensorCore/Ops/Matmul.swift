// matmul (batched, broadcasting over leading axes) and linear. Backward: dA = g · Bᵀ, dB = Aᵀ · g,
// both again matmuls of views, so they differentiate a second time.

extension Tensor {
    /// (..., M, K) · (..., K, N) -> (..., M, N); leading axes broadcast. 1-D operands as in torch.matmul.
    public func matmul(_ b: Tensor) -> Tensor {
        if rank == 1 { return unsqueeze(0).matmul(b).squeeze(-2) }
        if b.rank == 1 { return matmul(b.unsqueeze(1)).squeeze(-1) }
        let a = self
        let m = a.shape[a.rank - 2], k = a.shape[a.rank - 1], n = b.shape[b.rank - 1]
        require(b.shape[b.rank - 2] == k, "matmul: inner sizes differ: \(a.shape) · \(b.shape)")
        // (..., M, K) · (K, N) with dense rows: one (⋯M, K) · (K, N) GEMM, as torch.matmul folds it. The weight
        // gradient is then one GEMM too, instead of a batch of products summed afterwards.
        if b.rank == 2 && a.rank > 2 && a.isContiguous {
            return a.reshape([-1, k]).matmul(b).reshape(Array(a.shape.dropLast()) + [n])
        }
        guard let batch = broadcastShape(Array(a.shape.dropLast(2)), Array(b.shape.dropLast(2))) else {
            fatalError("matmul: batch axes of \(a.shape) and \(b.shape) do not broadcast")
        }
        let av = a.expand(batch + [m, k]), bv = b.expand(batch + [k, n])
        let out = Tensor(uninitializedShape: batch + [m, n])
        let count = batch.reduce(1, *)
        let ab = Tensor.contiguousStrides(batch)
        let asr = av.strides, bsr = bv.strides
        let pa = av.storage.base + av.offset, pb = bv.storage.base + bv.offset, pc = out.storage.base
        let offsets: (Int) -> (Int, Int) = { idx in
            var rem = idx, oa = 0, ob = 0
            for d in 0..<batch.count { let i = rem / ab[d]; rem %= ab[d]; oa += i * asr[d]; ob += i * bsr[d] }
            return (oa, ob)
        }
        let run: (Int) -> Void = { idx in
            let (oa, ob) = offsets(idx)
            gemm(m: m, n: n, k: k,
                 MatrixRef(pa + oa, rs: asr[batch.count], cs: asr[batch.count + 1]),
                 MatrixRef(pb + ob, rs: bsr[batch.count], cs: bsr[batch.count + 1]),
                 pc + idx * m * n, ldc: n)
        }
        // Many small products: one per thread; few large ones: each GEMM uses every thread.
        if count >= 2 * Parallel.threadCount && m * n * k < 1 << 22 { parallelFor(count, run) }
        else { for i in 0..<count { run(i) } }
        return out.recorded("matmul", [a, b]) { g, needs in
            [needs[0] ? g.matmul(bv.transpose(-1, -2)) : nil,
             needs[1] ? av.transpose(-1, -2).matmul(g) : nil]
        }
    }

    /// x · Wᵀ + b, W: (out, in) as torch.nn.Linear.
    public func linear(_ weight: Tensor, _ bias: Tensor? = nil) -> Tensor {
        require(weight.rank == 2 && shape.last == weight.shape[1],
                     "linear: input \(shape) does not match weight \(weight.shape) (out, in)")
        // Leading axes are flattened so forward and both gradients are single GEMMs. The weight's gradient is taken
        // as gᵀ · x, in the weight's own (out, in) layout: as matmul's Bᵀ-side gradient (xᵀ · g, transposed back) it
        // was a strided view that the optimiser copied into place every step.
        let lead = Array(shape.dropLast())
        let x2 = rank == 2 ? self : reshape([-1, weight.shape[1]])
        // The bias is added in place on the product's fresh output (one pass over it, no second buffer) and its
        // gradient is the cotangent's column sums.
        if let bias { require(bias.rank == 1 && bias.shape[0] == weight.shape[0], "linear: bias \(bias.shape) must be (\(weight.shape[0]))") }
        let y = withNoGrad { () -> Tensor in
            let product = x2.matmul(weight.transpose(0, 1))
            return bias.map { biasActInPlace(product, $0, dim: 1) } ?? product
        }.recorded("linear", [x2, weight] + (bias.map { [$0] } ?? [])) { g, needs in
            [needs[0] ? g.matmul(weight) : nil, needs[1] ? g.transpose(0, 1).matmul(x2) : nil]
                + (bias == nil ? [] : [needs[2] ? g.sum(axes: [0]) : nil])
        }
        return rank == 2 ? y : y.reshape(lead + [weight.shape[0]])
    }
}
