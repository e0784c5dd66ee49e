// Making the shipped model folder from training's outputs (`dreamportrait ship`): a stage-1/2 checkpoint holding a
// text-conditioned G_ema (TextConditionedGenerator.load finds the `G_ema.` prefix) and the teacher pipeline folder
// whose tokenizer/ and text_encoder/ encoded the training prompts. The generator is stored in F16 by default
// (half the bytes; `ShippedModel.write`), the text stack as it is.
import Foundation
import Teacher
import TensorCore
import TriPlaneGAN

extension ShippedModel {
    /// Writes the model folder `out` from a generator checkpoint and a teacher folder (tokenizer/, text_encoder/).
    /// - Throws: `FileError` naming the checkpoint or the teacher part that is missing or does not fit (the
    ///   encoder's width must be the conditioning's text_dim).
    @discardableResult
    public static func export(checkpoint: String, teacher: String, out: String, description: String,
                              training: [String: String] = [:], dtype: SafeTensorsDType = .F16) throws -> ShippedModel {
        guard FileManager.default.fileExists(atPath: checkpoint) else {
            throw FileError(path: checkpoint, message: "no such checkpoint (--checkpoint: a stage-1/2 snapshot or a TextConditionedGenerator.save file)")
        }
        let g = try TextConditionedGenerator.load(path: checkpoint)
        let tokFolder = (teacher as NSString).appendingPathComponent("tokenizer")
        let encFolder = (teacher as NSString).appendingPathComponent("text_encoder")
        for p in [tokFolder, encFolder] where !FileManager.default.fileExists(atPath: p) {
            throw FileError(path: p, message: "is missing (--teacher: the pipeline folder whose text stack trained the generator)")
        }
        let text = try CLIPTextEncoding(tokenizerFolder: tokFolder, textEncoderFolder: encFolder)
        guard text.hiddenSize == g.conditioningConfig.textDim else {
            throw FileError(path: encFolder, message: "hidden_size \(text.hiddenSize) is not the generator's text_dim \(g.conditioningConfig.textDim) (\(checkpoint))")
        }
        var info = training
        info["checkpoint"] = info["checkpoint"] ?? checkpoint
        info["teacher"] = info["teacher"] ?? teacher
        info["generator_dtype"] = dtype == .F16 ? "F16" : "F32"
        try write(folder: out, generator: g, textEncoder: text.textEncoder, tokenizer: text.tokenizer,
                  manifest: ShippedModelManifest(description: description, training: info), dtype: dtype)
        return try ShippedModel(folder: out)
    }
}
