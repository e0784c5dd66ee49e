// Vectorised transcendentals for the inference renderer's decoder (softplus on the hidden layer, sigmoid on the
// colour outputs: about 100 M and 50 M evaluations per 128² image at 48 + 48 samples). PyTorch evaluates these
// with vectorised (Sleef) code too; scalar libm calls would cost more than the MLP's matmuls.
// Polynomials use fused multiply-adds (the x86-64-v3 baseline has FMA).
// exp: Cody–Waite reduction by ln 2 and a degree-7 Taylor polynomial (|r| ≤ ln2/2, truncation 5e-9);
// log1p on [0, 1]: 2·atanh(y/(2+y)) as an odd series in s = y/(2+y) ≤ 1/3 (truncation 3e-9).
import TensorCore

typealias RV = SIMD16<Float>
let rvWidth = 16

@inline(__always) func rvLoad(_ p: UnsafePointer<Float>) -> RV { UnsafeRawPointer(p).loadUnaligned(as: RV.self) }
@inline(__always) func rvLoad(_ p: UnsafeMutablePointer<Float>) -> RV { UnsafeRawPointer(p).loadUnaligned(as: RV.self) }
@inline(__always) func rvStore(_ v: RV, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: RV.self) }

/// e^x lane-wise, within a few ulps; 0 below −87, +inf above 88.72 (values in (88, 88.72] give e^88), NaN kept.
@inline(__always) func rvExp(_ x0: RV) -> RV {
    let lo = RV(repeating: -87), hi = RV(repeating: 88)
    var x = x0.replacing(with: lo, where: x0 .< lo)
    x = x.replacing(with: hi, where: x .> hi)
    x = x.replacing(with: 0, where: x .!= x)                   // NaN: computed as 0, restored below
    let magic = RV(repeating: 0x1.8p23)
    let z = magic.addingProduct(x, RV(repeating: 0x1.715476p+0))          // round(x / ln 2) in the low mantissa bits
    let n = z - magic
    let r = x.addingProduct(n, RV(repeating: -0x1.62e4p-1)).addingProduct(n, RV(repeating: -0x1.7f7d1cp-20))   // ln 2 split in two parts
    var p = RV(repeating: 1.0 / 5040)
    p = RV(repeating: 1.0 / 720).addingProduct(p, r)
    p = RV(repeating: 1.0 / 120).addingProduct(p, r)
    p = RV(repeating: 1.0 / 24).addingProduct(p, r)
    p = RV(repeating: 1.0 / 6).addingProduct(p, r)
    p = RV(repeating: 0.5).addingProduct(p, r)
    p = RV(repeating: 1).addingProduct(p, r)
    p = RV(repeating: 1).addingProduct(p, r)
    // 2ⁿ from z's bits: bits(z) = bits(magic) + n, and bits(magic) << 23 wraps to 0, so (bits(z) << 23) + bits(1) =
    // (n + 127) << 23.
    let zbits = unsafeBitCast(z, to: SIMD16<UInt32>.self) &<< 23
    let scale = unsafeBitCast(zbits &+ unsafeBitCast(RV(repeating: 1), to: SIMD16<UInt32>.self), to: RV.self)
    var out = p * scale
    out = out.replacing(with: 0, where: x0 .< lo)
    out = out.replacing(with: .infinity, where: x0 .> RV(repeating: 88.72))
    return out.replacing(with: x0, where: x0 .!= x0)
}

/// log(1 + y) for y in [0, 1].
@inline(__always) func rvLog1pUnit(_ y: RV) -> RV {
    let s = y / (2 + y), s2 = s * s
    var p = RV(repeating: 1.0 / 15)
    p = RV(repeating: 1.0 / 13).addingProduct(p, s2)
    p = RV(repeating: 1.0 / 11).addingProduct(p, s2)
    p = RV(repeating: 1.0 / 9).addingProduct(p, s2)
    p = RV(repeating: 1.0 / 7).addingProduct(p, s2)
    p = RV(repeating: 1.0 / 5).addingProduct(p, s2)
    p = RV(repeating: 1.0 / 3).addingProduct(p, s2)
    p = RV(repeating: 1).addingProduct(p, s2)
    return 2 * s * p
}

/// PyTorch's softplus (β = 1, threshold 20): x where x > 20, else log(1 + eˣ) = max(x, 0) + log1p(e^−|x|).
@inline(__always) func rvSoftplus(_ x: RV) -> RV {
    let ax = x.replacing(with: -x, where: x .< 0)
    let pos = x.replacing(with: 0, where: x .< 0)
    let r = pos + rvLog1pUnit(rvExp(-ax))
    return r.replacing(with: x, where: x .> 20)
}

/// 1 / (1 + e^−x).
@inline(__always) func rvSigmoid(_ x: RV) -> RV { 1 / (1 + rvExp(-x)) }
