// What `generate` runs: a text-conditioned model (the shipped folder, or a training run's exported folder) or an
// unconditional EG3D checkpoint, resolved from --weights (or the shipped model's search path when it is absent)
// and loaded once, so `--prompts FILE` renders every prompt from one load.
import Foundation
import TensorCore
import TriPlaneGAN

public final class GenerateModel {
    /// The network that renders and meshes (the text-conditioned generator's wrapped EG3D, or the plain one).
    public let generator: TriPlaneGenerator
    /// Present for a text-conditioned model.
    public let conditioned: TextConditionedGenerator?
    /// Present for a text-conditioned model.
    public let encoder: PromptEncoder?
    /// The file or folder given (or found).
    public let path: String
    /// The generator file, its size and SHA-256.
    public let checkpointPath: String
    public let digest: (hex: String, bytes: Int)
    /// The shipped-model manifest, for a model folder.
    public let manifest: ShippedModelManifest?

    public var isTextConditioned: Bool { conditioned != nil }

    /// Loads `weights` (a model folder or a .safetensors file), or the shipped model when nil.
    /// - Throws: `FileError` naming the path: not found (with the search list and how to get a model), a folder
    ///   that is not a model folder, a text-conditioned checkpoint given without its text encoder, or the loaders'
    ///   key/shape errors.
    public init(weights: String?) throws {
        let path = try weights ?? ShippedModel.locate()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw FileError(path: path, message: "no such checkpoint (--weights)")
        }
        self.path = path
        if isDir.boolValue {
            guard ShippedModel.isModelFolder(path) else {
                throw FileError(path: path, message: "is a folder without \(ShippedModel.manifestName); --weights takes a .safetensors file or a model folder (\(ShippedModel.defaultRelativePath))")
            }
            let m = try ShippedModel(folder: path)
            generator = m.generator.generator
            conditioned = m.generator
            encoder = PromptEncoder(text: m.text)
            checkpointPath = m.generatorPath
            manifest = m.manifest
        } else {
            let file = try SafeTensorsFile(path: path)
            if file.metadata["conditioning"] != nil {
                throw FileError(path: path, message: "is a text-conditioned generator without its text encoder: pass the model folder that holds it (generator.safetensors, text_encoder/, tokenizer/, \(ShippedModel.manifestName))")
            }
            generator = try TriPlaneGenerator.load(path: path)
            conditioned = nil
            encoder = nil
            checkpointPath = path
            manifest = nil
        }
        digest = try SHA256.file(checkpointPath)
    }

    /// w (1, num_ws, w_dim) from z, the frontal conditioning camera and ψ; w_t through the semantics mapping when
    /// there is text.
    func mapping(z: Tensor, truncationPsi: Float, text: TextConditioning?) -> Tensor {
        let c = Camera.labels([Camera.frontal()])
        if let conditioned, let text { return conditioned.mapping(z, c, text: text, truncationPsi: truncationPsi) }
        return generator.mapping(z, c, truncationPsi: truncationPsi)
    }

    /// The tri-planes (noise_mode const), through the adapters when there is text.
    func planes(ws: Tensor, text: TextConditioning?) -> Tensor {
        if let conditioned, let text { return conditioned.planes(ws: ws, text: text, noiseMode: .const) }
        return generator.planes(ws, noiseMode: .const)
    }
}
