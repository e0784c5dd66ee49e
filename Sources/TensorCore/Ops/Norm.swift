// Layer norm and group norm as torch.nn.functional.layer_norm / group_norm (biased variance, eps inside the
// square root; group norm splits the channels into contiguous groups, as PyTorch). The forward is one fused
// kernel (Kernels/NormKernels.swift). The first-order backward is the fused backward kernel; under createGraph the
// backward is written in TensorCore ops instead, so norms differentiate twice (EG3D's R1 penalty).
import Foundation

/// `torch.nn.functional.layer_norm`: normalises over the last `normalizedShape.count` axes of `x`, which
/// must equal `normalizedShape`; `weight` and `bias` (optional) have shape `normalizedShape`.
public func layerNorm(_ x: Tensor, normalizedShape: [Int], weight: Tensor? = nil, bias: Tensor? = nil,
                      eps: Float = 1e-5) -> Tensor {
    let k = normalizedShape.count
    require(k >= 1 && x.rank >= k && Array(x.shape.suffix(k)) == normalizedShape,
            "layerNorm: normalizedShape \(normalizedShape) is not the trailing shape of input \(x.shape)")
    require(weight.map { $0.shape == normalizedShape } ?? true,
            "layerNorm: weight \(weight?.shape ?? []) must have shape \(normalizedShape)")
    require(bias.map { $0.shape == normalizedShape } ?? true,
            "layerNorm: bias \(bias?.shape ?? []) must have shape \(normalizedShape)")
    let d = normalizedShape.reduce(1, *)
    require(d >= 1, "layerNorm: normalizedShape \(normalizedShape) is empty")
    let layout = NormLayout(rows: x.count / d, groups: 1, segments: d, segmentLength: 1)
    return fusedNorm(x, weight, bias, layout, eps: eps, "layer_norm",
                     paramAxes: Array(0..<(x.rank - k)), broadcastParam: { $0 })
}

/// `torch.nn.functional.group_norm`: `x` is (N, C, *), the C channels split into `groups` contiguous groups,
/// each normalised over its channels and all trailing axes; `weight` and `bias` (optional) have shape (C).
public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor? = nil, bias: Tensor? = nil, eps: Float = 1e-5) -> Tensor {
    require(x.rank >= 2, "groupNorm: input must be (N, C, ...), got \(x.shape)")
    let c = x.shape[1]
    require(groups >= 1 && c % groups == 0, "groupNorm: \(c) channels of input \(x.shape) do not split into \(groups) groups")
    require(weight.map { $0.shape == [c] } ?? true, "groupNorm: weight \(weight?.shape ?? []) must have shape [\(c)]")
    require(bias.map { $0.shape == [c] } ?? true, "groupNorm: bias \(bias?.shape ?? []) must have shape [\(c)]")
    let s = x.shape.dropFirst(2).reduce(1, *)
    require(s * (c / groups) >= 1, "groupNorm: input \(x.shape) has empty groups")
    let layout = NormLayout(rows: x.shape[0] * groups, groups: groups, segments: c / groups, segmentLength: s)
    let spatial = [Int](repeating: 1, count: x.rank - 2)
    return fusedNorm(x, weight, bias, layout, eps: eps, "group_norm",
                     paramAxes: [0] + Array(2..<x.rank), broadcastParam: { $0.reshape([c] + spatial) })
}

/// Runs the fused forward and records the backward. `paramAxes`: the axes of x that weight/bias are summed
/// over in their gradients; `broadcastParam` reshapes weight/bias to broadcast against x.
func fusedNorm(_ x: Tensor, _ weight: Tensor?, _ bias: Tensor?, _ l: NormLayout, eps: Float, _ op: String,
               paramAxes: [Int], broadcastParam: @escaping (Tensor) -> Tensor) -> Tensor {
    let xc = withNoGrad { x.contiguous() }
    let wv = weight.map { w in withNoGrad { w.contiguous() } } ?? Tensor.ones([l.parameters])
    let bv = bias.map { b in withNoGrad { b.contiguous() } } ?? Tensor.zeros([l.parameters])
    let out = Tensor(uninitializedShape: x.shape)
    let mean = Tensor(uninitializedShape: [l.rows]), rstd = Tensor(uninitializedShape: [l.rows])
    withExtendedLifetime((xc, wv, bv)) {
        normForward(xc.data, wv.data, bv.data, l, eps: eps, out.data, mean: mean.data, rstd: rstd.data)
    }
    let inputs = [x] + (weight.map { [$0] } ?? []) + (bias.map { [$0] } ?? [])
    let wi = weight == nil ? -1 : 1, bi = bias == nil ? -1 : (weight == nil ? 1 : 2)
    return out.recorded(op, inputs) { g, needs in
        let needX = needs[0], needW = wi >= 0 && needs[wi], needB = bi >= 0 && needs[bi]
        var dx: Tensor?, dw: Tensor?, db: Tensor?
        if GradMode.isEnabled {
            // createGraph: the backward in ops, differentiable again.
            let d = l.rowLength
            let xr = x.reshape([l.rows, d])
            let centred = xr - xr.mean(axes: [1], keepDims: true)
            let r = ((centred * centred).mean(axes: [1], keepDims: true) + eps).rsqrt()
            let xh = centred * r
            if needX {
                let gr = (weight.map { g * broadcastParam($0) } ?? g).reshape([l.rows, d])
                let t = gr - gr.mean(axes: [1], keepDims: true) - xh * (gr * xh).mean(axes: [1], keepDims: true)
                dx = (t * r).reshape(x.shape)
            }
            if needW, let weight { dw = (g * xh.reshape(x.shape)).sum(axes: paramAxes).reshape(weight.shape) }
            if needB, let bias { db = g.sum(axes: paramAxes).reshape(bias.shape) }
        } else {
            let gc = g.contiguous()
            dx = needX ? Tensor(uninitializedShape: x.shape) : nil
            let dwFull = needW ? Tensor(uninitializedShape: [l.parameters]) : nil
            let dbFull = needB ? Tensor(uninitializedShape: [l.parameters]) : nil
            withExtendedLifetime((gc, xc, wv, mean, rstd)) {
                normBackward(gc.data, xc.data, wv.data, l, mean: mean.data, rstd: rstd.data,
                             dx: dx?.data, dw: dwFull?.data, db: dbFull?.data)
            }
            dw = dwFull.map { $0.reshape(weight!.shape) }
            db = dbFull.map { $0.reshape(bias!.shape) }
        }
        var grads: [Tensor?] = [dx]
        if weight != nil { grads.append(dw) }
        if bias != nil { grads.append(db) }
        return grads
    }
}

/// silu(group_norm(x)): the pre-activation of every ResNet block of a latent-diffusion U-Net or VAE
/// (diffusers ResnetBlock2D: norm, then SiLU). When a gradient may be needed it is exactly the composition
/// `groupNorm(...).silu()` (and differentiates as such); in inference (no recording, or no input requiring a
/// gradient) the SiLU is applied in place on the normalised tensor, so no second full-size tensor is made.
public func groupNormSiLU(_ x: Tensor, groups: Int, weight: Tensor? = nil, bias: Tensor? = nil, eps: Float = 1e-5) -> Tensor {
    let y = groupNorm(x, groups: groups, weight: weight, bias: bias, eps: eps)
    if y.requiresGrad { return y.silu() }
    // y is fresh, dense and unrecorded: ours to overwrite.
    let p = y.data, n = y.count
    parallelVectorRanges(n, grain: elementwiseGrain) { r in
        var i = r.lowerBound
        while i + vWidth <= r.upperBound { let v = vload(p + i); vstore(v * vsigmoid(v), p + i); i += vWidth }
        while i < r.upperBound { p[i] = p[i] / (1 + Foundation.exp(-p[i])); i += 1 }
    }
    return y
}
