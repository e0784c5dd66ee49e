// `dreamportrait eval`: quality metrics of generated portraits (DreamPortrait §4.1, Table 1: FID, MSC, CLIP
// R-precision). This file parses the options into Metrics' EvalSettings, opens --images as an EvalSource (an
// evaluation folder, EvalFolder.swift, or FID statistics) and prints the Table 1 row, optionally as JSON.
// Without --images it evaluates a text-conditioned model generator-driven (EvalGeneratorCommand.swift).
import Foundation
import Metrics
import Refine
import TensorCore

enum EvalCommand {
    static let command = Command(
        name: "eval",
        abstract: "Evaluate generated portraits: FID, MSC and CLIP R-precision as a row of the paper's Table 1",
        discussion: """
            --images is an evaluation folder in our dataset format: PNGs, dataset.json (EG3D camera labels) and \
            captions.json (image file name -> captions, true caption first; captions_ood.json with --captions ood). \
            For msc, one subfolder per sample holds its three views, told apart by their cameras (the MSC cameras: \
            frontal, yaw +15°, yaw -15°), e.g. 00000/F.png, 00000/L15.png, 00000/R15.png; without MSC cameras every \
            image is one sample. FID encodes every image (all views) and compares with --reference (a folder of PNGs, \
            a dataset folder, or a statistics file) as pytorch-fid does; MSC is the mean CLIP score (100 x cosine) of \
            each sample's caption against its three views; R-precision (percent) ranks each sample's true caption \
            against --distractors captions of other samples (seeded) for its frontal image. --images may also be a \
            statistics file (.safetensors with mu and sigma) for fid alone. Reference statistics are cached. A folder of sds or \
            refine outputs (each holding eval/) is evaluated as one folder, one sample per output.
            Metrics: fid (needs --reference, --inception), msc and rp (need --clip and captions).
            Without --images: the shipped model (or --weights DIR) renders the held-out captions of --data's test split \
            at the three MSC cameras in memory and is scored by the shipped judge (Weights/judge, or --judge) with msc \
            and rp (fid too with --reference and --inception), plus attribute accuracy (Weights/attributes.safetensors, \
            or --attributes) and 3D consistency (reprojection error between neighbouring views through the depth).
            """,
        options: [
            Option(name: "--metrics", value: "LIST", help: "Comma-separated metrics: fid, msc, rp; none (generator-driven: attribute accuracy and 3D consistency only, no judge)", defaultValue: "fid"),
            Option(name: "--images", value: "DIR", help: "Evaluation folder of generated PNGs (or FID statistics)"),
            Option(name: "--reference", value: "DIR", help: "FID reference: folder of PNGs, dataset folder or statistics file"),
            Option(name: "--inception", value: "FILE", help: "FID Inception weights (Scripts/convert_inception.py output)"),
            Option(name: "--clip", value: "DIR", help: "Hugging Face CLIP folder (e.g. openai/clip-vit-base-patch32)"),
            Option(name: "--captions", value: "SET", help: "Caption file: in (captions.json) or ood (captions_ood.json)", defaultValue: "in"),
            Option(name: "--seed", value: "S", help: "R-precision distractor sampling seed", defaultValue: "0"),
            Option(name: "--distractors", value: "N", help: "R-precision distractor captions per sample", defaultValue: "99"),
            Option(name: "--dims", value: "N", help: "Inception feature block: 64, 192, 768 or 2048", defaultValue: "2048"),
            Option(name: "--batch", value: "N", help: "Images per forward pass", defaultValue: "16"),
            Option(name: "--method", value: "NAME", help: "Table row name", defaultValue: "DreamPortrait (ours)"),
            Option(name: "--dataset", value: "NAME", help: "Table column group name", defaultValue: "the --images folder name"),
            Option(name: "--stats-cache", value: "DIR", help: "Where reference statistics are cached", defaultValue: "~/.cache/dreamportrait/statistics"),
            Option(name: "--no-cache", value: nil, help: "Neither read nor write cached statistics"),
            Option(name: "--weights", value: "DIR", help: "Generator-driven: the model folder", defaultValue: "the shipped model"),
            Option(name: "--judge", value: "DIR", help: "Generator-driven: the judge CLIPModel folder", defaultValue: "Weights/judge beside the model"),
            Option(name: "--attributes", value: "FILE", help: "Generator-driven: the attribute classifier", defaultValue: "Weights/attributes.safetensors beside the model"),
            Option(name: "--data", value: "DIR", help: "Generator-driven: the world dataset whose test split gives the prompts", defaultValue: "$DREAMPORTRAIT_WORLD"),
            Option(name: "--count", value: "N", help: "Generator-driven: held-out prompts", defaultValue: "500"),
            Option(name: "--split", value: "eval|validation", help: "Generator-driven: which held-out prompts: eval (the test split's first --count images, Table 1's; report with these) or validation (test-split images from 1,000 on; choose checkpoints and settings with these)", defaultValue: "eval"),
            Option(name: "--truncation", value: "PSI", help: "Generator-driven: truncation ψ", defaultValue: "0.7"),
            Option(name: "--text-scale", value: "S", help: "Generator-driven diagnostic: multiply what both text paths add by S (Fuse and every adapter's proj_out; 1 is the model as trained)", defaultValue: "1"),
            Option(name: "--text-path", value: "P", help: "Generator-driven diagnostic: keep only one path of the text conditioning: global (the semantics mapping; adapters off) or adapters (Fuse off)", defaultValue: "both"),
            Option(name: "--spread-prompts", value: "N", help: "Generator-driven: prompts of the mode-collapse check (8 seeds each; 0 skips it)", defaultValue: "4"),
            Option(name: "--json", value: nil, help: "Print the JSON report instead of the table"),
            Option(name: "--out", value: "FILE", help: "Also write the JSON report (values, details, table) to FILE"),
        ],
        run: run)

    static func run(_ args: Arguments) throws {
        let cmd = args.command
        if args.string("--images") == nil { return try EvalGeneratorCommand.run(args) }
        let names = args.list("--metrics") ?? ["fid"]
        guard !names.isEmpty else { throw UsageError(message: "--metrics is empty; metrics: fid, msc, rp", command: cmd) }
        var metrics: [MetricsTable.Metric] = []
        for name in names {
            guard let m = MetricsTable.Metric(rawValue: name.lowercased()) else {
                throw UsageError(message: "unknown metric '\(name)' for --metrics; metrics: fid, msc, rp", command: cmd)
            }
            if !metrics.contains(m) { metrics.append(m) }
        }
        guard let images = args.string("--images") else {
            throw UsageError(message: "missing --images DIR (the evaluation folder of generated PNGs)", command: cmd)
        }
        guard let captionSet = EvalFolder.CaptionSet(rawValue: args.string("--captions") ?? "in") else {
            throw UsageError(message: "invalid value '\(args.string("--captions")!)' for --captions: expected in or ood", command: cmd)
        }
        var s = EvalSettings(metrics: metrics)
        s.reference = args.string("--reference")
        s.inception = args.string("--inception")
        s.clip = args.string("--clip")
        s.dims = try args.int("--dims", default: 2048)
        s.batchSize = try args.int("--batch", default: 16, range: 1...4096)
        s.distractors = try args.int("--distractors", default: 99, range: 1...1_000_000)
        if let seed = args.string("--seed") {
            guard let v = UInt64(seed) else { throw UsageError(message: "invalid value '\(seed)' for --seed: expected a non-negative integer", command: cmd) }
            s.seed = v
        }
        s.statisticsCache = args.flag("--no-cache") ? nil : (args.string("--stats-cache").map { ($0 as NSString).expandingTildeInPath } ?? StatisticsCache.defaultDirectory)
        s.method = args.string("--method") ?? s.method
        s.distribution = captionSet == .inDistribution ? .inDistribution : .outOfDistribution
        s.dataset = args.string("--dataset") ?? (URL(fileURLWithPath: images).standardizedFileURL.lastPathComponent
                                                 + (captionSet == .outOfDistribution ? " (ood captions)" : ""))

        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: images, isDirectory: &isDirectory) else {
            throw UsageError(message: "--images \(images): no such folder or statistics file", command: cmd)
        }
        // A folder of `sds` / `refine` outputs (each with its eval/ folder) is evaluated as one folder, output k = sample k.
        var folder = images
        let outputs = isDirectory.boolValue ? OutputCollection.outputs(parent: images) : []
        if !outputs.isEmpty {
            folder = (NSTemporaryDirectory() as NSString).appendingPathComponent("dreamportrait-eval-\(ProcessInfo.processInfo.processIdentifier)")
            try? FileManager.default.removeItem(atPath: folder)
            try OutputCollection.merge(outputs: outputs, into: folder)
            printError("--images \(images): \(outputs.count) sds/refine outputs, evaluated together (their eval/ folders)")
        }
        defer { if folder != images { try? FileManager.default.removeItem(atPath: folder) } }
        let source: EvalSource = isDirectory.boolValue ? try EvalFolder(path: folder, captions: captionSet) : StatisticsSource(path: images)
        var bar: (stage: String, bar: ProgressBar)? = nil
        let report = try Evaluation.run(source: source, settings: s) { stage, done, total in
            if bar?.stage != stage {
                bar?.bar.finish()
                printError(stage)
                bar = (stage, ProgressBar(total: total, start: 0, unit: "images"))
            }
            bar!.bar.update(done)
        }
        bar?.bar.finish()
        let json = try report.json()
        if let out = args.string("--out") {
            try writeAtomically(json + Data("\n".utf8), to: URL(fileURLWithPath: out))
        }
        if args.flag("--json") {
            print(String(decoding: json, as: UTF8.self))
        } else {
            print(report.table.text(), terminator: "")
            print(report.summary())
            if let out = args.string("--out") { print("JSON report: \(out)") }
        }
    }
}
