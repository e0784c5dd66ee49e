// `dreamportrait bench overhead`: the cost of many small ops, where dispatch, allocation, graph bookkeeping and thread
// wake-ups weigh more than the arithmetic (the small CLIP / VAE / U-Net / EG3D the project trains).
//   chain:     forward + backward of a chain of 200 small ops (20 blocks of 10: matmul 64x64, bias add, layer norm,
//              GELU, scale; conv 3x3 16->16 at 16x16, bias add, ReLU, per-channel scale, residual add), batch 4
//   mlp_step:  one training step of a 64-256-256-64 GELU MLP on 32 rows (MSE loss, backward, Adam)
//   conv_step: one training step of a 3-16-16-3 conv 3x3 SiLU net on 4x3x16x16 (MSE loss, backward, Adam)
// Scripts/bench_torch.py --overhead runs the same three in PyTorch eager (same shapes, ops and order).
import Foundation
import TensorCore

enum BenchOverhead {
    static let command = Command(
        name: "overhead",
        abstract: "Time chains of small ops and tiny training steps (forward + backward + Adam)",
        discussion: "Median and best time per iteration over at least --min-time seconds, after warm-up. Scripts/bench_torch.py --overhead times the same cases in PyTorch eager.",
        options: [
            Option(name: "--json", value: nil, help: "Print one JSON object per case (name, ms, best_ms)"),
            Option(name: "--profile", value: nil, help: "After timing, profile 20 more iterations of each case by op (forward and backward)"),
            Option(name: "--profile-shapes", value: nil, help: "As --profile, one row per op and input shapes"),
            Option(name: "--cases", value: "LIST", help: "chain, mlp_step, conv_step", defaultValue: "all"),
            Option(name: "--min-time", value: "SECONDS", help: "Minimum timed seconds per case", defaultValue: "1"),
        ],
        run: run)

    static func normal(_ shape: [Int], _ seed: UInt64, _ std: Float = 1) -> Tensor {
        RandomGenerator(seed: seed).normal(shape, std: std)
    }
    static func param(_ shape: [Int], _ seed: UInt64, _ std: Float) -> Tensor {
        let p = normal(shape, seed, std); p.requiresGrad = true; return p
    }

    /// The 200-op chain (forward and backward): returns the timed body.
    static func chain() -> () -> Void {
        let blocks = 20
        let w = (0..<blocks).map { param([64, 64], UInt64(10 + $0), 0.125) }
        let b = (0..<blocks).map { param([64], UInt64(40 + $0), 0.1) }
        let lnw = param([64], 70, 0.1), lnb = param([64], 71, 0.1)
        let cw = (0..<blocks).map { param([16, 16, 3, 3], UInt64(80 + $0), 0.08) }
        let cb = (0..<blocks).map { param([1, 16, 1, 1], UInt64(110 + $0), 0.1) }
        let cs = param([1, 16, 1, 1], 140, 0.1)
        let h0 = normal([4, 16, 64], 1), x0 = normal([4, 16, 16, 16], 2)
        let params = w + b + cw + cb + [lnw, lnb, cs]
        return {
            var h = h0, x = x0
            for i in 0..<blocks {
                h = h.matmul(w[i])                                            // 1 matmul 64x64 (4x16 rows)
                h = h + b[i]                                                  // 2 bias add
                h = layerNorm(h, normalizedShape: [64], weight: lnw, bias: lnb) // 3 layer norm
                h = h.gelu()                                                  // 4 GELU
                h = h * 0.5                                                   // 5 scale
                let y = conv2d(x, cw[i], padding: (1, 1))                     // 6 conv 3x3 16->16 at 16x16
                let z = (y + cb[i]).relu()                                    // 7 bias add, 8 ReLU
                x = z * cs + x                                                // 9 channel scale, 10 residual
            }
            let loss = (h * h).mean() + (x * x).mean()
            loss.backward()
            for p in params { p.grad = nil }
        }
    }

    static func mlpStep() -> () -> Void {
        let w1 = param([256, 64], 1, 0.125), b1 = param([256], 2, 0.01)
        let w2 = param([256, 256], 3, 0.0625), b2 = param([256], 4, 0.01)
        let w3 = param([64, 256], 5, 0.0625), b3 = param([64], 6, 0.01)
        let x = normal([32, 64], 7), target = normal([32, 64], 8)
        let params = [("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2), ("w3", w3), ("b3", b3)]
        let adam = Adam(params, lr: 1e-4)
        return {
            let h1 = x.linear(w1, b1).gelu()
            let h2 = h1.linear(w2, b2).gelu()
            let y = h2.linear(w3, b3)
            let d = y - target
            let loss = (d * d).mean()
            loss.backward()
            adam.step()
            adam.zeroGrad()
        }
    }

    static func convStep() -> () -> Void {
        let w1 = param([16, 3, 3, 3], 1, 0.2), b1 = param([16], 2, 0.01)
        let w2 = param([16, 16, 3, 3], 3, 0.08), b2 = param([16], 4, 0.01)
        let w3 = param([3, 16, 3, 3], 5, 0.08), b3 = param([3], 6, 0.01)
        let x = normal([4, 3, 16, 16], 7), target = normal([4, 3, 16, 16], 8)
        let params = [("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2), ("w3", w3), ("b3", b3)]
        let adam = Adam(params, lr: 1e-4)
        return {
            let h1 = conv2d(x, w1, bias: b1, padding: (1, 1)).silu()
            let h2 = conv2d(h1, w2, bias: b2, padding: (1, 1)).silu()
            let y = conv2d(h2, w3, bias: b3, padding: (1, 1))
            let d = y - target
            let loss = (d * d).mean()
            loss.backward()
            adam.step()
            adam.zeroGrad()
        }
    }

    static let cases: [(String, String, () -> () -> Void)] = [
        ("chain", "200 ops fwd+bwd, batch 4", chain),
        ("mlp_step", "MLP 64-256-256-64, 32 rows, Adam", mlpStep),
        ("conv_step", "conv 3-16-16-3, 4x3x16x16, Adam", convStep),
    ]

    static func run(_ args: Arguments) throws {
        let wanted = args.list("--cases")
        let minTime = Double(try args.float("--min-time", default: 1))
        let json = args.flag("--json")
        if !json {
            print("TensorCore small-op overhead, \(Parallel.threadCount) threads, \(BuildInfo.description)")
        }
        for (name, shape, setup) in cases where wanted.map({ $0.contains { name.hasPrefix($0) } }) ?? true {
            let body = setup()
            let (median, best, cpu) = time(body, minTime: minTime)
            if json {
                print("{\"name\": \"\(name)\", \"shape\": \"\(shape)\", \"ms\": \(String(format: "%.4f", median * 1000)), \"best_ms\": \(String(format: "%.4f", best * 1000)), \"cpu_ms\": \(String(format: "%.4f", cpu * 1000)), \"threads\": \(Parallel.threadCount)}")
            } else {
                print(name.padding(toLength: 12, withPad: " ", startingAt: 0) + shape.padding(toLength: 36, withPad: " ", startingAt: 0)
                      + String(format: "median %8.3f ms  best %8.3f ms  CPU %8.3f ms", median * 1000, best * 1000, cpu * 1000))
            }
            if args.flag("--profile") || args.flag("--profile-shapes") {
                OpProfile.byShape = args.flag("--profile-shapes")
                OpProfile.isEnabled = true
                OpProfile.reset()
                for _ in 0..<20 { body() }
                OpProfile.isEnabled = false
                print("\(name), per iteration (profiled)\n" + OpProfile.report(steps: 20))
            }
        }
    }

    /// (median wall, best wall, median process CPU) seconds per iteration over at least `minTime` seconds of CPU
    /// time, after three warm-up iterations. On a loaded machine the CPU time (all threads) is the steadier figure.
    static func time(_ body: () -> Void, minTime: Double) -> (Double, Double, Double) {
        for _ in 0..<3 { body() }
        var times: [Double] = [], cpus: [Double] = [], total = 0.0
        while total < minTime || times.count < 5 {
            let t0 = DispatchTime.now().uptimeNanoseconds, c0 = processCPUSeconds()
            body()
            let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9, dc = processCPUSeconds() - c0
            times.append(dt); cpus.append(dc); total += dc
        }
        times.sort(); cpus.sort()
        return (times[times.count / 2], times[0], cpus[cpus.count / 2])
    }
}

/// CPU seconds used by this process so far (all threads).
func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
