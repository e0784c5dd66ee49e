// Renderer timing and peak memory at the FFHQ-512 setting (R = 128, 48 + 48 samples, random 3×32×256×256 planes),
// inference path. Skipped unless RENDERER_BENCH is set; run it in a release build:
//   RENDERER_BENCH=1 swift test -c release --filter RendererBenchmarkTests
// (RENDERER_BENCH_CHUNKS="32,64,128" times several chunk sizes; RENDERER_BENCH_RUNS sets the repetitions.)
import Foundation
import XCTest
import TensorCore
@testable import TriPlaneGAN

final class RendererBenchmarkTests: XCTestCase {
    /// Peak resident set size of the process so far, in MiB.
    func peakRSS() -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
        #else
        getrusage(RUSAGE_SELF, &usage)
        return Double(usage.ru_maxrss) / (1024 * 1024)
        #endif
    }

    /// Process CPU time (user + system) in seconds.
    func cpuTime() -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) * 1e-6 }
        return s(usage.ru_utime) + s(usage.ru_stime)
    }

    func testRenderTimeAndMemory() throws {
        let env = ProcessInfo.processInfo.environment
        try XCTSkipIf(env["RENDERER_BENCH"] == nil, "set RENDERER_BENCH=1 (release build) to time the renderer")
        let runs = Int(env["RENDERER_BENCH_RUNS"] ?? "") ?? 3
        let chunks = (env["RENDERER_BENCH_CHUNKS"] ?? "64").split(separator: ",").compactMap { Int($0) }
        let rng = RandomGenerator(seed: 1)
        let planes = rng.normal([1, 3, 32, 256, 256])
        let decoder = OSGDecoder(rng: rng)
        let (o, d) = RaySampler.rays(cameras: [Camera.frontal()], resolution: 128)
        let before = peakRSS()
        print("[bench] threads \(Parallel.threadCount); peak RSS before rendering \(String(format: "%.0f", before)) MiB")
        for chunk in chunks {
            var options = RendererSettings.ffhq
            options.raysPerChunk = chunk
            var best = Double.infinity, bestCPU = Double.infinity
            for run in 0..<runs {
                let random = GeneratorRandomSource(seed: UInt64(run))
                let t0 = Date(), c0 = cpuTime()
                let r = withNoGrad {
                    ImportanceRenderer.render(planes: planes, decoder: decoder, origins: o, directions: d, options: options, random: random)
                }
                let (img, dep) = ImportanceRenderer.images(features: r.features, depth: r.depth, resolution: 128)
                best = Swift.min(best, Date().timeIntervalSince(t0))
                bestCPU = Swift.min(bestCPU, cpuTime() - c0)
                XCTAssertEqual(img.shape, [1, 32, 128, 128])
                XCTAssertEqual(dep.shape, [1, 1, 128, 128])
            }
            print("[bench] render R=128 48+48 chunk \(chunk): best wall \(String(format: "%.3f", best)) s, best CPU \(String(format: "%.3f", bestCPU)) s; peak RSS \(String(format: "%.0f", peakRSS())) MiB "
                  + "(+\(String(format: "%.0f", peakRSS() - before)) MiB over the inputs)")
        }
        // Density sampling for mesh extraction: a 128³ grid (2 M points, x slowest, as create_samples).
        let n = 128
        var grid = [Float](repeating: 0, count: n * n * n * 3)
        for q in 0..<(n * n * n) {
            grid[3 * q] = Float(q / (n * n)) / Float(n - 1) - 0.5
            grid[3 * q + 1] = Float((q / n) % n) / Float(n - 1) - 0.5
            grid[3 * q + 2] = Float(q % n) / Float(n - 1) - 0.5
        }
        let points = Tensor(grid, shape: [1, n * n * n, 3])
        let t0 = Date()
        _ = withNoGrad { ImportanceRenderer.sampleSigma(planes: planes, decoder: decoder, points: points) }
        print("[bench] sampleSigma 128³ grid (2.1 M points): \(String(format: "%.3f", Date().timeIntervalSince(t0))) s")
    }
}
