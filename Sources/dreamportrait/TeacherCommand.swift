// `dreamportrait teacher sample`: text -> image with the frozen latent-diffusion teacher (a Stable Diffusion
// 2.0-base folder in diffusers layout, or our own teacher saved the same way), DDIM with classifier-free
// guidance and an optional negative prompt, written as a PNG.
import Codecs
import Foundation
import Teacher
import TensorCore

enum TeacherCommand {
    static let command = Command(
        name: "teacher",
        abstract: "The frozen latent-diffusion teacher (Stable Diffusion 2.0-base layout)",
        subcommands: [sample, TeacherTrainCommand.command, TeacherEvalCommand.command])

    static let sample = Command(
        name: "sample",
        abstract: "Generate an image from a prompt with the teacher (DDIM, classifier-free guidance)",
        discussion: "DIR is a diffusers pipeline folder: model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/ (safetensors, fp16 or fp32).",
        options: [
            Option(name: "--teacher", value: "DIR", help: "Teacher pipeline folder (diffusers layout)"),
            Option(name: "--prompt", value: "TEXT", help: "What to draw"),
            Option(name: "--negative", value: "TEXT", help: "Negative prompt (the unconditional branch)", defaultValue: "\"\""),
            Option(name: "--steps", value: "N", help: "DDIM steps", defaultValue: "50"),
            Option(name: "--guidance", value: "S", help: "Classifier-free guidance scale (off at 1)", defaultValue: "7.5"),
            Option(name: "--eta", value: "E", help: "DDIM eta (0: deterministic)", defaultValue: "0"),
            Option(name: "--seed", value: "K", help: "Seed of the initial latents", defaultValue: "0"),
            Option(name: "--size", value: "PX", help: "Image width and height", defaultValue: "the pipeline's own: U-Net sample_size × the VAE's factor"),
            Option(name: "--latents", value: "FILE", help: "Initial latents (safetensors, tensor \"latents\" 1×C×h×w) instead of the seeded draw"),
            Option(name: "--out", value: "FILE.png", help: "Output PNG"),
        ],
        run: runSample)

    static func required(_ args: Arguments, _ name: String) throws -> String {
        guard let v = args.string(name), !v.isEmpty else {
            throw UsageError(message: "missing required option '\(name)'", command: args.command)
        }
        return v
    }

    static func runSample(_ args: Arguments) throws {
        var o = TeacherSampleOptions(teacher: try required(args, "--teacher"), prompt: try required(args, "--prompt"),
                                     negative: args.string("--negative"), out: try required(args, "--out"))
        guard o.out.lowercased().hasSuffix(".png") else {
            throw UsageError(message: "invalid value '\(o.out)' for --out: expected a .png file", command: args.command)
        }
        o.steps = try args.int("--steps", default: 50, range: 1...1000)
        if args.string("--size") != nil { o.size = try args.int("--size", default: 0, range: 8...4096) }
        o.seed = UInt64(try args.int("--seed", default: 0, range: 0...Int.max))
        o.guidance = try args.float("--guidance", default: 7.5)
        o.eta = try args.float("--eta", default: 0)
        o.latents = args.string("--latents")
        guard o.eta >= 0 else { throw UsageError(message: "invalid value '\(o.eta)' for --eta: expected a non-negative number", command: args.command) }

        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: o.teacher, isDirectory: &isDir), isDir.boolValue else {
            throw UsageError(message: "--teacher \(o.teacher): no such folder. Expected a diffusers pipeline folder "
                                + "(model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/; safetensors in fp16 or fp32), "
                                + "e.g. a download of stabilityai/stable-diffusion-2-base", command: args.command)
        }
        printError("loading the teacher from \(o.teacher)")
        let t0 = Date()
        let pipe = try loadPipeline(folder: o.teacher)
        printError(String(format: "loaded in %.1f s", Date().timeIntervalSince(t0)))
        let bar = ProgressBar(total: o.steps, start: 0, unit: "steps")
        let image: Image
        do {
            image = try teacherSample(o, pipeline: pipe, progress: { i, _ in bar.update(i) })
        } catch let e as TeacherSampleError {
            throw UsageError(message: e.description, command: args.command)
        }
        bar.finish()
        printError("wrote \(o.out) (\(image.width)x\(image.height), \(o.steps) steps, guidance \(o.guidance), seed \(o.seed), \(String(format: "%.1f", bar.elapsed)) s)")
    }
}
