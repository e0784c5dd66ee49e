// Row-vector direct convolution, for small stride-1 convolutions: few channels on narrow maps (the 16² and 8² maps of
// the small models the project trains; `bench overhead`'s chain and conv step), where the GEMM path's im2col columns
// and Winograd's transforms cost more than the multiply-adds. Output rows are cut into vWidth-wide chunks and a
// register block of 4 output channels × `rowConvRows` output rows accumulates
//
//   out[b, o, y, x0 + i] = bias[o] + Σ_c Σ_ky Σ_kx W[o, c, ky, kx] · xp[b, c, y + ky, x0 + kx + i]      (i < vWidth)
//
// over a zero-padded copy xp of the image: every tap is one unaligned vector load and broadcast multiply-adds. The
// transposed form (conv2d's input gradient) is the same sum with the filters rotated and transposed (`flipped`). The
// weight gradient reads the sum the other way, with x in the lanes (gy's rows padded with zeros to whole chunks):
//
//   gw[o, c, ky, kx] = Σ_b Σ_y Σ_x gy[b, o, y, x] · xp[b, c, y + ky, x + kx]
//
// in blocks of 4 output channels × kw taps of one (c, ky), one horizontal sum per weight at the end. The references
// are the naive direct loops of ConvGemm.swift (convForwardReference, convTransposeReference, convWeightGradReference).

/// A stride-1, dilation-1, one-group convolution x (n, c, h, w) -> (n, o, ho, wo) with kernel (kh, kw) and padding
/// (ph, pw). `flipped`: the weights are a conv2d's (c, o, kh, kw) and the taps are rotated by 180°, i.e. this is that
/// conv2d's transposed convolution (its input gradient, with padding k − 1 − p).
struct RowConvShape {
    let n: Int, c: Int, o: Int, h: Int, w: Int, kh: Int, kw: Int, ph: Int, pw: Int, flipped: Bool
    /// Derived sizes, stored (the kernels read them in their loops): output (ho, wo); vWidth-wide chunks per output
    /// row; the padded image (hp, wp), whose rows keep every chunk's last tap inside (chunks · vWidth + kw − 1 ≥
    /// w + 2·pw).
    let ho: Int, wo: Int, taps: Int, chunks: Int, hp: Int, wp: Int, plane: Int

    init(n: Int, c: Int, o: Int, h: Int, w: Int, kh: Int, kw: Int, ph: Int, pw: Int, flipped: Bool) {
        (self.n, self.c, self.o, self.h, self.w, self.kh, self.kw, self.ph, self.pw, self.flipped) =
            (n, c, o, h, w, kh, kw, ph, pw, flipped)
        ho = h + 2 * ph - kh + 1
        wo = w + 2 * pw - kw + 1
        taps = kh * kw
        chunks = (wo + vWidth - 1) / vWidth
        hp = h + 2 * ph
        wp = chunks * vWidth + kw - 1
        plane = hp * wp
    }
    var multiplyAdds: Int { n * o * ho * wo * c * taps }
}

/// The convolutions the row kernel runs faster than Winograd and the GEMM paths (`RowConvShape(_:transposed:)`):
/// stride 1, dilation 1, one group, 3×3 kernels (it runs any up to 3×3; the others were not measured), and few
/// channels. Its cost per multiply-add hardly depends on the shape, while the others' falls as both channel counts grow
/// (their GEMMs fill their register tiles). Measured
/// with `dreamportrait bench conv` (1 thread, release build, AVX-512 Zen 5, 3×3, row kernel forced against the other
/// paths): forward and input gradient win by 1.2-3.5x (13-22x for an input gradient towards 3-4 channels, which took
/// the GEMM and col2im) whenever one side has at most 16 channels (3->128 at 32²: 1.01x), 1.04-1.17x at 24-32 channels
/// on both sides on 16²-64² maps, and lose beyond (48: 0.90-0.93x, 64: 0.73-0.86x; 32 at 8²: 0.73x). The weight
/// gradient wins by 1.4-6x with at most 16 channels on a side, and by 1.05-1.97x up to 64 on both on maps ≥ 16² (the
/// GEMM path pays for im2col there), losing on 8² maps with 64 (0.71x) and beyond 64.
/// With AVX2 (the 4 × 1 and 1 × 3 blocks, x86-64-v3 build on the same CPU) the row kernel runs at ~80% of the 8-lane
/// FMA peak, which Winograd's fewer multiplies beat from 16 channels on both sides (forward 0.84x at 16 → 16, 16²;
/// 0.60x at 8²); with one side at 3–8 channels it still wins (forward 1.7-2.7x, input gradient 1.7-9.6x, weight
/// gradient 1.0-3.2x), so AVX2 builds take it there. On a real AVX2 CPU (Zen 3 EPYC, 2026-12-06, 1 thread) the weight
/// gradient also wins with 16 channels on both sides on maps ≥ 16 wide (4x16x16² 1.28x, 4x16x32² 1.12x, 4x16x64²
/// 1.11x; 8x16x8² 0.87x), where the other path is im2col + GEMM; beyond 16 it loses once Winograd takes over.
func rowConvPays(c: Int, o: Int, width: Int, weightGradient: Bool) -> Bool {
    #if TENSORCORE_AVX512
    if Swift.min(c, o) <= 16 { return true }
    return width >= 16 && Swift.max(c, o) <= (weightGradient ? 64 : 32)
    #else
    if Swift.min(c, o) <= 8 { return true }
    return weightGradient && width >= 16 && Swift.max(c, o) <= 16
    #endif
}

/// Which stride-1 convolutions conv2d and its gradients run with the row kernel: those within the measured limits
/// (`auto`), every one it can run (`always`: tests, and `dreamportrait bench conv` to measure the limits), or none
/// (`never`: the paths it replaces, timed in the same binary).
public enum RowConvolution {
    public enum Mode: Sendable { case auto, always, never }
    nonisolated(unsafe) public static var mode = Mode.auto
}

/// Register blocks. Forward: 4 channels × 4 rows of 16 lanes fill half of AVX-512's 32 registers; with AVX2 (16
/// registers, a 16-lane vector is two) 4 × 1 (4 × 2 spilled: 0.62x the other paths at 16 channels, 16²). Weight
/// gradient: 4 channels × 3 taps; with AVX2 1 × 3.
#if TENSORCORE_AVX512
let rowConvRows = 4
let rowConvGradChannels = 4
#else
let rowConvRows = 1
let rowConvGradChannels = 1
#endif

extension RowConvShape {
    /// conv2d of ConvShape s (transposed: conv_transpose2d, its input gradient; weightGradient: conv2d's weight
    /// gradient, on the forward shape) as the row kernel, when it is one (stride 1, dilation 1, one group, the full
    /// output, kernel ≤ 3×3) that pays.
    init?(_ s: ConvShape, transposed: Bool, weightGradient: Bool = false) {
        guard RowConvolution.mode != .never && s.groups == 1 && s.sh == 1 && s.sw == 1 && s.dh == 1 && s.dw == 1
                && s.kh <= 3 && s.kw <= 3 && s.oh == s.ih + 2 * s.ph - s.kh + 1 && s.ow == s.iw + 2 * s.pw - s.kw + 1 else { return nil }
        if transposed {
            guard s.ph <= s.kh - 1 && s.pw <= s.kw - 1 else { return nil }
            self.init(n: s.n, c: s.o, o: s.c, h: s.oh, w: s.ow, kh: s.kh, kw: s.kw, ph: s.kh - 1 - s.ph,
                      pw: s.kw - 1 - s.pw, flipped: true)
        } else {
            self.init(n: s.n, c: s.c, o: s.o, h: s.ih, w: s.iw, kh: s.kh, kw: s.kw, ph: s.ph, pw: s.pw, flipped: false)
        }
        guard RowConvolution.mode == .always
                || (kh == 3 && kw == 3 && rowConvPays(c: c, o: o, width: wo, weightGradient: weightGradient))
        else { return nil }
    }
}

/// Copies image b's planes into xp (c, hp, wp), zero outside the image.
// x: (c, h, w) dense -> xp: (c, hp, wp)
@inline(__always) func rowConvPad(_ x: UnsafePointer<Float>, _ s: RowConvShape, _ xp: UnsafeMutablePointer<Float>) {
    xp.initialize(repeating: 0, count: s.c * s.plane)
    for ci in 0..<s.c {
        for y in 0..<s.h {
            (xp + ci * s.plane + (y + s.ph) * s.wp + s.pw).update(from: x + (ci * s.h + y) * s.w, count: s.w)
        }
    }
}

// x: (n, c, h, w) dense, w: (o, c, kh, kw) (flipped: (c, o, kh, kw)), bias: (o) -> out: (n, o, ho, wo)
func rowConvForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                    _ s: RowConvShape, _ out: UnsafeMutablePointer<Float>) {
    // Every image padded first, then the register blocks (image, 4 channels, rows) spread over the threads: each
    // output element is one block's, summed in the same order on any thread count.
    let xs = Storage(count: s.n * s.c * s.plane)
    let channelBlocks = (s.o + 3) / 4, rowBlocks = (s.ho + rowConvRows - 1) / rowConvRows
    let blockWork = 4 * rowConvRows * s.chunks * vWidth * s.c * s.taps
    withExtendedLifetime(xs) {
        let xp = xs.base
        parallelRanges(s.n, grain: Swift.max(1, 65536 / Swift.max(1, s.c * s.plane))) { images in
            for b in images { rowConvPad(x + b * s.c * s.h * s.w, s, xp + b * s.c * s.plane) }
        }
        parallelRanges(s.n * channelBlocks * rowBlocks, grain: Swift.max(1, (1 << 18) / blockWork)) { tasks in
            for task in tasks {
                let b = task / (channelBlocks * rowBlocks), oc0 = (task / rowBlocks) % channelBlocks * 4
                let y0 = task % rowBlocks * rowConvRows
                for chunk in 0..<s.chunks {
                    rowConvBlock(UnsafePointer(xp + b * s.c * s.plane), w, bias, s, oc0: oc0, y0: y0, x0: chunk * vWidth,
                                 out + b * s.o * s.ho * s.wo)
                }
            }
        }
    }
}

/// One register block: output channels oc0 ..< oc0 + 4 × rows y0 ..< y0 + rowConvRows at columns x0 ..< x0 + vWidth.
/// Channels and rows past the end are computed on the last valid one and not stored. (Accumulators are named
/// variables: held in an InlineArray they stayed in memory, at a sixth of the speed.)
@inline(__always)
func rowConvBlock(_ xp: UnsafePointer<Float>, _ wt: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                  _ s: RowConvShape, oc0: Int, y0: Int, x0: Int, _ out: UnsafeMutablePointer<Float>) {
    let (c, taps, kh, kw, wp, plane) = (s.c, s.taps, s.kh, s.kw, s.wp, s.plane)
    let q0 = oc0, q1 = Swift.min(oc0 + 1, s.o - 1), q2 = Swift.min(oc0 + 2, s.o - 1), q3 = Swift.min(oc0 + 3, s.o - 1)
    let i0 = V(repeating: bias?[q0] ?? 0), i1 = V(repeating: bias?[q1] ?? 0)
    let i2 = V(repeating: bias?[q2] ?? 0), i3 = V(repeating: bias?[q3] ?? 0)
    // a<channel><row>
    var a00 = i0, a10 = i1, a20 = i2, a30 = i3
    #if TENSORCORE_AVX512
    var a01 = i0, a11 = i1, a21 = i2, a31 = i3
    var a02 = i0, a12 = i1, a22 = i2, a32 = i3, a03 = i0, a13 = i1, a23 = i2, a33 = i3
    #endif
    let r0 = y0 * wp + x0
    #if TENSORCORE_AVX512
    let r1 = Swift.min(y0 + 1, s.ho - 1) * wp + x0
    let r2 = Swift.min(y0 + 2, s.ho - 1) * wp + x0, r3 = Swift.min(y0 + 3, s.ho - 1) * wp + x0
    #endif
    // Filter tap (ci, ky, kx) of output channel q: w[q, ci, ky, kx], or, flipped, w[ci, q, kh-1-ky, kw-1-kx].
    let (qStride, cStride) = s.flipped ? (taps, s.o * taps) : (c * taps, taps)
    let (tapBase, tapStep) = s.flipped ? (taps - 1, -1) : (0, 1)
    let w0 = wt + q0 * qStride, w1 = wt + q1 * qStride, w2 = wt + q2 * qStride, w3 = wt + q3 * qStride
    for ci in 0..<c {
        let src = xp + ci * plane
        for ky in 0..<kh {
            for kx in 0..<kw {
                let t = ci * cStride + tapBase + tapStep * (ky * kw + kx)
                let b0 = V(repeating: w0[t]), b1 = V(repeating: w1[t]), b2 = V(repeating: w2[t]), b3 = V(repeating: w3[t])
                let p = src + ky * wp + kx
                let v0 = vload(p + r0)
                a00 = a00.addingProduct(v0, b0); a10 = a10.addingProduct(v0, b1)
                a20 = a20.addingProduct(v0, b2); a30 = a30.addingProduct(v0, b3)
                #if TENSORCORE_AVX512
                let v1 = vload(p + r1), v2 = vload(p + r2), v3 = vload(p + r3)
                a01 = a01.addingProduct(v1, b0); a11 = a11.addingProduct(v1, b1)
                a21 = a21.addingProduct(v1, b2); a31 = a31.addingProduct(v1, b3)
                a02 = a02.addingProduct(v2, b0); a12 = a12.addingProduct(v2, b1)
                a22 = a22.addingProduct(v2, b2); a32 = a32.addingProduct(v2, b3)
                a03 = a03.addingProduct(v3, b0); a13 = a13.addingProduct(v3, b1)
                a23 = a23.addingProduct(v3, b2); a33 = a33.addingProduct(v3, b3)
                #endif
            }
        }
    }
    let width = Swift.min(vWidth, s.wo - x0)
    @inline(__always) func store(_ acc: V, _ j: Int, _ r: Int) {
        guard oc0 + j < s.o && y0 + r < s.ho else { return }
        let dst = out + ((oc0 + j) * s.ho + y0 + r) * s.wo + x0
        if width == vWidth { vstore(acc, dst) } else { for i in 0..<width { dst[i] = acc[i] } }
    }
    store(a00, 0, 0); store(a10, 1, 0); store(a20, 2, 0); store(a30, 3, 0)
    #if TENSORCORE_AVX512
    store(a01, 0, 1); store(a11, 1, 1); store(a21, 2, 1); store(a31, 3, 1)
    store(a02, 0, 2); store(a12, 1, 2); store(a22, 2, 2); store(a32, 3, 2)
    store(a03, 0, 3); store(a13, 1, 3); store(a23, 2, 3); store(a33, 3, 3)
    #endif
}

// x: (n, c, h, w) dense, gy: (n, o, ho, wo) dense -> gw: (o, c, kh, kw)    (s not flipped)
func rowConvWeightGrad(_ x: UnsafePointer<Float>, _ gy: UnsafePointer<Float>, _ s: RowConvShape,
                       _ gw: UnsafeMutablePointer<Float>) {
    precondition(!s.flipped && s.kw <= 3, "rowConvWeightGrad: a conv2d shape with kw <= 3")
    let cw = s.chunks * vWidth, gyPlane = s.ho * cw
    // Padded images (2 floats of slack: the kx < 3 loads of a kw < 3 kernel stay inside) and, unless whole, gy's rows
    // padded with zeros to whole chunks.
    let xs = Storage(count: s.n * s.c * s.plane + 2), gs = s.wo == cw ? nil : Storage(count: s.n * s.o * gyPlane)
    withExtendedLifetime((xs, gs)) {
        let xp = xs.base
        (xp + s.n * s.c * s.plane).initialize(repeating: 0, count: 2)
        parallelRanges(s.n, grain: Swift.max(1, 65536 / Swift.max(1, s.c * s.plane))) { images in
            for b in images { rowConvPad(x + b * s.c * s.h * s.w, s, xp + b * s.c * s.plane) }
        }
        let gp: UnsafePointer<Float>
        if let gs {
            for row in 0..<(s.n * s.o * s.ho) {
                (gs.base + row * cw).update(from: gy + row * s.wo, count: s.wo)
                (gs.base + row * cw + s.wo).initialize(repeating: 0, count: cw - s.wo)
            }
            gp = UnsafePointer(gs.base)
        } else {
            gp = gy
        }
        let blocks = (s.o + rowConvGradChannels - 1) / rowConvGradChannels
        parallelRanges(blocks * s.c, grain: 1) { range in
            for task in range {
                let oc0 = (task / s.c) * rowConvGradChannels, ci = task % s.c
                for ky in 0..<s.kh { rowConvWeightGradBlock(UnsafePointer(xp), gp, s, oc0: oc0, ci: ci, ky: ky, gw) }
            }
        }
    }
}

/// gw[oc0 ..< oc0 + rowConvGradChannels, ci, ky, 0 ..< kw]: 4 (AVX2: 1) × 3 vector sums over every (b, y, chunk), one horizontal sum each.
@inline(__always)
func rowConvWeightGradBlock(_ xp: UnsafePointer<Float>, _ gp: UnsafePointer<Float>, _ s: RowConvShape, oc0: Int, ci: Int,
                            ky: Int, _ gw: UnsafeMutablePointer<Float>) {
    let cw = s.chunks * vWidth, gyPlane = s.ho * cw
    // a<channel><tap>; channels oc0 ..< oc0 + rowConvGradChannels
    var a00 = V(), a01 = V(), a02 = V()
    #if TENSORCORE_AVX512
    let q0 = oc0, q1 = Swift.min(oc0 + 1, s.o - 1), q2 = Swift.min(oc0 + 2, s.o - 1), q3 = Swift.min(oc0 + 3, s.o - 1)
    var a10 = V(), a11 = V(), a12 = V(), a20 = V(), a21 = V(), a22 = V(), a30 = V(), a31 = V(), a32 = V()
    #else
    let q0 = oc0
    #endif
    for b in 0..<s.n {
        let g0 = gp + (b * s.o + q0) * gyPlane
        #if TENSORCORE_AVX512
        let g1 = gp + (b * s.o + q1) * gyPlane, g2 = gp + (b * s.o + q2) * gyPlane, g3 = gp + (b * s.o + q3) * gyPlane
        #endif
        let img = xp + (b * s.c + ci) * s.plane + ky * s.wp
        for y in 0..<s.ho {
            for chunk in 0..<s.chunks {
                let go = y * cw + chunk * vWidth, p = img + y * s.wp + chunk * vWidth
                let v0 = vload(p), v1 = vload(p + 1), v2 = vload(p + 2)
                let u0 = vload(g0 + go)
                a00 = a00.addingProduct(u0, v0); a01 = a01.addingProduct(u0, v1); a02 = a02.addingProduct(u0, v2)
                #if TENSORCORE_AVX512
                let u1 = vload(g1 + go), u2 = vload(g2 + go), u3 = vload(g3 + go)
                a10 = a10.addingProduct(u1, v0); a11 = a11.addingProduct(u1, v1); a12 = a12.addingProduct(u1, v2)
                a20 = a20.addingProduct(u2, v0); a21 = a21.addingProduct(u2, v1); a22 = a22.addingProduct(u2, v2)
                a30 = a30.addingProduct(u3, v0); a31 = a31.addingProduct(u3, v1); a32 = a32.addingProduct(u3, v2)
                #endif
            }
        }
    }
    @inline(__always) func store(_ j: Int, _ a: V, _ b: V, _ c: V) {
        guard oc0 + j < s.o else { return }
        let dst = gw + ((oc0 + j) * s.c + ci) * s.taps + ky * s.kw
        dst[0] = a.sum()
        if s.kw > 1 { dst[1] = b.sum() }
        if s.kw > 2 { dst[2] = c.sum() }
    }
    store(0, a00, a01, a02)
    #if TENSORCORE_AVX512
    store(1, a10, a11, a12); store(2, a20, a21, a22); store(3, a30, a31, a32)
    #endif
}
