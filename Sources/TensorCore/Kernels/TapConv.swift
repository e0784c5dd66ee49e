// A stride-1 convolution as one GEMM per kernel tap over the zero-padded image flattened row by row:
//
//   full[o, y·Wp + x] = Σ_t Σ_c W_t[o, c] · xp[c, (y + ky_t)·Wp + x + kx_t]       (Wp = W + 2·pw, t = (ky, kx))
//
// Each tap's B operand is the padded plane shifted by ky·Wp + kx: a plain row-major matrix (row stride = the padded
// plane), which the GEMM packs with contiguous loads. The implicit GEMM (ConvGemm.swift) instead packs 32-column
// panels of im2col, which on narrow outputs (Inception's 35-, 17-wide images) mostly straddle output rows and take
// the per-element path; at such sizes that packing, not the multiply-adds, dominates. The price is computing the
// kw − 1 columns x ≥ Wo of each row too (dropped when cropping): 11% extra for a 5x5 at 35², none for a 7x1.
// conv2d's input gradient at stride 1 is the same structure (rotated, transposed filters, padding k − 1 − p); the
// kernel runs it (`flipped`), but it measured no faster than the GEMM path, so the dispatch leaves it off. The reference is the naive direct convolution (convForwardReference).

/// A stride-1, dilation-1, one-group convolution run as shifted GEMMs: x (n, c, h, w) -> out (n, o, ho, wo), with
/// kernel (kh, kw) and padding (ph, pw). `flipped`: the weights are a conv2d's (c, o, kh, kw) with the taps rotated
/// by 180°, i.e. this is that conv2d's transposed convolution (its input gradient).
struct TapConvShape {
    let n: Int, c: Int, o: Int, h: Int, w: Int, kh: Int, kw: Int, ph: Int, pw: Int, flipped: Bool
    var hp: Int { h + 2 * ph }
    var wp: Int { w + 2 * pw }
    var ho: Int { hp - kh + 1 }
    var wo: Int { wp - kw + 1 }
    var taps: Int { kh * kw }
    /// A padded plane, with kw − 1 zeros after it so the last row's shifted reads stay inside.
    var plane: Int { hp * wp + kw - 1 }
    /// Columns of one image's full product (ho rows of wp, the last kw − 1 of each dropped).
    var columns: Int { ho * wp }
}

/// The convolutions the tap GEMMs run faster than the implicit GEMM (`TapConvShape(_:transposed:)`): output widths in
/// this range, at least this many input channels, and at most 1/3 of the computed columns dropped ((kw − 1) · 3 ≤ Wp).
/// Measured on 2 Zen 5 cores (loaded), AVX-512 build, 1 / 2 threads, tap vs implicit GEMM per shape (the timing probe
/// `TapConvTests.testBenchmark`, in the tree until commit af8952b):
///   forward 5x5 8x48x35² -> 64 1.16x / 1.12x; 3x3 8x32x35² 1.43x / 1.42x; 7x1 8x128x17² -> 192 0.94x / 1.06x,
///   192 -> 192 0.97x / 1.02x; 1x7 at 17² 0.75-0.77x / 0.82-0.86x alone, but inside Inception (channel-slice inputs,
///   `dreamportrait bench inception`, interleaved A/B) Mixed_6b-e ran 4-12% faster at 2 threads with the 1x7s on tap
///   GEMMs than on the implicit GEMM, and equal at 1 thread, so they are included. Not: 8² images (0.57-0.97x),
///   4 input channels (0.49x / 0.55x), 64-wide 3x3 (0.87-0.92x).
/// The transposed form (conv2d's input gradient) measured 0.76-1.03x on the same shapes (1.3x only for 32 channels at
/// 35², which Winograd takes), so it stays off; tests switch it on (the same kernel with rotated filters).
nonisolated(unsafe) var tapConvMinimumWidth = 16
nonisolated(unsafe) var tapConvMaximumWidth = 48
nonisolated(unsafe) var tapConvMinimumChannels = 16
nonisolated(unsafe) var tapConvTransposed = false
/// Computed columns per dropped one, at least: (kw − 1) · this ≤ Wp (a 1x7 at 17²: 6 of 23).
nonisolated(unsafe) var tapConvColumnsPerDropped = 3
/// The most floats of padded image and per-task product the path may allocate (16M: 64 MB).
let tapConvBudget = 1 << 24

extension TapConvShape {
    /// conv2d of ConvShape s (transposed: conv_transpose2d, its input gradient) as tap GEMMs, when it is one (stride 1,
    /// dilation 1, one group, a kernel larger than 1x1, the full output) that pays. Winograd's shapes are decided first.
    init?(_ s: ConvShape, transposed: Bool) {
        guard s.groups == 1 && s.sh == 1 && s.sw == 1 && s.dh == 1 && s.dw == 1 && s.kh * s.kw > 1
                && s.oh == s.ih + 2 * s.ph - s.kh + 1 && s.ow == s.iw + 2 * s.pw - s.kw + 1 else { return nil }
        if transposed {
            guard tapConvTransposed && s.ph <= s.kh - 1 && s.pw <= s.kw - 1 else { return nil }
            self.init(n: s.n, c: s.o, o: s.c, h: s.oh, w: s.ow, kh: s.kh, kw: s.kw, ph: s.kh - 1 - s.ph,
                      pw: s.kw - 1 - s.pw, flipped: true)
        } else {
            self.init(n: s.n, c: s.c, o: s.o, h: s.ih, w: s.iw, kh: s.kh, kw: s.kw, ph: s.ph, pw: s.pw, flipped: false)
        }
        guard wo >= tapConvMinimumWidth && wo <= tapConvMaximumWidth && c >= tapConvMinimumChannels && o >= 1
                && (kw - 1) * tapConvColumnsPerDropped <= wp && n * c * plane <= tapConvBudget && o * columns <= tapConvBudget else { return nil }
    }
}

/// out = conv(x, w) + bias as tap GEMMs. `xStrides`: x's element strides (n, c, y, x), dense by default; copying
/// into the padded planes reads any layout, so a channel slice (Inception's split heads) needs no contiguous copy.
// x: (n, c, h, w) strided, w: (o, c, kh, kw) or flipped (c, o, kh, kw), bias: (o) -> out: (n, o, ho, wo) dense
func tapConvForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                    _ s: TapConvShape, _ out: UnsafeMutablePointer<Float>, xStrides: [Int]? = nil) {
    let (n, c, o, taps) = (s.n, s.c, s.o, s.taps)
    let (h, wi, ho, wo, wp, plane, columns) = (s.h, s.w, s.ho, s.wo, s.wp, s.plane, s.columns)
    // Weights regrouped per tap: wt[t] (o, c), dense.
    let wt = UnsafeMutablePointer<Float>.allocate(capacity: taps * o * c)
    defer { wt.deallocate() }
    parallelFor(taps) { t in
        for oc in 0..<o { for ic in 0..<c {
            wt[(t * o + oc) * c + ic] = s.flipped ? w[(ic * o + oc) * taps + taps - 1 - t] : w[(oc * c + ic) * taps + t]
        } }
    }
    // Padded planes (n, c, plane).
    let pd = UnsafeMutablePointer<Float>.allocate(capacity: n * c * plane)
    defer { pd.deallocate() }
    let xs = xStrides ?? [c * h * wi, h * wi, wi, 1]
    parallelFor(n * c) { nc in
        let to = pd + nc * plane, from = x + (nc / c) * xs[0] + (nc % c) * xs[1]
        to.initialize(repeating: 0, count: plane)
        for y in 0..<h {
            let row = to + (y + s.ph) * wp + s.pw, src = from + y * xs[2]
            if xs[3] == 1 { row.update(from: src, count: wi) } else { for i in 0..<wi { row[i] = src[i * xs[3]] } }
        }
    }
    // Tasks: (image, block of output channels in whole register strips), enough of them for every thread. A kx-free
    // kernel without column padding (7x1) has wp == wo: its product is the output itself, nothing to crop.
    let threads = Parallel.active ? 1 : Parallel.threadCount
    let strips = (o + gemmMR - 1) / gemmMR
    let blocks = Swift.max(1, Swift.min((2 * threads + n - 1) / n, strips))
    let rowsPerBlock = (strips + blocks - 1) / blocks * gemmMR
    let direct = wp == wo
    parallelFor(n * blocks) { task in
        let (b, o0) = (task / blocks, (task % blocks) * rowsPerBlock)
        let rows = Swift.min(rowsPerBlock, o - o0)
        guard rows > 0 else { return }
        let dst = out + (b * o + o0) * ho * wo
        let full = direct ? dst : UnsafeMutablePointer<Float>.allocate(capacity: rows * columns)
        defer { if !direct { full.deallocate() } }
        if direct, let bias { fillRows(full, rows: rows, count: columns, bias + o0) }
        let image = pd + b * c * plane
        for t in 0..<taps {
            let (ky, kx) = (t / s.kw, t % s.kw)
            gemm(m: rows, n: columns, k: c, MatrixRef(wt + (t * o + o0) * c, rs: c, cs: 1),
                 MatrixRef(image + ky * wp + kx, rs: plane, cs: 1), full, ldc: columns, accumulate: t > 0 || (direct && bias != nil))
        }
        if direct { return }
        for r in 0..<rows {
            let beta = bias?[o0 + r] ?? 0
            for y in 0..<ho {
                let from = full + r * columns + y * wp, to = dst + (r * ho + y) * wo
                for i in 0..<wo { to[i] = from[i] + beta }
            }
        }
    }
}
