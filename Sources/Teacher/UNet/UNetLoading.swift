// Loading and saving a UNet2DConditionModel in diffusers' folder layout (a pipeline's unet/ folder): config.json
// plus diffusion_pytorch_model(.fp16).safetensors or shards. Keys are verified strictly; every problem is named by
// the file and the full key path.
import Foundation
import TensorCore

extension UNet2DConditionModel {
    /// Checkpoint key renames for diffusers' UNet2DConditionModel format: its state_dict keys are this module's
    /// names, so the table is empty. (Other formats would get their own table here.)
    public static var diffusersKeyRemap: KeyRemap { KeyRemap(prefixes: []) }

    /// Builds the model from a unet/ folder: config.json, then the weights, strictly (every parameter present,
    /// no extra keys, shapes equal; all problems reported at once by full key path). fp16 / bf16 weights are
    /// widened to Float32. Tensors are verified from the file headers first, then copied one at a time, so loading
    /// needs little memory beyond the model itself.
    public convenience init(folder: ModelFolder) throws {
        let config = try folder.config(UNet2DConditionConfig.self)
        do {
            try config.check(against: WeightHeaders(folder: folder, remap: Self.diffusersKeyRemap), layout: config.layout())
            try self.init(config: config)
        } catch let e as UnsupportedConfig {
            throw FileError(path: folder.file("config.json"), message: e.message)
        }
        try loadWeights(from: folder)
    }

    /// Replaces every parameter with the tensors of `folder`'s weight files (renamed by diffusersKeyRemap).
    public func loadWeights(from folder: ModelFolder) throws {
        let files = try folder.weightFiles()
        var sources: [String: (file: SafeTensorsFile, key: String)] = [:]
        var collisions: [String] = []
        for f in files {
            let st = try SafeTensorsFile(path: f)
            for key in st.keys {
                guard let to = Self.diffusersKeyRemap(key) else { continue }
                if let first = sources[to] {
                    collisions.append("\"\(first.key)\" in \(first.file.name) and \"\(key)\" in \(st.name) both give \"\(to)\"")
                    continue
                }
                sources[to] = (st, key)
            }
        }
        let own = stateDict()
        var problems = StateDictError()
        problems.collisions = collisions
        for (k, t) in own {
            guard let src = sources[k] else { problems.missing.append(k); continue }
            let shape = src.file.entries[src.key]!.shape
            if shape != t.shape { problems.mismatched.append((k, t.shape, shape)) }
        }
        problems.unexpected = sources.keys.filter { own[$0] == nil }
        problems.missing.sort(); problems.unexpected.sort(); problems.mismatched.sort { $0.key < $1.key }
        guard problems.missing.isEmpty && problems.unexpected.isEmpty && problems.mismatched.isEmpty && collisions.isEmpty else {
            throw FileError(path: files.count == 1 ? files[0] : folder.path,
                            message: "does not fit UNet2DConditionModel: \(problems.description)")
        }
        for (k, dst) in own {
            let src = sources[k]!
            let t = try src.file.tensor(src.key).contiguous()
            withExtendedLifetime(t) { dst.data.update(from: t.data, count: dst.count) }
        }
        // The widened fp16 tensors were recycled into the buffer pool; they are not needed again.
        BufferPool.shared.drain()
    }

    /// `UNet2DConditionModel(folder: ModelFolder(path: path))`.
    public convenience init(path: String) throws { try self.init(folder: try ModelFolder(path: path)) }

    /// Writes `config.json` (with diffusers' `_class_name`) and `diffusion_pytorch_model.safetensors` (Float32)
    /// into `path`, creating it; diffusers' `UNet2DConditionModel.from_pretrained` reads the result.
    public func save(folder path: String) throws {
        try writeComponentFolder(path, className: "UNet2DConditionModel", config: config,
                                 weightsName: "diffusion_pytorch_model.safetensors", tensors: stateDict())
    }
}
