// The evaluation behind `dreamportrait eval` (paper §4.1, Table 1): FID, MSC and CLIP R-precision of an
// EvalSource (a folder now, the generator later), as one row of a MetricsTable plus every detail for JSON.
// Inputs are validated before any model is loaded (captions, views, enough captions for R-precision, weight
// files present), so a bad setting fails in milliseconds with the file, key or flag at fault.
import Foundation
import Teacher
import TensorCore

/// What to compute and with which weights. Flag names in messages are `dreamportrait eval`'s.
public struct EvalSettings {
    public var metrics: [MetricsTable.Metric]
    /// FID's reference: a folder of PNGs, a dataset folder (images in subfolders) or a statistics file.
    public var reference: String?
    /// pytorch-fid's Inception weights (Scripts/convert_inception.py output) and the feature block.
    public var inception: String?
    public var dims = 2048
    /// A Hugging Face CLIP folder (MSC, R-precision).
    public var clip: String?
    /// R-precision's distractor sampling seed and distractor count (99 in the paper).
    public var seed: UInt64 = 0
    public var distractors = 99
    /// Images per forward pass (Inception and CLIP).
    public var batchSize = 16
    /// Where FID reference statistics are cached (nil: no cache).
    public var statisticsCache: String?
    /// The table row and column group.
    public var method = "DreamPortrait (ours)"
    public var synthesisType: String? = "3D Forward"
    public var dataset = "eval"
    public var distribution = MetricsTable.Distribution.inDistribution

    public init(metrics: [MetricsTable.Metric]) { self.metrics = metrics }
}

/// One evaluation's values, table and details.
public struct EvalReport {
    /// The paper's Table 1 form: one row, one column group, the requested metrics in request order.
    public var table: MetricsTable
    /// Headline values: FID, MSC (CLIP-score units), R-precision in percent.
    public var values: [MetricsTable.Metric: Double] = [:]
    /// Per metric, what it was computed from (JSON-serialisable).
    public var details: [MetricsTable.Metric: [String: Any]] = [:]
    /// The source, settings and weights (JSON-serialisable).
    public var info: [String: Any] = [:]

    public init(table: MetricsTable, info: [String: Any] = [:]) { self.table = table; self.info = info }

    /// One line per metric under the table: what it was computed from.
    public func summary() -> String {
        table.metrics.compactMap { m -> String? in
            guard let d = details[m] else { return nil }
            switch m {
            case .fid:
                func side(_ x: Any?) -> String {
                    let o = x as? [String: Any] ?? [:]
                    let n = (o["count"] as? Int).map { "\($0) images" } ?? "statistics"
                    return "\(n) in \(o["path"] ?? "?") (\(o["statistics"] ?? "?"))"
                }
                return "FID: \(side(d["images"])) vs \(side(d["reference"])), Inception pool features \(d["dims"] ?? "?")-d"
            case .msc:
                let views = (d["per_view"] as? [String: Double] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.2f", $0.value))" }
                return "MSC: \(d["samples"] ?? 0) samples, mean CLIP score per view: \(views.joined(separator: ", "))"
            case .rp:
                return "R-P: \(d["hits"] ?? 0) of \(d["samples"] ?? 0) true captions rank first among \(d["candidates"] ?? 0) candidates (seed \(d["seed"] ?? 0))"
            }
        }.joined(separator: "\n")
    }

    /// {"table": MetricsTable JSON, "fid": value, "fid_details": {...}, ..., "source": ..., "seed": ...}.
    public func json() throws -> Data {
        var object = info
        object["table"] = try JSONSerialization.jsonObject(with: table.json())
        for (m, v) in values { object[m.rawValue] = v; object["\(m.rawValue)_details"] = details[m] ?? [:] }
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
    }
}

public enum Evaluation {
    /// Hugging Face CLIP folder files the metrics read, and how to get one.
    public static let clipFiles = ["config.json", "model.safetensors", "vocab.json", "merges.txt", "preprocessor_config.json"]
    public static let clipHelp = "A Hugging Face CLIP folder holds config.json, model.safetensors (or model.fp16.safetensors / shards), vocab.json, merges.txt, tokenizer_config.json and preprocessor_config.json; the paper's CLIP ViT-B/32: `huggingface-cli download openai/clip-vit-base-patch32 --local-dir clip-vit-base-patch32` (or `hf download ...`), then pass --clip clip-vit-base-patch32."

    /// Runs `settings.metrics` on `source`. `embedder` replaces the CLIP folder (tests, cached models);
    /// `progress(stage, done, total)` reports long stages.
    public static func run(source: EvalSource, settings s: EvalSettings, embedder given: CLIPEmbedder? = nil,
                           progress: ((String, Int, Int) -> Void)? = nil) throws -> EvalReport {
        guard !s.metrics.isEmpty else { throw MetricError(message: "no metric requested (--metrics fid,msc,rp)") }
        guard s.batchSize > 0 else { throw MetricError(message: "--batch must be positive, got \(s.batchSize)") }
        let wants = Set(s.metrics)
        var sampleCaptions: [[String]] = []
        if given == nil, wants.contains(.msc) || wants.contains(.rp) { try checkCLIPFolder(s) }
        if wants.contains(.msc) || wants.contains(.rp) {
            if source is StatisticsSource {
                throw MetricError(message: "\(source.name) is a statistics file: msc and rp need the images (a folder), only fid can use statistics")
            }
            guard source.hasCaptions else {
                let file = (source as? EvalFolder).map { " (\($0.path)/\($0.captionSet.file) is missing: an object of image file name -> captions, true caption first)" } ?? ""
                throw MetricError(message: "\(s.metrics.filter { $0 != .fid }.map(\.rawValue).joined(separator: " and ")) need\(wants.isSuperset(of: [.msc, .rp]) ? "" : "s") captions\(file)")
            }
            sampleCaptions = (0..<source.count).map(source.captions)
        }
        if wants.contains(.msc), !source.hasViews {
            throw MetricError(message: "msc needs each sample's three views (frontal, yaw +15°, yaw -15°): no image of \(source.name) is at an MSC camera. Lay the folder out as <sample>/F.png, L15.png, R15.png with the MSC camera labels in dataset.json (see `dreamportrait eval --help`)")
        }
        if wants.contains(.rp) {   // the draw is cheap: check that every sample has enough distractors now
            guard s.distractors > 0 else { throw MetricError(message: "--distractors must be positive, got \(s.distractors)") }
            do { _ = try rPrecisionDistractors(captions: sampleCaptions, count: s.distractors, seed: s.seed) } catch let e as CLIPMetricError {
                throw MetricError(message: "\(source.name): \(e.message) (--distractors sets the count; the paper uses 99)")
            }
        }
        var fid: FIDEvaluation? = nil
        if wants.contains(.fid) { fid = try FIDEvaluation(settings: s, source: source) }
        var embedder = given
        if embedder == nil, wants.contains(.msc) || wants.contains(.rp) { embedder = try CLIPScorer(folder: s.clip!, batchSize: s.batchSize) }

        var table = MetricsTable(datasets: [.init(name: s.dataset, distribution: s.distribution)], metrics: s.metrics,
                                 caption: "Performance on \(s.dataset) (\(source.count) samples)")
        var report = EvalReport(table: table)
        report.info = ["source": source.name, "samples": source.count, "views": source.views.map(\.name),
                       "images": source.count * source.views.count, "metrics": s.metrics.map(\.rawValue),
                       "method": s.method, "dataset": s.dataset, "distribution": s.distribution.rawValue,
                       "batch": s.batchSize]
        for m in s.metrics {
            switch m {
            case .fid:
                let (value, details) = try fid!.run(source: source, progress: progress)
                report.values[.fid] = value; report.details[.fid] = details
                report.info["inception"] = s.inception ?? NSNull(); report.info["reference"] = s.reference ?? NSNull()
            case .msc:
                let result = try msc(source, embedder!, batchSize: s.batchSize, progress: progress)
                report.values[.msc] = result.mean
                report.details[.msc] = ["samples": result.count, "per_view": Dictionary(uniqueKeysWithValues: zip(MSCView.allCases.map(\.name), result.perView)),
                                        "per_sample": result.perSample, "units": "100 * cosine (CLIP score)"]
            case .rp:
                let result = try rp(source, captions: sampleCaptions, embedder: embedder!, settings: s, progress: progress)
                report.values[.rp] = result.percent
                report.details[.rp] = ["samples": result.ranks.count, "candidates": result.candidates, "seed": result.seed,
                                       "hits": result.hits.filter { $0 }.count, "ranks": result.ranks, "precision": result.precision,
                                       "units": "percent of samples whose true caption ranks first", "image": "frontal view"]
            }
            try table.set(m, report.values[m], method: s.method, dataset: s.dataset, synthesisType: s.synthesisType)
        }
        if wants.contains(.msc) || wants.contains(.rp) {
            report.info["clip"] = s.clip ?? (given.map { "\(type(of: $0))" } ?? NSNull())
            report.info["seed"] = s.seed; report.info["distractors"] = s.distractors
        }
        table.metadata = ["source": source.name, "samples": String(source.count)]
        for key in ["clip", "inception", "reference", "seed"] { if let v = report.info[key], !(v is NSNull) { table.metadata[key] = "\(v)" } }
        report.table = table
        return report
    }

    /// Checks that `settings.clip` is a folder holding every file the CLIP scorer reads.
    static func checkCLIPFolder(_ s: EvalSettings) throws {
        let needs = s.metrics.filter { $0 != .fid }.map(\.rawValue).joined(separator: " and ")
        guard let folder = s.clip else { throw MetricError(message: "\(needs) need\(needs.contains(" and ") ? "" : "s") --clip DIR. \(clipHelp)") }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw MetricError(message: "--clip \(folder): no such folder. \(clipHelp)")
        }
        for f in clipFiles {
            let p = (folder as NSString).appendingPathComponent(f)
            let present = f == "model.safetensors" ? (try? ModelFolder(path: folder).weightFiles()) != nil : FileManager.default.fileExists(atPath: p)
            guard present else { throw MetricError(message: "--clip \(folder): \(f) is missing. \(clipHelp)") }
        }
    }

    /// MSC over the source's three views, in batches.
    static func msc(_ source: EvalSource, _ embedder: CLIPEmbedder, batchSize: Int,
                    progress: ((String, Int, Int) -> Void)?) throws -> MSCResult {
        var result = MSCResult(scores: [[], [], []])
        progress?("msc", 0, source.count)
        for start in stride(from: 0, to: source.count, by: batchSize) {
            let r = start..<Swift.min(source.count, start + batchSize)
            let v = try MSCView.allCases.map { try source.batch(r, view: $0) }
            result.append(try multiViewSemanticConsistency(frontal: v[0], left: v[1], right: v[2],
                                                           captions: r.map { source.captions($0)[0] }, embedder: embedder))
            progress?("msc", r.upperBound, source.count)
        }
        return result
    }

    /// R-precision of the source's frontal images, their embeddings accumulated batch by batch.
    static func rp(_ source: EvalSource, captions: [[String]], embedder: CLIPEmbedder, settings s: EvalSettings,
                   progress: ((String, Int, Int) -> Void)?) throws -> RPrecisionResult {
        var rows: [Tensor] = []
        progress?("rp", 0, source.count)
        for start in stride(from: 0, to: source.count, by: s.batchSize) {
            let r = start..<Swift.min(source.count, start + s.batchSize)
            rows.append(try embedder.imageEmbeddings(source.batch(r, view: .frontal)))
            progress?("rp", r.upperBound, source.count)
        }
        return try clipRPrecision(imageEmbeddings: Tensor.concat(rows, axis: 0), captions: captions, embedder: embedder,
                                  seed: s.seed, distractors: s.distractors)
    }
}
