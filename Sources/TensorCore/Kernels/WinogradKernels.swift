// Winograd's minimal filtering F(2×2, 3×3) for 3×3, stride-1, padding-1 convolutions (Lavin & Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2016): each 2×2 output tile is Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A for the
// 4×4 input tile d around it, so the 9 multiplies per output become 4. Summed over input channels, each of the 16
// transformed positions ξ = 4·i + j is one GEMM: M_ξ (O × tiles) = U_ξ (O × C) · V_ξ (C × tiles). The transforms use
// only additions and halvings, so the result differs from direct convolution by rounding only.
//   Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1],  Aᵀ = [1 1 1 0; 0 1 -1 -1]
// The fast kernel is fused around the GEMM register tile (GemmTile.swift) so that no transformed operand is packed
// twice and M never goes to memory (the transforms are in WinogradTransforms.swift):
//   * the input transform writes V straight in the tile's packed-B layout (panels of NR tiles);
//   * U is made per block of output-channel strips and input channels, straight in the packed-A layout, into a
//     thread's own scratch (it stays in L2 while every panel of tiles streams past it);
//   * the 16 register-tile products of one (strip, panel) land in a 16 · MR · NR scratch and go through the
//     output transform at once (vectorised over 16 tiles); as Aᵀ M A is linear in M, the input-channel blocks add
//     their transformed partial sums into the output.
// Images of many tiles go a band of tile rows at a time, so V stays near winogradBandBudget floats.

/// One Winograd convolution: x (n, c, h, w) -> out (n, o, h, w), 2×2 output tiles.
struct WinogradShape {
    let n: Int, c: Int, o: Int, h: Int, w: Int
    var tilesH: Int { (h + 1) / 2 }
    var tilesW: Int { (w + 1) / 2 }
    /// Tile rows over the batch: tile row = b · tilesH + ty.
    var tileRows: Int { n * tilesH }
}

/// The convolutions the fused kernel runs faster than the GEMM convolution (`WinogradShape(_:transposed:)`): at
/// least this many input channels and tiles (N · ⌈H/2⌉ · ⌈W/2⌉). Measured on 2 Zen 5 cores, AVX-512 build, 1 and 2
/// threads: with fewer tiles (an 8² or 12² image) it loses on one thread; with 8 or fewer input channels the
/// register tile's K is too short. Tests raise them to compare with the GEMM convolution.
nonisolated(unsafe) var winogradMinimumChannels = 16
nonisolated(unsafe) var winogradMinimumTiles = 64

extension WinogradShape {
    /// conv2d of ConvShape s (transposed: conv_transpose2d, its input gradient, with s.o input channels) as a
    /// Winograd convolution, when it is one (3×3, stride 1, padding 1, dilation 1, one group, same size) that pays.
    init?(_ s: ConvShape, transposed: Bool) {
        guard s.groups == 1 && s.kh == 3 && s.kw == 3 && s.sh == 1 && s.sw == 1 && s.ph == 1 && s.pw == 1
                && s.dh == 1 && s.dw == 1 && s.oh == s.ih && s.ow == s.iw else { return nil }
        self.init(n: s.n, c: transposed ? s.o : s.c, o: transposed ? s.c : s.o, h: s.ih, w: s.iw)
        guard c >= winogradMinimumChannels && o >= 1 && n * tilesH * tilesW >= winogradMinimumTiles else { return nil }
    }
}

/// Input channels per block of U (the register tile's K per call), and output-channel strips (of gemmMR rows) per
/// block: U's block (16 · 2 · 12 · 256 floats, 393 KB) stays in L2 while the panels of V stream past it, each
/// panel used for both strips. Measured at 512 channels, 32²: 128 × 4, 256 × 2 and 512 × 1 within 5%.
let winogradKC = 256
let winogradStrips = 2
/// Floats of V per band of tile rows (8 MB); tests lower it.
nonisolated(unsafe) var winogradBandBudget = 1 << 21

// MARK: - The convolution

/// out = conv2d(x, w, padding 1) + bias by F(2×2, 3×3), or conv_transpose2d(x, w, padding 1) + bias when flipped.
// x: (n, c, h, w), w: (o, c, 3, 3) (flipped: (c, o, 3, 3)), bias: (o) -> out: (n, o, h, w), all dense
func winogradConvForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                         _ s: WinogradShape, _ out: UnsafeMutablePointer<Float>, flipped: Bool = false) {
    let tw = s.tilesW, mr = gemmMR, nr = gemmNR
    let bandRows = Swift.max(1, Swift.min(s.tileRows, winogradBandBudget / (16 * s.c * tw)))
    let maxPanels = (bandRows * tw + nr - 1) / nr
    let strips = (s.o + mr - 1) / mr
    let kc = Swift.min(s.c, winogradKC)
    let aStride = (kc * mr + 15) / 16 * 16 + 16   // whole vectors, padded so the 16 planes do not share cache sets
    let threads = Parallel.active ? 1 : Parallel.threadCount
    let plane = winogradPlane(s), bp = UnsafeMutablePointer<Float>.allocate(capacity: maxPanels * 16 * plane)
    defer { bp.deallocate() }
    var r0 = 0
    while r0 < s.tileRows {
        let rows = r0..<Swift.min(s.tileRows, r0 + bandRows), tiles = rows.count * tw
        let panels = (tiles + nr - 1) / nr
        winogradPackInput(x, s, rows: rows, bp)
        // Tasks: a grid of strip ranges × panel ranges, by strips while there are enough of them.
        let stripChunks = Swift.max(1, Swift.min(threads, strips / winogradStrips))
        let panelChunks = Swift.min(panels, (threads + stripChunks - 1) / stripChunks)
        parallelFor(stripChunks * panelChunks) { task in
            let sc = task / panelChunks, pc = task % panelChunks
            let sLo = strips * sc / stripChunks, sHi = strips * (sc + 1) / stripChunks
            let pLo = panels * pc / panelChunks, pHi = panels * (pc + 1) / panelChunks
            withUnsafeTemporaryAllocation(of: Float.self, capacity: winogradStrips * 16 * aStride + 16 * mr * nr) { buf in
                let ap = buf.baseAddress!, m = ap + winogradStrips * 16 * aStride
                for g0 in stride(from: sLo, to: sHi, by: winogradStrips) {
                    let gs = Swift.min(winogradStrips, sHi - g0)
                    for k0 in stride(from: 0, to: s.c, by: kc) {
                        let kcc = Swift.min(kc, s.c - k0)
                        winogradPackFilters(w, s, flipped: flipped, strip0: g0, strips: gs, k0: k0, kc: kcc, ap, aStride: aStride)
                        for p in pLo..<pHi {
                            for si in 0..<gs {
                                let a = ap + si * 16 * aStride
                                for xi in 0..<16 {
                                    microKernel(kcc, a + xi * aStride, bp + (p * 16 + xi) * plane + k0 * nr, m + xi * mr * nr, nr, false)
                                }
                                let o0 = (g0 + si) * mr
                                winogradStoreTiles(m, s, o0: o0, mr: Swift.min(mr, s.o - o0), t0: rows.lowerBound * tw + p * nr,
                                                   tiles: Swift.min(nr, tiles - p * nr), bias: bias, accumulate: k0 > 0, out)
                            }
                        }
                    }
                }
            }
        }
        r0 = rows.upperBound
    }
}

// MARK: - Naive reference

/// The F(2×2, 3×3) algorithm from its matrices, tile by tile, with Float64 sums: the reference the fused kernel is
/// tested against (and, through conv2d, against direct convolution).
// x: (n, c, h, w), w: (o, c, 3, 3), bias: (o) -> out: (n, o, h, w), all dense
func winogradConvReference(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                           _ s: WinogradShape, _ out: UnsafeMutablePointer<Float>) {
    let bt: [[Double]] = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
    let g: [[Double]] = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]
    let at: [[Double]] = [[1, 1, 1, 0], [0, 1, -1, -1]]
    // a (p × q) · b (q × r)
    func mul(_ a: [[Double]], _ b: [[Double]]) -> [[Double]] {
        a.map { row in (0..<b[0].count).map { j in zip(row, b).reduce(0) { $0 + $1.0 * $1.1[j] } } }
    }
    func transpose(_ a: [[Double]]) -> [[Double]] { (0..<a[0].count).map { j in a.map { $0[j] } } }
    let u: [[[Double]]] = (0..<s.o * s.c).map { i in
        mul(mul(g, (0..<3).map { r in (0..<3).map { Double(w[i * 9 + r * 3 + $0]) } }), transpose(g))
    }
    for b in 0..<s.n { for ty in 0..<s.tilesH { for tx in 0..<s.tilesW {
        let v: [[[Double]]] = (0..<s.c).map { ci in
            let d = (0..<4).map { i in (0..<4).map { j -> Double in
                let y = 2 * ty - 1 + i, xx = 2 * tx - 1 + j
                return y >= 0 && y < s.h && xx >= 0 && xx < s.w ? Double(x[((b * s.c + ci) * s.h + y) * s.w + xx]) : 0
            } }
            return mul(mul(bt, d), transpose(bt))
        }
        for oc in 0..<s.o {
            var m = [[Double]](repeating: [Double](repeating: 0, count: 4), count: 4)
            for ci in 0..<s.c { for i in 0..<4 { for j in 0..<4 { m[i][j] += u[oc * s.c + ci][i][j] * v[ci][i][j] } } }
            let y = mul(mul(at, m), transpose(at))
            for i in 0..<2 { for j in 0..<2 where 2 * ty + i < s.h && 2 * tx + j < s.w {
                out[((b * s.o + oc) * s.h + 2 * ty + i) * s.w + 2 * tx + j] = Float(y[i][j] + Double(bias?[oc] ?? 0))
            } }
        }
    } } }
}
