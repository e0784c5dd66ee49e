// A diffusers pipeline folder (DiffusionPipeline.save_pretrained / from_pretrained layout): model_index.json
// naming each component's library and class, one subfolder per component (unet/, vae/, text_encoder/,
// tokenizer/, scheduler/). Reading validates model_index.json against the classes we can build; writing
// produces the same layout for our own teacher. Every problem names the file (and key) at fault.
import Foundation
import TensorCore

public struct PipelineFolder {
    public let path: String
    /// "_class_name" of model_index.json ("StableDiffusionPipeline").
    public let className: String
    /// Component name -> [library, class] as listed (either may be null, as for a disabled safety checker).
    public let components: [String: (library: String?, className: String?)]

    /// What a Stable Diffusion teacher folder must list: component, library, accepted classes.
    public static let stableDiffusionComponents: [(name: String, library: String, classes: [String])] = [
        ("unet", "diffusers", ["UNet2DConditionModel"]),
        ("vae", "diffusers", ["AutoencoderKL"]),
        ("text_encoder", "transformers", ["CLIPTextModel"]),
        ("tokenizer", "transformers", ["CLIPTokenizer", "CLIPTokenizerFast"]),
        ("scheduler", "diffusers", []),   // any diffusers scheduler: its DDPM keys are read as DDIMScheduler reads them
    ]

    /// Reads `path/model_index.json`.
    public init(path: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw FileError(path: path, message: "no such folder") }
        guard isDir.boolValue else { throw FileError(path: path, message: "not a folder (expected a diffusers pipeline folder with model_index.json)") }
        self.path = path
        let indexPath = (path as NSString).appendingPathComponent("model_index.json")
        guard let data = FileManager.default.contents(atPath: indexPath) else {
            throw FileError(path: indexPath, message: "missing: a diffusers pipeline folder needs its model_index.json beside unet/, vae/, text_encoder/, tokenizer/ and scheduler/")
        }
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FileError(path: indexPath, message: "not a JSON object")
        }
        guard let cls = json["_class_name"] as? String else { throw FileError(path: indexPath, message: "missing key \"_class_name\"") }
        className = cls
        var comps: [String: (library: String?, className: String?)] = [:]
        for (k, v) in json where !k.hasPrefix("_") {
            guard let pair = v as? [Any] else { continue }   // plain options such as requires_safety_checker
            guard pair.count == 2 else { throw FileError(path: indexPath, message: "\"\(k)\" must be [library, class], got \(pair.count) entries") }
            comps[k] = (pair[0] as? String, pair[1] as? String)
        }
        components = comps
    }

    public var modelIndexPath: String { file("model_index.json") }
    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Checks that model_index.json lists each of `names` with the library and class we build for it.
    public func validate(_ names: [String]) throws {
        for name in names {
            let found = PipelineFolder.stableDiffusionComponents.first(where: { $0.name == name })
            require(found != nil, "PipelineFolder.validate: no specification for component '\(name)'")
            let spec = found!
            guard let entry = components[name], let cls = entry.className else {
                throw FileError(path: modelIndexPath, message: "missing component \"\(name)\" (expected [\"\(spec.library)\", \"\(spec.classes.first ?? "<a scheduler>")\"])")
            }
            if entry.library != spec.library {
                throw FileError(path: modelIndexPath, message: "component \"\(name)\" comes from library \"\(entry.library ?? "null")\", expected \"\(spec.library)\"")
            }
            let ok = spec.classes.isEmpty ? cls.hasSuffix("Scheduler") : spec.classes.contains(cls)
            if !ok {
                throw FileError(path: modelIndexPath, message: "component \"\(name)\" is \(cls), expected \(spec.classes.isEmpty ? "a diffusers scheduler" : spec.classes.joined(separator: " or "))")
            }
        }
    }

    /// scheduler/scheduler_config.json as SchedulerConfig.
    public func schedulerConfig() throws -> SchedulerConfig {
        let config = try decodeJSON(SchedulerConfig.self, at: file("scheduler/scheduler_config.json"))
        let problems = config.problems()
        guard problems.isEmpty else { throw FileError(path: file("scheduler/scheduler_config.json"), message: SchedulerConfigError(problems: problems).description) }
        return config
    }

    /// The DDIM sampler over the folder's training schedule.
    public func scheduler() throws -> DDIMScheduler {
        let config = try schedulerConfig()
        do { return try DDIMScheduler(config: config) } catch let e as SchedulerConfigError {
            throw FileError(path: file("scheduler/scheduler_config.json"), message: e.description)
        }
    }

    /// The VAE of vae/ (config + weights, fp32 or fp16), strictly verified.
    public func vae() throws -> AutoencoderKL {
        try AutoencoderKL.load(folder: file("vae"))
    }
}

/// Decodes a JSON file; a missing file, bad JSON or a bad key is reported with the file and key path.
func decodeJSON<T: Decodable>(_ type: T.Type, at path: String) throws -> T {
    guard let data = FileManager.default.contents(atPath: path) else { throw FileError(path: path, message: "missing") }
    do { return try JSONDecoder().decode(T.self, from: data) } catch let e as DecodingError {
        throw FileError(path: path, message: ModelFolder.describe(e))
    } catch {
        throw FileError(path: path, message: "not valid JSON")
    }
}

/// Writes `json` (a JSON object) sorted and indented, atomically (TensorCore's writeAtomically: rename(2)).
func writeJSON(_ json: [String: Any], to path: String) throws {
    let data = try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
    try writeAtomically(data + Data("\n".utf8), to: URL(fileURLWithPath: path))
}

/// A config encoded as a JSON object; with a `className`, "_class_name" and "_diffusers_version" (which
/// diffusers expects) are added.
func configObject<C: Encodable>(_ config: C, className: String?) throws -> [String: Any] {
    let data = try JSONEncoder().encode(config)
    let decoded = try JSONSerialization.jsonObject(with: data) as? [String: Any]
    require(decoded != nil, "configObject: \(C.self) does not encode as a JSON object")
    var obj = decoded!
    if let className {
        obj["_class_name"] = className
        obj["_diffusers_version"] = PipelineWriter.diffusersVersion
    }
    return obj
}

/// Writes one component folder: `config.json` (or another config name) and the weights as one fp32 safetensors file.
func writeComponentFolder<C: Encodable>(_ path: String, className: String, config: C, configName: String = "config.json",
                                        weightsName: String, tensors: [String: Tensor]) throws {
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    try writeJSON(try configObject(config, className: className), to: (path as NSString).appendingPathComponent(configName))
    try saveSafeTensors(tensors, metadata: ["format": "pt"], to: (path as NSString).appendingPathComponent(weightsName))
}

/// Saves a teacher in diffusers pipeline layout, component by component; model_index.json is rewritten
/// after each so the folder is always loadable as far as it goes.
public struct PipelineWriter {
    /// The diffusers version written into configs (the one the fixtures were checked against).
    public static let diffusersVersion = "0.42.1"
    public let path: String
    public private(set) var components: [String: [String]] = [:]

    public init(path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        self.path = path
    }

    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// vae/config.json + vae/diffusion_pytorch_model.safetensors.
    public mutating func write(vae: AutoencoderKL) throws {
        try vae.save(folder: file("vae"))
        try add("vae", library: "diffusers", className: "AutoencoderKL")
    }

    /// scheduler/scheduler_config.json, as a DDIMScheduler config.
    public mutating func write(scheduler config: SchedulerConfig) throws {
        var c = config
        c.className = nil
        try FileManager.default.createDirectory(atPath: file("scheduler"), withIntermediateDirectories: true)
        try writeJSON(try configObject(c, className: "DDIMScheduler"), to: file("scheduler/scheduler_config.json"))
        try add("scheduler", library: "diffusers", className: "DDIMScheduler")
    }

    /// unet/config.json + unet/diffusion_pytorch_model.safetensors.
    public mutating func write(unet: UNet2DConditionModel) throws {
        try unet.save(folder: file("unet"))
        try add("unet", library: "diffusers", className: "UNet2DConditionModel")
    }

    /// text_encoder/config.json + text_encoder/model.safetensors.
    public mutating func write(textEncoder: CLIPTextModel) throws {
        try textEncoder.save(folder: file("text_encoder"))
        try add("text_encoder", library: "transformers", className: "CLIPTextModel")
    }

    /// tokenizer/ (vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json).
    public mutating func write(tokenizer: CLIPTokenizer) throws {
        try tokenizer.save(folder: file("tokenizer"))
        try add("tokenizer", library: "transformers", className: "CLIPTokenizer")
    }

    /// Every component of a teacher: what `loadTeacherModels(folder:)` reads back.
    public mutating func write(_ teacher: TeacherModels) throws {
        try write(scheduler: teacher.scheduler.config)
        try write(tokenizer: teacher.text.tokenizer)
        try write(textEncoder: teacher.text.textEncoder)
        try write(vae: teacher.vae)
        try write(unet: teacher.unet)
    }

    /// Lists a component whose files are under `path/name` in model_index.json (rewritten at once).
    public mutating func add(_ name: String, library: String, className: String) throws {
        components[name] = [library, className]
        // The optional components a StableDiffusionPipeline folder lists as absent, as save_pretrained writes them.
        var index: [String: Any] = ["_class_name": "StableDiffusionPipeline", "_diffusers_version": PipelineWriter.diffusersVersion,
                                    "requires_safety_checker": false]
        for name in ["safety_checker", "feature_extractor", "image_encoder"] { index[name] = [NSNull(), NSNull()] }
        for (k, v) in components { index[k] = v }
        try writeJSON(index, to: file("model_index.json"))
    }
}
