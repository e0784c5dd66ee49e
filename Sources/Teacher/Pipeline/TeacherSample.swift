// `dreamportrait teacher sample` as a library function: load a pipeline folder, run guided DDIM from a seed,
// write the first image as an 8-bit RGB PNG. The command adds the argument parsing and the progress bar.
import Codecs
import Foundation
import TensorCore

public struct TeacherSampleOptions: Sendable {
    /// A diffusers pipeline folder.
    public var teacher: String
    public var prompt: String
    /// nil: "" (diffusers' default unconditional branch).
    public var negative: String?
    public var steps = 50
    public var guidance: Float = 7.5
    public var eta: Float = 0
    public var seed: UInt64 = 0
    /// Image width and height (a multiple of the VAE's downsampling factor); nil: the pipeline's own
    /// resolution, `StableDiffusionPipeline.defaultImageSize`.
    public var size: Int? = nil
    /// A safetensors file whose tensor "latents" (1, C, h, w) replaces the seeded initial draw (diffusers'
    /// `latents=`), so the image can be compared with another implementation's from the same start.
    public var latents: String? = nil
    /// The largest image side sampled (the command's --size range).
    public static let maxSize = 4096
    /// The PNG to write.
    public var out: String

    public init(teacher: String, prompt: String, negative: String? = nil, out: String) {
        self.teacher = teacher
        self.prompt = prompt
        self.negative = negative
        self.out = out
    }
}

/// What a bad `teacher sample` request gets: names the option and the value.
public struct TeacherSampleError: Error, CustomStringConvertible {
    public let option: String
    public let message: String
    public var description: String { "invalid value for \(option): \(message)" }
}

/// Generates one image and writes it to `options.out`; returns it.
/// - Parameters:
///   - loaded: reuse an already loaded pipeline (its scheduler is reset by the run), else `options.teacher` is loaded.
///   - progress: called after each denoising step with (steps done, total).
@discardableResult
public func teacherSample(_ options: TeacherSampleOptions, pipeline loaded: StableDiffusionPipeline? = nil,
                          progress: ((Int, Int) -> Void)? = nil) throws -> Image {
    guard options.out.lowercased().hasSuffix(".png") else {
        throw TeacherSampleError(option: "--out", message: "'\(options.out)' is not a .png file")
    }
    let pipe = try loaded ?? loadPipeline(folder: options.teacher)
    let f = pipe.vae.downsamplingFactor
    let size = options.size ?? pipe.defaultImageSize
    if options.size == nil && size > TeacherSampleOptions.maxSize {
        throw TeacherSampleError(option: "--size", message: "the pipeline's own resolution, \((options.teacher as NSString).appendingPathComponent("unet/config.json")) sample_size \(pipe.unet.sampleSize ?? 0) × the VAE's factor \(f) = \(size), is larger than \(TeacherSampleOptions.maxSize); give --size")
    }
    guard size > 0 && size <= TeacherSampleOptions.maxSize && size % f == 0 else {
        throw TeacherSampleError(option: "--size", message: "\(size) is not a positive multiple of \(f) (the VAE's downsampling factor) up to \(TeacherSampleOptions.maxSize)")
    }
    guard options.steps >= 1 && options.steps <= pipe.scheduler.config.numTrainTimesteps else {
        throw TeacherSampleError(option: "--steps", message: "\(options.steps) is not in 1...\(pipe.scheduler.config.numTrainTimesteps) (the scheduler's num_train_timesteps)")
    }
    var schedule = pipe.scheduler
    do { try schedule.setTimesteps(options.steps) } catch let e as SchedulerConfigError {
        throw TeacherSampleError(option: "--steps", message: "\(e.problems.joined(separator: "; ")) (\((options.teacher as NSString).appendingPathComponent("scheduler/scheduler_config.json")))")
    }
    guard options.eta >= 0 && options.eta.isFinite else {
        throw TeacherSampleError(option: "--eta", message: "\(options.eta) is not a non-negative number")
    }
    guard options.guidance.isFinite else { throw TeacherSampleError(option: "--guidance", message: "\(options.guidance) is not a number") }
    var initial: Tensor? = nil
    if let path = options.latents {
        let t = try SafeTensorsFile(path: path).tensor("latents")
        let expected = [1, pipe.unet.latentChannels, size / f, size / f]
        guard t.shape == expected else {
            throw TeacherSampleError(option: "--latents", message: "\(path): tensor \"latents\" is \(t.shape); this pipeline at \(size)x\(size) starts from \(expected)")
        }
        initial = Tensor(t.toArray(), shape: t.shape)
    }
    let images = try pipe(prompts: [options.prompt], negativePrompts: options.negative.map { [$0] },
                          height: size, width: size, steps: options.steps, guidanceScale: options.guidance,
                          eta: options.eta, seed: options.seed, latents: initial, progress: progress)
    let image = Image(width: size, height: size, channels: 3, planar: images.toArray())
    try PNG.write(image, to: options.out)
    return image
}
