// Tri-plane sampling and the OSGDecoder on raw buffers, for the inference path (spec §5, §6): the same
// computation as TriPlane.sample + OSGDecoder (sample_from_planes and OSGDecoder.forward of
// eg3d/training/volumetric_rendering/renderer.py and eg3d/training/triplane.py), without a graph. The three
// planes' bilinear samples (grid_sample, align_corners = false, zeros padding; planes XY, XZ and ZX) are averaged
// as they are read from channels-last planes, and the MLP runs as two GEMMs over all points of a chunk.
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
    /// `colors: false` computes σ alone (column 0; the others are left as they were): the mesh's density grid, where the
    /// colour layer and its sigmoids were half the decoder's work.
    func evaluate(image: Int, points: UnsafePointer<Float>, count: Int, samplesPerRay: Int = 1, colors: Bool = true,
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
            guard colors else {
                for i in 0..<count { out[i * outputs] = pb2[0] + dot(UnsafePointer(hid + i * hidden), pw2, hidden) }
                return
            }
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
