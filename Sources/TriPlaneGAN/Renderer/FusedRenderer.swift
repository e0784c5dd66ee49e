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

/// Tri-plane features and the decoder MLP on raw buffers (no graph). Shared by rendering and density sampling.
struct TriPlaneEvaluator {
    let planes: Tensor           // (N·3, H, W, C), dense channels-last
    let zeros: Tensor            // (C): the row that padding taps read
    let w0: Tensor, b0: Tensor   // effective (hidden, C), (hidden)
    let w2: Tensor, b2: Tensor   // effective (1 + out, hidden), (1 + out)
    let channels: Int, height: Int, width: Int, hidden: Int, outputs: Int
    let scale: Float             // 2 / box_warp

    init(planes p: Tensor, decoder: OSGDecoder, boxWarp: Double) {
        require(p.rank == 5 && p.shape[1] == 3, "TriPlaneEvaluator: planes must be (N, 3, C, H, W), got \(p.shape)")
        let (c, h, w) = (p.shape[2], p.shape[3], p.shape[4])
        (channels, height, width) = (c, h, w)
        require(c == decoder.inputFeatures, "renderer: planes have \(c) channels but the decoder takes \(decoder.inputFeatures)")
        planes = withNoGrad {
            let v = p.reshape([p.shape[0] * 3, c, h, w]).permute([0, 2, 3, 1])
            return v.isContiguous ? v : v.contiguous()
        }
        zeros = Tensor.zeros([c])
        (w0, b0, w2, b2) = withNoGrad {
            (decoder.net.layer0.effectiveWeight.contiguous(), decoder.net.layer0.effectiveBias.contiguous(),
             decoder.net.layer2.effectiveWeight.contiguous(), decoder.net.layer2.effectiveBias.contiguous())
        }
        hidden = decoder.hiddenFeatures
        outputs = 1 + decoder.outputFeatures
        scale = Float(2.0 / boxWarp)
    }

    /// Scratch floats `evaluate` needs for `count` points (features and hidden activations).
    func scratchCount(points count: Int) -> Int { count * (channels + hidden) }

    /// Raw decoder outputs (count, 1 + out), σ raw in column 0 and the activated rgb in the others, for `count`
    /// points (x, y, z interleaved) of image `image`. When the points are `count / samplesPerRay` rays of
    /// `samplesPerRay` samples each (ray-major), the planes are read sample-major instead: neighbouring rays at the
    /// same sample index touch neighbouring texels (about one texel apart at R = 128, against about six between
    /// consecutive samples of one ray), so the memory-bound gathers hit the cache far more often.
    func evaluate(image: Int, points: UnsafePointer<Float>, count: Int, samplesPerRay: Int = 1,
                  scratch: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let feat = scratch, hid = scratch + count * channels
        defer { withExtendedLifetime(self) {} }
        do {
            let rays = count / samplesPerRay
            for k in 0..<samplesPerRay {
                for j in 0..<rays {
                    let i = j * samplesPerRay + k
                    sampleMean(image: image, points + 3 * i, feat + i * channels)
                }
            }
            // hidden = b0 + feat · W0ᵀ (addmm order), then softplus.
            let pb0 = b0.data, pb2 = b2.data
            for i in 0..<count { (hid + i * hidden).update(from: pb0, count: hidden) }
            gemm(m: count, n: hidden, k: channels, MatrixRef(feat, rs: channels, cs: 1), MatrixRef(w0.data, rs: 1, cs: channels),
                 hid, ldc: hidden, accumulate: true)
            var j = 0
            let total = count * hidden
            while j + rvWidth <= total { rvStore(rvSoftplus(rvLoad(hid + j)), hid + j); j += rvWidth }
            if j < total {
                var v = RV(repeating: 0)
                for l in 0..<(total - j) { v[l] = hid[j + l] }
                let r = rvSoftplus(v)
                for l in 0..<(total - j) { hid[j + l] = r[l] }
            }
            // Colour columns: b2[1...] + hidden · W2[1...]ᵀ as one GEMM (n = 32 fills whole register tiles); σ = b2[0] +
            // hidden · W2[0] as a dot product per row. Then rgb = sigmoid · 1.002 − 0.001.
            let pw2 = UnsafePointer(w2.data)
            for i in 0..<count { (out + i * outputs + 1).update(from: pb2 + 1, count: outputs - 1) }
            gemm(m: count, n: outputs - 1, k: hidden, MatrixRef(hid, rs: hidden, cs: 1), MatrixRef(pw2 + hidden, rs: 1, cs: hidden),
                 out + 1, ldc: outputs, accumulate: true)
            for i in 0..<count { out[i * outputs] = pb2[0] + dot(UnsafePointer(hid + i * hidden), pw2, hidden) }
            let sc = RV(repeating: OSGDecoder.rgbScale), sh = RV(repeating: OSGDecoder.rgbShift)
            for i in 0..<count {
                let row = out + i * outputs + 1
                var c = 0
                while c + rvWidth <= outputs - 1 { rvStore(rvSigmoid(rvLoad(row + c)) * sc - sh, row + c); c += rvWidth }
                if c < outputs - 1 {
                    var v = RV(repeating: 0)
                    for l in 0..<(outputs - 1 - c) { v[l] = row[c + l] }
                    let r = rvSigmoid(v) * sc - sh
                    for l in 0..<(outputs - 1 - c) { row[c + l] = r[l] }
                }
            }
        }
    }

    /// Σ a[i]·b[i] over n floats (two vector accumulators).
    @inline(__always) func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc0 = RV(), acc1 = RV()
        var i = 0
        while i + 2 * rvWidth <= n {
            acc0 += rvLoad(a + i) * rvLoad(b + i)
            acc1 += rvLoad(a + i + rvWidth) * rvLoad(b + i + rvWidth)
            i += 2 * rvWidth
        }
        var sum = (acc0 + acc1).sum()
        while i < n { sum += a[i] * b[i]; i += 1 }
        return sum
    }

    /// The four taps of one plane: pointers to their C-vectors (the zero row outside) and bilinear weights.
    struct Taps {
        var p0: UnsafePointer<Float>, p1: UnsafePointer<Float>, p2: UnsafePointer<Float>, p3: UnsafePointer<Float>
        var w0: Float = 0, w1: Float = 0, w2: Float = 0, w3: Float = 0
    }

    /// grid_sample's bilinear taps (align_corners = false): ix = (gx + 1)·W/2 − 0.5, iy likewise.
    @inline(__always)
    func taps(_ plane: UnsafePointer<Float>, _ gx: Float, _ gy: Float, _ zero: UnsafePointer<Float>) -> Taps {
        var t = Taps(p0: zero, p1: zero, p2: zero, p3: zero)
        let ix = (gx + 1) * (Float(width) / 2) - 0.5, iy = (gy + 1) * (Float(height) / 2) - 0.5
        let x0f = ix.rounded(.down), y0f = iy.rounded(.down)
        guard x0f >= -1 && x0f < Float(width) && y0f >= -1 && y0f < Float(height) else { return t }  // also NaN
        let x0 = Int(x0f), y0 = Int(y0f)
        let fw = ix - x0f, fn = iy - y0f, fe = 1 - fw, fs = 1 - fn
        let c = channels
        if x0 >= 0 && y0 >= 0 { t.p0 = plane + (y0 * width + x0) * c; t.w0 = fs * fe }
        if x0 + 1 < width && y0 >= 0 { t.p1 = plane + (y0 * width + x0 + 1) * c; t.w1 = fs * fw }
        if x0 >= 0 && y0 + 1 < height { t.p2 = plane + ((y0 + 1) * width + x0) * c; t.w2 = fn * fe }
        if x0 + 1 < width && y0 + 1 < height { t.p3 = plane + ((y0 + 1) * width + x0 + 1) * c; t.w3 = fn * fw }
        return t
    }

    /// The mean over the three planes of the bilinear features at one point: (f0 + f1 + f2) / 3.
    @inline(__always)
    func sampleMean(image: Int, _ p: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        let gx = p[0] * scale, gy = p[1] * scale, gz = p[2] * scale
        let planeSize = height * width * channels
        let base = UnsafePointer(planes.data) + image * 3 * planeSize, zero = UnsafePointer(zeros.data)
        let a = taps(base, gx, gy, zero)                      // plane 0: (x, y)
        let b = taps(base + planeSize, gx, gz, zero)          // plane 1: (x, z)
        let c = taps(base + 2 * planeSize, gz, gx, zero)      // plane 2: (z, x), the official quirk
        @inline(__always) func bilinear(_ t: Taps, _ i: Int) -> RV {
            rvLoad(t.p0 + i) * t.w0 + rvLoad(t.p1 + i) * t.w1 + rvLoad(t.p2 + i) * t.w2 + rvLoad(t.p3 + i) * t.w3
        }
        var i = 0
        while i + rvWidth <= channels {
            rvStore((bilinear(a, i) + bilinear(b, i) + bilinear(c, i)) / 3, out + i)
            i += rvWidth
        }
        while i < channels {
            func one(_ t: Taps) -> Float { t.p0[i] * t.w0 + t.p1[i] * t.w1 + t.p2[i] * t.w2 + t.p3[i] * t.w3 }
            out[i] = (one(a) + one(b) + one(c)) / 3
            i += 1
        }
    }
}

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
                       importance: Tensor?, options: RenderingOptions) -> (features: Tensor, depth: Tensor, weightSum: Tensor) {
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
                ev.evaluate(image: img, points: pp + (img * p + q0) * 3, count: nq, scratch: scratch.data, out: raw)
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
