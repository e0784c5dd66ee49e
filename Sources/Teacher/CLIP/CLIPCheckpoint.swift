// Loading CLIP models from Hugging Face folders (transformers' save_pretrained: config.json beside
// model.safetensors, its .fp16 variant or shards). Keys are renamed by one table per format, then verified
// strictly (every missing, unexpected or mis-shaped key named by its full path) before anything is copied.
// The tables:
//  - transformers 4 CLIPTextModel / CLIPVisionModel (Stable Diffusion's text_encoder) and every version's
//    CLIPModel, *WithProjection: the module names as they are (`text_model.encoder.layers.0...`);
//  - transformers 5 CLIPTextModel / CLIPVisionModel, which save their tower without the `text_model.` /
//    `vision_model.` prefix: the prefix is added;
//  - in every format, the `embeddings.position_ids` buffers transformers < 4.31 saved are dropped (they are
//    non-persistent arange buffers), and a tower loaded from a full CLIPModel folder drops the other parts.
import Foundation
import TensorCore

public enum CLIPKeyRemap {
    /// Drops the position_ids buffers older transformers saved.
    static func keepWeights(_ k: String) -> String? { k.hasSuffix("embeddings.position_ids") ? nil : k }

    /// CLIPTextModel / CLIPTextModelWithProjection checkpoints (transformers 4 and 5, or a CLIPModel's text
    /// tower): keys under `text_model.`; `keepProjection` keeps `text_projection.weight`.
    public static func textModel(keepProjection: Bool) -> KeyRemap {
        KeyRemap(prefixes: [("embeddings.", "text_model.embeddings."), ("encoder.", "text_model.encoder."),
                            ("final_layer_norm.", "text_model.final_layer_norm.")]) { k in
            guard k.hasPrefix("text_model.") || (keepProjection && k.hasPrefix("text_projection.")) else { return nil }
            return keepWeights(k)
        }
    }

    /// CLIPVisionModel / CLIPVisionModelWithProjection checkpoints (transformers 4 and 5, or a CLIPModel's
    /// vision tower): keys under `vision_model.`; `keepProjection` keeps `visual_projection.weight`.
    public static func visionModel(keepProjection: Bool) -> KeyRemap {
        KeyRemap(prefixes: [("embeddings.", "vision_model.embeddings."), ("pre_layrnorm.", "vision_model.pre_layrnorm."),
                            ("encoder.", "vision_model.encoder."), ("post_layernorm.", "vision_model.post_layernorm.")]) { k in
            guard k.hasPrefix("vision_model.") || (keepProjection && k.hasPrefix("visual_projection.")) else { return nil }
            return keepWeights(k)
        }
    }

    /// CLIPModel checkpoints: names as they are.
    public static var clipModel: KeyRemap { KeyRemap(custom: keepWeights) }
}

enum CLIPCheckpoint {
    /// Reads every weight file of `folder`, renames by `remap`, and loads `module` strictly.
    static func load(_ module: Module, from folder: ModelFolder, remap: KeyRemap) throws {
        let files = try folder.weightFiles()
        var renamed: [String: Tensor] = [:], sources: [String: String] = [:]
        var problems = StateDictError()
        for f in files {
            let st = try SafeTensorsFile(path: f)
            for key in st.keys {
                guard let to = remap(key) else { continue }
                if let first = sources[to] { problems.collisions.append("\"\(first)\" and \"\(key)\" both map to \"\(to)\""); continue }
                sources[to] = key
                renamed[to] = try st.tensor(key)
            }
        }
        let where_ = files.count == 1 ? files[0] : folder.path
        do {
            if !problems.collisions.isEmpty { throw problems }
            try module.load(renamed, strict: true)
        } catch let e as StateDictError {
            throw FileError(path: where_, message: "does not fit \(type(of: module)): \(e.description)")
        }
    }

    /// Throws unless config.json's model_type (when present) is one of `accepted`.
    static func checkModelType(_ folder: ModelFolder, _ accepted: [String], _ what: String) throws {
        struct Probe: Decodable { let model_type: String? }
        let t = try folder.config(Probe.self).model_type
        if let t, !accepted.contains(t) {
            throw FileError(path: folder.file("config.json"),
                            message: "model_type \"\(t)\" is not \(accepted.map { "\"\($0)\"" }.joined(separator: " or ")), as \(what) needs")
        }
    }
}

/// A tower config read from either its own config.json or a CLIPConfig's `text_config` / `vision_config`
/// (with the CLIPConfig's projection_dim, which its projections use).
struct CLIPTowerConfigFile<T: Decodable & CLIPTowerConfig>: Decodable {
    let config: T
    let fromFullModel: Bool
    let projectionDim: Int?

    enum Keys: String, CodingKey { case text_config, vision_config, projection_dim }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        let key: Keys = T.self == CLIPTextConfig.self ? .text_config : .vision_config
        if c.contains(key) {
            config = try c.decode(T.self, forKey: key)
            fromFullModel = true
            projectionDim = try c.decodeIfPresent(Int.self, forKey: .projection_dim) ?? 512
        } else {
            config = try T(from: decoder)
            fromFullModel = false
            projectionDim = nil
        }
    }
}

extension CLIPTextModel {
    /// Loads a Hugging Face CLIPTextModel folder (a diffusers pipeline's `text_encoder/`) or the text tower
    /// of a CLIPModel folder.
    public convenience init(folder path: String) throws {
        let folder = try ModelFolder(path: path)
        try CLIPCheckpoint.checkModelType(folder, ["clip_text_model", "clip"], "CLIPTextModel")
        let config = try folder.config(CLIPTowerConfigFile<CLIPTextConfig>.self).config
        try CLIPWeightCheck.text(config, WeightHeaders(folder: folder, remap: CLIPKeyRemap.textModel(keepProjection: false)))
        self.init(config)
        try CLIPCheckpoint.load(self, from: folder, remap: CLIPKeyRemap.textModel(keepProjection: false))
    }
}

extension CLIPTextModelWithProjection {
    /// Loads a Hugging Face CLIPTextModelWithProjection folder or the text tower and text_projection of a
    /// CLIPModel folder.
    public convenience init(folder path: String) throws {
        let folder = try ModelFolder(path: path)
        try CLIPCheckpoint.checkModelType(folder, ["clip_text_model", "clip"], "CLIPTextModelWithProjection")
        let file = try folder.config(CLIPTowerConfigFile<CLIPTextConfig>.self)
        var config = file.config
        if let p = file.projectionDim { config.projectionDim = p }
        try CLIPWeightCheck.text(config, WeightHeaders(folder: folder, remap: CLIPKeyRemap.textModel(keepProjection: true)),
                                 projection: config.projectionDim)
        self.init(config)
        try CLIPCheckpoint.load(self, from: folder, remap: CLIPKeyRemap.textModel(keepProjection: true))
    }
}

extension CLIPVisionModel {
    /// Loads a Hugging Face CLIPVisionModel folder or the vision tower of a CLIPModel folder.
    public convenience init(folder path: String) throws {
        let folder = try ModelFolder(path: path)
        try CLIPCheckpoint.checkModelType(folder, ["clip_vision_model", "clip"], "CLIPVisionModel")
        let config = try folder.config(CLIPTowerConfigFile<CLIPVisionConfig>.self).config
        try CLIPWeightCheck.vision(config, WeightHeaders(folder: folder, remap: CLIPKeyRemap.visionModel(keepProjection: false)))
        self.init(config)
        try CLIPCheckpoint.load(self, from: folder, remap: CLIPKeyRemap.visionModel(keepProjection: false))
    }
}

extension CLIPVisionModelWithProjection {
    /// Loads a Hugging Face CLIPVisionModelWithProjection folder or the vision tower and visual_projection
    /// of a CLIPModel folder.
    public convenience init(folder path: String) throws {
        let folder = try ModelFolder(path: path)
        try CLIPCheckpoint.checkModelType(folder, ["clip_vision_model", "clip"], "CLIPVisionModelWithProjection")
        let file = try folder.config(CLIPTowerConfigFile<CLIPVisionConfig>.self)
        var config = file.config
        if let p = file.projectionDim { config.projectionDim = p }
        try CLIPWeightCheck.vision(config, WeightHeaders(folder: folder, remap: CLIPKeyRemap.visionModel(keepProjection: true)),
                                   projection: config.projectionDim)
        self.init(config)
        try CLIPCheckpoint.load(self, from: folder, remap: CLIPKeyRemap.visionModel(keepProjection: true))
    }
}

extension CLIPModel {
    /// Loads a Hugging Face CLIPModel folder (`--clip`: openai/clip-vit-*, laion/CLIP-* in transformers
    /// layout). The same folder usually holds the tokenizer (CLIPTokenizer(folder:)) and the image
    /// processor's settings (CLIPImageProcessor(folder:)).
    public convenience init(folder path: String) throws {
        let folder = try ModelFolder(path: path)
        try CLIPCheckpoint.checkModelType(folder, ["clip"], "CLIPModel")
        let config = try folder.config(CLIPConfig.self)
        try CLIPWeightCheck.model(config, WeightHeaders(folder: folder, remap: CLIPKeyRemap.clipModel))
        self.init(config)
        try CLIPCheckpoint.load(self, from: folder, remap: CLIPKeyRemap.clipModel)
    }
}

extension CLIPTextModel {
    /// The transformers version written into saved configs (the one the fixtures were checked against).
    public static let transformersVersion = "5.23.0"

    /// Writes a Hugging Face CLIPTextModel folder: config.json (model_type clip_text_model) and model.safetensors
    /// (fp32) with `text_model.`-prefixed keys, the layout of Stable Diffusion 2.0-base's text_encoder/, which
    /// transformers 4 and 5 and `init(folder:)` all read.
    public func save(folder path: String) throws {
        var json = try configObject(config, className: nil)
        json["architectures"] = ["CLIPTextModel"]
        json["model_type"] = "clip_text_model"
        json["transformers_version"] = CLIPTextModel.transformersVersion
        json["dtype"] = "float32"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try writeJSON(json, to: (path as NSString).appendingPathComponent("config.json"))
        try saveSafeTensors(stateDict(), metadata: ["format": "pt"], to: (path as NSString).appendingPathComponent("model.safetensors"))
    }
}
