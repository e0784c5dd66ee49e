// `dreamportrait bench vae`: times the VAE encoder (SD 2.0-base's AutoencoderKL config, random weights,
// fp32, batch 1) on one image and reports peak memory. Scripts/bench_vae_torch.py does the same with
// diffusers, so the two runs compare directly at the same --threads.
import Foundation
import Teacher
import TensorCore

enum BenchVAE {
    static let command = Command(
        name: "vae",
        abstract: "Time the VAE encoder at 512² (SD 2.0-base config, random weights) and report peak RSS",
        discussion: "Prints one line per run, then the best and median times and the peak resident memory; --json prints one JSON object.",
        options: [
            Option(name: "--size", value: "PX", help: "Image width and height", defaultValue: "512"),
            Option(name: "--runs", value: "N", help: "Timed runs after one warm-up", defaultValue: "3"),
            Option(name: "--decoder", value: nil, help: "Time the decoder (latents of size/8) instead"),
            Option(name: "--json", value: nil, help: "Print one JSON object"),
            Option(name: "--profile", value: nil, help: "Also time each stage of the encoder once"),
            Option(name: "--pool-mib", value: "MIB", help: "Capacity of TensorCore's buffer pool", defaultValue: "512"),
        ],
        run: run)

    static func run(_ args: Arguments) throws {
        let size = try args.int("--size", default: 512, range: 8...4096)
        let runs = try args.int("--runs", default: 3, range: 1...1000)
        let decoder = args.flag("--decoder"), json = args.flag("--json")
        BufferPool.shared.capacityBytes = try args.int("--pool-mib", default: BufferPool.shared.capacityBytes >> 20, range: 0...1 << 20) << 20
        guard size % 8 == 0 else { throw UsageError(message: "invalid value '\(size)' for --size: expected a multiple of 8", command: args.command) }
        let vae = try AutoencoderKL(config: .stableDiffusion2, rng: RandomGenerator(seed: 0))
        vae.train(false)
        let input = decoder ? RandomGenerator(seed: 1).normal([1, 4, size / 8, size / 8])
                            : RandomGenerator(seed: 1).uniform([1, 3, size, size], low: -1, high: 1)
        let rssModel = MemoryUsage.currentRSS()
        if args.flag("--profile") && !decoder { profileEncoder(vae, input) }
        var times: [Double] = [], cpu: [Double] = []
        for i in 0...runs {
            let t0 = DispatchTime.now().uptimeNanoseconds, c0 = MemoryUsage.cpuSeconds()
            withNoGrad { _ = decoder ? vae.decode(input) : vae.encode(input).mean }
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9, dc = MemoryUsage.cpuSeconds() - c0
            if i > 0 { times.append(dt); cpu.append(dc) }
            if !json { print(String(format: "%@ %.3f s (%.2f CPU s)", i == 0 ? "warm-up " : "run \(i)".padding(toLength: 8, withPad: " ", startingAt: 0), dt, dc)) }
        }
        let sorted = times.sorted()
        let best = sorted[0], median = sorted[sorted.count / 2], bestCPU = cpu.min()!
        let peak = MemoryUsage.peakRSS()
        let what = decoder ? "decoder" : "encoder"
        if json {
            print("{\"impl\": \"tensorcore\", \"part\": \"\(what)\", \"size\": \(size), \"threads\": \(Parallel.threadCount), \"best_s\": \(String(format: "%.4f", best)), \"median_s\": \(String(format: "%.4f", median)), \"best_cpu_s\": \(String(format: "%.3f", bestCPU)), \"peak_rss_mib\": \(String(format: "%.1f", peak)), \"rss_after_build_mib\": \(rssModel.map { String(format: "%.1f", $0) } ?? "null")}")
        } else {
            print("VAE \(what), SD 2.0-base config, 1x3x\(size)x\(size), fp32, \(Parallel.threadCount) threads, \(BuildInfo.march)")
            print(String(format: "best %.3f s, median %.3f s, least CPU time %.2f s; peak RSS %.0f MiB", best, median, bestCPU, peak)
                  + (rssModel.map { String(format: " (%.0f MiB after building the model)", $0) } ?? ""))
        }
    }
}

/// Times the encoder's stages (conv_in, each down block's resnets and downsampler, the mid block's parts, the output).
func profileEncoder(_ vae: AutoencoderKL, _ x: Tensor) {
    func timed(_ name: String, _ f: () -> Tensor) -> Tensor {
        let t0 = DispatchTime.now().uptimeNanoseconds, c0 = MemoryUsage.cpuSeconds()
        let y = f()
        print(String(format: "  %-28@ %7.3f s (%.2f CPU s)  -> %@, RSS %.0f MiB, peak %.0f MiB", name, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9,
                     MemoryUsage.cpuSeconds() - c0, "\(y.shape)", MemoryUsage.currentRSS() ?? 0, MemoryUsage.peakRSS()))
        return y
    }
    withNoGrad {
        let e = vae.encoder
        var h = timed("conv_in") { e.convIn(x) }
        for (i, b) in e.downBlocks.items.enumerated() {
            for (j, r) in b.resnets.items.enumerated() { let hh = h; h = timed("down_blocks.\(i).resnets.\(j)") { r(hh) } }
            if let d = b.downsamplers { let hh = h; h = timed("down_blocks.\(i).downsamplers.0") { d[0](hh) } }
        }
        let m = e.midBlock
        do { let hh = h; h = timed("mid_block.resnets.0") { m.resnets[0](hh) } }
        if let a = m.attentions { let hh = h; h = timed("mid_block.attentions.0") { a[0](hh) } }
        do { let hh = h; h = timed("mid_block.resnets.1") { m.resnets[1](hh) } }
        do { let hh = h; h = timed("conv_norm_out, silu, conv_out") { e.convOut(e.convNormOut(hh).silu()) } }
        if let q = vae.quantConv { let hh = h; _ = timed("quant_conv") { q(hh) } }
    }
}

/// Resident memory of this process, in MiB.
enum MemoryUsage {
    /// Peak resident set size (getrusage ru_maxrss: KiB on Linux, bytes on macOS).
    static func peakRSS() -> Double {
        var u = rusage()
        #if os(macOS)
        getrusage(RUSAGE_SELF, &u)
        return Double(u.ru_maxrss) / 1048576
        #else
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_maxrss) / 1024
        #endif
    }

    /// User + system CPU seconds of this process so far (all threads).
    static func cpuSeconds() -> Double {
        var u = rusage()
        #if os(macOS)
        getrusage(RUSAGE_SELF, &u)
        #else
        getrusage(RUSAGE_SELF.rawValue, &u)
        #endif
        return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
    }

    /// Current resident set size from /proc/self/statm (Linux); nil where there is none.
    static func currentRSS() -> Double? {
        guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let f = s.split(separator: " ")
        guard f.count > 1, let pages = Double(f[1]) else { return nil }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1048576
    }
}
