// Loading a Stable Diffusion teacher from a diffusers pipeline folder (DiffusionPipeline.from_pretrained for
// StableDiffusionPipeline; SD 2.0-base's layout, or our own teacher saved by PipelineWriter). Every component's
// files and configs are checked first, so a missing file, a malformed config or components that do not fit
// together are named before any weights are read; then the models are built in one place, `buildTeacherModels`.
// Key renames live with each model's loader, one table per checkpoint format (UNet2DConditionModel.diffusersKeyRemap,
// AutoencoderKL.keyRemap, CLIPKeyRemap.textModel), and every weight file is verified strictly: a missing,
// unexpected or mis-shaped tensor is named by its full key path (with both shapes).
import Foundation
import TensorCore

/// The teacher's models, concretely typed (the pipeline holds them behind its protocols; D-SDS uses them directly).
public struct TeacherModels {
    public let unet: UNet2DConditionModel
    public let text: CLIPTextEncoding
    public let vae: AutoencoderKL
    public let scheduler: DDIMScheduler

    /// The sampling pipeline over these models.
    public func pipeline() -> StableDiffusionPipeline {
        StableDiffusionPipeline(unet: unet, textEncoder: text, vae: vae, scheduler: scheduler)
    }
}

/// Loads scheduler/, vae/, unet/, text_encoder/ and tokenizer/ of a diffusers StableDiffusionPipeline folder.
/// The models are frozen (no parameter requires a gradient). Errors name the missing or malformed file and key.
/// - Parameter clipSkip: diffusers' clip_skip (nil: the text encoder's last layer, as SD 2.0-base uses it).
public func loadPipeline(folder path: String, clipSkip: Int? = nil) throws -> StableDiffusionPipeline {
    try loadTeacherModels(folder: path, clipSkip: clipSkip).pipeline()
}

/// As `loadPipeline`, returning the models themselves.
public func loadTeacherModels(folder path: String, clipSkip: Int? = nil) throws -> TeacherModels {
    let folder = try PipelineFolder(path: path)
    try folder.validate(PipelineFolder.stableDiffusionComponents.map(\.name))
    try checkTeacherFiles(folder)
    return try buildTeacherModels(folder, clipSkip: clipSkip)
}

/// Cheap checks: every config decodes, every weight file and the tokenizer's vocabulary exist, and the
/// components fit together (latent channels, text width).
func checkTeacherFiles(_ folder: PipelineFolder) throws {
    _ = try folder.schedulerConfig()
    let vaeFolder = try ModelFolder(path: folder.file("vae"))
    let vae = try vaeFolder.config(AutoencoderKLConfig.self)
    _ = try vaeFolder.weightFiles(expected: "diffusion_pytorch_model.safetensors")
    let unetFolder = try ModelFolder(path: folder.file("unet"))
    let unet = try unetFolder.config(UNet2DConditionConfig.self)
    _ = try unetFolder.weightFiles(expected: "diffusion_pytorch_model.safetensors")
    let textFolder = try ModelFolder(path: folder.file("text_encoder"))
    let text = try textFolder.config(CLIPTowerConfigFile<CLIPTextConfig>.self).config
    _ = try textFolder.weightFiles(expected: "model.safetensors")
    _ = try CLIPTokenizer.vocabulary(folder: folder.file("tokenizer"))

    let unetConfig = unetFolder.file("config.json")
    guard unet.inChannels == unet.outChannels else {
        throw FileError(path: unetConfig, message: "in_channels \(unet.inChannels) and out_channels \(unet.outChannels) differ; a noise predictor needs them equal")
    }
    guard unet.inChannels == vae.latentChannels else {
        throw FileError(path: unetConfig, message: "in_channels \(unet.inChannels) does not match vae/config.json latent_channels \(vae.latentChannels)")
    }
    let layout: UNetLayout
    do { layout = try unet.layout() } catch let e as UnsupportedConfig { throw FileError(path: unetConfig, message: e.message) }
    if let d = layout.crossAttentionDims.first(where: { $0 != text.hiddenSize }) {
        throw FileError(path: unetConfig, message: "cross_attention_dim \(d) does not match text_encoder/config.json hidden_size \(text.hiddenSize)")
    }
}

/// The one place where the teacher's models are constructed and loaded (strictly, fp16 or fp32 safetensors).
func buildTeacherModels(_ folder: PipelineFolder, clipSkip: Int?) throws -> TeacherModels {
    let unet = try UNet2DConditionModel(path: folder.file("unet"))
    let text = try CLIPTextEncoding(tokenizerFolder: folder.file("tokenizer"), textEncoderFolder: folder.file("text_encoder"),
                                    clipSkip: clipSkip)
    let vae = try folder.vae()
    for m: Module in [unet, text.textEncoder, vae] { m.setRequiresGrad(false) }
    return TeacherModels(unet: unet, text: text, vae: vae, scheduler: try folder.scheduler())
}

extension UNet2DConditionModel: NoisePredictor {
    public var latentChannels: Int { config.inChannels }
    public var sampleSize: Int? { config.sampleSize }

    /// The U-Net's output for one timestep over the batch (diffusers passes the scheduler's integer t).
    public func predictNoise(_ latents: Tensor, timestep: Int, textStates: Tensor) -> Tensor {
        self(latents, timestep: Float(timestep), encoderHiddenStates: textStates)
    }
}
