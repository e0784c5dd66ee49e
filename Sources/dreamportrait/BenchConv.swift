// `dreamportrait bench conv`: stride-1 3×3 convolutions of the small models the project trains (few channels on 8²–64²
// maps), forward, input gradient and weight gradient through the public ops, with the row kernel forced
// (TensorCore/Kernels/RowConv.swift) and without it (Winograd, tap or implicit GEMM, as conv2d chose before), in the
// same binary. The row kernel's limits (`rowConvPays`) were set from this table.
import Foundation
import TensorCore

enum BenchConv {
    static let command = Command(
        name: "conv",
        abstract: "Time small stride-1 3x3 convolutions (forward, input and weight gradient) with and without the row kernel",
        discussion: "Best time per call over at least --min-time seconds per path; ratio > 1: the row kernel is faster.",
        options: [
            Option(name: "--min-time", value: "SECONDS", help: "Minimum timed seconds per case and path", defaultValue: "0.2"),
            Option(name: "--shapes", value: "LIST", help: "N:C:O:HW,… (3x3, padding 1)", defaultValue: nil),
        ],
        run: run)

    static let defaultShapes: [(Int, Int, Int, Int)] = [
        (4, 16, 16, 16), (4, 3, 16, 16), (4, 16, 3, 16), (4, 32, 32, 16), (4, 64, 64, 16), (8, 16, 16, 8), (8, 32, 32, 8),
        (8, 64, 64, 8), (4, 16, 16, 32), (4, 32, 32, 32), (4, 16, 16, 64), (8, 8, 8, 64), (32, 64, 64, 16),
        (32, 128, 128, 8), (8, 32, 32, 64), (8, 64, 64, 32),
    ]

    static func run(_ args: Arguments) throws {
        let minTime = Double(try args.float("--min-time", default: 0.2))
        var shapes = defaultShapes
        if let list = args.list("--shapes") {
            shapes = try list.map { item in
                let f = item.split(separator: ":").compactMap { Int($0) }
                guard f.count == 4, f.allSatisfy({ $0 > 0 }) else {
                    throw UsageError(message: "--shapes: '\(item)' is not N:C:O:HW with positive integers", command: args.command)
                }
                return (f[0], f[1], f[2], f[3])
            }
        }
        print("TensorCore small convolutions, \(Parallel.threadCount) threads, \(BuildInfo.description)")
        print("shape (N x C x HW² -> O)      forward row / other        input grad row / other     weight grad row / other")
        for (n, c, o, hw) in shapes {
            let x = RandomGenerator(seed: 1).normal([n, c, hw, hw]), w = RandomGenerator(seed: 2).normal([o, c, 3, 3])
            let gy = RandomGenerator(seed: 3).normal([n, o, hw, hw])
            var row = [Double](), other = [Double]()
            for enabled in [true, false] {
                RowConvolution.mode = enabled ? .always : .never
                let times = [
                    BenchCommand.time({ _ = conv2d(x, w, padding: (1, 1)) }, minTime: minTime),
                    BenchCommand.time({ _ = convTranspose2d(gy, w, padding: (1, 1)) }, minTime: minTime),
                    BenchCommand.time({ _ = conv2dWeightGrad(x, gy, kernel: (3, 3), padding: (1, 1)) }, minTime: minTime),
                ]
                if enabled { row = times } else { other = times }
            }
            RowConvolution.mode = .auto
            let cells = (0..<3).map { String(format: "%7.3f / %7.3f ms %5.2fx", row[$0] * 1e3, other[$0] * 1e3, other[$0] / row[$0]) }
            print("\(n)x\(c)x\(hw)²->\(o)".padding(toLength: 26, withPad: " ", startingAt: 0) + cells.joined(separator: "  "))
        }
    }
}
