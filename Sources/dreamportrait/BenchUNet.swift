// `dreamportrait bench unet`: times one UNet2DConditionModel forward (the teacher's cost per D-SDS step) at
// Stable Diffusion 2.0-base size with random weights, and reports peak resident memory.
// Scripts/bench_unet_torch.py measures diffusers on the same shapes; README "Performance" has both.
import Foundation
import TensorCore
import Teacher

enum UNetBenchCommand {
    static let command = Command(
        name: "unet",
        abstract: "Time a U-Net forward (Stable Diffusion 2.0-base size, random weights) and report peak memory",
        discussion: "Builds the U-Net from --config (sd2-base or a unet/ folder whose weights are loaded), runs one warm-up "
            + "forward and --runs timed forwards under no-grad (batch 2, as with classifier-free guidance), and prints "
            + "the best and mean time and the process's peak resident memory.",
        options: [
            Option(name: "--config", value: "NAME|FOLDER", help: "sd2-base, or a diffusers unet/ folder", defaultValue: "sd2-base"),
            Option(name: "--batch", value: "N", help: "Batch size", defaultValue: "2"),
            Option(name: "--size", value: "N", help: "Latent height and width", defaultValue: "64"),
            Option(name: "--text-length", value: "N", help: "Text tokens", defaultValue: "77"),
            Option(name: "--runs", value: "N", help: "Timed forwards after the warm-up", defaultValue: "3"),
            Option(name: "--json", value: nil, help: "Print one JSON object"),
        ],
        run: run)

    static func run(_ args: Arguments) throws {
        let batch = try args.int("--batch", default: 2, range: 1...64)
        let size = try args.int("--size", default: 64, range: 8...256)
        let textLength = try args.int("--text-length", default: 77, range: 1...1024)
        let runs = try args.int("--runs", default: 3, range: 1...100)
        let source = args.string("--config") ?? "sd2-base"
        let t0 = now()
        let model: UNet2DConditionModel
        if source == "sd2-base" {
            model = try UNet2DConditionModel(config: .sd2Base, rng: RandomGenerator(seed: 0))
        } else {
            model = try UNet2DConditionModel(path: source)
        }
        model.setRequiresGrad(false)
        let buildSeconds = now() - t0
        let params = model.parameters().reduce(0) { $0 + $1.count }
        let rssAfterBuild = currentRSSBytes()
        let textDim = model.layout.crossAttentionDims[0]
        let sample = RandomGenerator(seed: 1).normal([batch, model.config.inChannels, size, size])
        let text = RandomGenerator(seed: 2).normal([batch, textLength, textDim])
        let timestep = Tensor((0..<batch).map { Float(981 - 300 * ($0 % 3)) }, shape: [batch])
        var times: [Double] = []
        var checksum: Float = 0
        for i in 0...runs {
            let s = now()
            let out = withNoGrad { model(sample, timestep: timestep, encoderHiddenStates: text) }
            let dt = now() - s
            checksum = out.toArray().reduce(0) { $0 + abs($1) } / Float(out.count)
            if i > 0 { times.append(dt) }
            if !args.flag("--json") { print(String(format: "%@ %.3f s", i == 0 ? "warm-up" : "run \(i) ", dt)) }
        }
        let best = times.min()!, mean = times.reduce(0, +) / Double(times.count)
        let peak = peakRSSBytes()
        if args.flag("--json") {
            print("{\"name\": \"unet\", \"config\": \"\(source)\", \"batch\": \(batch), \"size\": \(size), \"text_length\": \(textLength), "
                  + "\"threads\": \(Parallel.threadCount), \"parameters\": \(params), \"build_s\": \(String(format: "%.2f", buildSeconds)), "
                  + "\"best_s\": \(String(format: "%.3f", best)), \"mean_s\": \(String(format: "%.3f", mean)), "
                  + "\"rss_after_build_mib\": \(rssAfterBuild / (1 << 20)), \"peak_rss_mib\": \(peak / (1 << 20)), "
                  + "\"mean_abs_out\": \(checksum)}")
        } else {
            print("UNet2DConditionModel \(source): \(params) parameters, built in \(String(format: "%.1f", buildSeconds)) s, "
                  + "\(Parallel.threadCount) threads, fp32")
            print("input \(batch)x\(model.config.inChannels)x\(size)x\(size), text \(batch)x\(textLength)x\(textDim)")
            print(String(format: "forward: best %.3f s, mean %.3f s over %d runs", best, mean, runs))
            print("resident memory: \(rssAfterBuild / (1 << 20)) MiB after building, peak \(peak / (1 << 20)) MiB")
        }
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Peak resident set size of this process (getrusage: kilobytes on Linux, bytes on macOS).
    static func peakRSSBytes() -> Int {
        var u = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Int(u.ru_maxrss) * 1024
        #else
        getrusage(RUSAGE_SELF, &u)
        return Int(u.ru_maxrss)
        #endif
    }

    /// Current resident set size (Linux /proc/self/statm; the peak elsewhere).
    static func currentRSSBytes() -> Int {
        #if os(Linux)
        if let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            let f = s.split(separator: " ")
            if f.count > 1, let pages = Int(f[1]) { return pages * Int(sysconf(Int32(_SC_PAGESIZE))) }
        }
        #endif
        return peakRSSBytes()
    }
}
