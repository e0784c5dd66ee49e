// Forward time of the FFHQ-512 backbone (mapping + tri-plane synthesis) and SuperresolutionHybrid8XDC at
// batch 1 with random weights. Skipped unless TRIPLANE_BENCH=1; run it in a release build:
//     TRIPLANE_BENCH=1 swift test -c release --filter StyleGAN2Benchmark
import Foundation
import XCTest
import TensorCore
@testable import TriPlaneGAN

final class StyleGAN2Benchmark: XCTestCase {
    /// Process CPU seconds so far (all threads).
    func cpuTime() -> Double {
        var u = rusage()
        #if os(Linux)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
        #else
        getrusage(RUSAGE_SELF, &u)
        #endif
        return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
    }

    /// Wall seconds of body; also accumulates its CPU seconds into `cpu`.
    func seconds(_ cpu: inout Double, _ body: () -> Void) -> Double {
        let c0 = cpuTime(), t0 = DispatchTime.now().uptimeNanoseconds
        body()
        cpu += cpuTime() - c0
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }

    /// The SR's dominant kernels on their own (TRIPLANE_BENCH_LAYERS=1).
    func testSuperresolutionKernels() throws {
        guard ProcessInfo.processInfo.environment["TRIPLANE_BENCH_LAYERS"] == "1" else { throw XCTSkip("set TRIPLANE_BENCH_LAYERS=1 to time") }
        let rng = RandomGenerator(seed: 2)
        let x = rng.uniform([1, 256, 256, 256]), w = rng.normal([256, 256, 3, 3]), wt = rng.normal([256, 128, 3, 3])
        let y = rng.uniform([1, 128, 513, 513]), f = setupFilter([1, 3, 3, 1])
        let cases: [(String, Double, () -> Void)] = [
            ("conv2d 256->256 3x3 @256^2", 38.65, { _ = conv2d(x, w, padding: (1, 1)) }),
            ("conv_transpose2d 256->128 3x3 s2 @256^2", 19.33, { _ = convTranspose2d(x, wt, stride: (2, 2)) }),
            ("upfirdn2d 4x4 pad 1 on 128x513^2", 0.54, { _ = upfirdn2d(y, f, padding: (1, 1, 1, 1), gain: 4) }),
            ("bias_act lrelu on 256x256^2", 0, { _ = biasAct(x, Tensor.zeros([256]), act: .lrelu, clamp: 256) }),
        ]
        for (name, gmac, body) in cases {
            var cpu = 0.0
            body()
            let wall = seconds(&cpu, body)
            print(String(format: "StyleGAN2Benchmark kernel %@: wall %.3f s, cpu %.3f s, %.1f GFLOP per cpu-second",
                         name, wall, cpu, 2 * gmac / cpu))
        }
    }

    func testFFHQ512ForwardTime() throws {
        guard ProcessInfo.processInfo.environment["TRIPLANE_BENCH"] == "1" else { throw XCTSkip("set TRIPLANE_BENCH=1 to time") }
        let repeats = Int(ProcessInfo.processInfo.environment["TRIPLANE_BENCH_REPEATS"] ?? "2") ?? 2
        let config = TriPlaneConfig.ffhq512
        let rng = RandomGenerator(seed: 1)
        let backbone = Backbone(config: config, rng: rng)
        let sr = Superresolution(config: config, rng: rng)
        backbone.train(false); sr.train(false)
        let z = rng.normal([1, 512]), c = rng.uniform([1, 25])
        let features = rng.uniform([1, 32, 128, 128], low: -1, high: 1)
        let modes: [ModulationExecution] = ProcessInfo.processInfo.environment["TRIPLANE_BENCH_ALL_MODES"] == "1"
            ? [.automatic, .fused, .unfused] : [.automatic]
        for mode in modes {
            backbone.synthesis.setExecution(mode); sr.setExecution(mode)
            var best = (map: Double.infinity, syn: Double.infinity, sr: Double.infinity)
            var cpu = (map: Double.infinity, syn: Double.infinity, sr: Double.infinity)
            for _ in 0...repeats {   // the first run warms the buffer pool
                var ws: Tensor!, planes: Tensor!
                var cm = 0.0, cs = 0.0, cr = 0.0
                let tm = seconds(&cm) { ws = withNoGrad { backbone.mapping(z, c, truncationPsi: 0.7) } }
                let ts = seconds(&cs) { planes = withNoGrad { backbone.synthesis(ws, noiseMode: .const) } }
                let tr = seconds(&cr) { _ = withNoGrad { sr(features.slice(axis: 1, start: 0, end: 3), features, ws) } }
                XCTAssertEqual(planes.shape, [1, 96, 256, 256])
                best = (Swift.min(best.map, tm), Swift.min(best.syn, ts), Swift.min(best.sr, tr))
                cpu = (Swift.min(cpu.map, cm), Swift.min(cpu.syn, cs), Swift.min(cpu.sr, cr))
            }
            print(String(format: "StyleGAN2Benchmark [%@] FFHQ-512 batch 1, threads %d, wall (cpu) seconds: mapping %.4f (%.4f), synthesis %.3f (%.3f), SR 8XDC %.3f (%.3f), total %.3f (%.3f)",
                         "\(mode)", Parallel.threadCount, best.map, cpu.map, best.syn, cpu.syn, best.sr, cpu.sr,
                         best.map + best.syn + best.sr, cpu.map + cpu.syn + cpu.sr))
        }
    }
}
