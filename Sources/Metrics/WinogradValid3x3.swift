// Inception's Conv2d_4a_3x3 (80 -> 192, 3x3, stride 1, no padding, 73² -> 71²) by TensorCore's Winograd kernel, which
// pads by 1: the border of the padded result is cropped. conv2d does not take Winograd for unpadded convolutions; this
// measured 1.56x / 1.07x conv2d at batch 8, 1 / 2 threads (the timing probe InceptionTests.testStemBenchmark, in the
// tree until commit af8952b; loaded machine).
import TensorCore

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
