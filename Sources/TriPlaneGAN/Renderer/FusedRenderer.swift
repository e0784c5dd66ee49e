// The inference (no-gradient) path of the ImportanceRenderer (spec §8, §16): the same computation as
// ImportanceRenderer.renderDifferentiable (EG3D's renderer.py, ray_marcher.py, triplane.py OSGDecoder), but
// fused and processed in chunks of rays so that intermediates stay in cache. Each work item takes
// `raysPerChunk` rays of one image through every stage: stratified depths → points → tri-plane features
// (the three bilinear samples averaged on the fly: no (N, 3, P, C) tensor) → decoder MLP as two GEMMs over
// all samples of the chunk (bias, softplus and the rgb sigmoid in vectorised passes) → coarse weights →
// importance depths → fine samples → merge by depth → compositing. Only the final depth clamp, whose bounds
// are the min/max over all depths of the whole batch, runs after every chunk is done.
import Foundation
import TensorCore

/// One chunk's worth of the ray marcher on sorted samples: interval opacities vectorised, then the transmittance
/// product in Double (as ATen's cumprod), then the weighted sums.
struct MarchScratch {
    let depths: UnsafeMutablePointer<Float>, sigmas: UnsafeMutablePointer<Float>, alphas: UnsafeMutablePointer<Float>
    let rows: UnsafeMutablePointer<UnsafePointer<Float>>
    let order: UnsafeMutablePointer<Int>
    let feature: UnsafeMutablePointer<Float>
    let capacity: Int

    init(samples: Int, channels: Int) {
        capacity = samples + rvWidth
        depths = .allocate(capacity: 3 * capacity + channels + rvWidth)
        sigmas = depths + capacity
        alphas = sigmas + capacity
        feature = alphas + capacity
        rows = .allocate(capacity: samples)
        order = .allocate(capacity: samples)
    }

    func deallocate() { depths.deallocate(); rows.deallocate(); order.deallocate() }

    /// α_k = 1 − exp(−softplus((σ_k + σ_k+1)/2 − 1)·(t_k+1 − t_k)) for the `count` samples in depths/sigmas.
    @inline(__always) func opacities(count: Int) {
        let intervals = count - 1
        // Pad so the last vector reads defined values (the padded lanes are never used).
        for k in count..<(count + rvWidth) where k < capacity { depths[k] = depths[count - 1]; sigmas[k] = sigmas[count - 1] }
        var k = 0
        while k < intervals {
            let t0 = rvLoad(depths + k), t1 = rvLoad(depths + k + 1)
            let s0 = rvLoad(sigmas + k), s1 = rvLoad(sigmas + k + 1)
            let density = rvSoftplus((s0 + s1) / 2 - 1)
            rvStore(1 - rvExp(-(density * (t1 - t0))), alphas + k)
            k += rvWidth
        }
    }

    /// Interval weights w_k = α_k·T_k with T_k = Π_{j<k}(1 − α_j + 1e-10) (float factors, Double product).
    @inline(__always) func weights(count: Int, into w: UnsafeMutablePointer<Float>) {
        var transmittance = 1.0
        for k in 0..<(count - 1) {
            let a = alphas[k]
            w[k] = a * Float(transmittance)
            transmittance *= Double((1 - a) + 1e-10)
        }
    }
}

enum FusedRenderer {
    /// The inference render. origins/directions (N, M, 3), stratified (N, M, S, 1), importance (N·M, Si) or nil.
    /// Returns features (N, M, out), depth (N, M, 1), weight sum (N, M, 1), as ImportanceRenderer.render.
    static func render(evaluator ev: TriPlaneEvaluator, origins: Tensor, directions: Tensor, stratified: Tensor,
                       importance: Tensor?, options: RendererSettings) -> (features: Tensor, depth: Tensor, weightSum: Tensor) {
        let (n, m) = (origins.shape[0], origins.shape[1])
        let s = options.depthResolution, si = options.depthResolutionImportance
        let outC = ev.outputs - 1, o = ev.outputs
        let (ori, dir, jitter) = withNoGrad { (origins.contiguous(), directions.contiguous(), stratified.contiguous()) }
        let uniforms = importance.map { u in withNoGrad { u.contiguous() } }
        let features = Tensor(uninitializedShape: [n, m, outC])
        let depth = Tensor(uninitializedShape: [n, m, 1]), weightSum = Tensor(uninitializedShape: [n, m, 1])
        let (lin, delta) = ImportanceRenderer.linspace(options)
        let chunk = options.raysPerChunk, perImage = (m + chunk - 1) / chunk, tasks = n * perImage
        let bounds = UnsafeMutablePointer<Float>.allocate(capacity: 2 * tasks)
        defer { bounds.deallocate() }
        let samplesMax = Swift.max(s, si)
        let pOri = UnsafePointer(ori.data), pDir = UnsafePointer(dir.data), pJit = UnsafePointer(jitter.data)
        let pImp = uniforms.map { UnsafePointer($0.data) }
        let pFeat = features.data, pDepth = depth.data, pSum = weightSum.data
        withExtendedLifetime((ori, dir, jitter, uniforms, lin)) {
            parallelFor(tasks) { task in
                let img = task / perImage, r0 = (task % perImage) * chunk, nr = Swift.min(chunk, m - r0)
                let g0 = img * m + r0
                // Scratch from the buffer pool (reused across chunks): depths, points, features+hidden, raw outputs.
                let sizes = [nr * s, nr * si, nr * samplesMax * 3, ev.scratchCount(points: nr * samplesMax), nr * s * o, nr * si * o, s]
                let scratch = Tensor(uninitializedShape: [sizes.reduce(0, +)])
                var cursor = scratch.data
                var parts: [UnsafeMutablePointer<Float>] = []
                for size in sizes { parts.append(cursor); cursor += size }
                let (tC, tF, pts, evalScratch, rawC, rawF, wts) = (parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], parts[6])
                let march = MarchScratch(samples: s + si, channels: outC)
                let imp = ImportanceScratch(samples: s)
                defer { march.deallocate(); imp.deallocate() }
                var lo = Float.infinity, hi = -Float.infinity

                // Points o + t·d for `count` depths per ray.
                func points(_ t: UnsafeMutablePointer<Float>, _ count: Int) {
                    for j in 0..<nr {
                        let ob = pOri + (g0 + j) * 3, db = pDir + (g0 + j) * 3
                        for k in 0..<count {
                            let tv = t[j * count + k], q = pts + (j * count + k) * 3
                            q[0] = ob[0] + tv * db[0]; q[1] = ob[1] + tv * db[1]; q[2] = ob[2] + tv * db[2]
                        }
                    }
                }
                // Coarse: stratified depths t_k = linspace_k + U·Δ, then the decoder.
                for j in 0..<nr {
                    let u = pJit + (g0 + j) * s
                    for k in 0..<s { tC[j * s + k] = lin[k] + u[k] * delta }
                }
                points(tC, s)
                ev.evaluate(image: img, points: pts, count: nr * s, samplesPerRay: s, scratch: evalScratch, out: rawC)
                for q in 0..<(nr * s) { lo = Swift.min(lo, tC[q]); hi = Swift.max(hi, tC[q]) }

                // Importance: coarse weights, smoothing, sample_pdf; then the decoder at the fine depths.
                if si > 0, let pImp {
                    for j in 0..<nr {
                        for k in 0..<s { march.depths[k] = tC[j * s + k]; march.sigmas[k] = rawC[(j * s + k) * o] }
                        march.opacities(count: s)
                        march.weights(count: s, into: wts)
                        ImportanceSampler.importanceRow(depths: tC + j * s, weights: wts, samples: s, uniforms: pImp + (g0 + j) * si,
                                                        count: si, scratch: imp, out: tF + j * si)
                    }
                    points(tF, si)
                    ev.evaluate(image: img, points: pts, count: nr * si, samplesPerRay: si, scratch: evalScratch, out: rawF)
                    for q in 0..<(nr * si) { lo = Swift.min(lo, tF[q]); hi = Swift.max(hi, tF[q]) }
                }

                // Unify (coarse depths are ascending; the fine ones are sorted, then merged, coarse first on ties)
                // and composite.
                let total = s + si
                for j in 0..<nr {
                    let order = march.order
                    for k in 0..<si {   // insertion sort of the fine indices (stable)
                        let v = tF[j * si + k]
                        var p = k
                        while p > 0 && tF[j * si + order[p - 1]] > v { order[p] = order[p - 1]; p -= 1 }
                        order[p] = k
                    }
                    var a = 0, b = 0
                    for q in 0..<total {
                        let takeCoarse = b == si || (a < s && tC[j * s + a] <= tF[j * si + order[b]])
                        if takeCoarse {
                            march.depths[q] = tC[j * s + a]; march.rows[q] = UnsafePointer(rawC + (j * s + a) * o); a += 1
                        } else {
                            let f = order[b]
                            march.depths[q] = tF[j * si + f]; march.rows[q] = UnsafePointer(rawF + (j * si + f) * o); b += 1
                        }
                        march.sigmas[q] = march.rows[q][0]
                    }
                    march.opacities(count: total)
                    march.weights(count: total, into: march.alphas)   // in place: w_k replaces α_k
                    let acc = march.feature
                    acc.initialize(repeating: 0, count: outC)
                    var wsum = 0.0, dsum = 0.0
                    for k in 0..<(total - 1) {
                        let w = march.alphas[k]
                        let c0 = march.rows[k] + 1, c1 = march.rows[k + 1] + 1
                        var c = 0
                        let wv = RV(repeating: w)
                        while c + rvWidth <= outC {
                            rvStore(rvLoad(acc + c) + wv * ((rvLoad(c0 + c) + rvLoad(c1 + c)) / 2), acc + c)
                            c += rvWidth
                        }
                        while c < outC { acc[c] += w * ((c0[c] + c1[c]) / 2); c += 1 }
                        wsum += Double(w)
                        dsum += Double(w * ((march.depths[k] + march.depths[k + 1]) / 2))
                    }
                    let ws = Float(wsum)
                    var d = Float(dsum) / ws
                    if d.isNaN { d = .infinity }
                    let ray = g0 + j
                    pDepth[ray] = d
                    pSum[ray] = ws
                    let out = pFeat + ray * outC
                    for c in 0..<outC { out[c] = (options.whiteBack ? acc[c] + 1 - ws : acc[c]) * 2 - 1 }
                }
                bounds[2 * task] = lo
                bounds[2 * task + 1] = hi
                withExtendedLifetime(scratch) {}
            }
        }
        // The depth clamp to [min t, max t] over every sample of the batch.
        var lo = Float.infinity, hi = -Float.infinity
        for t in 0..<tasks { lo = Swift.min(lo, bounds[2 * t]); hi = Swift.max(hi, bounds[2 * t + 1]) }
        for i in 0..<(n * m) { pDepth[i] = Swift.min(Swift.max(pDepth[i], lo), hi) }
        return (features, depth, weightSum)
    }

    /// Raw σ (N, P, 1) and rgb (N, P, out) at points (N, P, 3), in chunks of `chunk` points.
    static func sample(evaluator ev: TriPlaneEvaluator, points: Tensor, chunk: Int, withRGB: Bool) -> (sigma: Tensor, rgb: Tensor?) {
        let (n, p) = (points.shape[0], points.shape[1])
        let o = ev.outputs
        let pts = withNoGrad { points.contiguous() }
        let sigma = Tensor(uninitializedShape: [n, p, 1])
        let rgb = withRGB ? Tensor(uninitializedShape: [n, p, o - 1]) : nil
        let perImage = (p + chunk - 1) / chunk
        let pp = UnsafePointer(pts.data), ps = sigma.data, pr = rgb?.data
        withExtendedLifetime(pts) {
            parallelFor(n * perImage) { task in
                let img = task / perImage, q0 = (task % perImage) * chunk, nq = Swift.min(chunk, p - q0)
                let scratch = Tensor(uninitializedShape: [ev.scratchCount(points: nq) + nq * o])
                let raw = scratch.data + ev.scratchCount(points: nq)
                ev.evaluate(image: img, points: pp + (img * p + q0) * 3, count: nq, colors: pr != nil, scratch: scratch.data, out: raw)
                for i in 0..<nq {
                    ps[img * p + q0 + i] = raw[i * o]
                    if let pr { (pr + (img * p + q0 + i) * (o - 1)).update(from: raw + i * o + 1, count: o - 1) }
                }
                withExtendedLifetime(scratch) {}
            }
        }
        return (sigma, rgb)
    }
}
