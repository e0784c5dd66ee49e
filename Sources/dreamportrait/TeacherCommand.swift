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
        subcommands: [sample])

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
            Option(name: "--size", value: "PX", help: "Image width and height", defaultValue: "512"),
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
        let teacher = try required(args, "--teacher")
        let prompt = try required(args, "--prompt")
        let out = try required(args, "--out")
        guard out.lowercased().hasSuffix(".png") else {
            throw UsageError(message: "invalid value '\(out)' for --out: expected a .png file", command: args.command)
        }
        let steps = try args.int("--steps", default: 50, range: 1...1000)
        let size = try args.int("--size", default: 512, range: 8...4096)
        let seed = try args.int("--seed", default: 0, range: 0...Int.max)
        let guidance = try args.float("--guidance", default: 7.5)
        let eta = try args.float("--eta", default: 0)
        guard eta >= 0 else { throw UsageError(message: "invalid value '\(eta)' for --eta: expected a non-negative number", command: args.command) }

        let pipe = try loadPipeline(folder: teacher)
        let f = pipe.vae.downsamplingFactor
        guard size % f == 0 else {
            throw UsageError(message: "invalid value '\(size)' for --size: expected a multiple of \(f) (the VAE's downsampling factor)", command: args.command)
        }
        let bar = ProgressBar(total: steps, start: 0, unit: "steps")
        let images = try pipe(prompts: [prompt], negativePrompts: args.string("--negative").map { [$0] }, height: size, width: size,
                              steps: steps, guidanceScale: guidance, eta: eta, seed: UInt64(seed), progress: { i, _ in bar.update(i) })
        bar.finish()
        let image = Image(width: size, height: size, channels: 3, planar: images.slice(axis: 0, start: 0, end: 1).toArray())
        try PNG.write(image, to: out)
        printError("wrote \(out) (\(size)x\(size), \(steps) steps, guidance \(guidance), seed \(seed), \(String(format: "%.1f", bar.elapsed)) s)")
    }
}
