// A training run's configuration: the generator (and its discriminator) plus the training options, from a
// built-in name or a JSON file {"generator": {TriPlaneConfig keys}, "training": {TrainingOptions keys}}; keys the
// file leaves out keep the defaults (EG3D's for the options, the named preset's for "base").
import Foundation
import TensorCore
import TriPlaneGAN

public struct RunConfig {
    public var generator: TriPlaneConfig
    public var training: TrainingOptions
    /// Stage 0's reconstruction of world images (JSON key "world_supervision"); nil: EG3D's losses only. Used when the
    /// dataset has the world's aux/ maps (see `train --world-supervision`).
    public var worldSupervision: WorldSupervisionSettings?

    public init(generator: TriPlaneConfig, training: TrainingOptions, worldSupervision: WorldSupervisionSettings? = nil) {
        self.generator = generator; self.training = training; self.worldSupervision = worldSupervision
    }

    /// Built-in generator configurations.
    public static let presets: [String: TriPlaneConfig] = ["tiny128": .tiny128, "world128": .world128]
    /// Training overrides of the built-in configurations (EG3D's defaults otherwise). world128: a run of tens of
    /// kimg instead of EG3D's 25000, so the blur fades over the first 2 kimg (EG3D: batch·200/32 kimg, <1% of its
    /// run) and the pose-swap probability over the first 4 kimg (EG3D: 1000 kimg, 4%).
    /// World supervision of the built-in configurations: world128 reconstructs from the start with the GAN on (our
    /// choice for the world; see WorldSupervision.swift).
    public static let worldSupervisionPresets: [String: WorldSupervisionSettings] = ["world128": WorldSupervisionSettings()]
    nonisolated(unsafe) public static let trainingPresets: [String: [String: Any]] = ["world128": ["blur_fade_kimg": 2.0, "gpc_reg_fade_kimg": 4.0]]

    /// A built-in name, or a JSON file ({"base": NAME} starts from a preset; "generator" replaces keys of it).
    /// `batch` overrides the file's batch (and the batch-derived defaults: blur fade, EMA half-life).
    public static func load(_ nameOrPath: String, batch: Int?) throws -> RunConfig {
        var genDict: [String: Any]
        var trainDict: [String: Any] = [:]
        var supervision: WorldSupervisionSettings?
        if let preset = presets[nameOrPath] {
            genDict = try jsonObject(preset) as! [String: Any]
            trainDict = trainingPresets[nameOrPath] ?? [:]
            supervision = worldSupervisionPresets[nameOrPath]
        } else {
            guard let data = FileManager.default.contents(atPath: nameOrPath) else {
                throw FileError(path: nameOrPath, message: "no such config file (built-in configs: \(presets.keys.sorted().joined(separator: ", ")))")
            }
            guard let top = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw FileError(path: nameOrPath, message: "not a JSON object")
            }
            let base = top["base"] as? String ?? "world128"
            guard let preset = presets[base] else { throw FileError(path: nameOrPath, message: "\"base\": no built-in config \(base)") }
            genDict = try jsonObject(preset) as! [String: Any]
            if let g = top["generator"] as? [String: Any] {
                for (k, v) in g {
                    if k == "rendering_kwargs", let r = v as? [String: Any], var old = genDict[k] as? [String: Any] {
                        for (rk, rv) in r { old[rk] = rv }
                        genDict[k] = old
                    } else { genDict[k] = v }
                }
            }
            trainDict = trainingPresets[base] ?? [:]
            for (k, v) in top["training"] as? [String: Any] ?? [:] { trainDict[k] = v }
            supervision = worldSupervisionPresets[base]
            if let w = top["world_supervision"] {
                if w is NSNull { supervision = nil } else {
                    guard let dict = w as? [String: Any] else { throw FileError(path: nameOrPath, message: "\"world_supervision\" must be an object or null") }
                    let keys = Set(WorldSupervisionSettings.CodingKeys.allKeys)
                    if let bad = dict.keys.first(where: { !keys.contains($0) }) {
                        throw FileError(path: nameOrPath, message: "world_supervision: unknown key \"\(bad)\" (expected \(keys.sorted().joined(separator: ", ")))")
                    }
                    do { supervision = try JSONDecoder().decode(WorldSupervisionSettings.self, from: JSONSerialization.data(withJSONObject: dict)) }
                    catch { throw FileError(path: nameOrPath, message: "world_supervision: \(error)") }
                }
            }
            let known = Set(["base", "generator", "training", "world_supervision"])
            if let bad = top.keys.first(where: { !known.contains($0) }) {
                throw FileError(path: nameOrPath, message: "unknown key \"\(bad)\" (expected base, generator, training, world_supervision)")
            }
        }
        let generator: TriPlaneConfig
        do { generator = try TriPlaneConfig(json: String(decoding: try JSONSerialization.data(withJSONObject: genDict), as: UTF8.self)) }
        catch { throw FileError(path: nameOrPath, message: "generator: \(error)") }
        // What EG3DLoss supports (checked here so that a config file cannot stop a run at its first density step).
        guard generator.rendering.regType == "l1" else {
            throw FileError(path: nameOrPath, message: "generator: rendering_kwargs.reg_type \"\(generator.rendering.regType)\" is not supported (only \"l1\", EG3D's FFHQ setting)")
        }
        let b = batch ?? (trainDict["batch"] as? Int) ?? 8
        var opt = try jsonObject(TrainingOptions.eg3d(batch: b, neuralRenderingResolution: generator.neuralRenderingResolution)) as! [String: Any]
        for (k, v) in trainDict { opt[k] = v }
        if let batch { opt["batch"] = batch; if (trainDict["batch_gpu"] as? Int).map({ batch % $0 != 0 }) ?? true { opt["batch_gpu"] = batch } }
        let training: TrainingOptions
        do { training = try JSONDecoder().decode(TrainingOptions.self, from: JSONSerialization.data(withJSONObject: opt)) }
        catch { throw FileError(path: nameOrPath, message: "training: \(error)") }
        let problems = training.problems()
        guard problems.isEmpty else { throw FileError(path: nameOrPath, message: "training: " + problems.joined(separator: "; ")) }
        if let w = supervision {
            let p = w.problems()
            guard p.isEmpty else { throw FileError(path: nameOrPath, message: p.joined(separator: "; ")) }
            if let f = training.neuralRenderingResolutionFinal, f != training.neuralRenderingResolutionInitial {
                throw FileError(path: nameOrPath, message: "world_supervision needs a constant neural rendering resolution (neural_rendering_resolution_final \(f) differs from the initial \(training.neuralRenderingResolutionInitial)); set \"world_supervision\": null")
            }
        }
        return RunConfig(generator: generator, training: training, worldSupervision: supervision)
    }
}

extension TriPlaneConfig {
    /// The DualDiscriminator this configuration describes (D_kwargs).
    public var discriminatorConfig: DiscriminatorConfig {
        DiscriminatorConfig(cDim: cDim, imgResolution: imgResolution, imgChannels: imgChannels, channelBase: dChannelBase,
                            channelMax: dChannelMax, cmapDim: cmapDim, mbstdGroupSize: mbstdGroupSize,
                            mbstdNumChannels: mbstdNumChannels, mappingLayers: dMappingLayers, convClamp: dConvClamp,
                            discCNoise: discCNoise)
    }

}
