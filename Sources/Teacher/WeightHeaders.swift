// The tensor shapes of a model folder's weight files, read from the safetensors headers only, so that a config
// can be checked against its weights before the model is built. Every size that decides how much a model
// allocates (widths, layer counts, vocabulary, positions) is pinned to a tensor of the file this way: a config
// that says 1e9 or -16 where the weights say 16 is an error naming config.json, the field, both values and the
// tensor, not an allocation of absurd size or a trap in the tensor engine.
import Foundation
import TensorCore

public struct WeightHeaders {
    /// Renamed key -> shape.
    public let shapes: [String: [Int]]
    /// config.json (the file a mismatch is reported against).
    public let configPath: String
    /// The weight file (or folder of shards) the shapes come from, for messages.
    public let weightsName: String

    public init(shapes: [String: [Int]], configPath: String, weightsName: String) {
        self.shapes = shapes
        self.configPath = configPath
        self.weightsName = weightsName
    }

    /// The headers of every weight file of `folder`, keys renamed by `remap` (dropped keys are left out).
    public init(folder: ModelFolder, remap: KeyRemap, configName: String = "config.json") throws {
        let files = try folder.weightFiles()
        var shapes: [String: [Int]] = [:]
        for f in files {
            let st = try SafeTensorsFile(path: f)
            for (key, entry) in st.entries {
                guard let to = remap(key) else { continue }
                shapes[to] = entry.shape
            }
        }
        self.init(shapes: shapes, configPath: folder.file(configName),
                  weightsName: files.count == 1 ? (files[0] as NSString).lastPathComponent : "the weight shards")
    }

    /// Throws when tensor `key` exists with another shape than `shape`; `because` names the config fields that set
    /// the shape ("block_out_channels[0] = -16"). A missing tensor is left to the strict loader, which lists every
    /// missing key by its full path (the sizes it would pin are still bounded by the config checks).
    public func expect(_ key: String, _ shape: [Int], because: String) throws {
        guard let found = shapes[key] else { return }
        guard found == shape else {
            throw FileError(path: configPath, message: "\(because) does not fit the weights: \"\(key)\" is \(found) in \(weightsName), the config needs \(shape)")
        }
    }

    /// The number of consecutive indices n = 0, 1, ... for which some key starts with "\(prefix).\(n).".
    public func count(_ prefix: String) -> Int {
        var n = 0
        while shapes.keys.contains(where: { $0.hasPrefix("\(prefix).\(n).") }) { n += 1 }
        return n
    }

    /// Throws when the weights have another number of entries `prefix.0.` ... than the config's `n`: fewer (the
    /// config would build layers the weights do not have) or more whole entries (entry n holds the same tensors
    /// as entry 0: the config leaves out layers the weights have). Stray keys under `prefix.n.` are left to the
    /// strict loader, which names each unexpected key.
    public func expectCount(_ prefix: String, _ n: Int, because: String) throws {
        let found = count(prefix)
        func suffixes(_ i: Int) -> Set<String> {
            let p = "\(prefix).\(i)."
            return Set(shapes.keys.filter { $0.hasPrefix(p) }.map { String($0.dropFirst(p.count)) })
        }
        guard found < n || (found > n && (n == 0 || suffixes(n) == suffixes(0))) else { return }
        throw FileError(path: configPath, message: "\(because) does not fit the weights: \(weightsName) has \(found) \"\(prefix).N\" entries, the config needs \(n)")
    }
}

/// Bounds on config sizes: a value outside is an error naming the file and key before anything is allocated.
public enum ConfigBounds {
    /// Widths, channels, vocabulary and position counts.
    public static let maxSize = 1 << 20
    /// Layers or blocks of one kind.
    public static let maxLayers = 1024
    /// Image sides in pixels.
    public static let maxImageSide = 16384

    /// nil when 1 ≤ value ≤ max, else the message "key = value must be in 1...max".
    public static func problem(_ key: String, _ value: Int, max: Int = maxSize, min: Int = 1) -> String? {
        (min...max).contains(value) ? nil : "\(key) = \(value) must be in \(min)...\(max)"
    }
}
