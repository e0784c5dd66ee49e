// Single-precision GEMM: C (M x N) = A (M x K) · B (K x N), optionally C += A · B.
// Operands are strided views: element (i, k) of A is a[i * a.rs + k * a.cs], so transposes cost nothing.
// Goto/BLIS structure: K in blocks of kc; B packed into NR-wide panels (shared by all threads); each task
// packs an MR-row strip block of A and runs the register tile (GemmTile.swift) over it.

import Foundation

/// A strided matrix operand.
public struct MatrixRef {
    public let base: UnsafePointer<Float>
    public let rs: Int, cs: Int
    public init(_ base: UnsafePointer<Float>, rs: Int, cs: Int) { self.base = base; self.rs = rs; self.cs = cs }
}

/// Naive reference: the algorithmic definition, used to validate `gemm` (llm.c's matmul_forward_naive).
public func gemmReference(m: Int, n: Int, k: Int, _ a: MatrixRef, _ b: MatrixRef,
                          _ c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false) {
    for i in 0..<m {
        for j in 0..<n {
            var s: Double = accumulate ? Double(c[i * ldc + j]) : 0
            for p in 0..<k { s += Double(a.base[i * a.rs + p * a.cs]) * Double(b.base[p * b.rs + j * b.cs]) }
            c[i * ldc + j] = Float(s)
        }
    }
}

let gemmKC = 256
let gemmMC = gemmMR * 8

/// C = A · B (or C += A · B). C is dense rows with row stride ldc. Runs across the worker threads.
public func gemm(m: Int, n: Int, k: Int, _ a: MatrixRef, _ b: MatrixRef,
                 _ c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false) {
    if !Parallel.active && gemmSplitsK(m: m, n: n, k: k) {
        gemmSplitK(m: m, n: n, k: k, a, b, c, ldc: ldc, accumulate: accumulate)
        return
    }
    if m > 0 && gemmTakesSmallPath(m: m, n: n, k: k, b) {
        gemmSmall(m: m, n: n, k: k, a, b, c, ldc: ldc, accumulate: accumulate)
        return
    }
    if gemmSplitsBands(m: m, n: n, k: k) {
        gemmBands(m: m, n: n, k: k, a, b, c, ldc: ldc, accumulate: accumulate)
        return
    }
    gemm(m: m, n: n, k: k, a, c, ldc: ldc, accumulate: accumulate) { k0, kc, j0, panels, dst in
        packBPanels(b, k0: k0, kc: kc, j0: j0, panels: panels, n: n, into: dst)
    }
}

/// Whether a product runs as one band of C per thread (`gemmBands`) rather than as row blocks handed out dynamically
/// over a shared packed B: when it is wide (n > m: the columns are split) or has too few row blocks for the dynamic
/// scheme to balance (fewer than gemmBandMaxRowBlocks per thread), and each band gets at least gemmBandStrips strips.
/// The static split is faster on quiet cores; the dynamic one holds up better when one core is slowed by other load.
/// 2 threads, AVX2 Zen 3 (a VM with noisy neighbours), 10 interleaved rounds, best / median GFLOP/s, bands vs shared
/// (PyTorch): 400x768 · 768x3072 176.7 / 157.2 vs 161.4 / 135.8 (172.6 / 146.3); x · Wᵀ 400x768x768 178.9 / 166.1 vs
/// 167.2 / 134.8 (184.6 / 172.0); 512² 175.7 / 135.5 vs 168.6 / 140.5 (183.1 / 161.8); 1024² 170.6 / 129.8 vs
/// 168.5 / 144.4; 2048² 171.1 / 142.7 vs 171.7 / 148.3.
func gemmSplitsBands(m: Int, n: Int, k: Int) -> Bool {
    guard gemmBandSplit && !Parallel.active && Parallel.threadCount > 1 && m * n * k >= gemmSerialWork else { return false }
    let threads = Parallel.threadCount
    if gemmBandSplitsColumns(m: m, n: n) { return n >= threads * gemmBandStrips * gemmNR }
    return m >= threads * gemmBandStrips * gemmMR && (m + gemmMC - 1) / gemmMC < threads * gemmBandMaxRowBlocks
}
let gemmBandStrips = 8
let gemmBandMaxRowBlocks = 8
/// The band split copies one operand into every thread's packing buffers: B when the rows are split, A when the
/// columns are. Split the side whose copied operand is smaller (A is m x k, B is k x n).
func gemmBandSplitsColumns(m: Int, n: Int) -> Bool { n > m }

/// C (+)= A · B with C cut into one contiguous band per thread, of rows (a whole number of MR strips each) or of
/// columns (whole NR panels), as even as that allows; each band is a serial GEMM that packs its own operands. One
/// parallel region and no barrier per K block (the shared-B scheme waits for every thread twice per K block), for
/// packing the smaller operand once per thread. Every element of C is summed in the same order as in the serial GEMM,
/// so results do not depend on the thread count.
func gemmBands(m: Int, n: Int, k: Int, _ a: MatrixRef, _ b: MatrixRef, _ c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
    let threads = Parallel.threadCount
    if gemmBandSplitsColumns(m: m, n: n) {
        let panels = (n + gemmNR - 1) / gemmNR
        parallelFor(threads) { t in
            let j0 = Swift.min(n, panels * t / threads * gemmNR), j1 = Swift.min(n, panels * (t + 1) / threads * gemmNR)
            if j0 >= j1 { return }
            gemm(m: m, n: j1 - j0, k: k, a, c + j0, ldc: ldc, accumulate: accumulate) { k0, kc, jj, panels, dst in
                packBPanels(b, k0: k0, kc: kc, j0: j0 + jj, panels: panels, n: n, into: dst)
            }
        }
        return
    }
    let strips = (m + gemmMR - 1) / gemmMR
    parallelFor(threads) { t in
        let r0 = Swift.min(m, strips * t / threads * gemmMR), r1 = Swift.min(m, strips * (t + 1) / threads * gemmMR)
        if r0 >= r1 { return }
        let at = MatrixRef(a.base + r0 * a.rs, rs: a.rs, cs: a.cs)
        gemm(m: r1 - r0, n: n, k: k, at, c + r0 * ldc, ldc: ldc, accumulate: accumulate) { k0, kc, j0, panels, dst in
            packBPanels(b, k0: k0, kc: kc, j0: j0, panels: panels, n: n, into: dst)
        }
    }
}

/// Reduction length of one chunk of a split-K product, and the largest result (m · n) split that way.
let gemmSplitKChunk = 2048
let gemmSplitKMaxOutput = 1 << 17

/// Whether a product has a long reduction and a small result (a weight gradient: out × in summed over every position,
/// e.g. 64 × 64 over 8192 rows), which `gemm` would run as k / 256 rounds of two thread wake-ups each. Independent of
/// the thread count, so that the sums are too.
func gemmSplitsK(m: Int, n: Int, k: Int) -> Bool {
    m > 0 && n > 0 && k >= 2 * gemmSplitKChunk && m * n <= gemmSplitKMaxOutput && m * n * k >= gemmSerialWork
}

/// C (+)= A · B with K in fixed chunks of gemmSplitKChunk: one serial GEMM per chunk, the chunks spread over the
/// threads (one parallel region), their partial products summed in chunk order, whatever the thread count.
func gemmSplitK(m: Int, n: Int, k: Int, _ a: MatrixRef, _ b: MatrixRef, _ c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
    let chunks = (k + gemmSplitKChunk - 1) / gemmSplitKChunk, mn = m * n
    let partial = UnsafeMutablePointer<Float>.allocate(capacity: chunks * mn)
    defer { partial.deallocate() }
    parallelFor(chunks) { q in
        let k0 = q * gemmSplitKChunk, kc = Swift.min(gemmSplitKChunk, k - k0)
        let aq = MatrixRef(a.base + k0 * a.cs, rs: a.rs, cs: a.cs), bq = MatrixRef(b.base + k0 * b.rs, rs: b.rs, cs: b.cs)
        gemm(m: m, n: n, k: kc, aq, bq, partial + q * mn, ldc: n)   // on this worker (or alone on one thread)
    }
    // Each element sums C (or 0) and then the chunks in chunk order, as the serial reference; a row at a time, the
    // chunks' rows added whole (contiguous, vectorised) instead of one element's chunks at a time (strided by m · n).
    parallelRanges(m, grain: Swift.max(1, 16384 / Swift.max(n, 1))) { rows in
        for i in rows {
            let dst = c + i * ldc
            if !accumulate { dst.initialize(repeating: 0, count: n) }
            for q in 0..<chunks {
                let src = partial + (q &* mn &+ i &* n)
                for j in 0..<n { dst[j] += src[j] }
            }
        }
    }
}

/// GEMM whose B operand is produced panel by panel: `packPanels(k0, kc, j0, count, dst)` writes rows k0..<k0+kc of
/// columns j0..<j0+count·NR of B into dst as `count` panels of kc rows of NR floats (panel q at dst + q · kc · NR),
/// zero past column n. Convolution packs its im2col columns straight from the image this way, with no column matrix in
/// memory (implicit GEMM).
/// Wide products are done gemmNC columns at a time, so the packed B block stays in L2 instead of growing with n (a 512²
/// convolution would pack 262,144 columns: 268 MB). Each column block is an independent GEMM with the same summation
/// order, so the result does not depend on the blocking (nor on the machine's cache size, which sets gemmNC).
@inline(__always)
func gemm(m: Int, n: Int, k: Int, _ a: MatrixRef, _ c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool,
          packPanels: (_ k0: Int, _ kc: Int, _ j0: Int, _ count: Int, _ dst: UnsafeMutablePointer<Float>) -> Void) {
    var jb = 0
    let nc = gemmNC
    repeat {
        let nb = Swift.min(nc, n - jb)
        gemmColumns(m: m, n: nb, k: k, a, c + jb, ldc: ldc, accumulate: accumulate) { k0, kc, j0, count, dst in
            packPanels(k0, kc, jb + j0, count, dst)
        }
        jb += nb
    } while jb < n
}

/// Columns per GEMM block: as many NR panels as keep the packed B block (gemmKC rows) within half the core's L2, and
/// at least 512 KB of it (the convolution's chunk, `convColumnChunk`; sysconf reports no L2 on some machines). 2-core
/// Intel Xeon (family 6 model 207, 2 MB L2), 1 thread, a standalone copy of this tile and packing, beside two training
/// runs, best of 25 interleaved, GFLOP/s, with the packed B block at 8 MB (n ≤ 8192, before) / 1 MB (1024 columns,
/// now) / 512 KB: sgemm 2048³ 131.5 / 139.9 / 140.1, 1024³ 148.9 / 147.6 (one block either way) / 141.6 (two
/// blocks: A packed twice). The release binary, 1 thread: beside the runs 2048³ 99–104 -> 115–118; on the quiet machine
/// no change (141.4 / 141.8, 127.1 / 130.3 in two rounds): the smaller block pays where other work shares the caches.
let gemmNC: Int = {
    let l2 = sysconf(Int32(_SC_LEVEL2_CACHE_SIZE))
    let bytes = Swift.max(1 << 19, l2 > 0 ? l2 / 2 : 0)
    return Swift.max(8, bytes / (gemmKC * 4) / gemmNR) * gemmNR
}()

/// One column block of `gemm`: B[:, 0..<n] packed kc rows at a time, the row blocks of A spread over the threads.
@inline(__always)
func gemmColumns(m: Int, n: Int, k: Int, _ a: MatrixRef, _ c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool,
                 packPanels: (_ k0: Int, _ kc: Int, _ j0: Int, _ count: Int, _ dst: UnsafeMutablePointer<Float>) -> Void) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        if !accumulate { for i in 0..<m { (c + i * ldc).initialize(repeating: 0, count: n) } }
        return
    }
    let nPanels = (n + gemmNR - 1) / gemmNR
    let mBlocks = (m + gemmMC - 1) / gemmMC
    // Small products (under gemmSerialWork multiply-adds: a few microseconds on one core) stay on the calling
    // thread: waking a worker costs more than it saves, and small models run thousands of them per step.
    let serial = Parallel.active || Parallel.threadCount == 1 || m * n * k < gemmSerialWork
    let threads = serial ? 1 : Parallel.threadCount
    // Split N too when there are too few row blocks to keep every thread busy (small-M GEMMs).
    let nChunks = Swift.min(nPanels, Swift.max(1, (2 * threads + mBlocks - 1) / mBlocks))
    // Cache-line aligned: the tile loads a 64-byte row of a panel per k (malloc's 16-byte alignment splits it).
    let packedBRaw = UnsafeMutableRawPointer.allocate(byteCount: nPanels * gemmNR * Swift.min(k, gemmKC) * 4, alignment: 64)
    defer { packedBRaw.deallocate() }
    let packedB = packedBRaw.bindMemory(to: Float.self, capacity: nPanels * gemmNR * Swift.min(k, gemmKC))

    var k0 = 0
    while k0 < k {
        let kc = Swift.min(gemmKC, k - k0)
        // Pack B[k0..<k0+kc, :] into panels: panel p holds kc rows of NR floats (zero-padded).
        if serial {
            packPanels(k0, kc, 0, nPanels, packedB)
        } else {
            parallelRanges(nPanels, grain: Swift.max(1, 4096 / kc)) { panels in
                packPanels(k0, kc, panels.lowerBound * gemmNR, panels.count, packedB + panels.lowerBound * gemmNR * kc)
            }
        }
        let acc = accumulate || k0 > 0
        let tasks = mBlocks * nChunks
        let runTask: (Int) -> Void = { task in
            let mb = task / nChunks, nc = task % nChunks
            let i0 = mb * gemmMC, mc = Swift.min(gemmMC, m - i0)
            let p0 = nPanels * nc / nChunks, p1 = nPanels * (nc + 1) / nChunks
            // Narrow products (at most gemmUnpackedAPanels B panels in this task) with row-major A: the tile
            // reads A's rows in place, as packing them would cost about as much as the product (tall-skinny GEMMs).
            let unpackedA = gemmHasUnpackedA && a.cs == 1 && p1 - p0 <= gemmUnpackedAPanels
            withUnsafeTemporaryAllocation(of: Float.self, capacity: gemmMC * kc + gemmMR * gemmNR) { buf in
                let packedA = buf.baseAddress!, tile = packedA + gemmMC * kc
                let strips = (mc + gemmMR - 1) / gemmMR
                // Row-major A is packed row by row (a copy per row) and read by the unpacked-A tile with row stride kc.
                let rowsPacked = gemmPacksRows && a.cs == 1 && !unpackedA
                if unpackedA {
                    let last = strips - 1   // only a partial last strip is packed
                    if mc - last * gemmMR < gemmMR { packA(a, i0: i0 + last * gemmMR, m: m, k0: k0, kc: kc, into: packedA + last * gemmMR * kc) }
                } else if rowsPacked {
                    for s in 0..<strips { packARows(a, i0: i0 + s * gemmMR, m: m, k0: k0, kc: kc, into: packedA + s * gemmMR * kc) }
                } else if a.rs == 1 {
                    packAColumns(a, i0: i0, mc: mc, k0: k0, kc: kc, into: packedA)
                } else {
                    for s in 0..<strips { packA(a, i0: i0 + s * gemmMR, m: m, k0: k0, kc: kc, into: packedA + s * gemmMR * kc) }
                }
                for p in p0..<p1 {
                    let j0 = p * gemmNR, nr = Swift.min(gemmNR, n - j0)
                    let bp = UnsafePointer(packedB + p * gemmNR * kc)
                    for s in 0..<strips {
                        let r0 = i0 + s * gemmMR, mr = Swift.min(gemmMR, m - r0)
                        let ap = UnsafePointer(packedA + s * gemmMR * kc)
                        // The rows the unpacked-A tile reads: A in place (unpackedA, full strips) or the row-packed strip
                        // (zero-padded, so partial strips too).
                        let rowsA = rowsPacked ? ap : UnsafePointer(a.base + r0 * a.rs + k0), lda = rowsPacked ? kc : a.rs
                        let readsRows = rowsPacked || (unpackedA && mr == gemmMR)
                        if mr == gemmMR && nr == gemmNR {
                            if readsRows { microKernelUnpackedA(kc, rowsA, lda, bp, c + r0 * ldc + j0, ldc, acc) }
                            else { microKernel(kc, ap, bp, c + r0 * ldc + j0, ldc, acc) }
                        } else {
                            // Edge tile: compute the full tile into scratch, copy the valid part.
                            if readsRows { microKernelUnpackedA(kc, rowsA, lda, bp, tile, gemmNR, false) }
                            else { microKernel(kc, ap, bp, tile, gemmNR, false) }
                            for r in 0..<mr {
                                let dst = c + (r0 + r) * ldc + j0, src = tile + r * gemmNR
                                if acc { for j in 0..<nr { dst[j] += src[j] } } else { dst.update(from: src, count: nr) }
                            }
                        }
                    }
                }
            }
        }
        if serial { for t in 0..<tasks { runTask(t) } } else { parallelFor(tasks, runTask) }
        k0 += kc
    }
}

/// B panels per task up to which the register tile reads row-major A in place instead of packing it (n ≤ 64 columns
/// with the 6x16 tile, n ≤ 128 with 12x32).
let gemmUnpackedAPanels = 4

/// Multiply-adds below which a GEMM runs on the calling thread alone (2^22: about 30 µs on one core, what waking a
/// worker costs; the overhead chain ran 1.5x slower on 2 threads than on 1 at 2^18, and at 2^21 `bench overhead`'s
/// MLP step (three 2^21 GEMMs) took 0.24 ms on 2 threads against 0.21 ms on 1, quiet; 0.205 ms at 2^22).
let gemmSerialWork = 1 << 22

/// `count` panels of B's columns j0 ..< j0 + count · NR (panel q at dst + q · kc · NR, as packB). Row-major B with every
/// panel full is packed a row at a time: each row's run of count · NR floats read contiguously and dealt into the panels.
/// Panel by panel instead reads NR floats from each of kc rows n floats apart (a 4 KB stride at n = 1024), which the
/// hardware prefetcher does not follow: 1 thread, sgemm 1024³ 141.9 -> 148.9 GFLOP/s in the standalone copy beside two
/// training runs (Xeon, as gemmNC); the release binary on the quiet machine, 154.0 -> 153.6 (no change).
// b: (k, n) -> dst: count panels of kc · NR floats
@inline(__always) func packBPanels(_ b: MatrixRef, k0: Int, kc: Int, j0: Int, panels count: Int, n: Int,
                                   into dst: UnsafeMutablePointer<Float>) {
    if b.cs == 1 && j0 + count * gemmNR <= n {
        let panelSize = kc * gemmNR
        var row = b.base + k0 * b.rs + j0
        for kk in 0..<kc {
            var src = row, d = dst + kk * gemmNR
            for _ in 0..<count {
                var v = 0
                while v < gemmNR { vstore(vload(src + v), d + v); v += vWidth }
                src += gemmNR; d += panelSize
            }
            row += b.rs
        }
        return
    }
    for q in 0..<count { packB(b, k0: k0, kc: kc, j0: j0 + q * gemmNR, n: n, into: dst + q * kc * gemmNR) }
}

/// packed[kk * NR + j] = B[k0 + kk, j0 + j], zero beyond column n.
@inline(__always) func packB(_ b: MatrixRef, k0: Int, kc: Int, j0: Int, n: Int, into dst: UnsafeMutablePointer<Float>) {
    let nr = Swift.min(gemmNR, n - j0)
    if b.cs == 1 && nr == gemmNR {
        // Rows of NR floats as whole vectors (a per-row memcpy call cost 1.5 cycles per float).
        var src = b.base + k0 * b.rs + j0, d = dst
        for _ in 0..<kc {
            var v = 0
            while v < gemmNR { vstore(vload(src + v), d + v); v += vWidth }
            src += b.rs; d += gemmNR
        }
        return
    }
    if b.rs == 1 {
        // Bᵀ stored row-major (a transposed operand): 16 × 16 blocks (16 columns' runs of 16 k) are loaded as
        // vectors, transposed in registers and stored as 16 panel rows; the rest column by column, each column's run
        // of k read contiguously and written with stride NR (the panel, kc · NR floats, stays in L1).
        var j16 = 0
        while j16 + vWidth <= nr {
            let src = b.base + k0 + (j0 + j16) * b.cs, d = dst + j16
            var kk = 0
            while kk + vWidth <= kc {
                let c = src + kk, cs = b.cs
                var r: V16 = (vload(c), vload(c + cs), vload(c + 2 * cs), vload(c + 3 * cs), vload(c + 4 * cs),
                              vload(c + 5 * cs), vload(c + 6 * cs), vload(c + 7 * cs), vload(c + 8 * cs), vload(c + 9 * cs),
                              vload(c + 10 * cs), vload(c + 11 * cs), vload(c + 12 * cs), vload(c + 13 * cs),
                              vload(c + 14 * cs), vload(c + 15 * cs))
                r = perfectShuffle(perfectShuffle(perfectShuffle(perfectShuffle(r))))   // row l, lane j -> row j, lane l
                let o = d + kk * gemmNR, s = gemmNR
                vstore(r.0, o); vstore(r.1, o + s); vstore(r.2, o + 2 * s); vstore(r.3, o + 3 * s)
                vstore(r.4, o + 4 * s); vstore(r.5, o + 5 * s); vstore(r.6, o + 6 * s); vstore(r.7, o + 7 * s)
                vstore(r.8, o + 8 * s); vstore(r.9, o + 9 * s); vstore(r.10, o + 10 * s); vstore(r.11, o + 11 * s)
                vstore(r.12, o + 12 * s); vstore(r.13, o + 13 * s); vstore(r.14, o + 14 * s); vstore(r.15, o + 15 * s)
                kk += vWidth
            }
            for j in 0..<vWidth where kk < kc {
                let col = src + j * b.cs
                for k2 in kk..<kc { d[k2 * gemmNR + j] = col[k2] }
            }
            j16 += vWidth
        }
        for j in j16..<nr {
            let col = b.base + k0 + (j0 + j) * b.cs, d = dst + j
            for kk in 0..<kc { d[kk * gemmNR] = col[kk] }
        }
        if nr < gemmNR { for kk in 0..<kc { for j in nr..<gemmNR { dst[kk * gemmNR + j] = 0 } } }
        return
    }
    for kk in 0..<kc {
        let row = b.base + (k0 + kk) * b.rs + j0 * b.cs, d = dst + kk * gemmNR
        for j in 0..<nr { d[j] = row[j * b.cs] }
        for j in nr..<gemmNR { d[j] = 0 }
    }
}

/// packed[r * kc + kk] = A[i0 + r, k0 + kk], zero beyond row m: a strip of row-major A copied row by row.
@inline(__always) func packARows(_ a: MatrixRef, i0: Int, m: Int, k0: Int, kc: Int, into dst: UnsafeMutablePointer<Float>) {
    let mr = Swift.min(gemmMR, m - i0)
    for r in 0..<mr { (dst + r * kc).update(from: a.base + (i0 + r) * a.rs + k0, count: kc) }
    if mr < gemmMR { (dst + mr * kc).initialize(repeating: 0, count: (gemmMR - mr) * kc) }
}

/// Every strip of rows i0 ..< i0 + mc at once, for A whose rows are adjacent (rs == 1: a transposed operand, as gᵀ in
/// `linear`'s weight gradient gᵀ · x): one pass over k reads each column of the block once, contiguously, and deals
/// it into the strips. Strip by strip (packA) reads every column once per strip, strided by the column stride, from
/// L2: 60% of a 64 x 65536 x 32 weight gradient's time went there. Same layout as packA strip after strip.
// a: (m, k) with rs == 1, rows i0 ..< i0 + mc -> dst: ⌈mc / MR⌉ strips of kc · MR floats (k-major), rows past mc zero
@inline(__always) func packAColumns(_ a: MatrixRef, i0: Int, mc: Int, k0: Int, kc: Int, into dst: UnsafeMutablePointer<Float>) {
    let full = mc / gemmMR, tail = mc - full * gemmMR, stripSize = kc &* gemmMR
    for kk in 0..<kc {
        let col = a.base + (i0 &+ (k0 &+ kk) &* a.cs)
        var d = dst + kk &* gemmMR, src = col
        for _ in 0..<full {
            for r in 0..<gemmMR { d[r] = src[r] }
            d += stripSize; src += gemmMR
        }
        if tail > 0 {
            for r in 0..<tail { d[r] = src[r] }
            for r in tail..<gemmMR { d[r] = 0 }
        }
    }
}

/// packed[kk * MR + r] = A[i0 + r, k0 + kk], zero beyond row m.
@inline(__always) func packA(_ a: MatrixRef, i0: Int, m: Int, k0: Int, kc: Int, into dst: UnsafeMutablePointer<Float>) {
    let mr = Swift.min(gemmMR, m - i0)
    if a.cs == 1 {
        for r in 0..<mr {
            let row = a.base + (i0 + r) * a.rs + k0
            for kk in 0..<kc { dst[kk * gemmMR + r] = row[kk] }
        }
    } else {
        for kk in 0..<kc {
            let col = a.base + i0 * a.rs + (k0 + kk) * a.cs, d = dst + kk * gemmMR
            for r in 0..<mr { d[r] = col[r * a.rs] }
        }
    }
    if mr < gemmMR { for kk in 0..<kc { for r in mr..<gemmMR { dst[kk * gemmMR + r] = 0 } } }
}
