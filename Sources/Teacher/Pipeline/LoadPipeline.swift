// Loading a Stable Diffusion teacher from a diffusers pipeline folder (DiffusionPipeline.from_pretrained for
// StableDiffusionPipeline): every component's files are checked first, so a missing file is named before
// anything large is read; then the models are built in one place, `buildTeacherModels`.
import Foundation
import TensorCore

/// Components the folder has but this build cannot construct yet.
public struct PipelineComponentUnavailable: Error, CustomStringConvertible {
    /// (component folder, model type) pairs, e.g. ("unet", "UNet2DConditionModel").
    public let missing: [(component: String, type: String)]
    public let folder: String
    public var description: String {
        "\(folder): the teacher pipeline cannot be created: this build has no "
            + missing.map { "\($0.type) implementation (for \($0.component)/)" }.joined(separator: " and no ")
            + "; the folder's files were checked, but these models are not built"
    }
}

/// Loads scheduler/, vae/, unet/, text_encoder/ and tokenizer/ of a diffusers StableDiffusionPipeline folder
/// (SD 2.0-base layout, or our own teacher saved with PipelineWriter). Errors name the missing or malformed
/// file and key.
public func loadPipeline(folder path: String) throws -> StableDiffusionPipeline {
    let folder = try PipelineFolder(path: path)
    try folder.validate(PipelineFolder.stableDiffusionComponents.map(\.name))
    // Cheap checks first: every config and weight file exists and the configs decode.
    _ = try folder.schedulerConfig()
    let vaeFolder = try ModelFolder(path: folder.file("vae"))
    _ = try vaeFolder.config(AutoencoderKLConfig.self)
    _ = try vaeFolder.weightFiles()
    let unetFolder = try ModelFolder(path: folder.file("unet"))
    _ = try unetFolder.weightFiles()
    let textFolder = try ModelFolder(path: folder.file("text_encoder"))
    _ = try textFolder.weightFiles()
    for name in ["vocab.json", "merges.txt"] where !FileManager.default.fileExists(atPath: folder.file("tokenizer/\(name)")) {
        throw FileError(path: folder.file("tokenizer/\(name)"), message: "missing: the CLIP tokenizer needs vocab.json and merges.txt")
    }
    let models = try buildTeacherModels(folder)
    return StableDiffusionPipeline(unet: models.unet, textEncoder: models.text, vae: models.vae, scheduler: try folder.scheduler())
}

/// The one place where the teacher's models are constructed and loaded.
func buildTeacherModels(_ folder: PipelineFolder) throws -> (unet: NoisePredictor, text: TextEncoding, vae: AutoencoderKL) {
    // U-Net (unet/config.json + weights): UNet2DConditionModel, wired here once Sources/Teacher/UNet is merged:
    //   let unet = try UNet2DConditionModel.load(folder: folder.file("unet"))
    // Text stack (text_encoder/ + tokenizer/): CLIPTextModel and CLIPTokenizer, wired here once Sources/Teacher/CLIP
    // is merged:
    //   let text = try CLIPTextEncoding(textEncoder: CLIPTextModel.load(folder: folder.file("text_encoder")),
    //                                   tokenizer: CLIPTokenizer.load(folder: folder.file("tokenizer")))
    // Until then this build cannot denoise or encode text, and says so (no placeholder outputs).
    throw PipelineComponentUnavailable(missing: [("unet", "UNet2DConditionModel"), ("text_encoder", "CLIPTextModel"),
                                                 ("tokenizer", "CLIPTokenizer")], folder: folder.path)
}
