// FID as `dreamportrait eval` computes it (pytorch-fid's `python -m pytorch_fid IMAGES REFERENCE --dims 2048`):
// the generated side is every image of an EvalSource (all its views) or a statistics file; the reference is a
// folder of PNGs (pytorch-fid's listing; a dataset folder with its images in subfolders is read recursively) or
// a statistics file (FeatureStatistics.save's format), with the reference statistics cached.
import Foundation
import TensorCore

struct FIDEvaluation {
    let settings: EvalSettings
    let reference: Side
    let imageStatistics: Side?
    let encoder: InceptionFeatureEncoder?

    /// A reference or statistics side: a folder of PNGs or a statistics file.
    struct Side {
        let path: String
        let folder: ImageFolder?

        init(path: String, flag: String) throws {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw MetricError(message: "\(flag) \(path): no such folder or statistics file")
            }
            self.path = path
            folder = isDirectory.boolValue ? try ImageFolder(path: path) : nil
        }
    }

    /// Checks the sides and loads the Inception weights when a side needs encoding.
    init(settings s: EvalSettings, source: EvalSource) throws {
        settings = s
        guard let ref = s.reference else {
            throw MetricError(message: "fid needs --reference: a folder of reference PNGs (or a dataset folder), or a statistics file")
        }
        guard FIDInceptionV3.blockDimensions.contains(s.dims) else {
            throw MetricError(message: "invalid value '\(s.dims)' for --dims: expected 64, 192, 768 or 2048")
        }
        reference = try Side(path: ref, flag: "--reference")
        imageStatistics = try (source as? StatisticsSource).map { try Side(path: $0.path, flag: "--images") }
        if imageStatistics == nil, source.count * source.views.count < 2 {
            throw MetricError(message: "\(source.name): FID needs at least two generated images for a covariance, found \(source.count * source.views.count)")
        }
        if imageStatistics == nil || reference.folder != nil {
            guard let weights = s.inception else {
                throw MetricError(message: "fid needs --inception FILE: pytorch-fid's Inception weights converted to safetensors. \(FIDInceptionV3.weightsHelp)")
            }
            encoder = try InceptionFeatureEncoder(weights: weights, dimension: s.dims)
        } else { encoder = nil }
    }

    func run(source: EvalSource, progress: ((String, Int, Int) -> Void)?) throws -> (Double, [String: Any]) {
        let t0 = Date()
        let a: (GaussianStatistics, [String: Any])
        if let imageStatistics {
            a = (try GaussianStatistics(path: imageStatistics.path), ["path": imageStatistics.path, "statistics": "file"])
        } else {
            let running = try sourceStatistics(source, encoder: encoder!, batchSize: settings.batchSize) { progress?("fid images", $0, $1) }
            a = (GaussianStatistics(running), ["path": source.name, "count": running.count, "statistics": "computed"])
        }
        let b = try referenceStatistics(progress: progress)
        guard a.0.dimension == b.0.dimension else {
            throw MetricError(message: "FID: the statistics have \(a.0.dimension) and \(b.0.dimension) dimensions")
        }
        let t1 = Date()
        let fid = try frechetDistance(a.0, b.0)
        return (fid, ["dims": a.0.dimension, "images": a.1, "reference": b.1, "statistics_seconds": t1.timeIntervalSince(t0),
                      "distance_seconds": Date().timeIntervalSince(t1)])
    }

    func referenceStatistics(progress: ((String, Int, Int) -> Void)?) throws -> (GaussianStatistics, [String: Any]) {
        let path = reference.path
        guard let folder = reference.folder, let encoder else {
            let count = try? SafeTensorsFile(path: path).metadata["count"].flatMap { Int($0) }
            return (try GaussianStatistics(path: path), ["path": path, "count": (count ?? nil) ?? NSNull(), "statistics": "file"])
        }
        let cache = settings.statisticsCache.map(StatisticsCache.init)
        if let cache, let stats = try cache.load(for: folder, encoder: encoder) {
            return (stats, ["path": path, "count": folder.files.count, "statistics": "cache", "cache_file": try cache.file(for: folder, encoder: encoder)])
        }
        guard folder.files.count >= 2 else {
            throw MetricError(message: "--reference \(path): FID needs at least two reference images for a covariance, found \(folder.files.count)")
        }
        progress?("fid reference", 0, folder.files.count)
        let running = try folderStatistics(folder, encoder: encoder, batchSize: settings.batchSize) { progress?("fid reference", $0, $1) }
        var origin = "computed"
        if let cache {
            do { try cache.store(running, for: folder, encoder: encoder); origin = "computed, cached" } catch {
                origin = "computed (not cached: \(error))"
            }
        }
        return (GaussianStatistics(running), ["path": path, "count": running.count, "statistics": origin])
    }
}

/// Encodes every image of every sample of `source` (each of its views) in batches of `batchSize` images.
/// `progress(done, total)` counts images.
public func sourceStatistics(_ source: EvalSource, encoder: ImageFeatureEncoder, batchSize: Int,
                             progress: ((Int, Int) -> Void)? = nil) throws -> FeatureStatistics {
    require(batchSize >= 1, "sourceStatistics: batch size must be positive, got \(batchSize)")
    let items = (0..<source.count).flatMap { i in source.views.map { (i, $0) } }
    var stats = FeatureStatistics(dimension: encoder.dimension)
    progress?(0, items.count)
    for start in stride(from: 0, to: items.count, by: batchSize) {
        let chunk = items[start..<Swift.min(items.count, start + batchSize)]
        let features = encoder.encode(try chunk.map { try source.image($0.0, view: $0.1) })
        require(features.shape == [chunk.count, encoder.dimension],
                "sourceStatistics: encoder returned \(features.shape) for \(chunk.count) images of dimension \(encoder.dimension)")
        stats.add(features)
        progress?(start + chunk.count, items.count)
    }
    return stats
}

/// Generated images given only as FID statistics (a .safetensors with mu and sigma, FeatureStatistics.save's
/// format): a source without samples, usable for fid alone.
public struct StatisticsSource: EvalSource {
    public let path: String
    public init(path: String) { self.path = path }
    public var name: String { path }
    public var count: Int { 0 }
    public var hasCaptions: Bool { false }
    public var views: [MSCView] { [.frontal] }
    public func captions(_ i: Int) -> [String] { [] }
    public func image(_ i: Int, view: MSCView) throws -> Tensor {
        throw MetricError(message: "\(path) holds statistics, not images")
    }
}
