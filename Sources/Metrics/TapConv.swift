// Stride-1 convolutions of Inception's mixed blocks (5x5 and 3x3 over 35², 1x7 and 7x1 over 17²) as a sum of
// shifted GEMMs, one per kernel tap, over the zero-padded image flattened row by row:
//
//   full[o, y·Wp + x] = Σ_t Σ_c W_t[o, c] · xp[c, (y + ky_t)·Wp + x + kx_t]       (Wp = W + 2·pw, t = (ky, kx))
//
// Each tap's B operand is the padded plane itself shifted by ky·Wp + kx: a plain row-major matrix (row stride
// = the padded plane), so the GEMM packs it with contiguous loads. TensorCore's implicit GEMM instead packs
// 32-column panels of im2col, which on 35-, 17- and 8-wide outputs mostly straddle output rows and take the
// slow per-element path; at these sizes that packing, not the multiply-adds, dominated. The price is computing
// the kw − 1 columns x ≥ Wo of each row too (garbage, dropped when cropping): 11% extra for 5x5 at 35², none
// for the 7x1 kernels. The crop adds the bias and applies ReLU (the folded BasicConv2d's epilogue).
// The reference is FoldedConv (conv2d), compared in Tests/MetricsTests/InceptionTests.swift.
import TensorCore

/// A folded stride-1 convolution with its weights regrouped per tap: relu(conv2d(x, w, b, padding)).
public struct TapConv {
    /// (taps, out, in): W_t for t = ky · kW + kx.
    public let tapWeights: Tensor
    /// (out)
    public let bias: Tensor
    public let kernel: (Int, Int)
    public let padding: (Int, Int)

    public var inChannels: Int { tapWeights.shape[2] }
    public var outChannels: Int { tapWeights.shape[1] }

    /// From a folded convolution with stride 1.
    public init(_ conv: FoldedConv) {
        require(conv.stride == (1, 1), "TapConv: stride \(conv.stride) is not 1")
        let (o, c, kh, kw) = (conv.weight.shape[0], conv.weight.shape[1], conv.weight.shape[2], conv.weight.shape[3])
        let w = conv.weight.contiguous().toArray(), taps = kh * kw
        var regrouped = [Float](repeating: 0, count: w.count)
        for oc in 0..<o { for ic in 0..<c { for t in 0..<taps { regrouped[(t * o + oc) * c + ic] = w[(oc * c + ic) * taps + t] } } }
        tapWeights = Tensor(regrouped, shape: [taps, o, c])
        bias = conv.bias.contiguous()
        kernel = (kh, kw)
        padding = conv.padding
    }

    /// x: (N, in, H, W), any strides -> relu(conv(x) + bias): (N, out, H + 2·ph − kh + 1, W + 2·pw − kw + 1).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        require(x.rank == 4 && x.shape[1] == inChannels, "TapConv: input \(x.shape) must be (N, \(inChannels), H, W)")
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (kh, kw) = kernel, (ph, pw) = padding, o = outChannels
        let hp = h + 2 * ph, wp = w + 2 * pw
        require(hp >= kh && wp >= kw, "TapConv: kernel \(kernel) does not fit input \(x.shape) with padding \(padding)")
        let ho = hp - kh + 1, wo = wp - kw + 1
        // Padded planes (N, C, plane), with kw − 1 zeros after each so the last row's shifted reads stay inside it.
        let plane = hp * wp + kw - 1, columns = ho * wp
        // A workspace of its own rather than a pooled tensor: its size is peculiar to this layer and input.
        let pd = UnsafeMutablePointer<Float>.allocate(capacity: n * c * plane)
        defer { pd.deallocate() }
        pd.initialize(repeating: 0, count: n * c * plane)
        let out = Tensor(uninitializedShape: [n, o, ho, wo])
        let xs = x.strides, src = x.storage.base + x.offset
        parallelFor(n * c) { nc in
            let (b, ic) = (nc / c, nc % c)
            let from = src + b * xs[0] + ic * xs[1], to = pd + nc * plane + ph * wp + pw
            for y in 0..<h {
                if xs[3] == 1 { (to + y * wp).update(from: from + y * xs[2], count: w) }
                else { for i in 0..<w { to[y * wp + i] = from[y * xs[2] + i * xs[3]] } }
            }
        }
        // Tasks: (image, block of output channels), enough of them for every thread.
        let blocks = Swift.max(1, Swift.min((2 * Parallel.threadCount + n - 1) / n, o / 12))
        let rowsPerBlock = (o + blocks - 1) / blocks
        let wt = tapWeights.data, bias = self.bias.data, od = out.data
        withExtendedLifetime((x, tapWeights, self.bias)) {
            parallelFor(n * blocks) { task in
                let (b, o0) = (task / blocks, (task % blocks) * rowsPerBlock)
                let rows = Swift.min(rowsPerBlock, o - o0)
                guard rows > 0 else { return }
                let full = UnsafeMutablePointer<Float>.allocate(capacity: rows * columns)
                defer { full.deallocate() }
                let image = pd + b * c * plane
                for t in 0..<(kh * kw) {
                    let (ky, kx) = (t / kw, t % kw)
                    gemm(m: rows, n: columns, k: c, MatrixRef(wt + (t * o + o0) * c, rs: c, cs: 1),
                         MatrixRef(image + ky * wp + kx, rs: plane, cs: 1), full, ldc: columns, accumulate: t > 0)
                }
                for r in 0..<rows {
                    let beta = bias[o0 + r]
                    for y in 0..<ho {
                        let s = full + r * columns + y * wp, d = od + ((b * o + o0 + r) * ho + y) * wo
                        for i in 0..<wo { d[i] = Swift.max(s[i] + beta, 0) }
                    }
                }
            }
        }
        return out
    }
}

/// relu(conv2d(x, w, b)) for a 3x3 stride-1 convolution WITHOUT padding (Inception's Conv2d_4a_3x3, 80 -> 192 at
/// 73² -> 71²) by TensorCore's Winograd F(2x2, 3x3), which pads by 1: the padded result's border is cropped
/// (4% more positions than needed, for 2.25x fewer multiplies). x: (N, C, H, W) -> (N, O, H − 2, W − 2).
func winogradValid3x3(_ x: Tensor, _ conv: FoldedConv) -> Tensor {
    require(conv.stride == (1, 1) && conv.padding == (0, 0) && conv.weight.shape[2] == 3 && conv.weight.shape[3] == 3,
            "winogradValid3x3: needs a 3x3 convolution with stride 1 and no padding, got \(conv.weight.shape), stride \(conv.stride), padding \(conv.padding)")
    let y = conv2dWinograd(x, conv.weight, bias: conv.bias)                          // (N, O, H, W)
    let (n, o, h, w) = (y.shape[0], y.shape[1], y.shape[2], y.shape[3])
    let out = Tensor(uninitializedShape: [n, o, h - 2, w - 2])
    let s = y.data, d = out.data
    withExtendedLifetime(y) {
        parallelFor(n * o) { plane in
            for r in 0..<(h - 2) {
                let from = s + (plane * h + r + 1) * w + 1, to = d + (plane * (h - 2) + r) * (w - 2)
                for i in 0..<(w - 2) { to[i] = Swift.max(from[i], 0) }
            }
        }
    }
    return out
}
