// A direct 3x3 convolution with bias and ReLU for Inception's stem (Conv2d_1a_3x3, Conv2d_2a_3x3,
// Conv2d_2b_3x3: 32 or 64 output channels over 147-299 pixel wide images). There the GEMM formulation spends
// more time packing image patches than multiplying (each packed value meets only 32-64 weights); here 8 output
// channels x 16 output pixels stay in registers while the input channels and taps run, each input vector
// loaded once for 8 fused multiply-adds. Same sums as conv2d up to the order of the additions.
// Still faster than conv2d (implicit GEMM; Winograd for 2b), measured at batch 8 on 2 Zen 5 cores (loaded), AVX-512
// build, 1 / 2 threads (the timing probe `InceptionTests.testStemBenchmark`, in the tree until commit af8952b):
// Conv2d_1a 3.1x / 3.1x, Conv2d_2a 3.7x / 3.3x, Conv2d_2b 2.2x / 2.6x. (Conv2d_4a's cropped Winograd,
// WinogradValid3x3.swift: 1.56x / 1.07x.) `dreamportrait bench inception` times the whole encoder per stage.
import TensorCore

extension FoldedConv {
    /// Whether `directConv3x3` applies: a 3x3 kernel, stride 1 or 2, padding 0 or 1, output channels a multiple of 8.
    var isDirect3x3: Bool {
        weight.shape[2] == 3 && weight.shape[3] == 3 && weight.shape[0] % 8 == 0 && stride.0 == stride.1
            && (stride.0 == 1 || stride.0 == 2) && padding.0 == padding.1 && padding.0 <= 1
    }

    /// The weights regrouped for directConv3x3: [O/8][C][3][3][8] (8 output channels innermost).
    func directWeights() -> Tensor {
        let (o, c) = (weight.shape[0], weight.shape[1])
        let src = weight.contiguous().toArray()
        var dst = [Float](repeating: 0, count: src.count)
        for oc in 0..<o { for ic in 0..<c { for t in 0..<9 {
            dst[(((oc / 8) * c + ic) * 9 + t) * 8 + oc % 8] = src[(oc * c + ic) * 9 + t]
        } } }
        return Tensor(dst, shape: [o / 8, c, 9, 8])
    }
}

/// relu(conv2d(x, weight, bias, stride, padding)) for a FoldedConv with `isDirect3x3`; `packed` is its
/// `directWeights()`. x: (N, C, H, W) -> (N, O, Ho, Wo)
func directConv3x3(_ x: Tensor, _ conv: FoldedConv, packed: Tensor) -> Tensor {
    require(conv.isDirect3x3 && x.rank == 4 && x.shape[1] == conv.weight.shape[1],
            "directConv3x3: input \(x.shape) and weight \(conv.weight.shape) do not fit")
    let s = conv.stride.0
    // Padding is materialised once, so every output pixel reads in-image values only.
    let input = (conv.padding.0 == 0 ? x : x.pad([(0, 0), (0, 0), (1, 1), (1, 1)])).contiguous()
    let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
    let o = conv.weight.shape[0], blocks = o / 8
    let oh = (h - 3) / s + 1, ow = (w - 3) / s + 1
    require(oh >= 1 && ow >= 1, "directConv3x3: input \(x.shape) smaller than the kernel")
    let out = Tensor(uninitializedShape: [n, o, oh, ow])
    let bias = conv.bias.contiguous(), wp = packed.contiguous()
    let src = input.data, dst = out.data, bp = bias.data, kp = wp.data
    withExtendedLifetime((input, bias, wp)) {
        parallelRanges(n * blocks * oh, grain: 4) { tasks in
            for task in tasks {
                let oy = task % oh, ob = (task / oh) % blocks, item = task / (oh * blocks)
                let image = src + item * c * h * w
                let weights = kp + ob * c * 72
                let outRow = dst + ((item * o + ob * 8) * oh + oy) * ow
                var ox = 0
                while ox < ow {
                    // The last chunk is moved left to end at the row's end (recomputing a few pixels).
                    let x0 = ow >= 16 ? Swift.min(ox, ow - 16) : ox
                    if ow >= 16 {
                        tile8x16(image, weights, c: c, h: h, w: w, iy: oy * s, ix: x0 * s, stride: s, bias: bp + ob * 8,
                                 out: outRow + x0, outPlane: oh * ow)
                        ox = x0 + 16
                    } else {
                        pixel8(image, weights, c: c, h: h, w: w, iy: oy * s, ix: x0 * s, bias: bp + ob * 8,
                               out: outRow + x0, outPlane: oh * ow)
                        ox += 1
                    }
                }
            }
        }
    }
    return out
}

/// 8 output channels x 16 output pixels starting at input (iy, ix).
@inline(__always) private func tile8x16(_ image: UnsafePointer<Float>, _ weights: UnsafePointer<Float>, c: Int, h: Int, w: Int,
                                        iy: Int, ix: Int, stride: Int, bias: UnsafePointer<Float>,
                                        out: UnsafeMutablePointer<Float>, outPlane: Int) {
    typealias V = SIMD16<Float>
    var a0 = V(repeating: bias[0]), a1 = V(repeating: bias[1]), a2 = V(repeating: bias[2]), a3 = V(repeating: bias[3])
    var a4 = V(repeating: bias[4]), a5 = V(repeating: bias[5]), a6 = V(repeating: bias[6]), a7 = V(repeating: bias[7])
    for ic in 0..<c {
        let plane = image + ic * h * w
        for ky in 0..<3 {
            let row = plane + (iy + ky) * w + ix
            for kx in 0..<3 {
                let v: V
                if stride == 1 {
                    v = UnsafeRawPointer(row + kx).loadUnaligned(as: V.self)
                } else {
                    // Columns ix + kx + 2i: the even lanes of 32 loaded values (gathered near the row's end).
                    v = loadStride2(row + kx, w - ix - kx)
                }
                let k = weights + ((ic * 3 + ky) * 3 + kx) * 8
                a0 = a0.addingProduct(v, V(repeating: k[0])); a1 = a1.addingProduct(v, V(repeating: k[1]))
                a2 = a2.addingProduct(v, V(repeating: k[2])); a3 = a3.addingProduct(v, V(repeating: k[3]))
                a4 = a4.addingProduct(v, V(repeating: k[4])); a5 = a5.addingProduct(v, V(repeating: k[5]))
                a6 = a6.addingProduct(v, V(repeating: k[6])); a7 = a7.addingProduct(v, V(repeating: k[7]))
            }
        }
    }
    @inline(__always) func store(_ acc: V, _ r: Int) {
        UnsafeMutableRawPointer(out + r * outPlane).storeBytes(of: acc.replacing(with: V(repeating: 0), where: acc .< 0), as: V.self)
    }
    store(a0, 0); store(a1, 1); store(a2, 2); store(a3, 3); store(a4, 4); store(a5, 5); store(a6, 6); store(a7, 7)
}

/// Values p[0], p[2], ..., p[30] (16 lanes), reading no further than p[available - 1].
@inline(__always) private func loadStride2(_ p: UnsafePointer<Float>, _ available: Int) -> SIMD16<Float> {
    if available >= 32 { return UnsafeRawPointer(p).loadUnaligned(as: SIMD32<Float>.self).evenHalf }
    var v = SIMD16<Float>()
    for i in 0..<16 { v[i] = p[2 * i] }
    return v
}

/// 8 output channels of one output pixel at input (iy, ix) (rows narrower than 16 outputs).
@inline(__always) private func pixel8(_ image: UnsafePointer<Float>, _ weights: UnsafePointer<Float>, c: Int, h: Int, w: Int,
                                      iy: Int, ix: Int, bias: UnsafePointer<Float>,
                                      out: UnsafeMutablePointer<Float>, outPlane: Int) {
    var acc = SIMD8<Float>(UnsafeBufferPointer(start: bias, count: 8))
    for ic in 0..<c {
        for ky in 0..<3 {
            for kx in 0..<3 {
                let v = image[(ic * h + iy + ky) * w + ix + kx]
                acc = acc.addingProduct(SIMD8(repeating: v), UnsafeRawPointer(weights + ((ic * 3 + ky) * 3 + kx) * 8).loadUnaligned(as: SIMD8<Float>.self))
            }
        }
    }
    for r in 0..<8 { out[r * outPlane] = acc[r] < 0 ? 0 : acc[r] }   // NaN stays NaN, as torch.relu
}
