// Our checkpoints of the text-conditioned generator (method doc §6: stage 1 and 2 train it, inference loads it):
// safetensors whose metadata holds `config` (TriPlaneConfig JSON, as TriPlaneGenerator checkpoints) and
// `conditioning` (ConditioningConfig JSON), and whose keys are the generator's official ones plus
// `conditioning.*`, optionally under a `G.` / `G_ema.` prefix (a training snapshot holding several networks).
import Foundation
import TensorCore

extension TextConditionedGenerator {
    /// The metadata `save` writes: `config` and `conditioning` as sorted-key JSON.
    public func checkpointMetadata() throws -> [String: String] {
        ["config": try config.jsonString(), "conditioning": try conditioningConfig.jsonString()]
    }

    /// Writes every parameter and buffer (the state dict, unprefixed) with `checkpointMetadata()` and `metadata`
    /// (extra entries; `config` and `conditioning` cannot be overridden), atomically.
    public func save(path: String, metadata: [String: String] = [:]) throws {
        try save(safetensors: path, metadata: metadata.merging(try checkpointMetadata()) { _, own in own })
    }

    /// Loads a text-conditioned generator written by `save` (or by training, under a prefix).
    ///
    /// The configurations come from the metadata; the key prefix is `prefix` when given, else `G_ema.` if the file
    /// has such keys, else none if it has `backbone.*` keys, else `G.`. Loading is strict: every missing,
    /// unexpected or mis-shaped key is named, with the file. A plain EG3D checkpoint (no `conditioning`
    /// metadata) is refused with a hint: wrap `TriPlaneGenerator.load(path:)` instead, which starts stage 1.
    public static func load(path: String, prefix: String? = nil) throws -> TextConditionedGenerator {
        let file = try SafeTensorsFile(path: path)
        guard let configJSON = file.metadata["config"] else {
            throw FileError(path: path, message: "no \"config\" in the metadata: not a generator checkpoint (write one with TextConditionedGenerator.save)")
        }
        guard let conditioningJSON = file.metadata["conditioning"] else {
            throw FileError(path: path, message: "no \"conditioning\" in the metadata: this is a plain EG3D generator; "
                            + "wrap it as TextConditionedGenerator(generator: TriPlaneGenerator.load(path:), textDim:) to add a fresh conditioning")
        }
        let config: TriPlaneConfig, conditioning: ConditioningConfig
        do { config = try TriPlaneConfig(checkpointJSON: configJSON) } catch {
            throw FileError(path: path, message: "its config metadata is not a generator configuration: \(error)")
        }
        do {
            conditioning = try ConditioningConfig(json: conditioningJSON)
            try conditioning.validate(for: config)
        } catch {
            throw FileError(path: path, message: "its conditioning metadata does not fit: \(error)")
        }
        let g = TextConditionedGenerator(config: config, conditioning: conditioning, rng: RandomGenerator(seed: 0))
        let p = prefix ?? (file.keys.contains { $0.hasPrefix("G_ema.") } ? "G_ema."
                           : (file.keys.contains { $0.hasPrefix("backbone.") } ? "" : "G."))
        var tensors: [String: Tensor] = [:]
        for k in file.keys where k.hasPrefix(p) { tensors[String(k.dropFirst(p.count))] = try file.tensor(k) }
        do { try g.load(tensors, strict: true) } catch {
            throw FileError(path: path, message: (p.isEmpty ? "" : "under the prefix \"\(p)\": ") + "\(error)")
        }
        return g
    }
}
