// `dreamportrait bench inception`: times FID's Inception-v3 (pytorch-fid's InceptionV3([3]), random weights that
// keep activations normal) on a batch of 299x299 images, in total and per stage (pytorch-fid's module names).
// Scripts/bench_inception_torch.py times pytorch-fid's module the same way (forward hooks per stage), and
// Scripts/bench_inception_compare.sh alternates the two and prints per-stage ratios.
import Foundation
import Metrics
import TensorCore

enum BenchInception {
    static let command = Command(
        name: "inception",
        abstract: "Time FID's Inception-v3 per stage (batch of 299x299 images, random weights)",
        discussion: "Prints the median time of each stage over --runs runs (after one warm-up) and the total; --json prints one JSON object.",
        options: [
            Option(name: "--batch", value: "N", help: "Images per forward pass", defaultValue: "8"),
            Option(name: "--runs", value: "N", help: "Timed runs after one warm-up", defaultValue: "3"),
            Option(name: "--json", value: nil, help: "Print one JSON object"),
        ],
        run: run)

    static func run(_ args: Arguments) throws {
        let batch = try args.int("--batch", default: 8, range: 1...256), runs = try args.int("--runs", default: 3, range: 1...1000)
        let model = FIDInceptionV3.randomized(seed: 1)
        let x = RandomGenerator(seed: 2).uniform([batch, 3, 299, 299])
        var names: [String] = [], stages: [[Double]] = [], totals: [Double] = []
        for run in 0...runs {
            var last = DispatchTime.now().uptimeNanoseconds, k = 0
            let t0 = last
            _ = model.blockOutputs(x) { name in
                let now = DispatchTime.now().uptimeNanoseconds
                if run == 0 { names.append(name); stages.append([]) } else { stages[k].append(Double(now - last) / 1e6) }
                last = now; k += 1
            }
            if run > 0 { totals.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6) }
        }
        func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
        if args.flag("--json") {
            let stageJSON = zip(names, stages).map { "\"\($0)\": \(String(format: "%.3f", median($1)))" }.joined(separator: ", ")
            print("{\"impl\": \"tensorcore\", \"batch\": \(batch), \"threads\": \(Parallel.threadCount), \"median_ms\": \(String(format: "%.3f", median(totals))), \"best_ms\": \(String(format: "%.3f", totals.min()!)), \"stages_ms\": {\(stageJSON)}}")
        } else {
            print("FID Inception-v3, \(batch)x3x299x299, \(Parallel.threadCount) threads, \(BuildInfo.march); median of \(runs) runs")
            for (n, t) in zip(names, stages) { print(n.padding(toLength: 16, withPad: " ", startingAt: 0) + String(format: "%9.2f ms", median(t))) }
            print(String(format: "total           %9.2f ms (best %.2f ms, %.1f GFLOP/s)", median(totals), totals.min()!,
                         Double(batch) * FIDInceptionV3.flopsPerImage / (median(totals) / 1000) / 1e9))
        }
    }
}

