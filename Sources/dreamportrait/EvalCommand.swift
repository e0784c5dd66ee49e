// `dreamportrait eval`: quality metrics of generated images (DreamPortrait §4: FID, MSC, CLIP R-precision).
// Each metric is an EvaluationMetric (EvalMetrics.swift); this file parses the shared options, runs the
// metrics asked for in order and prints a table or, with --json, one JSON object.
import Foundation
import Metrics

enum EvalCommand {
    static let command = Command(
        name: "eval",
        abstract: "Evaluate generated images: FID now; MSC and CLIP R-precision with the CLIP model",
        discussion: """
            FID is pytorch-fid's (`python -m pytorch_fid IMAGES REFERENCE --dims 2048`): every *.png directly in \
            each folder, resized to 299x299, through pytorch-fid's FID Inception-v3; Fréchet distance of the \
            Gaussians in Float64. Only PNG is read (not JPEG). --images or --reference may also be a statistics \
            file (.safetensors with mu and sigma). Reference statistics are cached (keyed by the folder, its \
            file names, sizes and dates, and the weights), so a reference folder is encoded once.
            Metrics: \(MetricName.allCases.map { "\($0.rawValue): \($0.help)" }.joined(separator: "; ")).
            """,
        options: [
            Option(name: "--metrics", value: "LIST", help: "Comma-separated metrics: fid, msc, rp", defaultValue: "fid"),
            Option(name: "--images", value: "DIR", help: "Folder of generated PNGs (or a statistics file)"),
            Option(name: "--reference", value: "DIR", help: "Folder of reference PNGs (or a statistics file)"),
            Option(name: "--inception", value: "FILE", help: "FID Inception weights (Scripts/convert_inception.py output)"),
            Option(name: "--dims", value: "N", help: "Inception feature block: 64, 192, 768 or 2048", defaultValue: "2048"),
            Option(name: "--batch", value: "N", help: "Images per forward pass", defaultValue: "16"),
            Option(name: "--stats-cache", value: "DIR", help: "Where reference statistics are cached", defaultValue: "~/.cache/dreamportrait/statistics"),
            Option(name: "--no-cache", value: nil, help: "Neither read nor write cached statistics"),
            Option(name: "--json", value: nil, help: "Print one JSON object instead of the table"),
        ],
        run: run)

    static func run(_ args: Arguments) throws {
        let names = args.list("--metrics") ?? ["fid"]
        guard !names.isEmpty else { throw UsageError(message: "--metrics is empty; metrics: fid, msc, rp", command: args.command) }
        var metrics: [EvaluationMetric] = []
        for name in names {
            guard let m = MetricName(rawValue: name.lowercased()) else {
                throw UsageError(message: "unknown metric '\(name)' for --metrics; metrics: \(MetricName.allCases.map(\.rawValue).joined(separator: ", "))", command: args.command)
            }
            metrics.append(try m.make())
        }
        guard let images = args.string("--images") else {
            throw UsageError(message: "missing --images DIR (the folder of generated PNGs)", command: args.command)
        }
        let context = EvalContext(args: args, images: images, reference: args.string("--reference"),
                                  batchSize: try args.int("--batch", default: 16, range: 1...4096))
        let results = try metrics.map { try $0.evaluate(context) }
        if args.flag("--json") {
            var object: [String: Any] = [:]
            for r in results { object[r.key] = r.value; object["\(r.key)_details"] = r.details }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for r in results {
                print("\(r.title.padding(toLength: 6, withPad: " ", startingAt: 0)) \(String(format: "%.6f", r.value))")
                print("       \(r.summary)")
            }
        }
    }
}
