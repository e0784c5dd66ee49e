// upfirdn2d: upsample by zero insertion, pad (negative pads crop), FIR-filter, downsample, as StyleGAN2 /
// EG3D's torch_utils/ops/upfirdn2d.py (`_upfirdn2d_ref` semantics; the backward of `_upfirdn2d_cuda`:
// upfirdn2d again with up and down swapped, the filter's flip inverted and the padding adjusted, so it
// differentiates to any order). Also setup_filter and the upsample2d / downsample2d / filter2d wrappers.
// The filter is a constant (the reference asserts it takes no gradient).
import Foundation

/// The sizes of one upfirdn2d on `planes` (N · C) images. Factors and pads are (x, y), as the reference.
struct UpFirDnShape {
    let planes: Int, ih: Int, iw: Int
    let upx: Int, upy: Int, downx: Int, downy: Int
    let padx0: Int, padx1: Int, pady0: Int, pady1: Int
    let fh: Int, fw: Int
    var oh: Int { (ih * upy + pady0 + pady1 - fh) / downy + 1 }
    var ow: Int { (iw * upx + padx0 + padx1 - fw) / downx + 1 }

    /// The shape of the gradient: upfirdn2d of the output gradient back onto the input (`_upfirdn2d_cuda`'s backward).
    var transposed: UpFirDnShape {
        UpFirDnShape(planes: planes, ih: oh, iw: ow, upx: downx, upy: downy, downx: upx, downy: upy,
                     padx0: fw - padx0 - 1, padx1: iw * upx - ow * downx + padx0 - upx + 1,
                     pady0: fh - pady0 - 1, pady1: ih * upy - oh * downy + pady0 - upy + 1, fh: fh, fw: fw)
    }
}

/// out[oy, ox] = Σ w[ky, kx] · U[oy·downy + ky, ox·downx + kx], U the zero-upsampled, padded image.
/// Per task (a plane and a block of output rows): every needed input row is upsampled and padded along x
/// once and split into downx phases, so each tap is a dense SIMD axpy along the output row.
// x: (planes, ih, iw) dense, w: (fh, fw) correlation taps -> out: (planes, oh, ow) dense
func upfirdnForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ s: UpFirDnShape, _ out: UnsafeMutablePointer<Float>) {
    let oh = s.oh, ow = s.ow
    if s.planes == 0 || oh <= 0 || ow <= 0 { return }
    let lp = ow + (s.fw - 1) / s.downx          // length of one phase row
    let rowFloats = s.downx * lp
    let blocks = Swift.min(oh, Swift.max(1, (4 * Parallel.threadCount + s.planes - 1) / s.planes))
    // Where input column ix lands in a row's phase buffer (phase r, index j -> r·lp + j), or -1 if cropped.
    let dest = UnsafeMutablePointer<Int>.allocate(capacity: Swift.max(s.iw, 1))
    defer { dest.deallocate() }
    for ix in 0..<s.iw {
        let u = ix * s.upx + s.padx0, j = floorDiv(u, s.downx), r = u - j * s.downx
        dest[ix] = u >= 0 && j < lp ? r * lp + j : -1
    }
    parallelRanges(s.planes * blocks, grain: 1) { tasks in
        let buf = UnsafeMutablePointer<Float>.allocate(capacity: s.ih * rowFloats)
        defer { buf.deallocate() }
        for task in tasks {
            let plane = task / blocks, blk = task % blocks
            let oy0 = oh * blk / blocks, oy1 = oh * (blk + 1) / blocks
            let iy0 = Swift.max(0, ceilDiv(oy0 * s.downy - s.pady0, s.upy))
            let iy1 = Swift.min(s.ih, floorDiv((oy1 - 1) * s.downy + s.fh - 1 - s.pady0, s.upy) + 1)
            let src = x + plane * s.ih * s.iw
            if iy0 < iy1 {
                for iy in iy0..<iy1 {
                    let row = src + iy * s.iw, dst = buf + (iy - iy0) * rowFloats
                    if s.upx == 1 && s.downx == 1 {
                        // Plain padding: one copy between zero borders.
                        let lo = Swift.min(lp, Swift.max(0, s.padx0)), hi = Swift.min(lp, Swift.max(lo, s.iw + s.padx0))
                        dst.initialize(repeating: 0, count: lo)
                        if lo < hi { (dst + lo).update(from: row + (lo - s.padx0), count: hi - lo) }
                        (dst + hi).initialize(repeating: 0, count: lp - hi)
                    } else {
                        dst.initialize(repeating: 0, count: rowFloats)
                        for ix in 0..<s.iw where dest[ix] >= 0 { dst[dest[ix]] = row[ix] }
                    }
                }
            }
            let o = out + plane * oh * ow
            for oy in oy0..<oy1 {
                let acc = o + oy * ow
                acc.initialize(repeating: 0, count: ow)
                for ky in 0..<s.fh {
                    let yi = oy * s.downy + ky - s.pady0
                    if yi < 0 || yi % s.upy != 0 || yi / s.upy >= s.ih { continue }
                    let prow = buf + (yi / s.upy - iy0) * rowFloats
                    for kx in 0..<s.fw {
                        let wv = w[ky * s.fw + kx], vw = V(repeating: wv)
                        let p = prow + (kx % s.downx) * lp + kx / s.downx
                        var i = 0
                        while i + vWidth <= ow { vstore(vload(acc + i).addingProduct(vload(p + i), vw), acc + i); i += vWidth }
                        while i < ow { acc[i] += p[i] * wv; i += 1 }
                    }
                }
            }
        }
    }
}

/// Naive upfirdn2d: every output element from the definition.
func upfirdnReference(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ s: UpFirDnShape, _ out: UnsafeMutablePointer<Float>) {
    let oh = s.oh, ow = s.ow
    for pl in 0..<s.planes { for oy in 0..<oh { for ox in 0..<ow {
        var sum = 0.0
        for ky in 0..<s.fh { for kx in 0..<s.fw {
            let yi = oy * s.downy + ky - s.pady0, xi = ox * s.downx + kx - s.padx0
            if yi < 0 || xi < 0 || yi % s.upy != 0 || xi % s.upx != 0 || yi / s.upy >= s.ih || xi / s.upx >= s.iw { continue }
            sum += Double(x[(pl * s.ih + yi / s.upy) * s.iw + xi / s.upx]) * Double(w[ky * s.fw + kx])
        } }
        out[(pl * oh + oy) * ow + ox] = Float(sum)
    } } }
}

/// The correlation taps the kernel uses: the filter (outer product of itself when 1-D) times gain,
/// flipped unless `flipFilter` (the reference convolves; conv2d correlates).
func upfirdnTaps(_ f: Tensor?, flipFilter: Bool, gain: Float) -> Tensor {
    guard let f else { return Tensor([gain], shape: [1, 1]) }
    require(f.rank == 1 || f.rank == 2, "upfirdn2d: filter must be (taps) or (fh, fw), got \(f.shape)")
    let v = f.toArray()
    let (fh, fw) = f.rank == 2 ? (f.shape[0], f.shape[1]) : (f.shape[0], f.shape[0])
    var taps = [Float](repeating: 0, count: fh * fw)
    for ky in 0..<fh {
        for kx in 0..<fw {
            let (sy, sx) = flipFilter ? (ky, kx) : (fh - 1 - ky, fw - 1 - kx)
            taps[ky * fw + kx] = f.rank == 2 ? v[sy * fw + sx] * gain : v[sy] * v[sx] * gain
        }
    }
    return Tensor(taps, shape: [fh, fw])
}

/// Pads, upsamples, filters and downsamples a batch of images, as EG3D's `upfirdn2d` (reference semantics):
/// 1. upsample by inserting up-1 zeros after each pixel; 2. pad by `padding` (negative values crop);
/// 3. convolve with `f` times `gain` (a 1-D filter is applied separably, along x then y);
/// 4. keep every down-th pixel.
/// - Parameters:
///   - x: (N, C, H, W).
///   - f: (fh, fw), or (taps) for a separable filter, or nil for identity. A constant: no gradient flows to it.
///   - up, down: factors along (x, y).
///   - padding: (x0, x1, y0, y1) with respect to the upsampled image.
///   - flipFilter: false = convolution, true = correlation.
/// - Returns: (N, C, ⌊(H·up.y + y0 + y1 - fh) / down.y⌋ + 1, ⌊(W·up.x + x0 + x1 - fw) / down.x⌋ + 1).
public func upfirdn2d(_ x: Tensor, _ f: Tensor?, up: (x: Int, y: Int) = (1, 1), down: (x: Int, y: Int) = (1, 1),
                      padding: (x0: Int, x1: Int, y0: Int, y1: Int) = (0, 0, 0, 0), flipFilter: Bool = false,
                      gain: Float = 1) -> Tensor {
    require(x.rank == 4, "upfirdn2d: input must be (N, C, H, W), got \(x.shape)")
    require(up.x >= 1 && up.y >= 1 && down.x >= 1 && down.y >= 1, "upfirdn2d: up \(up) and down \(down) must be positive")
    let taps = upfirdnTaps(f, flipFilter: flipFilter, gain: gain)
    let (fh, fw) = (taps.shape[0], taps.shape[1])
    let s = UpFirDnShape(planes: x.shape[0] * x.shape[1], ih: x.shape[2], iw: x.shape[3], upx: up.x, upy: up.y,
                         downx: down.x, downy: down.y, padx0: padding.x0, padx1: padding.x1,
                         pady0: padding.y0, pady1: padding.y1, fh: fh, fw: fw)
    require(x.shape[3] * up.x + padding.x0 + padding.x1 >= fw && x.shape[2] * up.y + padding.y0 + padding.y1 >= fh,
            "upfirdn2d: upsampled, padded input \(x.shape) (up \(up), padding \(padding)) is smaller than the filter (\(fh), \(fw))")
    return upfirdn(x, taps, s, batch: x.shape[0])
}

/// The op: `taps` are correlation taps (gain and flip applied). Its gradient is the same op on the
/// transposed shape with the taps rotated by 180 degrees.
func upfirdn(_ x: Tensor, _ taps: Tensor, _ s: UpFirDnShape, batch: Int) -> Tensor {
    let xc = x.contiguous()
    let out = Tensor(uninitializedShape: [batch, s.planes / Swift.max(batch, 1), s.oh, s.ow])
    withExtendedLifetime((xc, taps)) { upfirdnForward(xc.data, taps.data, s, out.data) }
    return out.recorded("upfirdn2d", [xc]) { g, _ in
        let v = taps.toArray()
        let rotated = Tensor(Array(v.reversed()), shape: taps.shape)
        return [upfirdn(g, rotated, s.transposed, batch: batch)]
    }
}

/// Filter taps for upfirdn2d, as the reference's `setup_filter`: a 1-D filter becomes its outer product
/// with itself unless `separable` (default: only when it has at least 8 taps); then normalised to sum 1,
/// optionally flipped, and scaled by gain^(rank / 2).
public func setupFilter(_ f: Tensor, normalize: Bool = true, flipFilter: Bool = false, gain: Float = 1,
                        separable: Bool? = nil) -> Tensor {
    require(f.rank <= 2 && f.count > 0, "setup_filter: filter must be a non-empty scalar, (taps) or (fh, fw), got \(f.shape)")
    var v = f.toArray()
    var shape = f.rank == 0 ? [1] : f.shape
    let sep = separable ?? (shape.count == 1 && v.count >= 8)
    if shape.count == 1 && !sep {
        v = v.flatMap { a in v.map { a * $0 } }
        shape = [shape[0], shape[0]]
    }
    require(shape.count == (sep ? 1 : 2), "setup_filter: a (fh, fw) filter cannot be separable")
    if normalize {
        let total = v.reduce(0, +)
        v = v.map { $0 / total }
    }
    if flipFilter { v.reverse() }
    let scale = Float(Foundation.pow(Double(gain), Double(shape.count) / 2))
    return Tensor(v.map { $0 * scale }, shape: shape)
}

/// setupFilter on a list of taps, e.g. setupFilter([1, 3, 3, 1]) for StyleGAN2's resampling filter.
public func setupFilter(_ taps: [Float], normalize: Bool = true, flipFilter: Bool = false, gain: Float = 1,
                        separable: Bool? = nil) -> Tensor {
    setupFilter(Tensor(taps, shape: [taps.count]), normalize: normalize, flipFilter: flipFilter, gain: gain, separable: separable)
}

/// (fw, fh) of a filter, as the reference's `_get_filter_size`.
func filterSize(_ f: Tensor?) -> (Int, Int) {
    guard let f else { return (1, 1) }
    return (f.shape[f.rank - 1], f.shape[0])
}

/// Filters images with `f`, padded so that the output has the input's size (plus `padding`), as `filter2d`.
public func filter2d(_ x: Tensor, _ f: Tensor?, padding: (x0: Int, x1: Int, y0: Int, y1: Int) = (0, 0, 0, 0),
                     flipFilter: Bool = false, gain: Float = 1) -> Tensor {
    let (fw, fh) = filterSize(f)
    let p = (padding.x0 + fw / 2, padding.x1 + (fw - 1) / 2, padding.y0 + fh / 2, padding.y1 + (fh - 1) / 2)
    return upfirdn2d(x, f, padding: p, flipFilter: flipFilter, gain: gain)
}

/// Upsamples images by `up` with the FIR filter `f`, output a multiple of the input size, as `upsample2d`.
public func upsample2d(_ x: Tensor, _ f: Tensor?, up: (x: Int, y: Int) = (2, 2),
                       padding: (x0: Int, x1: Int, y0: Int, y1: Int) = (0, 0, 0, 0),
                       flipFilter: Bool = false, gain: Float = 1) -> Tensor {
    let (fw, fh) = filterSize(f)
    let p = (padding.x0 + (fw + up.x - 1) / 2, padding.x1 + floorDiv(fw - up.x, 2),
             padding.y0 + (fh + up.y - 1) / 2, padding.y1 + floorDiv(fh - up.y, 2))
    return upfirdn2d(x, f, up: up, padding: p, flipFilter: flipFilter, gain: gain * Float(up.x * up.y))
}

/// Downsamples images by `down` with the FIR filter `f`, output a fraction of the input size, as `downsample2d`.
public func downsample2d(_ x: Tensor, _ f: Tensor?, down: (x: Int, y: Int) = (2, 2),
                         padding: (x0: Int, x1: Int, y0: Int, y1: Int) = (0, 0, 0, 0),
                         flipFilter: Bool = false, gain: Float = 1) -> Tensor {
    let (fw, fh) = filterSize(f)
    let p = (padding.x0 + floorDiv(fw - down.x + 1, 2), padding.x1 + floorDiv(fw - down.x, 2),
             padding.y0 + floorDiv(fh - down.y + 1, 2), padding.y1 + floorDiv(fh - down.y, 2))
    return upfirdn2d(x, f, down: down, padding: p, flipFilter: flipFilter, gain: gain)
}
