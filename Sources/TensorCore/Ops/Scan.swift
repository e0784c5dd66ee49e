// Scans along an axis: cumsum and cumprod (torch.cumsum / torch.cumprod), and the first-order linear
// recurrence y_k = b_k + a_k·y_(k-1) that cumprod's backward is built from. Like PyTorch's CPU kernels
// (aten/src/ATen/native/cpu/ReduceOpsKernel.cpp, cpu_cum_base_kernel) the running value is a Double.
//
// cumprod's gradient is exact for inputs with zeros too, without dividing by the input (PyTorch's
// cumprod_backward): dL/dx_k = P_k · S_k, where P_k = x_0···x_(k-1) (the exclusive cumprod) and
// S_k = g_k + x_(k+1)·S_(k+1) (a reverse linear scan of the cotangent). Both factors are ops with their
// own backward, so the gradient differentiates again, zeros included.

/// Runs `step` along the middle axis of dense (outer, n, inner) data: acc = step(acc, flat index), writing
/// Float(acc) to out at that index. Tasks own disjoint (outer row, column block) pairs.
@inline(__always) func scanLines(_ out: UnsafeMutablePointer<Float>, outer: Int, n: Int, inner: Int, reverse: Bool,
                                 initial: Double, _ step: (Double, Int) -> Double) {
    let block = 64, blocks = (inner + block - 1) / block
    parallelRanges(outer * blocks, grain: Swift.max(1, 16384 / Swift.max(n * Swift.min(inner, block), 1))) { tasks in
        withUnsafeTemporaryAllocation(of: Double.self, capacity: block) { acc in
            for t in tasks {
                let o = t / blocks, c0 = (t % blocks) * block, width = Swift.min(block, inner - c0)
                for c in 0..<width { acc[c] = initial }
                for s in 0..<n {
                    let k = reverse ? n - 1 - s : s
                    let base = (o * n + k) * inner + c0
                    for c in 0..<width {
                        acc[c] = step(acc[c], base + c)
                        out[base + c] = Float(acc[c])
                    }
                }
            }
        }
    }
}

extension Tensor {
    /// torch.cumsum: running sums along `axis`. `reverse` sums from the end (flip, cumsum, flip).
    /// Backward: the cumsum in the other direction.
    public func cumsum(axis ax: Int, reverse: Bool = false) -> Tensor {
        require(rank >= 1, "cumsum: input must have at least one axis, got shape \(shape)")
        let a = axis(ax, "cumsum")
        let (outer, n, inner) = axisLayout(a)
        let x = withNoGrad { contiguous() }
        let out = Tensor(uninitializedShape: shape)
        let src = x.storage.base + x.offset
        scanLines(out.storage.base, outer: outer, n: n, inner: inner, reverse: reverse, initial: 0) { acc, i in
            acc + Double(src[i])
        }
        return out.recorded("cumsum", [self]) { g, _ in [g.cumsum(axis: a, reverse: !reverse)] }
    }

    /// torch.cumprod: running products along `axis`. The gradient is exact where the input has zeros.
    public func cumprod(axis ax: Int) -> Tensor {
        require(rank >= 1, "cumprod: input must have at least one axis, got shape \(shape)")
        let a = axis(ax, "cumprod")
        let (outer, n, inner) = axisLayout(a)
        let x = withNoGrad { contiguous() }
        let out = Tensor(uninitializedShape: shape)
        let src = x.storage.base + x.offset
        scanLines(out.storage.base, outer: outer, n: n, inner: inner, reverse: false, initial: 1) { acc, i in
            acc * Double(src[i])
        }
        let input = self
        return out.recordedUsingOutput("cumprod", [input]) { g, _, out in
            // S_k = g_k + x_(k+1)·S_(k+1); P = [1, out_0, ..., out_(n-2)].
            let s = g.linearScan(input.shifted(axis: a, by: -1, fill: 0), axis: a, reverse: true)
            return [s * out.shifted(axis: a, by: 1, fill: 1)]
        }
    }

    /// y_k = self_k + coefficients_k · y_(k-1) along `axis` (y_(k+1) when `reverse`), starting from 0.
    /// self and coefficients have the same shape. Backward: the transposed recurrence, again a linear scan:
    /// λ = linearScan(g, coefficients shifted one step the other way, reverse: !reverse);
    /// d coefficients = λ · (y shifted one step back).
    func linearScan(_ coefficients: Tensor, axis ax: Int, reverse: Bool) -> Tensor {
        let a = axis(ax, "linearScan")
        require(coefficients.shape == shape, "linearScan: coefficients \(coefficients.shape) must match values \(shape)")
        let (outer, n, inner) = axisLayout(a)
        let b = withNoGrad { contiguous() }, c = withNoGrad { coefficients.contiguous() }
        let out = Tensor(uninitializedShape: shape)
        let pb = b.storage.base + b.offset, pc = c.storage.base + c.offset
        scanLines(out.storage.base, outer: outer, n: n, inner: inner, reverse: reverse, initial: 0) { acc, i in
            Double(pb[i]) + Double(pc[i]) * acc
        }
        let back = reverse ? -1 : 1 // the shift that lines y_(k∓1) up with position k
        return out.recordedUsingOutput("linear_scan", [self, coefficients]) { g, needs, out in
            let lambda = g.linearScan(coefficients.shifted(axis: a, by: -back, fill: 0), axis: a, reverse: !reverse)
            return [needs[0] ? lambda : nil, needs[1] ? lambda * out.shifted(axis: a, by: back, fill: 0) : nil]
        }
    }

    /// Moves elements `by` places along `axis` (positive: towards the end), filling the vacated places with
    /// `fill` and dropping those pushed off. |by| must be at most 1 (all the scans need).
    func shifted(axis a: Int, by: Int, fill: Float) -> Tensor {
        let n = shape[a]
        require(by == 1 || by == -1, "shifted: only shifts by one place are supported, got \(by)")
        if n <= 1 { return Tensor.full(shape, fill) }
        var pads = [(Int, Int)](repeating: (0, 0), count: rank)
        if by > 0 {
            pads[a] = (1, 0)
            return slice(axis: a, start: 0, end: n - 1).pad(pads, value: fill)
        }
        pads[a] = (0, 1)
        return slice(axis: a, start: 1, end: n).pad(pads, value: fill)
    }
}
