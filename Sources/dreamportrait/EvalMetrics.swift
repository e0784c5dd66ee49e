// The metrics `dreamportrait eval` computes, behind one protocol so each is added on its own: FID now
// (pytorch-fid's `python -m pytorch_fid IMAGES REFERENCE --dims 2048`); MSC and CLIP R-precision (DreamPortrait
// §4) arrive with the CLIP model.
import Foundation
import Metrics
import TensorCore

/// What every metric receives: the parsed command line and a way to report progress.
struct EvalContext {
    let args: Arguments
    /// --images and --reference as given.
    let images: String
    let reference: String?
    let batchSize: Int
}

/// One metric's outcome: the headline value and details for --json.
struct MetricResult {
    let key: String
    let title: String
    let value: Double
    /// One line under the value in the text report.
    let summary: String
    let details: [String: Any]
}

protocol EvaluationMetric {
    func evaluate(_ context: EvalContext) throws -> MetricResult
}

/// The metric names `--metrics` accepts.
enum MetricName: String, CaseIterable {
    case fid, msc, rp

    var help: String {
        switch self {
        case .fid: "Fréchet Inception Distance of --images against --reference (needs --inception)"
        case .msc: "multi-view semantic consistency (needs the CLIP model)"
        case .rp: "CLIP R-precision (needs the CLIP model)"
        }
    }

    /// The metric, or an error saying why it cannot run yet.
    func make() throws -> EvaluationMetric {
        switch self {
        case .fid: return FIDMetric()
        case .msc, .rp:
            throw MetricError(message: "\(rawValue) needs the CLIP model, which comes with the CLIP integration; "
                + "only fid can be computed now (--metrics fid)")
        }
    }
}

/// FID between two image folders (or a folder and saved statistics), pytorch-fid's way.
struct FIDMetric: EvaluationMetric {
    func evaluate(_ context: EvalContext) throws -> MetricResult {
        let args = context.args
        guard let reference = context.reference else {
            throw MetricError(message: "fid needs --reference: a folder of reference PNGs, or a statistics file")
        }
        let dims = try args.int("--dims", default: 2048)
        guard FIDInceptionV3.blockDimensions.contains(dims) else {
            throw UsageError(message: "invalid value '\(dims)' for --dims: expected 64, 192, 768 or 2048", command: args.command)
        }
        // Inputs first (cheap), then the weights, which only a folder needs.
        let sides = try [context.images, reference].map { try Source(path: $0) }
        var encoder: InceptionFeatureEncoder? = nil
        if sides.contains(where: { $0.folder != nil }) {
            guard let weights = args.string("--inception") else {
                throw MetricError(message: "fid needs --inception FILE: pytorch-fid's Inception weights converted to safetensors. \(FIDInceptionV3.weightsHelp)")
            }
            encoder = try InceptionFeatureEncoder(weights: weights, dimension: dims)
        }
        let cache = args.flag("--no-cache") ? nil : StatisticsCache(directory: args.string("--stats-cache") ?? StatisticsCache.defaultDirectory)
        let t0 = Date()
        let a = try sides[0].statistics(label: "images", encoder: encoder, batchSize: context.batchSize, cache: nil)
        let b = try sides[1].statistics(label: "reference", encoder: encoder, batchSize: context.batchSize, cache: cache)
        guard a.stats.dimension == b.stats.dimension else {
            throw MetricError(message: "the statistics have \(a.stats.dimension) and \(b.stats.dimension) dimensions")
        }
        let t1 = Date()
        let fid = try frechetDistance(a.stats, b.stats)
        let seconds = Date().timeIntervalSince(t1)
        return MetricResult(
            key: "fid", title: "FID", value: fid,
            summary: "\(a.describe) vs \(b.describe), Inception pool features \(a.stats.dimension)-d",
            details: ["dims": a.stats.dimension, "images": a.json, "reference": b.json,
                      "statistics_seconds": t1.timeIntervalSince(t0), "distance_seconds": seconds])
    }

    /// One side of the comparison: a folder of PNGs or a statistics file (FeatureStatistics.save's format).
    struct Source {
        let path: String
        let folder: ImageFolder?

        init(path: String) throws {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw MetricError(message: "\(path): no such folder or statistics file")
            }
            self.path = path
            folder = isDirectory.boolValue ? try ImageFolder(path: path) : nil
        }

        struct Computed {
            let stats: GaussianStatistics
            let count: Int?
            let origin: String     // "computed", "cache" or "file"
            let path: String
            var describe: String { "\(count.map { "\($0) images" } ?? "statistics") in \(path)\(origin == "cache" ? " (cached statistics)" : "")" }
            var json: [String: Any] { ["path": path, "count": count ?? NSNull(), "statistics": origin] }
        }

        func statistics(label: String, encoder: InceptionFeatureEncoder?, batchSize: Int, cache: StatisticsCache?) throws -> Computed {
            guard let folder, let encoder else {
                let stats = try GaussianStatistics(path: path)
                let count = try? SafeTensorsFile(path: path).metadata["count"].flatMap { Int($0) }
                return Computed(stats: stats, count: count ?? nil, origin: "file", path: path)
            }
            if let cache, let stats = try cache.load(for: folder, encoder: encoder) {
                printError("\(label): statistics of \(folder.files.count) images from the cache \(try cache.file(for: folder, encoder: encoder))")
                return Computed(stats: stats, count: folder.files.count, origin: "cache", path: path)
            }
            guard folder.files.count >= 2 else {
                throw MetricError(message: "\(path): FID needs at least two images per folder for a covariance, found \(folder.files.count)")
            }
            printError(label)
            let bar = ProgressBar(total: folder.files.count, start: 0, unit: "images")
            let running = try folderStatistics(folder, encoder: encoder, batchSize: batchSize) { done, _ in bar.update(done) }
            if let cache {
                do { try cache.store(running, for: folder, encoder: encoder) } catch {
                    printError("warning: could not cache the \(label) statistics: \(error)")
                }
            }
            return Computed(stats: GaussianStatistics(running), count: running.count, origin: "computed", path: path)
        }
    }
}
