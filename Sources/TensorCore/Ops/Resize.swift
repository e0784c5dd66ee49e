// Image resizing on NCHW tensors as torch.nn.functional.interpolate(size=...): 'nearest' (PyTorch's legacy
// rule src = min(floor(dst * in/out), in - 1)), 'bilinear' with align_corners false or true, and bilinear
// with antialias=True (PyTorch's _upsample_bilinear2d_aa: a triangle filter whose support widens by the
// downscale factor, weights normalised per output). Index and weight formulas follow aten/src/ATen/native/
// UpSample.h (area_pixel_compute_scale, area_pixel_compute_source_index, nearest_idx) and cpu/UpSampleKernel.cpp
// (HelperInterpBase::_compute_weights_aa), computed in Float32 as PyTorch does for float inputs.
// Every mode is a separable linear map, so one op (Kernels/Resample.swift) runs them all; its backward is
// the same op with the transposed filters, whose backward is the original: gradients of any order.

public enum InterpolationMode: Sendable { case nearest, bilinear }

/// Resizes the last two axes of an (N, C, H, W) tensor to `size` = (height, width), exactly as
/// `torch.nn.functional.interpolate(x, size=size, mode=..., align_corners=..., antialias=...)`.
/// `alignCorners` and `antialias` apply to `.bilinear` only (PyTorch rejects them for 'nearest').
public func interpolate(_ x: Tensor, size: (Int, Int), mode: InterpolationMode = .nearest,
                        alignCorners: Bool = false, antialias: Bool = false) -> Tensor {
    require(x.rank == 4, "interpolate: input must be (N, C, H, W), got \(x.shape)")
    require(size.0 >= 1 && size.1 >= 1, "interpolate: output size \(size) must be positive")
    require(x.shape[2] >= 1 && x.shape[3] >= 1, "interpolate: input \(x.shape) has an empty spatial axis")
    require(mode == .bilinear || (!alignCorners && !antialias),
            "interpolate: alignCorners and antialias need mode .bilinear (PyTorch rejects them for 'nearest')")
    let fh = resizeFilter(inSize: x.shape[2], outSize: size.0, mode: mode, alignCorners: alignCorners, antialias: antialias)
    let fw = resizeFilter(inSize: x.shape[3], outSize: size.1, mode: mode, alignCorners: alignCorners, antialias: antialias)
    let name = mode == .nearest ? "upsample_nearest2d" : (antialias ? "upsample_bilinear2d_aa" : "upsample_bilinear2d")
    return resample(x, fh, fw, name)
}

extension Tensor {
    /// `interpolate(self, size:mode:alignCorners:antialias:)` for an (N, C, H, W) tensor.
    public func resize(to size: (Int, Int), mode: InterpolationMode = .nearest, alignCorners: Bool = false,
                       antialias: Bool = false) -> Tensor {
        interpolate(self, size: size, mode: mode, alignCorners: alignCorners, antialias: antialias)
    }
}

/// x (N, C, H, W) -> (N, C, fh.outSize, fw.outSize). Backward: the adjoint, the same op with transposed filters.
func resample(_ x: Tensor, _ fh: AxisFilter, _ fw: AxisFilter, _ op: String) -> Tensor {
    require(x.rank == 4 && x.shape[2] == fh.inSize && x.shape[3] == fw.inSize,
            "\(op): input \(x.shape) does not match filters \(fh.inSize)x\(fw.inSize)")
    let n = x.shape[0], c = x.shape[1]
    let xc = withNoGrad { x.contiguous() }
    let out = Tensor(uninitializedShape: [n, c, fh.outSize, fw.outSize])
    withExtendedLifetime(xc) { resamplePlanes(xc.data, out.data, planes: n * c, fh, fw) }
    return out.recorded(op, [x]) { g, _ in
        [resample(g, fh.transposed(), fw.transposed(), op.hasSuffix("_backward") ? String(op.dropLast(9)) : op + "_backward")]
    }
}

/// The per-axis filter of one interpolate mode (UpSample.h / UpSampleKernel.cpp formulas, Float32).
func resizeFilter(inSize: Int, outSize: Int, mode: InterpolationMode, alignCorners: Bool, antialias: Bool) -> AxisFilter {
    var rows: [(Int, [Float])] = []
    rows.reserveCapacity(outSize)
    switch mode {
    case .nearest:
        // nearest_idx: identity, halving, or floor(dst * (in / out)) clamped (scale in Float32).
        let scale = Float(inSize) / Float(outSize)
        for o in 0..<outSize {
            let i = inSize == outSize ? o : (outSize == 2 * inSize ? o >> 1 : Swift.min(Int((Float(o) * scale).rounded(.down)), inSize - 1))
            rows.append((i, [1]))
        }
    case .bilinear where !antialias:
        let scale = alignCorners ? (outSize > 1 ? Float(inSize - 1) / Float(outSize - 1) : 0) : Float(inSize) / Float(outSize)
        for o in 0..<outSize {
            // area_pixel_compute_source_index, then compute_indices_weights_linear.
            let real = alignCorners ? scale * Float(o) : Swift.max(scale * (Float(o) + 0.5) - 0.5, 0)
            let i0 = Int(real)
            let l1 = Swift.min(Swift.max(real - Float(i0), 0), 1), l0 = 1 - l1
            rows.append(i0 < inSize - 1 ? (i0, [l0, l1]) : (i0, [l0 + l1]))
        }
    case .bilinear:
        // _compute_weights_aa with the triangle filter; align_corners changes only the scale here.
        let scale = alignCorners ? (outSize > 1 ? Float(inSize - 1) / Float(outSize - 1) : 0) : Float(inSize) / Float(outSize)
        let support: Float = scale >= 1 ? scale : 1
        let invScale: Float = scale >= 1 ? 1 / scale : 1
        for o in 0..<outSize {
            let center = scale * (Float(o) + 0.5)
            let lo = Swift.max(Int(center - support + 0.5), 0)
            let n = Swift.min(Int(center + support + 0.5), inSize) - lo
            var w = [Float](repeating: 0, count: Swift.max(n, 0))
            var total: Float = 0
            for j in 0..<Swift.max(n, 0) {
                let d = Swift.abs((Float(j + lo) - center + 0.5) * invScale)
                w[j] = d < 1 ? 1 - d : 0
                total += w[j]
            }
            if total != 0 { for j in 0..<w.count { w[j] /= total } }
            rows.append((lo, w))
        }
    }
    return AxisFilter(inSize: inSize, rows: rows)
}
