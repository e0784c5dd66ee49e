// The 3x3 pools of Inception-v3 for inference (no autograd, no argmax indices), as torch's max_pool2d and
// avg_pool2d CPU kernels compute them (ATen MaxPoolKernel.cpp: a window's NaN wins; AvgPoolKernel.cpp with
// count_include_pad=False: the sum of the window's in-image values over their count):
//   maxPool3x3: kernel 3, stride 1 or 2, padding 0 or 1 (padding never wins).
//   averagePool3x3BiasReLU: kernel 3, stride 1, padding 1, count_include_pad=False (pytorch-fid's FID pool),
//     over a channel range of its input, then + bias and ReLU: the pool branch of FIDInceptionA/C/E_1 with the
//     pool moved after its 1x1 convolution (both are linear, and the average of a constant is the constant).
import TensorCore

/// The larger of a and b, or b when it is NaN (torch's `val > maxval || isnan(val)`, without a branch).
@inline(__always) private func nanMax(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
    a.replacing(with: b, where: (b .> a) .| (b .!= b))
}
@inline(__always) private func nanMax(_ a: Float, _ b: Float) -> Float { b > a || b.isNaN ? b : a }

/// x: (N, C, H, W) -> (N, C, Ho, Wo), Ho = ⌊(H + 2·padding − 3) / stride⌋ + 1. Separable: the maximum of three
/// along each row (at the output columns), then of three such rows; SIMD over output columns. Any NaN in a
/// window gives NaN, as torch.
func maxPool3x3(_ x: Tensor, stride: Int, padding: Int) -> Tensor {
    require(x.rank == 4 && (stride == 1 || stride == 2) && (padding == 0 || padding == 1),
            "maxPool3x3: input \(x.shape), stride \(stride), padding \(padding)")
    let xc = x.contiguous()
    let (planes, h, w) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
    let oh = (h + 2 * padding - 3) / stride + 1, ow = (w + 2 * padding - 3) / stride + 1
    require(oh >= 1 && ow >= 1, "maxPool3x3: input \(x.shape) smaller than the window")
    let out = Tensor(uninitializedShape: [x.shape[0], x.shape[1], oh, ow])
    let src = xc.data, dst = out.data
    withExtendedLifetime(xc) {
        parallelRanges(planes, grain: Swift.max(1, 4096 / (oh * ow))) { range in
            var rowMax = [Float](repeating: 0, count: h * ow)      // per input row, the 3-wide maxima at output columns
            rowMax.withUnsafeMutableBufferPointer { rb in
                let r = rb.baseAddress!
                for plane in range {
                    let p = src + plane * h * w, o = dst + plane * oh * ow
                    for y in 0..<h {
                        let row = p + y * w, m = r + y * ow
                        var ox = 0
                        if stride == 2 && padding == 0 {
                            // Columns 2·ox, 2·ox + 1, 2·ox + 2 for 8 outputs from two 16-wide loads.
                            while ox + 8 <= ow && 2 * ox + 18 <= w {
                                let a = UnsafeRawPointer(row + 2 * ox).loadUnaligned(as: SIMD16<Float>.self)
                                let b = UnsafeRawPointer(row + 2 * ox + 2).loadUnaligned(as: SIMD16<Float>.self)
                                UnsafeMutableRawPointer(m + ox).storeBytes(of: nanMax(nanMax(a.evenHalf, a.oddHalf), b.evenHalf), as: SIMD8<Float>.self)
                                ox += 8
                            }
                        }
                        while ox < ow {
                            let x0 = Swift.max(ox * stride - padding, 0), x1 = Swift.min(ox * stride - padding + 3, w)
                            var best = row[x0]
                            for ix in (x0 + 1)..<x1 { best = nanMax(best, row[ix]) }
                            m[ox] = best
                            ox += 1
                        }
                    }
                    for oy in 0..<oh {
                        let y0 = Swift.max(oy * stride - padding, 0), y1 = Swift.min(oy * stride - padding + 3, h)
                        let dstRow = o + oy * ow, first = r + y0 * ow
                        var ox = 0
                        while ox + 8 <= ow {
                            var best = UnsafeRawPointer(first + ox).loadUnaligned(as: SIMD8<Float>.self)
                            for iy in (y0 + 1)..<y1 { best = nanMax(best, UnsafeRawPointer(r + iy * ow + ox).loadUnaligned(as: SIMD8<Float>.self)) }
                            UnsafeMutableRawPointer(dstRow + ox).storeBytes(of: best, as: SIMD8<Float>.self)
                            ox += 8
                        }
                        while ox < ow {
                            var best = first[ox]
                            for iy in (y0 + 1)..<y1 { best = nanMax(best, r[iy * ow + ox]) }
                            dstRow[ox] = best
                            ox += 1
                        }
                    }
                }
            }
        }
    }
    return out
}

/// relu(avg_pool2d(x[:, channels], 3, stride 1, padding 1, count_include_pad=False) + bias).
/// x: (N, C, H, W), bias: (channels.count) -> (N, channels.count, H, W)
func averagePool3x3BiasReLU(_ x: Tensor, channels: Range<Int>, bias: Tensor) -> Tensor {
    require(x.rank == 4 && channels.lowerBound >= 0 && channels.upperBound <= x.shape[1] && bias.shape == [channels.count],
            "averagePool3x3BiasReLU: input \(x.shape), channels \(channels), bias \(bias.shape)")
    let xc = x.contiguous(), bc = bias.contiguous()
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let k = channels.count
    let out = Tensor(uninitializedShape: [n, k, h, w])
    let src = xc.data, dst = out.data, b = bc.data
    withExtendedLifetime((xc, bc)) {
        parallelRanges(n * k, grain: Swift.max(1, 2048 / (h * w))) { range in
            var rowSums = [Float](repeating: 0, count: h * w)
            rowSums.withUnsafeMutableBufferPointer { rb in
                let r = rb.baseAddress!
                for task in range {
                    let item = task / k, ch = task % k
                    let p = src + (item * c + channels.lowerBound + ch) * h * w, o = dst + task * h * w
                    // Horizontal sums of the (up to) three in-image neighbours, left to right.
                    for y in 0..<h {
                        let row = p + y * w, sums = r + y * w
                        if w == 1 { sums[0] = row[0]; continue }
                        sums[0] = row[0] + row[1]
                        for xx in 1..<(w - 1) { sums[xx] = row[xx - 1] + row[xx] + row[xx + 1] }
                        sums[w - 1] = row[w - 2] + row[w - 1]
                    }
                    // Vertical sums, top to bottom, over the in-image count; then bias and ReLU.
                    let bias = b[ch]
                    for y in 0..<h {
                        let y0 = Swift.max(y - 1, 0), y1 = Swift.min(y + 2, h)
                        let rows = Float(y1 - y0)
                        for xx in 0..<w {
                            var s = r[y0 * w + xx]
                            for yy in (y0 + 1)..<y1 { s += r[yy * w + xx] }
                            let cols: Float = (xx == 0 || xx == w - 1) ? (w == 1 ? 1 : 2) : 3
                            let v = s / (rows * cols) + bias
                            o[y * w + xx] = v < 0 ? 0 : v
                        }
                    }
                }
            }
        }
    }
    return out
}
