// bias_act: bias add, activation, gain and clamp in one call, as StyleGAN2 / EG3D's
// torch_utils/ops/bias_act.py (`_bias_act_ref` semantics and default alphas and gains). linear, relu and
// lrelu (every StyleGAN layer) run one fused forward pass; their backward is a multiply by a mask made
// from the output, written in ops (the mask is piecewise constant, so the second derivative through it is
// zero, as the reference's has_2nd_grad=False says). The other activations are composed from ops.
import Foundation

/// The activations of bias_act, with the reference's default alpha and gain.
public enum BiasActivation: String, Sendable, CaseIterable {
    case linear, relu, lrelu, tanh, sigmoid, elu, selu, softplus, swish

    /// 0.2 for lrelu, 0 otherwise.
    public var defaultAlpha: Float { self == .lrelu ? 0.2 : 0 }
    /// √2 for relu, lrelu and swish, 1 otherwise.
    public var defaultGain: Float {
        switch self {
        case .relu, .lrelu, .swish: return Float(2.0.squareRoot())
        default: return 1
        }
    }
}

/// Adds bias `b` along axis `dim`, applies `act`, scales by `gain` and clamps to [-clamp, clamp], as EG3D's
/// `bias_act` (`_bias_act_ref`).
/// - Parameters:
///   - x: any shape.
///   - b: (x.shape[dim]), optional.
///   - alpha: lrelu's negative slope (default `act.defaultAlpha`); unused by the other activations.
///   - gain: scale after the activation (default `act.defaultGain`).
///   - clamp: if given (>= 0), the output is clamped to [-clamp, clamp] after the gain.
public func biasAct(_ x: Tensor, _ b: Tensor? = nil, dim: Int = 1, act: BiasActivation = .linear,
                    alpha: Float? = nil, gain: Float? = nil, clamp: Float? = nil) -> Tensor {
    let d = x.axis(dim, "bias_act")
    if let b { require(b.rank == 1 && b.shape[0] == x.shape[d], "bias_act: bias \(b.shape) must be (\(x.shape[d])) for input \(x.shape) along dim \(dim)") }
    if let clamp { require(clamp >= 0, "bias_act: clamp must be non-negative, got \(clamp)") }
    let a = alpha ?? act.defaultAlpha, g = gain ?? act.defaultGain
    switch act {
    case .linear: return b == nil && g == 1 && clamp == nil ? x : biasLeaky(x, b, dim: d, slope: 1, gain: g, clamp: clamp)
    case .relu: return biasLeaky(x, b, dim: d, slope: 0, gain: g, clamp: clamp)
    case .lrelu: return biasLeaky(x, b, dim: d, slope: a, gain: g, clamp: clamp)
    default: break
    }
    var v = x
    if let b { v = v + b.reshape((0..<x.rank).map { $0 == d ? -1 : 1 }) }
    switch act {
    case .tanh: v = v.tanh()
    case .sigmoid: v = v.sigmoid()
    case .elu: v = Tensor.where(v.gt(0), v, v.clamp(max: 0).exp() - 1)
    case .selu:
        let alpha: Float = 1.6732632423543772848170429916717, scale: Float = 1.0507009873554804934193349852946
        v = Tensor.where(v.gt(0), v * scale, (v.clamp(max: 0).exp() - 1) * (alpha * scale))
    case .softplus: v = v.softplus()
    case .swish: v = v.sigmoid() * v
    case .linear, .relu, .lrelu: break
    }
    if g != 1 { v = v * g }
    if let clamp { v = v.clamp(min: -clamp, max: clamp) }
    return v
}

/// `biasAct` for linear, relu and lrelu written over `x`'s own storage, for inference: it saves the output
/// buffer (128 MB for one 128 × 512² activation of EG3D's super-resolution). Only where nothing is recorded (no
/// input needs a gradient, or inside `withNoGrad`); otherwise, or for a non-contiguous `x`, it is `biasAct`.
/// - Precondition: no other tensor still needed shares `x`'s storage (use it on an op's fresh output).
public func biasActInPlace(_ x: Tensor, _ b: Tensor? = nil, dim: Int = 1, act: BiasActivation = .linear,
                           alpha: Float? = nil, gain: Float? = nil, clamp: Float? = nil) -> Tensor {
    let records = GradMode.isEnabled && (x.requiresGrad || b?.requiresGrad == true)
    guard !records, x.isContiguous, [.linear, .relu, .lrelu].contains(act) else {
        return biasAct(x, b, dim: dim, act: act, alpha: alpha, gain: gain, clamp: clamp)
    }
    let d = x.axis(dim, "bias_act")
    if let b { require(b.rank == 1 && b.shape[0] == x.shape[d], "bias_act: bias \(b.shape) must be (\(x.shape[d])) for input \(x.shape) along dim \(dim)") }
    if let clamp { require(clamp >= 0, "bias_act: clamp must be non-negative, got \(clamp)") }
    let slope = act == .lrelu ? alpha ?? act.defaultAlpha : (act == .relu ? 0 : 1)
    let bc = b?.contiguous()
    let outer = x.shape[..<d].reduce(1, *), c = x.shape[d], inner = x.shape[(d + 1)...].reduce(1, *)
    withExtendedLifetime(bc) {
        // Element-wise, each output written where its input was read: safe in place.
        biasLeakyForward(x.data, bc.map { UnsafePointer($0.data) }, outer: outer, c: c, inner: inner,
                         slope: slope, gain: gain ?? act.defaultGain, clamp: clamp ?? .infinity, x.data)
    }
    return x
}

/// clamp(gain · leaky(x + b, slope)) in one pass: slope 1 is linear, 0 is relu.
func biasLeaky(_ x: Tensor, _ b: Tensor?, dim: Int, slope: Float, gain: Float, clamp: Float?) -> Tensor {
    let xc = x.contiguous(), bc = b?.contiguous()
    let out = Tensor(uninitializedShape: x.shape)
    let outer = x.shape[..<dim].reduce(1, *), c = x.shape[dim], inner = x.shape[(dim + 1)...].reduce(1, *)
    withExtendedLifetime((xc, bc)) {
        biasLeakyForward(xc.data, bc.map { UnsafePointer($0.data) }, outer: outer, c: c, inner: inner,
                         slope: slope, gain: gain, clamp: clamp ?? .infinity, out.data)
    }
    let y = out.detach()
    let axes = (0..<x.rank).filter { $0 != dim }
    return out.recorded("bias_act", [xc] + (bc.map { [$0] } ?? [])) { g, needs in
        // dy/dx = gain · (slope where the pre-activation is <= 0) · (0 where clamped), read off y.
        // Where |y| == clamp the value was clamped (CUDA bias_act's rule; the reference also passes the
        // gradient when the pre-clamp value is exactly ±clamp, a set of measure zero).
        let mask = mapUnary(y, BiasActSlopeMap(slope: slope, gain: gain, sign: gain < 0 ? -1 : 1, clamp: clamp))
        let gx = g * mask
        return [gx] + (bc == nil ? [] : [needs[1] ? gx.sum(axes: axes) : nil])
    }
}

/// y = clamp(gain · (v > 0 ? v : slope · v)), v = x + b[channel]. NaN passes through.
// x: (outer, C, inner) dense, b: (C) -> y: (outer, C, inner)
func biasLeakyForward(_ x: UnsafePointer<Float>, _ b: UnsafePointer<Float>?, outer: Int, c: Int, inner: Int,
                      slope: Float, gain: Float, clamp: Float, _ y: UnsafeMutablePointer<Float>) {
    let vs = V(repeating: slope), vg = V(repeating: gain), hi = V(repeating: clamp), lo = V(repeating: -clamp)
    @inline(__always) func f(_ v: V) -> V {
        let a: V = v.replacing(with: v * vs, where: v .< 0) * vg
        return a.replacing(with: hi, where: a .> hi).replacing(with: lo, where: a .< lo)
    }
    @inline(__always) func f1(_ v: Float) -> Float {
        let a = (v < 0 ? v * slope : v) * gain
        return a > clamp ? clamp : (a < -clamp ? -clamp : a)
    }
    if inner == 1 {
        // Bias along the last axis: rows of C with a bias vector.
        parallelRanges(outer, grain: Swift.max(1, 32768 / Swift.max(c, 1))) { rows in
            for r in rows {
                let s = x + r * c, d = y + r * c
                var i = 0
                if let b {
                    while i + vWidth <= c { vstore(f(vload(s + i) + vload(b + i)), d + i); i += vWidth }
                    while i < c { d[i] = f1(s[i] + b[i]); i += 1 }
                } else {
                    while i + vWidth <= c { vstore(f(vload(s + i)), d + i); i += vWidth }
                    while i < c { d[i] = f1(s[i]); i += 1 }
                }
            }
        }
        return
    }
    parallelRanges(outer * c, grain: Swift.max(1, 32768 / inner)) { rows in
        for r in rows {
            let bias = b?[r % c] ?? 0, vb = V(repeating: bias)
            let s = x + r * inner, d = y + r * inner
            var i = 0
            while i + vWidth <= inner { vstore(f(vload(s + i) + vb), d + i); i += vWidth }
            while i < inner { d[i] = f1(s[i] + bias); i += 1 }
        }
    }
}

/// Naive bias_act for linear / relu / lrelu (the fused kernel's reference).
func biasLeakyReference(_ x: UnsafePointer<Float>, _ b: UnsafePointer<Float>?, outer: Int, c: Int, inner: Int,
                        slope: Float, gain: Float, clamp: Float, _ y: UnsafeMutablePointer<Float>) {
    for i in 0..<(outer * c * inner) {
        let v = x[i] + (b?[(i / inner) % c] ?? 0)
        y[i] = Swift.min(Swift.max((v > 0 ? v : v * slope) * gain, -clamp), clamp)
    }
}

/// bias_act's local slope read off its output y: gain · (slope where y · sign(gain) <= 0), 0 where |y| reached clamp.
struct BiasActSlopeMap: UnaryMap {
    let slope: Float, gain: Float, sign: Float, clamp: Float?
    @inline(__always) func vector(_ v: V) -> V {
        let m = V(repeating: slope * gain).replacing(with: V(repeating: gain), where: v * sign .> 0)
        guard let lim = clamp else { return m }
        return m.replacing(with: 0, where: v .>= V(repeating: lim)).replacing(with: 0, where: v .<= V(repeating: -lim))
    }
    @inline(__always) func scalar(_ v: Float) -> Float {
        if let lim = clamp, Swift.abs(v) >= lim { return 0 }
        return v * sign > 0 ? gain : slope * gain
    }
}
