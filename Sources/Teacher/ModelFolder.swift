// A model folder in Hugging Face layout (transformers' `save_pretrained`, diffusers' per-component folders):
// `config.json` beside the weights, which are one `model.safetensors` / `diffusion_pytorch_model.safetensors`
// (or their `.fp16` variants) or shards listed in a `*.safetensors.index.json`. Every problem names the file.
import Foundation
import TensorCore

public struct ModelFolder {
    public let path: String

    /// Weight file names tried in order (fp32 first, then the fp16 variants diffusers writes).
    public static let weightNames = [
        "model.safetensors", "diffusion_pytorch_model.safetensors",
        "model.fp16.safetensors", "diffusion_pytorch_model.fp16.safetensors",
    ]

    /// `path` must be a folder holding config.json.
    public init(path: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw FileError(path: path, message: "no such folder")
        }
        guard isDir.boolValue else { throw FileError(path: path, message: "not a folder (expected a model folder with config.json)") }
        self.path = path
        guard FileManager.default.fileExists(atPath: file("config.json")) else {
            throw FileError(path: file("config.json"), message: "missing: a model folder needs its config.json")
        }
    }

    /// A component folder of a diffusers pipeline (`unet`, `vae`, `text_encoder`, ...).
    public func component(_ name: String) throws -> ModelFolder {
        let sub = file(name)
        guard FileManager.default.fileExists(atPath: sub) else {
            throw FileError(path: sub, message: "missing component folder '\(name)' of the pipeline at \(path)")
        }
        return try ModelFolder(path: sub)
    }

    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Decodes config.json; a missing or malformed field is reported with the file and the key path.
    public func config<T: Decodable>(_ type: T.Type, name: String = "config.json") throws -> T {
        let p = file(name)
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: p)) } catch {
            throw FileError(path: p, message: "cannot read: \(error.localizedDescription)")
        }
        do { return try JSONDecoder().decode(T.self, from: data) } catch let e as DecodingError {
            throw FileError(path: p, message: ModelFolder.describe(e))
        } catch {
            throw FileError(path: p, message: "not valid JSON")
        }
    }

    /// The safetensors files holding the weights: the shards of an index, or the first existing single file.
    /// `expected` (e.g. "diffusion_pytorch_model.safetensors") is the file named when there are none.
    public func weightFiles(expected: String? = nil) throws -> [String] {
        let fm = FileManager.default
        let names = (try? fm.contentsOfDirectory(atPath: path)) ?? []
        if let index = names.sorted().first(where: { $0.hasSuffix(".safetensors.index.json") && !$0.contains(".fp16.") })
            ?? names.sorted().first(where: { $0.hasSuffix(".safetensors.index.json") }) {
            let p = file(index)
            guard let data = fm.contents(atPath: p),
                  let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let map = json["weight_map"] as? [String: String] else {
                throw FileError(path: p, message: "not a safetensors index (no weight_map object)")
            }
            let shards = Array(Set(map.values)).sorted()
            for s in shards where !fm.fileExists(atPath: file(s)) {
                throw FileError(path: file(s), message: "missing shard listed in \(index)")
            }
            return shards.map(file)
        }
        if let single = ModelFolder.weightNames.first(where: { fm.fileExists(atPath: file($0)) }) { return [file(single)] }
        if let expected {
            let fp16 = expected.replacingOccurrences(of: ".safetensors", with: ".fp16.safetensors")
            throw FileError(path: file(expected), message: "missing: no weights in this folder (neither \(expected), \(fp16) nor a sharded \(expected).index.json)")
        }
        throw FileError(path: path, message: "no weights: expected one of \(ModelFolder.weightNames.joined(separator: ", ")) or a sharded *.safetensors.index.json")
    }

    /// Every tensor of the weight files (F16/BF16 converted to Float32), by checkpoint key.
    public func weights() throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for f in try weightFiles() {
            let st = try SafeTensorsFile(path: f)
            for k in st.keys {
                guard out[k] == nil else { throw FileError(path: f, message: "tensor \"\(k)\" appears in more than one shard") }
                out[k] = try st.tensor(k)
            }
        }
        return out
    }

    static func describe(_ e: DecodingError) -> String {
        func path(_ c: [CodingKey]) -> String {
            c.reduce("") { s, k in k.intValue.map { s + "[\($0)]" } ?? (s.isEmpty ? k.stringValue : s + "." + k.stringValue) }
        }
        switch e {
        case .keyNotFound(let k, let ctx): return "missing key \"\(path(ctx.codingPath + [k]))\""
        case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx): return "wrong type at \"\(path(ctx.codingPath))\": \(ctx.debugDescription)"
        case .dataCorrupted(let ctx): return "invalid value at \"\(path(ctx.codingPath))\": \(ctx.debugDescription)"
        @unknown default: return "cannot decode"
        }
    }
}
