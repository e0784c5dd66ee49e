// SIMD width, unaligned loads/stores and vector transcendentals, parametrised once (ggml's STEP/EPR).
// Rules (tensorcore-anchors §4.2): FMA via addingProduct (needs the CPU baseline flag), several accumulators
// for reductions, comparisons + replacing(with:where:) instead of clamped/pointwiseMin/max.

public typealias V = SIMD16<Float>
public let vWidth = 16

@inline(__always) @inlinable func vload(_ p: UnsafePointer<Float>) -> V {
    UnsafeRawPointer(p).loadUnaligned(as: V.self)
}
@inline(__always) @inlinable func vload(_ p: UnsafeMutablePointer<Float>) -> V {
    UnsafeRawPointer(p).loadUnaligned(as: V.self)
}
@inline(__always) @inlinable func vstore(_ v: V, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
}

/// Largest lane value (tree reduction; `.max()` scalarises).
@inline(__always) @inlinable func vmaxAcross(_ v: V) -> Float {
    let a = v.lowHalf.replacing(with: v.highHalf, where: v.highHalf .> v.lowHalf)
    let b = a.lowHalf.replacing(with: a.highHalf, where: a.highHalf .> a.lowHalf)
    let c = b.lowHalf.replacing(with: b.highHalf, where: b.highHalf .> b.lowHalf)
    return Swift.max(c[0], c[1])
}
@inline(__always) @inlinable func vmax(_ a: V, _ b: V) -> V { a.replacing(with: b, where: b .> a) }
@inline(__always) @inlinable func vmin(_ a: V, _ b: V) -> V { a.replacing(with: b, where: b .< a) }

/// e^x for 16 lanes. Constants follow ggml's ggml_v_expf (MIT licence): range reduction by ln 2 in two
/// parts, a degree-5 polynomial, 2^n by exponent bits. Max relative error about 2e-7 against glibc.
/// Inputs are clamped to [-87.33, 88.0] (e^x stays a normal float); below, 0; above 88.72, +inf.
@inline(__always) @inlinable func vexp(_ x0: V) -> V {
    let lo = V(repeating: -87.33), hi = V(repeating: 88.0)
    var x: V = x0.replacing(with: lo, where: x0 .< lo)
    x = x.replacing(with: hi, where: x .> hi)
    let magic = V(repeating: 0x1.8p23)
    let z: V = magic.addingProduct(x, V(repeating: 0x1.715476p+0))
    let n: V = z - magic
    let b1: V = x - n * V(repeating: 0x1.62e4p-1)
    let b: V = b1 - n * V(repeating: 0x1.7f7d1cp-20)
    let u: V = b * b
    let p45: V = V(repeating: 0x1.573e2ep-5).addingProduct(V(repeating: 0x1.0e4020p-7), b)
    let p23: V = V(repeating: 0x1.fffdb6p-2).addingProduct(V(repeating: 0x1.555e66p-3), b)
    let p2345: V = p23.addingProduct(p45, u)
    let j: V = (V(repeating: 0x1.ffffecp-1) * b).addingProduct(p2345, u)
    let e = unsafeBitCast(z, to: SIMD16<UInt32>.self) &<< 23
    let k = unsafeBitCast(e &+ unsafeBitCast(V(repeating: 1), to: SIMD16<UInt32>.self), to: V.self)
    var r: V = k.addingProduct(j, k)
    r = r.replacing(with: 0, where: x0 .< lo)
    r = r.replacing(with: .infinity, where: x0 .> V(repeating: 88.72))
    return r.replacing(with: x0, where: x0 .!= x0) // NaN stays NaN
}

@inline(__always) @inlinable func vsigmoid(_ x: V) -> V { 1 / (1 + vexp(-x)) }

/// erf for 16 lanes, as PyTorch's vectorised CPU erf (ATen's Vectorized<float>::erf, so GELU matches it):
/// Abramowitz & Stegun 7.1.26, erf(x) = sign(x) · (1 - r(t) · t · e^(-x²)), t = 1 / (1 + p|x|); max absolute error
/// 1.5e-7. Foundation.erf is a libm call per element, 10x slower.
@_transparent @inlinable func verf(_ x: V) -> V {
    let signBit = SIMD16<UInt32>(repeating: 0x8000_0000)
    let bits = unsafeBitCast(x, to: SIMD16<UInt32>.self)
    let sign = bits & signBit
    let ax = unsafeBitCast(bits & ~signBit, to: V.self)
    let t: V = 1 / V(repeating: 1).addingProduct(V(repeating: 0.3275911), ax)
    var r: V = V(repeating: -1.453152027).addingProduct(V(repeating: 1.061405429), t)
    r = V(repeating: 1.421413741).addingProduct(r, t)
    r = V(repeating: -0.284496736).addingProduct(r, t)
    r = V(repeating: 0.254829592).addingProduct(r, t)
    let e: V = vexp(-(x * x))
    let y: V = V(repeating: 1).addingProduct(-e * t, r)
    let out = unsafeBitCast(unsafeBitCast(y, to: SIMD16<UInt32>.self) ^ sign, to: V.self)
    return out.replacing(with: x, where: x .!= x) // NaN stays NaN
}

/// √x for 16 lanes without a libm call per lane (Swift's SIMD squareRoot() scalarises): a bit-trick reciprocal
/// square root, three Newton steps, then s + (x - s²)·y/2 with FMA. Within one ulp of the exact root for normal
/// x ≥ 0 (exact in most lanes); 0 stays 0. For x below about 1e-36 (denormals) it is approximate.
@inline(__always) @inlinable func vsqrt(_ x: V) -> V {
    let magic = SIMD16<UInt32>(repeating: 0x5f37_5a86)
    var y = unsafeBitCast(magic &- (unsafeBitCast(x, to: SIMD16<UInt32>.self) &>> 1), to: V.self)
    let hx: V = x * 0.5
    y = y * (V(repeating: 1.5) - hx * y * y)
    y = y * (V(repeating: 1.5) - hx * y * y)
    y = y * (V(repeating: 1.5) - hx * y * y)
    let s: V = x * y
    let r: V = x.addingProduct(-s, s)
    return s.addingProduct(y * 0.5, r)
}

/// Natural log for 16 lanes (Cephes logf: x = m·2^e with m in [√½, √2), a degree-8 polynomial in m − 1, e·ln 2 in
/// two parts; about 1 ulp against glibc for normal positive x). 0 → −inf, negative or NaN → NaN, +inf → +inf.
/// Denormal inputs are treated as 0.
@inline(__always) @inlinable func vlog(_ x: V) -> V {
    let bits = unsafeBitCast(x, to: SIMD16<Int32>.self)
    var e = V(SIMD16<Int32>(truncatingIfNeeded: (bits &>> 23) & 0xFF) &- 126)
    var m = unsafeBitCast((bits & 0x007F_FFFF) | 0x3F00_0000, to: V.self)       // [0.5, 1)
    let small = m .< V(repeating: 0.707106781186547524)
    e = e.replacing(with: e - 1, where: small)
    m = m.replacing(with: m + m, where: small) - 1
    let z: V = m * m
    var y = V(repeating: 7.0376836292e-2)
    y = V(repeating: -1.1514610310e-1).addingProduct(y, m)
    y = V(repeating: 1.1676998740e-1).addingProduct(y, m)
    y = V(repeating: -1.2420140846e-1).addingProduct(y, m)
    y = V(repeating: 1.4249322787e-1).addingProduct(y, m)
    y = V(repeating: -1.6668057665e-1).addingProduct(y, m)
    y = V(repeating: 2.0000714765e-1).addingProduct(y, m)
    y = V(repeating: -2.4999993993e-1).addingProduct(y, m)
    y = V(repeating: 3.3333331174e-1).addingProduct(y, m)
    y = y * m * z
    y = y.addingProduct(e, V(repeating: -2.12194440e-4))
    y = y.addingProduct(z, V(repeating: -0.5))
    var r: V = m + y
    r = r.addingProduct(e, V(repeating: 0.693359375))
    r = r.replacing(with: -.infinity, where: x .<= V(repeating: 1.17549435e-38))
    r = r.replacing(with: .nan, where: x .< 0)
    r = r.replacing(with: .infinity, where: x .== V(repeating: .infinity))
    return r.replacing(with: x, where: x .!= x)
}

/// log(1 + u) for 16 lanes, accurate for small u: log(y)·u/(y − 1) with y = 1 + u (Goldberg's correction), u where
/// y rounds to 1. For u > −1.
@inline(__always) @inlinable func vlog1p(_ u: V) -> V {
    let y: V = 1 + u
    let d: V = y - 1
    let r = vlog(y) * (u / d)
    return r.replacing(with: u, where: d .== V(repeating: 0))
}

/// softplus(x) = log(1 + eˣ) for 16 lanes, as max(x, 0) + log1p(e^(−|x|)) (no overflow, accurate for x ≪ 0).
@inline(__always) @inlinable func vsoftplus(_ x: V) -> V {
    let ax = unsafeBitCast(unsafeBitCast(x, to: SIMD16<UInt32>.self) & SIMD16<UInt32>(repeating: 0x7FFF_FFFF), to: V.self)
    let r = vmax(x, V()) + vlog1p(vexp(-ax))
    return r.replacing(with: x, where: x .!= x)
}
