// What this build of the kernels is (GEMM tile, instruction set), what the CPU it runs on has, and how close the
// GEMM micro-kernel gets to the CPU's FMA peak (`dreamportrait bench peak`).
// The tile and instruction set are chosen at build time by Package.swift from the target's real features.
import Dispatch
import Foundation

public enum KernelInfo {
    /// The GEMM register tile, rows x columns (MR x NR).
    public static let tile = (rows: gemmMR, columns: gemmNR)
    #if TENSORCORE_AVX512
    public static let instructionSet = "AVX-512"
    #else
    public static let instructionSet = "AVX2+FMA"
    #endif
    #if TENSORCORE_WIDE
    static let registers = "24 zmm accumulators"
    #else
    static let registers = "12 ymm-pair accumulators (6 rows x 2 ymm)"
    #endif
    #if TENSORCORE_NATIVE
    public static let target = "-march=native"
    #else
    public static let target = "fixed -march (TENSORCORE_MARCH)"
    #endif

    /// One line for benchmark headers: tile, instruction set, build target, CPU.
    public static var description: String {
        "GEMM tile \(tile.rows)x\(tile.columns) (\(registers)), \(instructionSet) code, \(target); CPU: \(cpuModel)\(cpuHasAVX512 ? " (has AVX-512)" : " (AVX2, no AVX-512)")"
    }

    static let cpuInfo: String = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    static func cpuField(_ name: String) -> String? {
        for line in cpuInfo.split(separator: "\n") where line.hasPrefix(name) {
            if let colon = line.firstIndex(of: ":") { return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
        }
        return nil
    }
    /// The CPU's model name from /proc/cpuinfo ("unknown CPU" elsewhere).
    public static let cpuModel: String = cpuField("model name") ?? "unknown CPU"
    /// Whether the CPU running this process has AVX-512F (from /proc/cpuinfo's flags).
    public static let cpuHasAVX512: Bool = cpuField("flags")?.split(separator: " ").contains("avx512f") ?? false

    /// Single-thread FMA peak in GFLOP/s: ten independent FMA chains of the build's native vector (8 lanes for AVX2,
    /// 16 for AVX-512), enough to cover FMA latency x 2 ports. Best of `rounds` short runs (robust to other load).
    public static func fmaPeak(rounds: Int = 40) -> Double {
        var best = Double.infinity
        let n = 200_000
        for _ in 0..<rounds {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let r = fmaLoop(n)
            best = Swift.min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            if r == 42 { print(r) }
        }
        return Double(n * 10 * PeakVector.scalarCount * 2) / best / 1e9
    }

    #if TENSORCORE_AVX512
    typealias PeakVector = SIMD16<Float>
    #else
    typealias PeakVector = SIMD8<Float>
    #endif

    @inline(never) static func fmaLoop(_ n: Int) -> Float {
        let one = PeakVector(repeating: 1)
        var a0 = one, a1 = one + 1, a2 = one + 2, a3 = one + 3, a4 = one + 4
        var a5 = one + 5, a6 = one + 6, a7 = one + 7, a8 = one + 8, a9 = one + 9
        let m = PeakVector(repeating: 0.9999999), c = PeakVector(repeating: 1e-7)
        for _ in 0..<n {
            a0 = a0.addingProduct(m, c); a1 = a1.addingProduct(m, c); a2 = a2.addingProduct(m, c); a3 = a3.addingProduct(m, c)
            a4 = a4.addingProduct(m, c); a5 = a5.addingProduct(m, c); a6 = a6.addingProduct(m, c); a7 = a7.addingProduct(m, c)
            a8 = a8.addingProduct(m, c); a9 = a9.addingProduct(m, c)
        }
        let s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9
        return s.sum()
    }

    /// Single-thread GFLOP/s of the GEMM micro-kernel on packed panels that stay in L1 (kc = 256), best of `rounds`.
    public static func microKernelRate(rounds: Int = 40) -> Double { tileRate(rounds: rounds, microKernelOutlined) }

    /// The same for the row-reading tile (`microKernelUnpackedA`) on a row-packed strip (rows kc apart), the form that
    /// row-major A takes in the packed GEMM (`gemmPacksRows`).
    public static func microKernelRowsRate(rounds: Int = 40) -> Double { tileRate(rounds: rounds, microKernelRowsOutlined) }

    /// GFLOP/s of `tile(kc, a, b, c)` on one thread, on A and B panels that stay in L1 (kc = 256), best of `rounds`.
    static func tileRate(rounds: Int, _ tile: (Int, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> Double {
        let kc = 256, reps = 400
        let a = UnsafeMutablePointer<Float>.allocate(capacity: kc * gemmMR), b = UnsafeMutablePointer<Float>.allocate(capacity: kc * gemmNR)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: gemmMR * gemmNR)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        a.initialize(repeating: 0.5, count: kc * gemmMR); b.initialize(repeating: 0.25, count: kc * gemmNR)
        var best = Double.infinity
        for _ in 0..<rounds {
            let t0 = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<reps { tile(kc, a, b, c) }
            best = Swift.min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return Double(reps * kc * gemmMR * gemmNR * 2) / best / 1e9
    }

    @inline(never) static func microKernelRowsOutlined(_ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>) {
        microKernelUnpackedA(kc, a, kc, b, c, gemmNR, false)
    }

    @inline(never) static func microKernelOutlined(_ kc: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>) {
        microKernel(kc, a, b, c, gemmNR, false)
    }
}
