// The statistics of a folder of images under an image encoder, as pytorch-fid's
// calculate_activation_statistics computes them (get_activations over batches, then np.mean / np.cov of the
// float32 features in float64), streamed (FeatureStatistics) so memory does not grow with the image count;
// and a cache of such statistics keyed by folder, listing and encoder, so reference statistics are computed once.
import Foundation
import TensorCore

/// A metric's invalid setting or missing input, in words.
public struct MetricError: Error, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// Something that turns images into feature vectors (FID's Inception; later CLIP's image tower).
public protocol ImageFeatureEncoder {
    /// The feature size.
    var dimension: Int { get }
    /// Names the encoder, its weights and settings; statistics cached under one identity are reused only
    /// for the same identity.
    var identity: String { get }
    /// images: each (3, H, W) in [0, 1] -> (count, dimension)
    func encode(_ images: [Tensor]) -> Tensor
}

/// pytorch-fid's feature extractor: FID Inception-v3, the pool features of `--dims` 64, 192, 768 or 2048.
public struct InceptionFeatureEncoder: ImageFeatureEncoder {
    public let model: FIDInceptionV3
    public let dimension: Int
    public let identity: String

    /// `weightsID` names the weights (e.g. a hash of the weight file) for the cache identity.
    public init(model: FIDInceptionV3, dimension: Int = 2048, weightsID: String) throws {
        guard FIDInceptionV3.blockDimensions.contains(dimension) else {
            throw MetricError(message: "FID Inception features have 64, 192, 768 or 2048 dimensions, not \(dimension)")
        }
        self.model = model
        self.dimension = dimension
        identity = "pytorch-fid-inception-v3/\(weightsID)/dims-\(dimension)"
    }

    /// Loads a converted weight file; the cache identity hashes its bytes.
    public init(weights path: String, dimension: Int = 2048) throws {
        let model = try FIDInceptionV3(weights: path)
        try self.init(model: model, dimension: dimension, weightsID: String(try StableHash.file(path), radix: 16))
    }

    public func encode(_ images: [Tensor]) -> Tensor {
        model.features(FIDInceptionV3.resizedBatch(images), dimension: dimension)
    }
}

/// Encodes every image of `folder` in batches of `batchSize` and returns the running statistics.
/// `progress(done, total)` is called after each batch.
public func folderStatistics(_ folder: ImageFolder, encoder: ImageFeatureEncoder, batchSize: Int,
                             progress: ((Int, Int) -> Void)? = nil) throws -> FeatureStatistics {
    require(batchSize >= 1, "folderStatistics: batch size must be positive, got \(batchSize)")
    var stats = FeatureStatistics(dimension: encoder.dimension)
    let total = folder.files.count
    var start = 0
    while start < total {
        let files = Array(folder.files[start..<min(total, start + batchSize)])
        // Decode the batch's PNGs in parallel; report the first failing file.
        var images = [Tensor?](repeating: nil, count: files.count)
        var errors = [Error?](repeating: nil, count: files.count)
        images.withUnsafeMutableBufferPointer { ib in
            errors.withUnsafeMutableBufferPointer { eb in
                let ip = ib.baseAddress!, ep = eb.baseAddress!
                parallelFor(files.count) { i in
                    do { ip[i] = try ImageFolder.loadRGB(files[i]) } catch { ep[i] = error }
                }
            }
        }
        if let e = errors.compactMap({ $0 }).first { throw e }
        let features = encoder.encode(images.map { $0! })
        require(features.shape == [files.count, encoder.dimension],
                "folderStatistics: encoder returned \(features.shape) for \(files.count) images of dimension \(encoder.dimension)")
        stats.add(features)
        start += files.count
        progress?(start, total)
    }
    return stats
}

/// Statistics files in a folder, one per (folder path, folder fingerprint, encoder identity).
public struct StatisticsCache {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// The default place: $XDG_CACHE_HOME/dreamportrait/statistics or ~/.cache/dreamportrait/statistics.
    public static var defaultDirectory: String {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".cache")
        return (base as NSString).appendingPathComponent("dreamportrait/statistics")
    }

    /// The cache file for a folder under an encoder.
    public func file(for folder: ImageFolder, encoder: ImageFeatureEncoder) throws -> String {
        var h = StableHash()
        h.add(URL(fileURLWithPath: folder.path).standardizedFileURL.path)
        h.add(try folder.fingerprint())
        h.add(encoder.identity)
        return (directory as NSString).appendingPathComponent("stats-\(String(format: "%016llx", h.value)).safetensors")
    }

    /// Cached statistics, or nil when there are none (or the file is unreadable, which is then recomputed).
    public func load(for folder: ImageFolder, encoder: ImageFeatureEncoder) throws -> GaussianStatistics? {
        let path = try file(for: folder, encoder: encoder)
        guard FileManager.default.fileExists(atPath: path),
              let stats = try? GaussianStatistics(path: path), stats.dimension == encoder.dimension else { return nil }
        return stats
    }

    /// Stores statistics (creating the folder), with the folder and encoder in the file's metadata.
    public func store(_ stats: FeatureStatistics, for folder: ImageFolder, encoder: ImageFeatureEncoder) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try stats.save(to: try file(for: folder, encoder: encoder),
                       metadata: ["folder": folder.path, "images": String(folder.files.count), "encoder": encoder.identity])
    }
}
