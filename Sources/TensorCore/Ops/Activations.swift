// Elementwise math and activations, each with its backward written in TensorCore ops (so it can be
// differentiated again). Transcendentals use the SIMD exp where it exists and glibc otherwise.
import Foundation

/// The scalar tail of verf: the same formula, so an element's value does not depend on its position.
@inline(__always) func verfScalar(_ x: Float) -> Float { verf(V(repeating: x))[0] }

@inline(__always) func lanes(_ v: V, _ f: (Float) -> Float) -> V {
    var r = v
    for i in 0..<vWidth { r[i] = f(v[i]) }
    return r
}

extension Tensor {
    public func exp() -> Tensor {
        let out = mapUnary(self, ExpMap())
        return out.recordedUsingOutput("exp", [self]) { g, _, out in [g * out] }
    }
    public func log() -> Tensor {
        let x = self
        return mapUnary(x, { lanes($0, Foundation.log) }, { Foundation.log($0) })
            .recorded("log", [x]) { g, _ in [g / x] }
    }
    public func sqrt() -> Tensor {
        let out = mapUnary(self, { lanes($0, { $0.squareRoot() }) }, { $0.squareRoot() })
        return out.recordedUsingOutput("sqrt", [self]) { g, _, out in [g * 0.5 / out] }
    }
    public func rsqrt() -> Tensor {
        let out = mapUnary(self, { 1 / lanes($0, { $0.squareRoot() }) }, { 1 / $0.squareRoot() })
        return out.recordedUsingOutput("rsqrt", [self]) { g, _, out in [g * out * out * out * -0.5] }
    }
    public func abs() -> Tensor {
        let x = self
        return mapUnary(x, { $0.replacing(with: -$0, where: $0 .< 0) }, { Swift.abs($0) })
            .recorded("abs", [x]) { g, _ in [g * x.sign()] }
    }
    /// -1, 0 or 1 (no gradient).
    public func sign() -> Tensor {
        mapUnary(self, { v in V(repeating: 0).replacing(with: 1, where: v .> 0).replacing(with: -1, where: v .< 0) },
                 { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) })
    }
    public func sin() -> Tensor {
        let x = self
        return mapUnary(x, { lanes($0, Foundation.sin) }, { Foundation.sin($0) })
            .recorded("sin", [x]) { g, _ in [g * x.cos()] }
    }
    public func cos() -> Tensor {
        let x = self
        return mapUnary(x, { lanes($0, Foundation.cos) }, { Foundation.cos($0) })
            .recorded("cos", [x]) { g, _ in [-(g * x.sin())] }
    }
    public func tanh() -> Tensor {
        let out = mapUnary(self, { lanes($0, Foundation.tanh) }, { Foundation.tanh($0) })
        return out.recordedUsingOutput("tanh", [self]) { g, _, out in
            GradMode.isEnabled ? [g * (1 - out * out)]
                : [mapBinary(g, out, "tanh_backward", TanhBackwardMap())]
        }
    }
    public func sigmoid() -> Tensor {
        let out = mapUnary(self, SigmoidMap())
        return out.recordedUsingOutput("sigmoid", [self]) { g, _, out in
            GradMode.isEnabled ? [g * out * (1 - out)]
                : [mapBinary(g, out, "sigmoid_backward", SigmoidBackwardMap())]
        }
    }
    public func erf() -> Tensor {
        let x = self
        return mapUnary(x, ErfMap())
            .recorded("erf", [x]) { g, _ in [g * (x * x * -1).exp() * Float(2 / Double.pi.squareRoot())] }
    }

    /// PyTorch's softplus: log(1 + e^(βx)) / β, and x itself where βx > threshold.
    /// torch.nn.functional.softplus: x where βx > threshold, else log(1 + e^(βx))/β. Vectorised (vsoftplus); the
    /// scalar tail uses the same lanes, so an element's value does not depend on its position.
    public func softplus(beta: Float = 1, threshold: Float = 20) -> Tensor {
        let x = self
        return mapUnary(x, SoftplusMap(beta: beta, threshold: threshold))
            .recorded("softplus", [x]) { g, _ in
                guard !GradMode.isEnabled else {
                    let z = x * beta
                    return [g * Tensor.where(z.gt(threshold), Tensor(scalar: 1), z.sigmoid())]
                }
                // First-order backward fused into one pass: g·σ(βx), or g where βx > threshold.
                return [mapBinary(g, x, "softplus_backward", SoftplusBackwardMap(beta: beta, threshold: threshold))]
            }
    }
    public func relu() -> Tensor {
        let x = self
        return mapUnary(x, ReLUMap())
            .recorded("relu", [x]) { g, _ in
                GradMode.isEnabled ? [g * x.gt(0)]
                    : [mapBinary(g, x, "relu_backward", ReLUBackwardMap())]
            }
    }
    /// x where x > 0, else slope · x.
    public func leakyRelu(_ slope: Float = 0.01) -> Tensor {
        let x = self
        return mapUnary(x, LeakyReLUMap(slope: slope))
            .recorded("leaky_relu", [x]) { g, _ in
                GradMode.isEnabled ? [g * (x.gt(0) * (1 - slope) + slope)]
                    : [mapBinary(g, x, "leaky_relu_backward", LeakyReLUBackwardMap(slope: slope))]
            }
    }
    /// CLIP's quick_gelu, x · σ(1.702x) (transformers' QuickGELUActivation), in one pass instead of three.
    public func quickGELU() -> Tensor {
        let x = self
        return mapUnary(x, QuickGELUMap()).recorded("quick_gelu", [x]) { g, _ in
            if !GradMode.isEnabled {
                // First order: one fused pass, g · (σ(kx) + kx · σ(kx) · (1 − σ(kx))).
                return [mapBinary(g, x, "quick_gelu_backward", QuickGELUBackwardMap())]
            }
            let s = (x * QuickGELUMap.k).sigmoid()
            return [g * (s + x * QuickGELUMap.k * s * (1 - s))]
        }
    }
    public func silu() -> Tensor {
        let x = self
        return mapUnary(x, SiLUMap())
            .recorded("silu", [x]) { g, _ in
                if !GradMode.isEnabled {
                    // First order: one fused pass, g · σ(x) · (1 + x · (1 − σ(x))), instead of six.
                    return [mapBinary(g, x, "silu_backward", SiLUBackwardMap())]
                }
                let s = x.sigmoid()
                return [g * s * (1 + x * (1 - s))]
            }
    }
    public enum GELUApproximation { case none, tanh }

    /// GELU, exact (erf) or with PyTorch's tanh approximation.
    public func gelu(approximate: GELUApproximation = .none) -> Tensor {
        let x = self
        switch approximate {
        case .none:
            return mapUnary(x, GELUMap()).recorded("gelu", [x]) { g, _ in
                if !GradMode.isEnabled {
                    // First order: one fused pass, g · (Φ(x) + x·φ(x)), instead of ten small ops.
                    return [mapBinary(g, x, "gelu_backward", GELUBackwardMap())]
                }
                let cdf = ((x * Float(0.5.squareRoot())).erf() + 1) * 0.5
                let pdf = (x * x * -0.5).exp() * Float(1 / (2 * Double.pi).squareRoot())
                return [g * (cdf + x * pdf)]
            }
        case .tanh:
            let k = Float((2 / Double.pi).squareRoot())
            let sf: (Float) -> Float = { v in 0.5 * v * (1 + Foundation.tanh(k * (v + 0.044715 * v * v * v))) }
            return mapUnary(x, { lanes($0, sf) }, sf).recorded("gelu_tanh", [x]) { g, _ in
                let inner = (x + x * x * x * 0.044715) * k
                let t = inner.tanh()
                let dinner = (x * x * (3 * 0.044715) + 1) * k
                return [g * ((t + 1) * 0.5 + x * 0.5 * (1 - t * t) * dinner)]
            }
        }
    }

    /// Limits values to [low, high]; the gradient passes where low ≤ x ≤ high (PyTorch's rule).
    public func clamp(min low: Float = -.infinity, max high: Float = .infinity) -> Tensor {
        let x = self
        let vl = V(repeating: low), vh = V(repeating: high)
        return mapUnary(x, { v in v.replacing(with: vl, where: v .< vl).replacing(with: vh, where: v .> vh) },
                        { Swift.min(Swift.max($0, low), high) })
            .recorded("clamp", [x]) { g, _ in [g * x.ge(low) * x.le(high)] }
    }

    /// cond ? a : b, elementwise with broadcasting (cond: nonzero is true).
    public static func `where`(_ cond: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        let c = cond.detach()
        let t = mapBinary(c, a, "where", { m, x in V(repeating: 0).replacing(with: x, where: m .!= 0) },
                          { $0 != 0 ? $1 : 0 })
        let f = mapBinary(c, b, "where", { m, y in V(repeating: 0).replacing(with: y, where: m .== 0) },
                          { $0 == 0 ? $1 : 0 })
        let out = mapBinary(t, f, "where", { $0 + $1 }, { $0 + $1 })
        return out.recorded("where", [a, b]) { g, needs in
            [needs[0] ? g * c.ne(0) : nil, needs[1] ? g * c.eq(0) : nil]
        }
    }

    // Comparisons: 1 where true, else 0. No gradient.
    public func gt(_ s: Float) -> Tensor { mapUnary(self, { V(repeating: 0).replacing(with: 1, where: $0 .> s) }, { $0 > s ? 1 : 0 }) }
    public func ge(_ s: Float) -> Tensor { mapUnary(self, { V(repeating: 0).replacing(with: 1, where: $0 .>= s) }, { $0 >= s ? 1 : 0 }) }
    public func lt(_ s: Float) -> Tensor { mapUnary(self, { V(repeating: 0).replacing(with: 1, where: $0 .< s) }, { $0 < s ? 1 : 0 }) }
    public func le(_ s: Float) -> Tensor { mapUnary(self, { V(repeating: 0).replacing(with: 1, where: $0 .<= s) }, { $0 <= s ? 1 : 0 }) }
    public func eq(_ s: Float) -> Tensor { mapUnary(self, { V(repeating: 0).replacing(with: 1, where: $0 .== s) }, { $0 == s ? 1 : 0 }) }
    public func ne(_ s: Float) -> Tensor { mapUnary(self, { V(repeating: 0).replacing(with: 1, where: $0 .!= s) }, { $0 != s ? 1 : 0 }) }
    public func gt(_ b: Tensor) -> Tensor { mapBinary(self, b, "gt", { V(repeating: 0).replacing(with: 1, where: $0 .> $1) }, { $0 > $1 ? 1 : 0 }) }
    public func ge(_ b: Tensor) -> Tensor { mapBinary(self, b, "ge", { V(repeating: 0).replacing(with: 1, where: $0 .>= $1) }, { $0 >= $1 ? 1 : 0 }) }
    public func lt(_ b: Tensor) -> Tensor { mapBinary(self, b, "lt", { V(repeating: 0).replacing(with: 1, where: $0 .< $1) }, { $0 < $1 ? 1 : 0 }) }
    public func le(_ b: Tensor) -> Tensor { mapBinary(self, b, "le", { V(repeating: 0).replacing(with: 1, where: $0 .<= $1) }, { $0 <= $1 ? 1 : 0 }) }
    public func eq(_ b: Tensor) -> Tensor { mapBinary(self, b, "eq", { V(repeating: 0).replacing(with: 1, where: $0 .== $1) }, { $0 == $1 ? 1 : 0 }) }
    public func ne(_ b: Tensor) -> Tensor { mapBinary(self, b, "ne", { V(repeating: 0).replacing(with: 1, where: $0 .!= $1) }, { $0 != $1 ? 1 : 0 }) }
}

// The maps of the hot ops above (Elementwise.swift: typed so that each op's loop inlines its function). Each scalar
// form is the formula the op had before they were typed, so results are unchanged.
struct ExpMap: UnaryMap {
    @inline(__always) func vector(_ x: V) -> V { vexp(x) }
    @inline(__always) func scalar(_ x: Float) -> Float { Foundation.exp(x) }
}
struct SigmoidMap: UnaryMap {
    @inline(__always) func vector(_ x: V) -> V { vsigmoid(x) }
    @inline(__always) func scalar(_ x: Float) -> Float { 1 / (1 + Foundation.exp(-x)) }
}
/// g · y · (1 − y), y = σ(x)
struct SigmoidBackwardMap: BinaryMap {
    @inline(__always) func vector(_ g: V, _ y: V) -> V { g * y * (1 - y) }
    @inline(__always) func scalar(_ g: Float, _ y: Float) -> Float { g * y * (1 - y) }
}
/// g · (1 − y²), y = tanh(x)
struct TanhBackwardMap: BinaryMap {
    @inline(__always) func vector(_ g: V, _ y: V) -> V { g * (1 - y * y) }
    @inline(__always) func scalar(_ g: Float, _ y: Float) -> Float { g * (1 - y * y) }
}
struct ErfMap: UnaryMap {
    @inline(__always) func vector(_ x: V) -> V { verf(x) }
    @inline(__always) func scalar(_ x: Float) -> Float { verfScalar(x) }
}
struct ReLUMap: UnaryMap {
    @inline(__always) func vector(_ x: V) -> V { x.replacing(with: 0, where: x .< 0) }
    @inline(__always) func scalar(_ x: Float) -> Float { Swift.max(x, 0) }
}
struct ReLUBackwardMap: BinaryMap {
    @inline(__always) func vector(_ g: V, _ x: V) -> V { g.replacing(with: 0, where: x .<= 0) }
    @inline(__always) func scalar(_ g: Float, _ x: Float) -> Float { x > 0 ? g : 0 }
}
struct LeakyReLUMap: UnaryMap {
    let slope: Float
    @inline(__always) func vector(_ x: V) -> V { x.replacing(with: x * slope, where: x .< 0) }
    @inline(__always) func scalar(_ x: Float) -> Float { x < 0 ? x * slope : x }
}
struct LeakyReLUBackwardMap: BinaryMap {
    let slope: Float
    @inline(__always) func vector(_ g: V, _ x: V) -> V { g.replacing(with: g * slope, where: x .<= 0) }
    @inline(__always) func scalar(_ g: Float, _ x: Float) -> Float { x > 0 ? g : g * slope }
}
struct SiLUMap: UnaryMap {
    @inline(__always) func vector(_ x: V) -> V { x * vsigmoid(x) }
    @inline(__always) func scalar(_ x: Float) -> Float { x / (1 + Foundation.exp(-x)) }
}
/// g · σ(x) · (1 + x · (1 − σ(x)))
struct SiLUBackwardMap: BinaryMap {
    @inline(__always) func vector(_ g: V, _ x: V) -> V { let s = vsigmoid(x); return g * s * (1 + x * (1 - s)) }
    @inline(__always) func scalar(_ g: Float, _ x: Float) -> Float {
        let s = vsigmoid(V(repeating: x))[0]
        return g * s * (1 + x * (1 - s))
    }
}
/// x · Φ(x) = ½x(1 + erf(x/√2))
struct GELUMap: UnaryMap {
    static let r2 = Float(0.5.squareRoot())
    @inline(__always) func vector(_ x: V) -> V { 0.5 * x * (1 + verf(x * Self.r2)) }
    @inline(__always) func scalar(_ x: Float) -> Float { 0.5 * x * (1 + verfScalar(x * Self.r2)) }
}
/// g · (Φ(x) + x·φ(x))
struct GELUBackwardMap: BinaryMap {
    static let c = Float(1 / (2 * Double.pi).squareRoot())
    @inline(__always) func vector(_ g: V, _ x: V) -> V {
        let cdf = (verf(x * GELUMap.r2) + 1) * 0.5
        return g * (cdf + x * vexp(x * x * -0.5) * Self.c)
    }
    @inline(__always) func scalar(_ g: Float, _ x: Float) -> Float {
        g * ((verfScalar(x * GELUMap.r2) + 1) * 0.5 + x * Foundation.exp(x * x * -0.5) * Self.c)
    }
}

/// log(1 + e^(βx)) / β, x where βx > threshold; the scalar tail takes the same lanes.
struct SoftplusMap: UnaryMap {
    let beta: Float, threshold: Float
    @inline(__always) func vector(_ v: V) -> V {
        let z = v * beta
        let r = beta == 1 ? vsoftplus(z) : vsoftplus(z) / beta
        return r.replacing(with: v, where: z .> V(repeating: threshold))
    }
    @inline(__always) func scalar(_ x: Float) -> Float { vector(V(repeating: x))[0] }
}
/// g·σ(βx), g where βx > threshold.
struct SoftplusBackwardMap: BinaryMap {
    let beta: Float, threshold: Float
    @inline(__always) func vector(_ g: V, _ v: V) -> V {
        let z = v * beta
        return (g * vsigmoid(z)).replacing(with: g, where: z .> V(repeating: threshold))
    }
    @inline(__always) func scalar(_ g: Float, _ x: Float) -> Float { vector(V(repeating: g), V(repeating: x))[0] }
}

/// x · σ(kx), k = 1.702, as PyTorch computes it (the product kx first, then the sigmoid, then x times it).
struct QuickGELUMap: UnaryMap {
    static var k: Float { 1.702 }
    @inline(__always) func vector(_ x: V) -> V { x * vsigmoid(x * Self.k) }
    @inline(__always) func scalar(_ x: Float) -> Float { x * vsigmoid(V(repeating: x * Self.k))[0] }
}
/// g · (s + kx · s · (1 − s)), s = σ(kx)
struct QuickGELUBackwardMap: BinaryMap {
    @inline(__always) func vector(_ g: V, _ x: V) -> V {
        let s = vsigmoid(x * QuickGELUMap.k)
        return g * (s + x * QuickGELUMap.k * s * (1 - s))
    }
    @inline(__always) func scalar(_ g: Float, _ x: Float) -> Float { vector(V(repeating: g), V(repeating: x))[0] }
}
