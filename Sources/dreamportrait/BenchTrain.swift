// `dreamportrait bench train`: one EG3D training iteration (all four phases at their lazy intervals, averaged)
// at a configuration, per phase, with images/s and peak memory. Scripts/bench_train_torch.py times the official
// code's iteration at the same configuration.
import Distill
import Foundation
import PortraitExport
import TensorCore

enum BenchTrain {
    static let command = Command(
        name: "train",
        abstract: "Time one EG3D training iteration (Gmain + Dmain + Greg/4 + Dreg/16) and its peak memory",
        discussion: "Random weights and random real images; each phase includes its backward pass, nan_to_num and Adam step. Times are the best of --repeats runs after a warm-up.",
        options: [
            Option(name: "--config", value: "NAME|FILE.json", help: "tiny128, world128 or a run config file", defaultValue: "tiny128"),
            Option(name: "--batch", value: "N", help: "Batch of one pass", defaultValue: "4"),
            Option(name: "--repeats", value: "N", help: "Timed runs per phase", defaultValue: "3"),
            Option(name: "--pool-mib", value: "M", help: "TensorCore's buffer pool capacity (freed large buffers kept for reuse)", defaultValue: "512"),
            Option(name: "--map-mib", value: "M", help: "Buffers of at least M MiB are mmapped and unmapped directly (at least 1)", defaultValue: "8"),
            Option(name: "--json", value: nil, help: "Print one JSON object"),
        ],
        run: run)

    static func run(_ args: Arguments) throws {
        let name = args.string("--config") ?? "tiny128"
        let batch = try args.int("--batch", default: 4, range: 1...1024)
        let repeats = try args.int("--repeats", default: 3, range: 1...100)
        let config = try RunConfig.load(name, batch: batch)
        BufferPool.shared.capacityBytes = try args.int("--pool-mib", default: BufferPool.shared.capacityBytes >> 20, range: 0...1 << 20) << 20
        BufferPool.shared.mapThresholdBytes = try args.int("--map-mib", default: BufferPool.shared.mapThresholdBytes >> 20, range: 1...1 << 20) << 20
        let bench = TrainingBenchmark(config: config)
        let pool0 = (BufferPool.shared.hits, BufferPool.shared.misses, BufferPool.shared.evictions)
        let timings = bench.measure(repeats: repeats, cpuSeconds: MemoryUsage.cpuSeconds)
        let it = TrainingBenchmark.iterationSeconds(timings), itCPU = TrainingBenchmark.iterationSeconds(timings, cpu: true)
        let peak = MemoryUsage.peakRSS()
        // Per phase: the peak resident memory of one more run (VmHWM reset before it, where Linux allows).
        // Also the most bytes held by live tensors at once in it, and what they were at its start (the models and
        // optimiser states): RSS above the tensors' peak is the allocator's and the pool's.
        var phasePeak: [String: Double] = [:], tensorPeak: [String: (start: Double, peak: Double)] = [:]
        for (i, p) in PhaseName.allCases.enumerated() where ResourceProbe.resetPeak() {
            LiveStorage.resetPeak()
            let start = Double(LiveStorage.bytes) / 1048576
            bench.runPhase(p, step: 100 + i)
            phasePeak[p.rawValue] = Double(ResourceProbe.peakResidentBytes()) / 1048576
            tensorPeak[p.rawValue] = (start, Double(LiveStorage.peakBytes) / 1048576)
        }
        if args.flag("--json") {
            let phases = timings.map { "\"\($0.name)\": \(String(format: "%.4f", $0.seconds))" }.joined(separator: ", ")
            print("{\"impl\": \"tensorcore\", \"config\": \"\(name)\", \"batch\": \(batch), \"threads\": \(Parallel.threadCount), \(phases), \"iteration_s\": \(String(format: "%.4f", it)), \"iteration_cpu_s\": \(String(format: "%.3f", itCPU)), \"images_per_s\": \(String(format: "%.3f", Double(batch) / it)), \"peak_rss_mib\": \(String(format: "%.1f", peak))}")
            return
        }
        print("EG3D training iteration, config \(name), batch \(batch), R \(config.training.neuralRenderingResolutionInitial), \(Parallel.threadCount) threads")
        for t in timings {
            let tp = tensorPeak[t.name] ?? (.nan, .nan)
            print(String(format: "  %-6@ %8.3f s  (%.2f CPU s)  every %2d steps -> %.3f s per iteration; peak RSS %.0f MiB, live tensors %.0f -> %.0f MiB", t.name, t.seconds, t.cpuSeconds, t.interval, t.seconds / Double(t.interval), phasePeak[t.name] ?? .nan, tp.start, tp.peak))
        }
        print(String(format: "iteration %.3f s (%.2f CPU s): %.2f images/s; peak RSS %.0f MiB", it, itCPU, Double(batch) / it, peak))
        print("buffer pool: \(BufferPool.shared.hits - pool0.0) hits, \(BufferPool.shared.misses - pool0.1) misses, \(BufferPool.shared.evictions - pool0.2) evictions over the timed and per-phase runs")
    }
}
