// Importance sampling of fine depths (spec §8.3): ImportanceRenderer.sample_importance and sample_pdf of
// eg3d/training/volumetric_rendering/renderer.py. Always without gradients, as the official code (no_grad,
// then detach). One row-wise implementation serves both the differentiable and the inference paths.
//
// Per ray, from the S − 1 coarse interval weights w: max_pool1d(kernel 2, stride 1, padding 1) gives S values,
// avg_pool1d(kernel 2, stride 1) gives S − 1, plus 0.01. The bins are the S − 1 interval midpoints, but only the
// smoothed weights of intervals 1..S−3 are passed to sample_pdf: S − 2 cdf values against S − 1 bins, so the
// last bin can never be drawn and cdf entry k maps onto bin k (the official 46-cdf / 47-bin quirk at S = 48).
import TensorCore

public enum ImportanceSampler {
    /// Fine depths for each ray (`sample_importance`).
    /// - Parameters:
    ///   - depths: (rows, S) coarse depths of each ray, ascending.
    ///   - weights: (rows, S − 1) the coarse ray marcher's weights.
    ///   - uniforms: (rows, Si) uniform draws in [0, 1) (`torch.rand(N·M, Si)`).
    /// - Returns: (rows, Si) fine depths (not sorted).
    public static func importanceDepths(depths: Tensor, weights: Tensor, uniforms: Tensor) -> Tensor {
        require(depths.rank == 2 && weights.rank == 2 && uniforms.rank == 2 && depths.shape[0] == weights.shape[0]
                    && depths.shape[0] == uniforms.shape[0] && weights.shape[1] == depths.shape[1] - 1 && depths.shape[1] >= 4,
                "ImportanceSampler: need depths (rows, S >= 4), weights (rows, S-1), uniforms (rows, Si); got "
                    + "\(depths.shape), \(weights.shape), \(uniforms.shape)")
        let (rows, s, si) = (depths.shape[0], depths.shape[1], uniforms.shape[1])
        let t = withNoGrad { depths.contiguous() }, w = withNoGrad { weights.contiguous() }
        let u = withNoGrad { uniforms.contiguous() }
        let out = Tensor(uninitializedShape: [rows, si])
        let pt = t.data, pw = w.data, pu = u.data, po = out.data
        withExtendedLifetime((t, w, u)) {
            parallelRanges(rows, grain: 256) { range in
                let scratch = ImportanceScratch(samples: s)
                defer { scratch.deallocate() }
                for r in range {
                    importanceRow(depths: pt + r * s, weights: pw + r * (s - 1), samples: s, uniforms: pu + r * si,
                                  count: si, scratch: scratch, out: po + r * si)
                }
            }
        }
        return out
    }

    /// `sample_pdf(bins, weights, ·)` with given uniforms: inverse-transform sampling of the piecewise-linear cdf.
    /// - Parameters:
    ///   - bins: (rows, B) bin edges with B ≥ W + 1.
    ///   - weights: (rows, W), non-negative.
    ///   - uniforms: (rows, K).
    /// - Returns: (rows, K).
    public static func samplePDF(bins: Tensor, weights: Tensor, uniforms: Tensor) -> Tensor {
        require(bins.rank == 2 && weights.rank == 2 && uniforms.rank == 2 && bins.shape[0] == weights.shape[0]
                    && bins.shape[0] == uniforms.shape[0] && bins.shape[1] >= weights.shape[1] + 1 && weights.shape[1] >= 1,
                "samplePDF: need bins (rows, B), weights (rows, W) with B >= W + 1, uniforms (rows, K); got "
                    + "\(bins.shape), \(weights.shape), \(uniforms.shape)")
        let (rows, nb, nw, k) = (bins.shape[0], bins.shape[1], weights.shape[1], uniforms.shape[1])
        let b = withNoGrad { bins.contiguous() }, w = withNoGrad { weights.contiguous() }
        let u = withNoGrad { uniforms.contiguous() }
        let out = Tensor(uninitializedShape: [rows, k])
        let pb = b.data, pw = w.data, pu = u.data, po = out.data
        withExtendedLifetime((b, w, u)) {
            parallelRanges(rows, grain: 256) { range in
                let cdf = UnsafeMutablePointer<Float>.allocate(capacity: nw + 1)
                defer { cdf.deallocate() }
                for r in range {
                    samplePDFRow(bins: pb + r * nb, weights: pw + r * nw, count: nw, uniforms: pu + r * k, samples: k,
                                 cdf: cdf, out: po + r * k)
                }
            }
        }
        return out
    }

    /// One ray of `importanceDepths`: smoothing, midpoints and sample_pdf.
    @inline(__always)
    static func importanceRow(depths t: UnsafePointer<Float>, weights w: UnsafePointer<Float>, samples s: Int,
                              uniforms u: UnsafePointer<Float>, count: Int, scratch: ImportanceScratch,
                              out: UnsafeMutablePointer<Float>) {
        let pooled = scratch.pooled, smooth = scratch.smooth, mids = scratch.mids
        // max_pool1d(k 2, s 1, p 1): the padding is -inf, so the ends copy their single neighbour. NaN wins, as ATen.
        pooled[0] = w[0]
        for k in 1..<(s - 1) {
            let a = w[k - 1], b = w[k]
            pooled[k] = (b > a || b.isNaN) ? b : a
        }
        pooled[s - 1] = w[s - 2]
        // avg_pool1d(k 2, s 1), then + 0.01.
        for k in 0..<(s - 1) { smooth[k] = (pooled[k] + pooled[k + 1]) / 2 + 0.01 }
        for k in 0..<(s - 1) { mids[k] = 0.5 * (t[k] + t[k + 1]) }
        // weights[:, 1:-1]: the S − 3 smoothed weights of intervals 1..S−3.
        samplePDFRow(bins: mids, weights: smooth + 1, count: s - 3, uniforms: u, samples: count, cdf: scratch.cdf, out: out)
    }

    /// One row of sample_pdf. `cdf` is scratch for count + 1 floats.
    @inline(__always)
    static func samplePDFRow(bins: UnsafePointer<Float>, weights: UnsafePointer<Float>, count nw: Int,
                             uniforms u: UnsafePointer<Float>, samples k: Int, cdf: UnsafeMutablePointer<Float>,
                             out: UnsafeMutablePointer<Float>) {
        let eps: Float = 1e-5
        var total = 0.0
        for j in 0..<nw { total += Double(weights[j] + eps) }
        let sum = Float(total)
        // cdf = [0, cumsum(pdf)], the running sum in Double as ATen's CPU cumsum.
        cdf[0] = 0
        var acc = 0.0
        for j in 0..<nw {
            acc += Double((weights[j] + eps) / sum)
            cdf[j + 1] = Float(acc)
        }
        for i in 0..<k {
            let v = u[i]
            // searchsorted(cdf, v, right: true): the first index with cdf[idx] > v (nw + 1 when none).
            var lo = 0, hi = nw + 1
            while lo < hi {
                let mid = (lo + hi) >> 1
                if cdf[mid] > v { hi = mid } else { lo = mid + 1 }
            }
            let below = Swift.max(lo - 1, 0), above = Swift.min(lo, nw)
            let c0 = cdf[below], c1 = cdf[above], b0 = bins[below], b1 = bins[above]
            var den = c1 - c0
            if den < eps { den = 1 }
            out[i] = b0 + (v - c0) / den * (b1 - b0)
        }
    }
}

/// Per-thread scratch of `ImportanceSampler.importanceRow` for S coarse samples.
struct ImportanceScratch {
    let pooled: UnsafeMutablePointer<Float>, smooth: UnsafeMutablePointer<Float>
    let mids: UnsafeMutablePointer<Float>, cdf: UnsafeMutablePointer<Float>

    init(samples s: Int) {
        let base = UnsafeMutablePointer<Float>.allocate(capacity: 4 * s)
        pooled = base
        smooth = base + s
        mids = base + 2 * s
        cdf = base + 3 * s
    }

    func deallocate() { pooled.deallocate() }
}
