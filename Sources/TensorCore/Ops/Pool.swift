// 2-D average and max pooling, as torch.nn.functional.avg_pool2d / max_pool2d with ceil_mode=False
// (ATen's AvgPoolKernel.cpp / MaxPoolKernel.cpp: same window bounds, divisors and tie rule). Average
// pooling and its adjoint are each other's gradients; max pooling's gradient scatters to the argmax
// (first maximum on ties, as torch) and that scatter's gradient is the matching gather, so both pools
// differentiate to any order.

/// Window geometry of a pooling over `planes` (N · C) images.
struct PoolShape {
    let planes: Int, ih: Int, iw: Int, oh: Int, ow: Int
    let kh: Int, kw: Int, sh: Int, sw: Int, ph: Int, pw: Int, dh: Int, dw: Int
}

func poolShape(_ op: String, _ x: Tensor, kernel: (Int, Int), stride: (Int, Int)?, padding: (Int, Int),
               dilation: (Int, Int)) -> PoolShape {
    require(x.rank == 4, "\(op): input must be (N, C, H, W), got \(x.shape)")
    let st = stride ?? kernel
    require(kernel.0 >= 1 && kernel.1 >= 1 && st.0 >= 1 && st.1 >= 1 && dilation.0 >= 1 && dilation.1 >= 1,
            "\(op): kernel \(kernel), stride \(st) and dilation \(dilation) must be positive")
    require(padding.0 >= 0 && padding.1 >= 0 && padding.0 <= kernel.0 / 2 && padding.1 <= kernel.1 / 2,
            "\(op): padding \(padding) must be non-negative and at most half the kernel \(kernel)")
    let oh = ConvShape.outputSize(x.shape[2], k: kernel.0, s: st.0, p: padding.0, d: dilation.0)
    let ow = ConvShape.outputSize(x.shape[3], k: kernel.1, s: st.1, p: padding.1, d: dilation.1)
    require(oh >= 1 && ow >= 1, "\(op): kernel \(kernel) does not fit input \(x.shape) with padding \(padding)")
    return PoolShape(planes: x.shape[0] * x.shape[1], ih: x.shape[2], iw: x.shape[3], oh: oh, ow: ow,
                     kh: kernel.0, kw: kernel.1, sh: st.0, sw: st.1, ph: padding.0, pw: padding.1,
                     dh: dilation.0, dw: dilation.1)
}

/// Average pooling, as `torch.nn.functional.avg_pool2d` (ceil_mode false).
/// - Parameters:
///   - x: (N, C, H, W).
///   - kernel, stride (default: kernel), padding: (height, width). Padding is at most half the kernel.
///   - countIncludePad: divide by the full window (true) or by the part inside the image (false).
/// - Returns: (N, C, ⌊(H + 2·padding.0 - kernel.0) / stride.0⌋ + 1, ...).
public func avgPool2d(_ x: Tensor, kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
                      countIncludePad: Bool = true) -> Tensor {
    let s = poolShape("avg_pool2d", x, kernel: kernel, stride: stride, padding: padding, dilation: (1, 1))
    return avgPool(x, s, countIncludePad, batch: x.shape[0])
}

/// Max pooling, as `torch.nn.functional.max_pool2d` (ceil_mode false). The gradient goes to the first
/// maximum of each window (row-major), and to a NaN when the window holds one, as torch.
/// - Parameters:
///   - x: (N, C, H, W).
///   - kernel, stride (default: kernel), padding, dilation: (height, width). Padding is at most half the kernel.
public func maxPool2d(_ x: Tensor, kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
                      dilation: (Int, Int) = (1, 1)) -> Tensor {
    let s = poolShape("max_pool2d", x, kernel: kernel, stride: stride, padding: padding, dilation: dilation)
    let xc = x.contiguous()
    let out = Tensor(uninitializedShape: [x.shape[0], x.shape[1], s.oh, s.ow])
    var index = [Int32](repeating: 0, count: out.count)
    require(s.ih * s.iw < Int(Int32.max), "max_pool2d: plane \(s.ih)x\(s.iw) too large")
    withExtendedLifetime(xc) {
        index.withUnsafeMutableBufferPointer { maxPoolForward(xc.data, s, out.data, $0.baseAddress!) }
    }
    let idx = index, inShape = x.shape
    return out.recorded("max_pool2d", [xc]) { g, _ in [poolScatter(g, idx, s, inShape)] }
}

// MARK: - Average pooling and its adjoint

/// The window of output (oy, ox) clipped to the image, and its divisor.
@inline(__always) func avgWindow(_ s: PoolShape, _ oy: Int, _ ox: Int, _ includePad: Bool) -> (Int, Int, Int, Int, Float) {
    let y0 = oy * s.sh - s.ph, x0 = ox * s.sw - s.pw
    let y1 = Swift.min(y0 + s.kh, s.ih + s.ph), x1 = Swift.min(x0 + s.kw, s.iw + s.pw)
    let full = (y1 - y0) * (x1 - x0)
    let cy0 = Swift.max(y0, 0), cx0 = Swift.max(x0, 0), cy1 = Swift.min(y1, s.ih), cx1 = Swift.min(x1, s.iw)
    return (cy0, cy1, cx0, cx1, Float(includePad ? full : (cy1 - cy0) * (cx1 - cx0)))
}

func avgPool(_ x: Tensor, _ s: PoolShape, _ includePad: Bool, batch: Int) -> Tensor {
    let xc = x.contiguous()
    let out = Tensor(uninitializedShape: [batch, s.planes / Swift.max(batch, 1), s.oh, s.ow])
    let src = xc.data, dst = out.data
    // x: (planes, ih, iw) -> out: (planes, oh, ow)
    withExtendedLifetime(xc) {
        parallelRanges(s.planes * s.oh, grain: Swift.max(1, 8192 / Swift.max(s.ow * s.kh * s.kw, 1))) { rows in
            for r in rows {
                let plane = r / s.oh, oy = r % s.oh
                let p = src + plane * s.ih * s.iw
                for ox in 0..<s.ow {
                    let (y0, y1, x0, x1, div) = avgWindow(s, oy, ox, includePad)
                    var sum: Float = 0
                    for iy in y0..<y1 { for ix in x0..<x1 { sum += p[iy * s.iw + ix] } }
                    dst[r * s.ow + ox] = sum / div
                }
            }
        }
    }
    let inShape = x.shape
    return out.recorded("avg_pool2d", [xc]) { g, _ in [avgPoolAdjoint(g, s, includePad, inShape)] }
}

/// The adjoint of avgPool: every input pixel gathers g / divisor from the windows that hold it.
// g: (planes, oh, ow) -> (planes, ih, iw)
func avgPoolAdjoint(_ g: Tensor, _ s: PoolShape, _ includePad: Bool, _ inShape: [Int]) -> Tensor {
    let gc = g.contiguous()
    let out = Tensor(uninitializedShape: inShape)
    let src = gc.data, dst = out.data
    withExtendedLifetime(gc) {
        parallelRanges(s.planes * s.ih, grain: Swift.max(1, 8192 / Swift.max(s.iw * s.kh * s.kw, 1))) { rows in
            for r in rows {
                let plane = r / s.ih, iy = r % s.ih
                let gp = src + plane * s.oh * s.ow
                // Windows oy with oy·sh - ph <= iy < oy·sh - ph + kh.
                let oy0 = Swift.max(0, ceilDiv(iy + s.ph - s.kh + 1, s.sh)), oy1 = Swift.min(s.oh, floorDiv(iy + s.ph, s.sh) + 1)
                for ix in 0..<s.iw {
                    let ox0 = Swift.max(0, ceilDiv(ix + s.pw - s.kw + 1, s.sw)), ox1 = Swift.min(s.ow, floorDiv(ix + s.pw, s.sw) + 1)
                    var sum: Float = 0
                    if oy0 < oy1 && ox0 < ox1 {
                        for oy in oy0..<oy1 { for ox in ox0..<ox1 { sum += gp[oy * s.ow + ox] / avgWindow(s, oy, ox, includePad).4 } }
                    }
                    dst[r * s.iw + ix] = sum
                }
            }
        }
    }
    return out.recorded("avg_pool2d_adjoint", [gc]) { gg, _ in [avgPool(gg, s, includePad, batch: inShape[0])] }
}

// MARK: - Max pooling: argmax, scatter and gather

/// out = the window maximum, index = its flat position in the plane (first on ties; NaN wins, as ATen).
// x: (planes, ih, iw) -> out, index: (planes, oh, ow)
func maxPoolForward(_ x: UnsafePointer<Float>, _ s: PoolShape, _ out: UnsafeMutablePointer<Float>,
                    _ index: UnsafeMutablePointer<Int32>) {
    parallelRanges(s.planes * s.oh, grain: Swift.max(1, 8192 / Swift.max(s.ow * s.kh * s.kw, 1))) { rows in
        for r in rows {
            let plane = r / s.oh, oy = r % s.oh
            let p = x + plane * s.ih * s.iw
            var y0 = oy * s.sh - s.ph
            let y1 = Swift.min(y0 + (s.kh - 1) * s.dh + 1, s.ih)
            while y0 < 0 { y0 += s.dh }
            for ox in 0..<s.ow {
                var x0 = ox * s.sw - s.pw
                let x1 = Swift.min(x0 + (s.kw - 1) * s.dw + 1, s.iw)
                while x0 < 0 { x0 += s.dw }
                var best = -Float.infinity, at = y0 * s.iw + x0
                var iy = y0
                while iy < y1 {
                    var ix = x0
                    while ix < x1 {
                        let v = p[iy * s.iw + ix]
                        if v > best || v.isNaN { best = v; at = iy * s.iw + ix }
                        ix += s.dw
                    }
                    iy += s.dh
                }
                out[r * s.ow + ox] = best
                index[r * s.ow + ox] = Int32(at)
            }
        }
    }
}

/// Zeros of the input's shape with g added at each window's argmax. Its gradient is poolGather.
// g: (planes, oh, ow) -> (planes, ih, iw)
func poolScatter(_ g: Tensor, _ index: [Int32], _ s: PoolShape, _ inShape: [Int]) -> Tensor {
    let gc = g.contiguous()
    let out = Tensor.zeros(inShape)
    let src = gc.data, dst = out.data
    withExtendedLifetime(gc) {
        index.withUnsafeBufferPointer { ib in
            let idx = ib.baseAddress!
            parallelRanges(s.planes, grain: Swift.max(1, 16384 / Swift.max(s.oh * s.ow, 1))) { planes in
                for plane in planes {
                    let d = dst + plane * s.ih * s.iw, o = plane * s.oh * s.ow
                    for i in 0..<(s.oh * s.ow) { d[Int(idx[o + i])] += src[o + i] }
                }
            }
        }
    }
    let gShape = g.shape
    return out.recorded("max_pool2d_scatter", [gc]) { gg, _ in [poolGather(gg, index, s, gShape)] }
}

/// out[o] = x[argmax of window o]: the adjoint of poolScatter.
// x: (planes, ih, iw) -> (planes, oh, ow)
func poolGather(_ x: Tensor, _ index: [Int32], _ s: PoolShape, _ outShape: [Int]) -> Tensor {
    let xc = x.contiguous()
    let out = Tensor(uninitializedShape: outShape)
    let src = xc.data, dst = out.data
    withExtendedLifetime(xc) {
        index.withUnsafeBufferPointer { ib in
            let idx = ib.baseAddress!
            parallelRanges(s.planes, grain: Swift.max(1, 16384 / Swift.max(s.oh * s.ow, 1))) { planes in
                for plane in planes {
                    let p = src + plane * s.ih * s.iw, o = plane * s.oh * s.ow
                    for i in 0..<(s.oh * s.ow) { dst[o + i] = p[Int(idx[o + i])] }
                }
            }
        }
    }
    let inShape = x.shape
    return out.recorded("max_pool2d_gather", [xc]) { g, _ in [poolScatter(g, index, s, inShape)] }
}
