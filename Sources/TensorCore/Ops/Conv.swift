// conv2d, conv_transpose2d and the convolution weight gradient, as torch.nn.functional.conv2d /
// conv_transpose2d and torch.nn.grad.conv2d_weight. The three are each other's gradients, as in EG3D's
// torch_utils/ops/conv2d_gradfix.py, so every gradient is again made of these ops and differentiates to
// any order (the R1 penalty needs the second). All three run on one ConvShape (Kernels/Im2col.swift)
// whose image and column sizes are explicit, so no output_padding bookkeeping is needed between them.

/// 2-D convolution (cross-correlation), as `torch.nn.functional.conv2d`.
/// - Parameters:
///   - x: (N, C, H, W).
///   - w: (O, C / groups, kH, kW).
///   - bias: (O), optional.
///   - stride, padding, dilation: (height, width).
/// - Returns: (N, O, Ho, Wo) with Ho = ⌊(H + 2·padding.0 - dilation.0·(kH - 1) - 1) / stride.0⌋ + 1.
public func conv2d(_ x: Tensor, _ w: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
                   padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1) -> Tensor {
    require(x.rank == 4, "conv2d: input must be (N, C, H, W), got \(x.shape)")
    require(w.rank == 4, "conv2d: weight must be (O, C/groups, kH, kW), got \(w.shape)")
    checkConvArguments("conv2d", stride: stride, padding: padding, dilation: dilation, groups: groups)
    require(x.shape[1] == w.shape[1] * groups && w.shape[0] % groups == 0,
            "conv2d: input \(x.shape) and weight \(w.shape) do not fit groups=\(groups) (need C = weight.shape[1] · groups and O divisible by groups)")
    let (kh, kw) = (w.shape[2], w.shape[3])
    let oh = ConvShape.outputSize(x.shape[2], k: kh, s: stride.0, p: padding.0, d: dilation.0)
    let ow = ConvShape.outputSize(x.shape[3], k: kw, s: stride.1, p: padding.1, d: dilation.1)
    require(oh >= 1 && ow >= 1, "conv2d: kernel \(w.shape) with dilation \(dilation) and padding \(padding) does not fit input \(x.shape)")
    if let bias { require(bias.shape == [w.shape[0]], "conv2d: bias \(bias.shape) must be (\(w.shape[0]))") }
    let s = ConvShape(n: x.shape[0], c: x.shape[1], o: w.shape[0], groups: groups, ih: x.shape[2], iw: x.shape[3],
                      oh: oh, ow: ow, kh: kh, kw: kw, sh: stride.0, sw: stride.1, ph: padding.0, pw: padding.1,
                      dh: dilation.0, dw: dilation.1)
    return convolve(x, w, bias, s)
}

/// 2-D transposed convolution, as `torch.nn.functional.conv_transpose2d` (the gradient of conv2d with
/// respect to its input).
/// - Parameters:
///   - x: (N, Cin, H, W).
///   - w: (Cin, Cout / groups, kH, kW).
///   - bias: (Cout), optional.
///   - outputPadding: extra rows/columns at the bottom/right; each must be below its stride or dilation.
/// - Returns: (N, Cout, Ho, Wo) with Ho = (H - 1)·stride.0 - 2·padding.0 + dilation.0·(kH - 1) + outputPadding.0 + 1.
public func convTranspose2d(_ x: Tensor, _ w: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
                            padding: (Int, Int) = (0, 0), outputPadding: (Int, Int) = (0, 0), groups: Int = 1,
                            dilation: (Int, Int) = (1, 1)) -> Tensor {
    require(x.rank == 4, "conv_transpose2d: input must be (N, Cin, H, W), got \(x.shape)")
    require(w.rank == 4, "conv_transpose2d: weight must be (Cin, Cout/groups, kH, kW), got \(w.shape)")
    checkConvArguments("conv_transpose2d", stride: stride, padding: padding, dilation: dilation, groups: groups)
    require(x.shape[1] == w.shape[0] && w.shape[0] % groups == 0,
            "conv_transpose2d: input \(x.shape) and weight \(w.shape) do not fit groups=\(groups) (need Cin = weight.shape[0], divisible by groups)")
    require(outputPadding.0 >= 0 && outputPadding.1 >= 0
            && (outputPadding.0 < stride.0 || outputPadding.0 < dilation.0)
            && (outputPadding.1 < stride.1 || outputPadding.1 < dilation.1),
            "conv_transpose2d: output padding \(outputPadding) must be non-negative and smaller than stride \(stride) or dilation \(dilation)")
    let (kh, kw) = (w.shape[2], w.shape[3])
    let ih = (x.shape[2] - 1) * stride.0 - 2 * padding.0 + dilation.0 * (kh - 1) + outputPadding.0 + 1
    let iw = (x.shape[3] - 1) * stride.1 - 2 * padding.1 + dilation.1 * (kw - 1) + outputPadding.1 + 1
    require(ih >= 1 && iw >= 1, "conv_transpose2d: input \(x.shape), weight \(w.shape), padding \(padding) give an empty output (\(ih), \(iw))")
    let cout = w.shape[1] * groups
    if let bias { require(bias.shape == [cout], "conv_transpose2d: bias \(bias.shape) must be (\(cout))") }
    let s = ConvShape(n: x.shape[0], c: cout, o: x.shape[1], groups: groups, ih: ih, iw: iw,
                      oh: x.shape[2], ow: x.shape[3], kh: kh, kw: kw, sh: stride.0, sw: stride.1,
                      ph: padding.0, pw: padding.1, dh: dilation.0, dw: dilation.1)
    return convolveTransposed(x, w, bias, s)
}

/// The gradient of conv2d with respect to its weight, as `torch.nn.grad.conv2d_weight`: for input `x`
/// (N, C, H, W) and output gradient `gradOutput` (N, O, Ho, Wo), the (O, C / groups, kH, kW) tensor
/// Σ gradOutput · x over the batch and the output positions. Differentiable in both arguments.
public func conv2dWeightGrad(_ x: Tensor, _ gradOutput: Tensor, kernel: (Int, Int), stride: (Int, Int) = (1, 1),
                             padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1) -> Tensor {
    require(x.rank == 4 && gradOutput.rank == 4 && x.shape[0] == gradOutput.shape[0],
            "conv2d_weight_grad: input \(x.shape) and output gradient \(gradOutput.shape) must be (N, C, H, W) and (N, O, Ho, Wo)")
    checkConvArguments("conv2d_weight_grad", stride: stride, padding: padding, dilation: dilation, groups: groups)
    require(kernel.0 >= 1 && kernel.1 >= 1, "conv2d_weight_grad: kernel \(kernel) must be positive")
    require(x.shape[1] % groups == 0 && gradOutput.shape[1] % groups == 0,
            "conv2d_weight_grad: channels of \(x.shape) and \(gradOutput.shape) must divide into groups=\(groups)")
    let oh = ConvShape.outputSize(x.shape[2], k: kernel.0, s: stride.0, p: padding.0, d: dilation.0)
    let ow = ConvShape.outputSize(x.shape[3], k: kernel.1, s: stride.1, p: padding.1, d: dilation.1)
    require(gradOutput.shape[2] >= 1 && gradOutput.shape[2] <= oh && gradOutput.shape[3] >= 1 && gradOutput.shape[3] <= ow,
            "conv2d_weight_grad: output gradient \(gradOutput.shape) does not fit the convolution of \(x.shape) (at most (\(oh), \(ow)))")
    let s = ConvShape(n: x.shape[0], c: x.shape[1], o: gradOutput.shape[1], groups: groups, ih: x.shape[2], iw: x.shape[3],
                      oh: gradOutput.shape[2], ow: gradOutput.shape[3], kh: kernel.0, kw: kernel.1,
                      sh: stride.0, sw: stride.1, ph: padding.0, pw: padding.1, dh: dilation.0, dw: dilation.1)
    return convolutionWeightGrad(x, gradOutput, s)
}

func checkConvArguments(_ op: String, stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int), groups: Int) {
    require(stride.0 >= 1 && stride.1 >= 1, "\(op): stride \(stride) must be positive")
    require(dilation.0 >= 1 && dilation.1 >= 1, "\(op): dilation \(dilation) must be positive")
    require(padding.0 >= 0 && padding.1 >= 0, "\(op): padding \(padding) must be non-negative")
    require(groups >= 1, "\(op): groups must be positive, got \(groups)")
}

// The ops proper. On shape s: image (N, C, ih, iw) <-> columns (N, O, oh, ow), weight (O, C/groups, kh, kw).

/// image -> columns.
func convolve(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ s: ConvShape) -> Tensor {
    let row = RowConvShape(s, transposed: false)
    let tap = row == nil && WinogradShape(s, transposed: false) == nil ? TapConvShape(s, transposed: false) : nil
    // The tap path reads any strides (its padded copy); the others need a dense input.
    let xc = tap == nil ? x.contiguous() : x, wc = w.contiguous(), bc = bias?.contiguous()
    let out = Tensor(uninitializedShape: [s.n, s.o, s.oh, s.ow])
    withExtendedLifetime((xc, wc, bc)) { serialBelow(s.multiplyAdds) {
        // 3×3, stride 1, padding 1 where it pays: Winograd F(2×2, 3×3) (2.25× fewer multiplies, the same function up
        // to rounding); other stride-1 kernels on narrow outputs: tap GEMMs; else the implicit GEMM convolution. Before
        // them, few channels on narrow maps: the row kernel (Kernels/RowConv.swift).
        if let rs = row, out.count > 0 {
            rowConvForward(xc.data, wc.data, bc.map { UnsafePointer($0.data) }, rs, out.data)
        } else if let ws = WinogradShape(s, transposed: false), out.count > 0 {
            winogradConvForward(xc.data, wc.data, bc.map { UnsafePointer($0.data) }, ws, out.data)
        } else if let ts = tap, out.count > 0 {
            // Stride 1 on narrow outputs: one GEMM per kernel tap over the padded image (Kernels/TapConv.swift).
            tapConvForward(xc.storage.base + xc.offset, wc.data, bc.map { UnsafePointer($0.data) }, ts, out.data,
                           xStrides: xc.strides)
        } else {
            convForward(xc.data, wc.data, bc.map { UnsafePointer($0.data) }, s, out.data)
        }
    } }
    return out.recorded("conv2d", [xc, wc] + (bc.map { [$0] } ?? [])) { g, needs in
        [needs[0] ? convolveTransposed(g, wc, nil, s) : nil,
         needs[1] ? convolutionWeightGrad(xc, g, s) : nil] + (bc == nil ? [] : [needs[2] ? g.sum(axes: [0, 2, 3]) : nil])
    }
}

/// columns -> image.
func convolveTransposed(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ s: ConvShape) -> Tensor {
    let xc = x.contiguous(), wc = w.contiguous(), bc = bias?.contiguous()
    let out = Tensor(uninitializedShape: [s.n, s.c, s.ih, s.iw])
    withExtendedLifetime((xc, wc, bc)) { serialBelow(s.multiplyAdds) {
        // conv2d's input gradient for a 3×3, stride-1, padding-1 convolution is one too, with the filters rotated. (For
        // other stride-1 convolutions it is a tap-GEMM convolution with full padding, off while it does not pay.)
        if let rs = RowConvShape(s, transposed: true), out.count > 0 {
            rowConvForward(xc.data, wc.data, bc.map { UnsafePointer($0.data) }, rs, out.data)
        } else if let ws = WinogradShape(s, transposed: true), out.count > 0 {
            winogradConvForward(xc.data, wc.data, bc.map { UnsafePointer($0.data) }, ws, out.data, flipped: true)
        } else if let ts = TapConvShape(s, transposed: true), out.count > 0 {
            tapConvForward(xc.data, wc.data, bc.map { UnsafePointer($0.data) }, ts, out.data)
        } else {
            convTransposeForward(xc.data, wc.data, bc.map { UnsafePointer($0.data) }, s, out.data)
        }
    } }
    return out.recorded("conv_transpose2d", [xc, wc] + (bc.map { [$0] } ?? [])) { g, needs in
        [needs[0] ? convolve(g, wc, nil, s) : nil,
         needs[1] ? convolutionWeightGrad(g, xc, s) : nil] + (bc == nil ? [] : [needs[2] ? g.sum(axes: [0, 2, 3]) : nil])
    }
}

/// (image, columns) -> weight. Bilinear: its gradients are a convolution and a transposed convolution.
func convolutionWeightGrad(_ x: Tensor, _ gy: Tensor, _ s: ConvShape) -> Tensor {
    let xc = x.contiguous(), gc = gy.contiguous()
    let out = Tensor(uninitializedShape: s.weightShape)
    withExtendedLifetime((xc, gc)) { serialBelow(s.multiplyAdds) {
        if let rs = RowConvShape(s, transposed: false, weightGradient: true), s.n > 0 {
            rowConvWeightGrad(xc.data, gc.data, rs, out.data)
        } else if winogradWeightGradEnabled, let ws = WinogradShape(s, transposed: false), Swift.min(ws.c, ws.o) >= winogradWeightGradMinimumChannels {
            winogradWeightGrad(xc.data, gc.data, ws, out.data)
        } else {
            convWeightGrad(xc.data, gc.data, s, out.data)
        }
    } }
    return out.recorded("conv2d_weight_grad", [xc, gc]) { g, needs in
        [needs[0] ? convolveTransposed(gc, g, nil, s) : nil,
         needs[1] ? convolve(xc, g, nil, s) : nil]
    }
}
