// The shipped model: one folder holding everything `dreamportrait generate --prompt TEXT` needs, and its loader.
//
//   Weights/dreamportrait/
//     model.json              ShippedModelManifest: what it is, how it was trained, the parts and their sizes
//     generator.safetensors   the text-conditioned G_ema (TextConditionedGenerator.save: `config` and
//                             `conditioning` in the metadata; F32 or F16 storage, read back as Float32)
//     text_encoder/           a transformers CLIPTextModel folder (config.json, model.safetensors)
//     tokenizer/              a transformers CLIPTokenizer folder (vocab.json, merges.txt, tokenizer_config.json)
//
// The text is encoded as training encodes it (Sources/Distill/TextStages.swift): the tokenizer pads to 77, the
// encoder's last_hidden_state (final layer norm applied; a folder whose encoder keeps one layer too many sets
// `clip_skip` 1 to take the penultimate layer, method doc §2), then TextConditioning.fromCLIP.
//
// Where `generate` and `eval` look for it, first hit wins (ShippedModel.locate):
//   1. $DREAMPORTRAIT_MODEL (a model folder);
//   2. ./Weights/dreamportrait under the current directory;
//   3. Weights/dreamportrait in the repository checkout holding the executable (its folder and each parent:
//      `swift build` puts the binary in <checkout>/.build/<config>/).
import Foundation
import Teacher
import TensorCore
import TriPlaneGAN

/// model.json of a shipped model folder (snake_case keys).
public struct ShippedModelManifest: Codable, Equatable {
    /// Always "dreamportrait-model".
    public var format = "dreamportrait-model"
    public var version = 1
    /// What it is, in a sentence.
    public var description: String
    /// The generator checkpoint, relative to the folder.
    public var generator = "generator.safetensors"
    /// The CLIPTextModel folder, relative to the folder.
    public var textEncoder = "text_encoder"
    /// The CLIPTokenizer folder, relative to the folder.
    public var tokenizer = "tokenizer"
    /// nil: the encoder's last_hidden_state; k: the hidden state k layers before the last, through final_layer_norm.
    public var clipSkip: Int? = nil
    /// How it was trained (recipe, stages, steps, data); free-form.
    public var training: [String: String] = [:]
    /// Bytes of each part ("generator", "text_encoder", "tokenizer"), filled in by `ShippedModel.write`.
    public var sizes: [String: Int] = [:]

    public init(description: String, training: [String: String] = [:]) {
        self.description = description
        self.training = training
    }
}

/// A loaded shipped model: the text-conditioned generator and the text stack it was trained with.
public final class ShippedModel {
    public static let manifestName = "model.json"
    public static let environmentVariable = "DREAMPORTRAIT_MODEL"
    public static let defaultRelativePath = "Weights/dreamportrait"
    /// How to get one, for error messages.
    public static let howToGet = "train one with Scripts/train_default.sh and export it with `dreamportrait ship`, set $\(environmentVariable) to a model folder, or pass --weights FILE|DIR"

    public let folder: String
    public let manifest: ShippedModelManifest
    public let generator: TextConditionedGenerator
    public let text: CLIPTextEncoding
    /// The generator file's path.
    public var generatorPath: String { (folder as NSString).appendingPathComponent(manifest.generator) }

    /// Whether `path` is a folder holding model.json.
    public static func isModelFolder(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
            && FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent(manifestName))
    }

    /// The places searched, in order (see the file's header).
    public static func candidates(environment: [String: String] = ProcessInfo.processInfo.environment,
                                  currentDirectory: String = FileManager.default.currentDirectoryPath,
                                  executable: String = CommandLine.arguments.first ?? "") -> [String] {
        var out: [String] = []
        if let e = environment[environmentVariable], !e.isEmpty { out.append(e) }
        out.append((currentDirectory as NSString).appendingPathComponent(defaultRelativePath))
        var dir = URL(fileURLWithPath: executable, relativeTo: URL(fileURLWithPath: currentDirectory)).standardizedFileURL
            .resolvingSymlinksInPath().deletingLastPathComponent()
        while dir.path != "/" && !dir.path.isEmpty {
            let c = dir.appendingPathComponent(defaultRelativePath).path
            if !out.contains(c) { out.append(c) }
            dir = dir.deletingLastPathComponent()
        }
        return out
    }

    /// The first model folder among `candidates()`.
    /// - Throws: `FileError` listing every place searched and how to get a model.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment,
                              currentDirectory: String = FileManager.default.currentDirectoryPath,
                              executable: String = CommandLine.arguments.first ?? "") throws -> String {
        let places = candidates(environment: environment, currentDirectory: currentDirectory, executable: executable)
        if let env = environment[environmentVariable], !env.isEmpty, !isModelFolder(env) {
            throw FileError(path: env, message: "$\(environmentVariable) does not name a model folder (no \(manifestName) in it)")
        }
        if let hit = places.first(where: isModelFolder) { return hit }
        throw FileError(path: defaultRelativePath, message: "no shipped model found (looked for \(manifestName) in: "
                        + places.joined(separator: ", ") + "); " + howToGet)
    }

    /// Reads model.json.
    /// - Throws: `FileError` naming the file (missing, not JSON, wrong format or version).
    public static func readManifest(folder: String) throws -> ShippedModelManifest {
        let path = (folder as NSString).appendingPathComponent(manifestName)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FileError(path: path, message: "is missing: not a shipped model folder; " + howToGet)
        }
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        let m: ShippedModelManifest
        do { m = try d.decode(ShippedModelManifest.self, from: data) } catch {
            throw FileError(path: path, message: "is not a model manifest: \(error)")
        }
        guard m.format == "dreamportrait-model" else { throw FileError(path: path, message: "format is \"\(m.format)\", expected \"dreamportrait-model\"") }
        guard m.version == 1 else { throw FileError(path: path, message: "version \(m.version) is not supported (this build reads version 1)") }
        return m
    }

    /// Loads every part of the folder.
    /// - Throws: `FileError` naming the missing or broken part (model.json, the generator file, text_encoder/,
    ///   tokenizer/), or a text encoder whose width is not the conditioning's text_dim.
    public init(folder: String) throws {
        let m = try Self.readManifest(folder: folder)
        func part(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        for (name, what) in [(m.generator, "the generator checkpoint"), (m.textEncoder, "the text encoder folder"),
                             (m.tokenizer, "the tokenizer folder")] where !FileManager.default.fileExists(atPath: part(name)) {
            throw FileError(path: part(name), message: "is missing (\(what) named in \(Self.manifestName)); " + Self.howToGet)
        }
        let g = try TextConditionedGenerator.load(path: part(m.generator))
        let text = try CLIPTextEncoding(tokenizerFolder: part(m.tokenizer), textEncoderFolder: part(m.textEncoder), clipSkip: m.clipSkip)
        guard text.hiddenSize == g.conditioningConfig.textDim else {
            throw FileError(path: part(m.textEncoder), message: "hidden_size \(text.hiddenSize) is not the generator's text_dim \(g.conditioningConfig.textDim) (\(part(m.generator)))")
        }
        self.folder = folder
        self.manifest = m
        self.generator = g
        self.text = text
    }

    /// Writes a model folder: the generator (G_ema) in `dtype`, the text encoder and tokenizer, and model.json with
    /// the sizes filled in. Every file is written atomically; model.json last, so a folder with a manifest is whole.
    public static func write(folder: String, generator: TextConditionedGenerator, textEncoder: CLIPTextModel,
                             tokenizer: CLIPTokenizer, manifest: ShippedModelManifest,
                             dtype: SafeTensorsDType = .F16) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var m = manifest
        func part(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        try saveSafeTensors(generator.stateDict(), metadata: try generator.checkpointMetadata(), dtype: dtype, to: part(m.generator))
        try textEncoder.save(folder: part(m.textEncoder))
        try tokenizer.save(folder: part(m.tokenizer))
        m.sizes = ["generator": bytes(part(m.generator)), "text_encoder": bytes(part(m.textEncoder)), "tokenizer": bytes(part(m.tokenizer))]
        try writeAtomically(try ManifestJSON.encode(m), to: URL(fileURLWithPath: part(manifestName)))
    }

    /// The bytes of a file, or of every file below a folder.
    static func bytes(_ path: String) -> Int {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else { return 0 }
        if !isDir.boolValue { return ((try? fm.attributesOfItem(atPath: path)[.size]) as? Int) ?? 0 }
        return (fm.subpaths(atPath: path) ?? []).reduce(0) { $0 + bytes((path as NSString).appendingPathComponent($1)) }
    }
}
