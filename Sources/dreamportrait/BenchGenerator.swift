// `dreamportrait bench generator`: the whole EG3D generator forward (mapping + backbone + renderer +
// super-resolution) at the FFHQ-512 configuration with random weights, as Scripts/bench_eg3d_torch.py times the
// official one: fp32, R = 128, 48 + 48 samples, noise_mode const, no gradients. Prints seconds per image (wall and
// CPU), a per-stage breakdown and the process's peak resident memory (VmHWM, which includes the weights).
import Foundation
import PortraitExport
import TensorCore
import TriPlaneGAN

enum BenchGenerator {
    static let command = Command(
        name: "generator",
        abstract: "Time the full generator forward (FFHQ-512, R = 128, random weights) and its peak memory",
        discussion: "Compare with `python3 Scripts/bench_eg3d_torch.py --eg3d PATH` (the official generator, same settings).",
        options: [
            Option(name: "--runs", value: "N", help: "Timed runs after one warm-up", defaultValue: "3"),
            Option(name: "--resolution", value: "R", help: "Neural rendering resolution", defaultValue: "128"),
            Option(name: "--config", value: "NAME", help: "ffhq512 or tiny128", defaultValue: "ffhq512"),
            Option(name: "--pool-mib", value: "MIB", help: "Capacity of TensorCore's pool of freed buffers (TensorCore's own default: 512)",
                   defaultValue: "512, as generate"),
            Option(name: "--json", value: nil, help: "Print one JSON object"),
        ],
        run: run)

    /// Wall seconds and peak resident MiB of each part of one forward, and the CPU seconds of the whole.
    struct Timing {
        var mapping = 0.0, backbone = 0.0, renderer = 0.0, superresolution = 0.0, cpu = 0.0
        var peaks: [Double] = []
        var total: Double { mapping + backbone + renderer + superresolution }
    }

    static func run(_ a: Arguments) throws {
        let runs = try a.int("--runs", default: 3, range: 1...1000)
        let r = try a.int("--resolution", default: 128, range: 8...1024)
        let name = a.string("--config") ?? "ffhq512"
        let config: TriPlaneConfig
        switch name {
        case "ffhq512": config = .ffhq512
        case "tiny128": config = .tiny128
        default: throw UsageError(message: "invalid value '\(name)' for --config: expected ffhq512 or tiny128", command: a.command)
        }
        BufferPool.shared.capacityBytes = try a.int("--pool-mib", default: GenerateCommand.inferencePoolMiB, range: 0...65536) << 20
        let g = TriPlaneGenerator(config: config, rng: RandomGenerator(seed: 0))
        let z = RandomGenerator(seed: 1).normal([1, config.zDim])
        let c = Camera.labels([Camera.frontal()])
        let afterBuild = ResourceProbe.currentResidentBytes() ?? 0

        func forward(_ seed: UInt64) -> (Timing, [Int]) {
            withNoGrad {
                var t = Timing()
                let c0 = ResourceProbe.cpuSeconds()
                var t0 = ResourceProbe.now()
                ResourceProbe.resetPeak()
                // Wall seconds since the last lap, and this part's peak RSS (VmHWM, reset after each part).
                func lap() -> Double {
                    let now = ResourceProbe.now()
                    t.peaks.append(Double(ResourceProbe.peakResidentBytes()) / 1048576)
                    ResourceProbe.resetPeak()
                    defer { t0 = ResourceProbe.now() }
                    return now - t0
                }
                let ws = g.mapping(z, c, truncationPsi: 1)
                t.mapping = lap()
                let planes = g.planes(ws, noiseMode: .const)
                t.backbone = lap()
                // TriPlaneGenerator.render, split so that the renderer and the super-resolution are timed apart.
                let (origins, directions) = RaySampler.rays(labels: c, resolution: r)
                let planes5 = planes.reshape([1, 3, config.planeChannels, planes.shape[2], planes.shape[3]])
                let out = ImportanceRenderer.render(planes: planes5, decoder: g.decoder, origins: origins, directions: directions,
                                                    options: g.settings, random: GeneratorRandomSource(seed: seed))
                let (features, _) = ImportanceRenderer.images(features: out.features, depth: out.depth, resolution: r)
                t.renderer = lap()
                let image = g.superresolution(features.slice(axis: 1, start: 0, end: 3), features, ws,
                                              noiseMode: config.rendering.superresolutionNoiseMode)
                t.superresolution = lap()
                t.cpu = ResourceProbe.cpuSeconds() - c0
                return (t, image.shape)
            }
        }

        let (warm, shape) = forward(0)
        var timings: [Timing] = []
        for i in 0..<runs { timings.append(forward(UInt64(i + 1)).0) }
        let best = timings.min { $0.total < $1.total }!
        let mean = timings.reduce(0) { $0 + $1.total } / Double(runs)
        // The process peak: the largest part's peak (VmHWM is reset per part) or the peak before the runs.
        let peak = ([Double(ResourceProbe.peakResidentBytes()) / 1048576] + ([warm] + timings).flatMap(\.peaks)).max()!
        let partPeaks = (0..<4).map { i in ([warm] + timings).map { $0.peaks[i] }.max()! }
        let load = ResourceProbe.loadAverage() ?? []
        let desc = "\(name), R=\(r), \(config.rendering.depthResolution)+\(config.rendering.depthResolutionImportance) samples"
        if a.flag("--json") {
            func f(_ x: Double) -> String { String(format: "%.3f", x) }
            print("{\"name\": \"generator\", \"shape\": \"\(desc)\", \"seconds\": \(f(best.total)), \"mean_seconds\": \(f(mean)), "
                  + "\"cpu_seconds\": \(f(best.cpu)), \"warmup_seconds\": \(f(warm.total)), \"mapping\": \(f(best.mapping)), "
                  + "\"backbone\": \(f(best.backbone)), \"renderer\": \(f(best.renderer)), \"superresolution\": \(f(best.superresolution)), "
                  + "\"peak_rss_mb\": \(Int(peak.rounded())), \"part_peaks_mb\": \(partPeaks.map { Int($0.rounded()) }), \"pool_mib\": \(BufferPool.shared.capacityBytes >> 20), \"rss_after_build_mb\": \(afterBuild / 1048576), \"threads\": \(Parallel.threadCount), "
                  + "\"runs\": \(runs), \"image\": \(shape), \"loadavg\": [\(load.map { String(format: "%.2f", $0) }.joined(separator: ", "))]}")
            return
        }
        print("TensorCore EG3D generator forward (\(desc), random weights, fp32, \(Parallel.threadCount) threads, \(BuildInfo.march))")
        print(String(format: "  %.2f s per %d² image (best of %d; mean %.2f s; warm-up %.2f s), CPU %.2f s",
                     best.total, shape.last ?? 0, runs, mean, warm.total, best.cpu))
        print(String(format: "  mapping %.3f s, backbone %.2f s, renderer %.2f s, super-resolution %.2f s",
                     best.mapping, best.backbone, best.renderer, best.superresolution))
        print(String(format: "  peak RSS %.0f MiB (%.0f MiB after building the generator); per part: mapping %.0f, backbone %.0f, renderer %.0f, super-resolution %.0f MiB",
                     peak, Double(afterBuild) / 1048576, partPeaks[0], partPeaks[1], partPeaks[2], partPeaks[3]))
        if !load.isEmpty { print(String(format: "  load average %.2f %.2f %.2f", load[0], load[1], load[2])) }
    }
}
