// `dreamportrait eval` without --images: generator-driven evaluation of the shipped (or --weights) model on the
// held-out captions of a world dataset's test split (PortraitExport's GeneratorEvaluation), with progress and ETA,
// the Table 1 row, attribute accuracy, 3D consistency and the mode-collapse ratio; JSON with --out / --json.
import Foundation
import Metrics
import PortraitExport
import TeacherTraining
import TensorCore
import TriPlaneGAN

enum EvalGeneratorCommand {
    static func run(_ args: Arguments) throws {
        let cmd = args.command
        var s = GeneratorEvaluationSettings()
        s.model = args.string("--weights")
        s.judge = args.string("--judge")
        s.attributes = args.string("--attributes")
        s.data = args.string("--data")
        s.reference = args.string("--reference")
        s.inception = args.string("--inception")
        let defaultMetrics = s.reference != nil && s.inception != nil ? ["fid", "msc", "rp"] : ["msc", "rp"]
        s.metrics = []
        let names = args.list("--metrics") ?? defaultMetrics
        if names.contains(where: { $0.lowercased() == "none" }) && names.count > 1 {
            throw UsageError(message: "--metrics none (no judge metric: attribute accuracy and 3D consistency only) cannot be combined with other metrics", command: cmd)
        }
        for name in names where name.lowercased() != "none" {
            guard let m = MetricsTable.Metric(rawValue: name.lowercased()) else {
                throw UsageError(message: "unknown metric '\(name)' for --metrics; metrics: fid, msc, rp, or none", command: cmd)
            }
            if !s.metrics.contains(m) { s.metrics.append(m) }
        }
        // Both caption styles unless --captions picks one.
        var sets: [EvalFolder.CaptionSet] = [.inDistribution, .outOfDistribution]
        if let name = args.string("--captions") {
            guard let set = EvalFolder.CaptionSet(rawValue: name) else {
                throw UsageError(message: "invalid value '\(name)' for --captions: expected in or ood", command: cmd)
            }
            sets = [set]
        }
        s.count = try args.int("--count", default: 500, range: 1...1_000_000)
        if let name = args.string("--split") {
            guard let split = GeneratorEvaluationSettings.PromptSplit(rawValue: name) else {
                throw UsageError(message: "invalid value '\(name)' for --split: expected eval (Table 1's prompts) or validation (the prompts for choosing checkpoints and settings)", command: cmd)
            }
            s.split = split
        }
        if s.split == .evaluation && s.count > s.validationStart {
            printError("warning: --count \(s.count) reaches past test-split image \(s.validationStart), where the validation prompts start: these evaluation prompts overlap the ones used to choose models")
        }
        s.distractors = try args.int("--distractors", default: 99, range: 1...1_000_000)
        s.batchSize = try args.int("--batch", default: 16, range: 1...4096)
        s.truncationPsi = try args.float("--truncation", default: 0.7)
        s.spreadPrompts = try args.int("--spread-prompts", default: 4, range: 0...10_000)
        if let seed = args.string("--seed") {
            guard let v = UInt64(seed) else { throw UsageError(message: "invalid value '\(seed)' for --seed: expected a non-negative integer", command: cmd) }
            s.seed = v
        }
        // Everything missing is named before anything is loaded.
        let paths = try GeneratorEvaluation.resolve(s)
        let model = try GenerateModel(weights: paths.model)
        if let keep = args.string("--text-path"), keep != "both" {
            guard let kept = DreamPortraitConditioning.Path(rawValue: keep) else {
                throw UsageError(message: "invalid value '\(keep)' for --text-path: expected both, global or adapters", command: cmd)
            }
            guard let conditioned = model.conditioned else {
                throw UsageError(message: "--text-path: \(paths.model) is an unconditional generator (no text paths to switch off)", command: cmd)
            }
            for path in DreamPortraitConditioning.Path.allCases where path != kept { conditioned.conditioning.switchOff(path) }
            printError("note: --text-path \(keep): the other path of the text conditioning is switched off (diagnostic)")
        }
        if args.string("--text-scale") != nil {
            let scale = try args.float("--text-scale", default: 1)
            guard scale.isFinite && scale >= 0 && scale <= 100 else {
                throw UsageError(message: "invalid value \(scale) for --text-scale: expected a number in [0, 100]", command: cmd)
            }
            guard let conditioned = model.conditioned else {
                throw UsageError(message: "--text-scale: \(paths.model) is an unconditional generator (no text paths to scale)", command: cmd)
            }
            for path in DreamPortraitConditioning.Path.allCases { conditioned.conditioning.scale(path, by: scale) }
            printError("note: --text-scale \(scale): what the text conditioning adds is multiplied by \(scale) (diagnostic)")
        }
        s.method = args.string("--method")
        if model.encoder == nil {
            printError("note: \(paths.model) is an unconditional generator: it ignores the prompts (the text-blind row of Table 1; sample i is seed + i's portrait)")
        }
        let classifier = try AttributeClassifier.load(paths.attributes)
        var reports: [String: Any] = [:]
        for set in sets {
            s.captions = set
            let style = set == .inDistribution ? "in-distribution" : "OOD"
            printError("eval: \(paths.model) on the held-out \(style) captions of \(paths.data), judge \(paths.judge ?? "none (--metrics none)")")
            var bar: (stage: String, bar: ProgressBar)? = nil
            let (report, extras) = try GeneratorEvaluation.run(s, model: model, judge: paths.judge, data: paths.data,
                                                               attributeProbabilities: { classifier.probabilities($0) }) { stage, done, total in
                if bar?.stage != stage {
                    bar?.bar.finish()
                    printError(stage)
                    bar = (stage, ProgressBar(total: total, start: 0, unit: stage == "render" ? "samples" : "images"))
                }
                bar!.bar.update(done)
            }
            bar?.bar.finish()
            reports[set == .inDistribution ? "in" : "ood"] = try JSONSerialization.jsonObject(with: report.json())
            if !args.flag("--json") { printSummary(report, extras) }
        }
        let json = try JSONSerialization.data(withJSONObject: reports.count == 1 ? reports.first!.value : reports,
                                              options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        if let out = args.string("--out") {
            try writeAtomically(json + Data("\n".utf8), to: URL(fileURLWithPath: out))
            if !args.flag("--json") { print("JSON report: \(out)") }
        }
        if args.flag("--json") { print(String(decoding: json, as: UTF8.self)) }
    }

    /// The Table 1 row and the extra columns of one caption style.
    static func printSummary(_ report: EvalReport, _ extras: GeneratorEvaluationExtras) {
        if !report.table.metrics.isEmpty {
            print(report.table.text(), terminator: "")
            print(report.summary())
        }
        if let f = extras.judgeFID {
            print(String(format: "FID on judge features: %.4f (%ld generated views vs %ld held-out real images)", f.value, f.generated, f.real))
        }
        if let a = extras.attributeAccuracy {
            print(String(format: "Attribute accuracy: %.2f%% (%ld of %ld stated attributes agree with the classifier, views F, L15, R15)",
                         a.percent, a.agree, a.stated))
            if let b = a.balanced() {
                print(String(format: "Steering (balanced attribute accuracy, 50%% = text-blind): %.2f%% over the %ld attributes stated both ways (%@; a hair colour is absent where another is stated)",
                             b.percent, b.attributes.count, b.attributes.map(\.rawValue).joined(separator: ", ")))
            }
        }
        let c = extras.consistency
        print(String(format: "3D consistency: mean reprojection error %.4f world units over %ld pixels (coverage %.1f%%; pairs F-L15, F-R15)",
                     c.pixels == 0 ? Double.nan : c.meanError, c.pixels, 100 * c.coverage))
        if extras.realRPrecision != nil || extras.realAttributeAccuracy != nil {
            var parts: [String] = []
            if let rp = extras.realRPrecision { parts.append(String(format: "R-P %.2f", rp)) }
            if let a = extras.realAttributeAccuracy, a.stated > 0 { parts.append(String(format: "attribute accuracy %.2f%%", a.percent)) }
            if let b = extras.realAttributeAccuracy?.balanced() { parts.append(String(format: "steering %.2f%%", b.percent)) }
            print("Ceiling (the same judge and classifier on the prompts' held-out real images): " + parts.joined(separator: ", "))
        }
        if let r = extras.spreadRatio {
            print(String(format: "Mode collapse: judge-feature spread of %ld seeds / spread of fitting real images = %.2f (mean over %ld prompts; ≥ 0.5 is the bar)",
                         GeneratorEvaluationSettings.spreadSeeds, r, extras.spread.count))
        } else if report.table.metrics.isEmpty {
            print("Mode collapse: not measured (it needs the judge; --metrics none)")
        } else {
            print("Mode collapse: not measured (no held-out caption that \(GeneratorEvaluationSettings().spreadMinRealImages) or more real images fit)")
        }
    }
}
