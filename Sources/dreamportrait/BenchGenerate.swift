// `dreamportrait bench generate`: the product's speed (PortraitExport's GenerateBenchmark): one view's generator
// forward, and the whole `generate` run per stage, with a random-weight model of the shipped size (world128).
import Foundation
import PortraitExport
import TensorCore
import TriPlaneGAN

enum BenchGenerate {
    static let command = Command(
        name: "generate",
        abstract: "Time text-conditioned generation at the shipped size: one view's forward and the whole generate run per stage",
        discussion: "Random weights (a model folder written to a temporary folder, F16 as shipped). Targets (issue 12): forward ≤ 50 ms, whole run ≤ 2 s on 2 cores.",
        options: [
            Option(name: "--runs", value: "N", help: "Timed forwards after one warm-up", defaultValue: "5"),
            Option(name: "--config", value: "NAME", help: "world128 or tiny128", defaultValue: "world128"),
            Option(name: "--frames", value: "F", help: "Orbit frames of the whole run", defaultValue: "36"),
            Option(name: "--mesh-resolution", value: "M", help: "Mesh grid of the whole run", defaultValue: "128"),
        ],
        run: run)

    static func run(_ a: Arguments) throws {
        let name = a.string("--config") ?? "world128"
        let config: TriPlaneConfig
        switch name {
        case "world128": config = GenerateBenchmark.world128
        case "tiny128": config = .tiny128
        default: throw UsageError(message: "invalid value '\(name)' for --config: expected world128 or tiny128", command: a.command)
        }
        let runs = try a.int("--runs", default: 5, range: 1...1000)
        let frames = try a.int("--frames", default: 36, range: 1...3600)
        let mesh = try a.int("--mesh-resolution", default: 128, range: 8...1024)
        BufferPool.shared.capacityBytes = GenerateCommand.inferencePoolMiB << 20
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bench-generate-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let r = try GenerateBenchmark.run(config: config, folder: folder, runs: runs) { o in
            o.frames = frames; o.meshResolution = mesh
        }
        print("dreamportrait generate at \(name) (random weights, model folder \(r.modelBytes / 1024) KiB, \(Parallel.threadCount) threads, \(BuildInfo.march))")
        print(String(format: "  forward, one view: %.1f ms best of %ld (mean %.1f ms; CPU %.1f ms): ", 1000 * r.forwardBest, runs, 1000 * r.forwardMean, 1000 * r.forwardCPU)
              + r.parts.map { "\($0.name) " + String(format: "%.1f ms", 1000 * $0.seconds) }.joined(separator: ", "))
        print(String(format: "  whole run (5 views, %ld-frame orbit GIF, %ld³ mesh grid): %.2f s", frames, mesh, r.totalSeconds))
        for s in r.stages {
            print("    " + s.name.padding(toLength: 14, withPad: " ", startingAt: 0) + String(format: "%7.3f s  cpu %7.3f s  peak %6.0f MiB", s.seconds, s.cpuSeconds, s.peakRssMiB))
        }
        if let why = r.meshSkipped { print("  mesh skipped (random density): \(why)") }
        if let load = ResourceProbe.loadAverage(), load.count == 3 { print(String(format: "  load average %.2f %.2f %.2f", load[0], load[1], load[2])) }
    }
}
