// The one-pass result `refine` starts from: a `generate` output folder's triplane.safetensors (the planes and the
// generator config in its metadata) and manifest.json (the prompt, and the checkpoint whose OSG decoder renders the
// planes), or, when only a prompt is given, `generate` run first into OUT/one-pass (reused by --resume).
import Foundation
import PortraitExport
import TensorCore
import TriPlaneGAN

public struct OnePassSource {
    public let folder: String
    /// (1, 3·C, R, R).
    public let planes: Tensor
    public let config: TriPlaneConfig
    public let decoder: OSGDecoder
    /// The generate run's prompt (nil for an unconditional one).
    public let prompt: String?
    public let checkpoint: String

    static func obtain(options o: RefinementOptions, log: (String) -> Void) throws -> OnePassSource {
        if let from = o.from {
            let s = try load(folder: from)
            if o.prompt == nil && s.prompt == nil {
                throw PromptError("--prompt: \(from) was generated unconditionally (its manifest.json has no prompt); give the prompt to refine towards")
            }
            return s
        }
        let folder = (o.outputDirectory as NSString).appendingPathComponent("one-pass")
        if o.resume, FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent("manifest.json")) {
            log("one-pass: reusing \(folder)")
            return try load(folder: folder)
        }
        var g = GenerateOptions(weights: o.weights, outputDirectory: folder)
        g.prompt = o.prompt
        g.seed = o.sds.seed
        g.frames = 0
        g.mesh = false
        g.command = o.command
        g.tool = o.tool
        log("one-pass: generating \"\(o.prompt ?? "")\" into \(folder)")
        _ = try GeneratePipeline(options: g).run()
        return try load(folder: folder)
    }

    /// Reads a `generate` output folder.
    /// - Throws: `FileError` naming --from and the file: no manifest.json or triplane.safetensors, a checkpoint that
    ///   is gone, planes that do not fit the config, a checkpoint without a decoder.
    public static func load(folder: String) throws -> OnePassSource {
        let manifestPath = (folder as NSString).appendingPathComponent("manifest.json")
        let planesPath = (folder as NSString).appendingPathComponent("triplane.safetensors")
        guard let data = FileManager.default.contents(atPath: manifestPath) else {
            throw FileError(path: manifestPath, message: "--from: is missing; --from takes a folder written by `dreamportrait generate`")
        }
        guard let m = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let checkpoint = (m["checkpoint"] as? [String: Any])?["path"] as? String else {
            throw FileError(path: manifestPath, message: "--from: is not a generate manifest (no checkpoint.path)")
        }
        let prompt = (m["conditioning"] as? [String: Any]).flatMap { $0["mode"] as? String == "text" ? $0["prompt"] as? String : nil }
        guard FileManager.default.fileExists(atPath: planesPath) else {
            throw FileError(path: planesPath, message: "--from: is missing (generate writes it with the planes)")
        }
        let file = try SafeTensorsFile(path: planesPath)
        guard let json = file.metadata["config"] else { throw FileError(path: planesPath, message: "--from: no \"config\" in the metadata") }
        let config: TriPlaneConfig
        do { config = try TriPlaneConfig(checkpointJSON: json) } catch {
            throw FileError(path: planesPath, message: "--from: its config metadata is not a generator configuration: \(error)")
        }
        let planes = try file.tensor("planes")
        let expected = [1, 3 * config.planeChannels, config.planeResolution, config.planeResolution]
        guard planes.shape == expected else {
            throw FileError(path: planesPath, message: "--from: planes are \(planes.shape), the config says \(expected)")
        }
        return OnePassSource(folder: folder, planes: Tensor(planes.toArray(), shape: planes.shape), config: config,
                             decoder: try decoder(checkpoint: checkpoint, config: config), prompt: prompt, checkpoint: checkpoint)
    }

    /// The OSG decoder of a generator checkpoint (plain or text-conditioned, under any prefix: the keys ending in
    /// decoder.net.*), strictly.
    static func decoder(checkpoint path: String, config: TriPlaneConfig) throws -> OSGDecoder {
        guard FileManager.default.fileExists(atPath: path) else {
            throw FileError(path: path, message: "--from: the generator checkpoint named in manifest.json is gone (its decoder renders the planes)")
        }
        let file = try SafeTensorsFile(path: path)
        guard let anchor = file.keys.sorted().first(where: { $0.hasSuffix("decoder.net.0.weight") }) else {
            throw FileError(path: path, message: "has no decoder (no key ending in decoder.net.0.weight)")
        }
        let prefix = String(anchor.dropLast("net.0.weight".count))
        let r = RendererSettings(config: config)
        let d = OSGDecoder(options: r, rng: RandomGenerator(seed: 0))
        var tensors: [String: Tensor] = [:]
        for k in file.keys where k.hasPrefix(prefix) { tensors[String(k.dropFirst(prefix.count))] = try file.tensor(k) }
        do { try d.load(tensors, strict: true) } catch { throw FileError(path: path, message: "decoder under \"\(prefix)\": \(error)") }
        return d
    }
}
