// conv2d for 3×3 kernels with stride 1 and padding 1 by Winograd's F(2×2, 3×3) (Kernels/WinogradKernels.swift),
// always: 2.25× fewer multiplies than the GEMM convolution. conv2d itself already picks this kernel where it pays
// (WinogradShape(_:transposed:), measured thresholds), for its input gradient too; conv2dWinograd forces it. Same
// result as conv2d up to rounding; its gradients are conv2d's (a transposed convolution and the weight gradient), so
// it differentiates exactly like conv2d.

/// `conv2d(x, w, bias: bias, padding: (1, 1))` for w (O, C, 3, 3), by F(2×2, 3×3). x: (N, C, H, W) -> (N, O, H, W).
public func conv2dWinograd(_ x: Tensor, _ w: Tensor, bias: Tensor? = nil) -> Tensor {
    require(x.rank == 4, "conv2dWinograd: input must be (N, C, H, W), got \(x.shape)")
    require(w.rank == 4 && w.shape[1] == x.shape[1] && w.shape[2] == 3 && w.shape[3] == 3,
            "conv2dWinograd: weight \(w.shape) must be (O, \(x.shape[1]), 3, 3)")
    let (n, c, h, wd, o) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0])
    if let bias { require(bias.shape == [o], "conv2dWinograd: bias \(bias.shape) must be (\(o))") }
    let s = ConvShape(n: n, c: c, o: o, groups: 1, ih: h, iw: wd, oh: h, ow: wd, kh: 3, kw: 3, sh: 1, sw: 1,
                      ph: 1, pw: 1, dh: 1, dw: 1)
    let xc = x.contiguous(), wc = w.contiguous(), bc = bias?.contiguous()
    let out = Tensor(uninitializedShape: [n, o, h, wd])
    if out.count > 0 && c > 0 {
        withExtendedLifetime((xc, wc, bc)) {
            winogradConvForward(xc.data, wc.data, bc.map { UnsafePointer($0.data) },
                                WinogradShape(n: n, c: c, o: o, h: h, w: wd), out.data)
        }
    } else if out.count > 0 {
        for b in 0..<n { for oc in 0..<o { (out.data + (b * o + oc) * h * wd).initialize(repeating: bc?.data[oc] ?? 0, count: h * wd) } }
    }
    return out.recorded("conv2d", [xc, wc] + (bc.map { [$0] } ?? [])) { g, needs in
        [needs[0] ? convolveTransposed(g, wc, nil, s) : nil,
         needs[1] ? convolutionWeightGrad(xc, g, s) : nil] + (bc == nil ? [] : [needs[2] ? g.sum(axes: [0, 2, 3]) : nil])
    }
}
