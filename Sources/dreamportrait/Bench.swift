// `dreamportrait bench`: times TensorCore's kernels on the shapes this project depends on.
// Scripts/bench_torch.py prints the same cases for PyTorch; Scripts/bench_compare.sh runs both and prints ratios.
import Foundation
import TensorCore

struct BenchCase {
    let name: String
    let shape: String
    /// Floating-point operations per run (compute-bound cases) or bytes moved (memory-bound cases).
    let work: Double
    let memoryBound: Bool
    /// Builds inputs once and returns the timed body.
    let setup: () -> () -> Void
}

enum BenchCommand {
    static let command = Command(
        name: "bench",
        abstract: "Time the tensor kernels (GEMM, convolution, sampling, normalisation, attention)",
        discussion: "Each case is validated against its naive reference first, then timed (best of several runs).",
        options: [
            Option(name: "--json", value: nil, help: "Print one JSON object per case (name, shape, gflops or gbps, ms)"),
            Option(name: "--cases", value: "LIST", help: "Comma-separated case names or prefixes; gemm_MxKxN times any product, linear_MxKxN the same with B stored transposed, wgrad_MxKxN with A stored transposed", defaultValue: "all"),
            Option(name: "--min-time", value: "SECONDS", help: "Minimum timed seconds per case", defaultValue: "1"),
        ],
        subcommands: [BenchPeak.command, BenchOverhead.command, BenchConv.command, BenchGenerator.command, BenchGenerate.command, BenchTrain.command, BenchDSDS.command, BenchTeacherTrain.command, BenchVAE.command, UNetBenchCommand.command, BenchInception.command],
        run: run)

    static func run(_ args: Arguments) throws {
        let wanted = args.list("--cases")
        let minTime = Double(try args.float("--min-time", default: 1))
        let json = args.flag("--json")
        let cases = allCases.filter { c in wanted.map { w in w.contains { c.name.hasPrefix($0) } } ?? true }
            + (wanted ?? []).compactMap(customGemm)
        if cases.isEmpty {
            throw UsageError(message: "no benchmark case matches --cases \(args.string("--cases") ?? ""); cases: \(allCases.map(\.name).joined(separator: ", "))", command: "dreamportrait bench")
        }
        try validate()
        if !json {
            print("TensorCore benchmark, \(Parallel.threadCount) threads, fp32")
            print(BuildInfo.description)
            print("name".padding(toLength: 18, withPad: " ", startingAt: 0) + "shape".padding(toLength: 34, withPad: " ", startingAt: 0) + "      ms     rate")
        }
        for c in cases {
            let body = withNoGrad { c.setup() }
            let (best, cpu) = withNoGrad { timeWithCPU(body, minTime: minTime) }
            let ms = best * 1000
            let rate = c.work / (ms / 1000) / 1e9
            if json {
                let key = c.memoryBound ? "gbps" : "gflops"
                print("{\"name\": \"\(c.name)\", \"shape\": \"\(c.shape)\", \"\(key)\": \(String(format: "%.2f", rate)), \"ms\": \(String(format: "%.4f", ms)), \"cpu_ms\": \(String(format: "%.4f", cpu * 1000)), \"threads\": \(Parallel.threadCount)}")
            } else {
                let unit = c.memoryBound ? "GB/s" : "GFLOP/s"
                print(c.name.padding(toLength: 18, withPad: " ", startingAt: 0) + c.shape.padding(toLength: 34, withPad: " ", startingAt: 0)
                      + String(format: "%8.3f %8.1f ", ms, rate) + unit)
            }
        }
    }

    /// (best wall time, median process CPU time) of repeated runs after one warm-up, for at least `minTime`
    /// seconds of CPU time. The CPU time (all threads together) is the steadier figure on a loaded machine.
    static func timeWithCPU(_ body: () -> Void, minTime: Double) -> (Double, Double) {
        body()
        var best = Double.infinity, total = 0.0, cpus: [Double] = []
        while total < minTime || cpus.count < 3 {
            let t0 = DispatchTime.now().uptimeNanoseconds, c0 = processCPUSeconds()
            body()
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9, dc = processCPUSeconds() - c0
            best = min(best, dt); total += dc; cpus.append(dc)
        }
        cpus.sort()
        return (best, cpus[cpus.count / 2])
    }

    /// Best time of repeated runs after one warm-up, running for at least `minTime` seconds.
    static func time(_ body: () -> Void, minTime: Double) -> Double {
        body()
        var best = Double.infinity, total = 0.0, runs = 0
        while total < minTime || runs < 3 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            best = min(best, dt); total += dt; runs += 1
        }
        return best
    }

    /// Fast kernels against their naive references on small shapes ("validate, then benchmark").
    static func validate() throws {
        let m = 67, n = 45, k = 129
        let a = RandomGenerator(seed: 1).normal([m, k]), b = RandomGenerator(seed: 2).normal([k, n])
        let fast = Tensor.zeros([m, n]), slow = Tensor.zeros([m, n])
        gemm(m: m, n: n, k: k, MatrixRef(a.data, rs: k, cs: 1), MatrixRef(b.data, rs: n, cs: 1), fast.data, ldc: n)
        gemmReference(m: m, n: n, k: k, MatrixRef(a.data, rs: k, cs: 1), MatrixRef(b.data, rs: n, cs: 1), slow.data, ldc: n)
        let err = zip(fast.toArray(), slow.toArray()).map { abs($0 - $1) }.max() ?? 0
        guard err < 1e-3 else { throw BenchError.validation("gemm differs from its reference by \(err)") }
    }

    enum BenchError: Error, CustomStringConvertible {
        case validation(String)
        var description: String { switch self { case .validation(let s): "validation failed: \(s)" } }
    }

    static func matmulCase(_ name: String, _ m: Int, _ k: Int, _ n: Int) -> BenchCase {
        BenchCase(name: name, shape: "\(m)x\(k) · \(k)x\(n)", work: 2 * Double(m * n * k), memoryBound: false) {
            let a = RandomGenerator(seed: 1).normal([m, k]), b = RandomGenerator(seed: 2).normal([k, n])
            let c = Tensor.zeros([m, n])
            return { gemm(m: m, n: n, k: k, MatrixRef(a.data, rs: k, cs: 1), MatrixRef(b.data, rs: n, cs: 1), c.data, ldc: n) }
        }
    }

    /// A product named on the command line: `gemm_MxKxN` (M x K · K x N), e.g. `--cases gemm_400x768x3072`.
    /// `linear_MxKxN`: the same product with B stored as N x K (x · Wᵀ, as `linear` runs it). `wgrad_MxKxN`: A stored
    /// as K x M (gᵀ · x, as `linear` takes its weight's gradient: M out features, K positions, N in features).
    static func customGemm(_ name: String) -> BenchCase? {
        let transposed = name.hasPrefix("linear_"), weightGradient = name.hasPrefix("wgrad_")
        guard transposed || weightGradient || name.hasPrefix("gemm_") else { return nil }
        let dims = name.drop(while: { $0 != "_" }).dropFirst().split(separator: "x", omittingEmptySubsequences: false).compactMap { Int($0) }
        guard dims.count == 3, dims.allSatisfy({ $0 > 0 && $0 <= 1 << 16 }) else { return nil }
        let (m, k, n) = (dims[0], dims[1], dims[2])
        guard m * k <= 1 << 27 && k * n <= 1 << 27 && m * n <= 1 << 27 else { return nil }   // 512 MiB per operand
        if weightGradient {
            return BenchCase(name: name, shape: "(\(k)x\(m))ᵀ · \(k)x\(n)", work: 2 * Double(m * n * k), memoryBound: false) {
                let g = RandomGenerator(seed: 1).normal([k, m]), x = RandomGenerator(seed: 2).normal([k, n])
                let c = Tensor.zeros([m, n])
                return { gemm(m: m, n: n, k: k, MatrixRef(g.data, rs: 1, cs: m), MatrixRef(x.data, rs: n, cs: 1), c.data, ldc: n) }
            }
        }
        if !transposed { return matmulCase(name, m, k, n) }
        return BenchCase(name: name, shape: "\(m)x\(k) · (\(n)x\(k))ᵀ", work: 2 * Double(m * n * k), memoryBound: false) {
            let a = RandomGenerator(seed: 1).normal([m, k]), w = RandomGenerator(seed: 2).normal([n, k])
            let c = Tensor.zeros([m, n])
            return { gemm(m: m, n: n, k: k, MatrixRef(a.data, rs: k, cs: 1), MatrixRef(w.data, rs: 1, cs: k), c.data, ldc: n) }
        }
    }

    static let allCases: [BenchCase] = [
        matmulCase("sgemm_512", 512, 512, 512),
        matmulCase("sgemm_1024", 1024, 1024, 1024),
        matmulCase("sgemm_2048", 2048, 2048, 2048),
        matmulCase("tallskinny_64", 16384, 64, 64),
        matmulCase("tallskinny_32", 16384, 32, 64),
    ] + BenchCases.ops + BenchCases.clip
}

enum BuildInfo {
    /// The GEMM tile, the instruction set the kernels were compiled for, the build target and this CPU.
    static var march: String { KernelInfo.description }
    static var description: String { KernelInfo.description }
}

/// `dreamportrait bench peak`: single-thread FMA peak (a tight FMA loop), the GEMM micro-kernel in L1 and a whole
/// 1024³ GEMM on one thread, with the fractions of the peak. Best of many short runs, so other load matters less.
enum BenchPeak {
    static let command = Command(
        name: "peak",
        abstract: "Single-thread FMA peak, GEMM micro-kernel and 1024³ GEMM as fractions of it",
        discussion: "Best of many short interleaved runs on one thread; prints the tile and instruction set of this build.",
        options: [Option(name: "--json", value: nil, help: "Print one JSON object")],
        run: run)

    static func run(_ args: Arguments) throws {
        let saved = Parallel.threadCount
        Parallel.threadCount = 1
        defer { Parallel.threadCount = saved }
        let m = 1024
        let a = RandomGenerator(seed: 1).normal([m, m]), b = RandomGenerator(seed: 2).normal([m, m]), c = Tensor.zeros([m, m])
        var peak = 0.0, kernel = 0.0, rows = 0.0, whole = Double.infinity
        for _ in 0..<5 {
            peak = max(peak, KernelInfo.fmaPeak(rounds: 10))
            kernel = max(kernel, KernelInfo.microKernelRate(rounds: 10))
            rows = max(rows, KernelInfo.microKernelRowsRate(rounds: 10))
            let t0 = DispatchTime.now().uptimeNanoseconds
            gemm(m: m, n: m, k: m, MatrixRef(a.data, rs: m, cs: 1), MatrixRef(b.data, rs: m, cs: 1), c.data, ldc: m)
            whole = min(whole, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        let gemmRate = 2 * Double(m * m * m) / whole / 1e9
        if args.flag("--json") {
            print("{\"tile\": \"\(KernelInfo.tile.rows)x\(KernelInfo.tile.columns)\", \"isa\": \"\(KernelInfo.instructionSet)\", \"cpu\": \"\(KernelInfo.cpuModel)\", \"fma_peak_gflops\": \(String(format: "%.1f", peak)), \"microkernel_gflops\": \(String(format: "%.1f", kernel)), \"microkernel_rows_gflops\": \(String(format: "%.1f", rows)), \"sgemm1024_1thread_gflops\": \(String(format: "%.1f", gemmRate))}")
            return
        }
        print(BuildInfo.description)
        print(String(format: "FMA peak, 1 thread (10 chains of %d-lane FMAs):  %7.1f GFLOP/s", KernelInfo.instructionSet == "AVX-512" ? 16 : 8, peak))
        print(String(format: "GEMM micro-kernel %dx%d, kc 256, in L1:           %7.1f GFLOP/s = %.0f%% of peak", KernelInfo.tile.rows, KernelInfo.tile.columns, kernel, 100 * kernel / peak))
        print(String(format: "its row-reading form (rows kc apart), in L1:     %7.1f GFLOP/s = %.0f%% of peak", rows, 100 * rows / peak))
        print(String(format: "sgemm 1024³, 1 thread (packing included):       %7.1f GFLOP/s = %.0f%% of peak", gemmRate, 100 * gemmRate / peak))
    }
}
