// `dreamportrait teacher train --part clip|judge|vae|unet`: trains one part of the teacher stack on a world
// dataset (TeacherTraining.TeacherParts), resumable from its run folder.
import Foundation
import TeacherTraining
import TensorCore
import Training

enum TeacherTrainCommand {
    static let command = Command(
        name: "train",
        abstract: "Train a part of the teacher on a world dataset (clip, judge, vae, unet, attributes)",
        discussion: """
            Each part trains in its own run folder (--out), resumes from its newest checkpoint when run again, \
            and writes RUN/export/ in the ecosystem's layout plus RUN/report.json with its held-out figures. \
            Order: clip and vae (independent), then unet (--clip RUN --vae RUN), which exports the whole \
            Stable-Diffusion-format teacher. judge is a second CLIP (another seed) and attributes the attribute classifier, both used only by `eval`.
            """,
        options: [
            Option(name: "--part", value: "clip|judge|vae|unet|attributes", help: "What to train"),
            Option(name: "--data", value: "DIR", help: "World dataset (dreamportrait data synth); the train split is used"),
            Option(name: "--out", value: "RUN", help: "Run folder (checkpoints, log.jsonl, loss.png, export/)"),
            Option(name: "--steps", value: "N", help: "Optimiser steps", defaultValue: "per part"),
            Option(name: "--batch", value: "B", help: "Images per step", defaultValue: "per part"),
            Option(name: "--lr", value: "X", help: "Peak learning rate", defaultValue: "per part"),
            Option(name: "--seed", value: "S", help: "Seed (judge: use another than clip's)", defaultValue: "0 (judge 1)"),
            Option(name: "--config", value: "FILE.json", help: "The part's model config (HF/diffusers config.json format)"),
            Option(name: "--clip", value: "RUN", help: "unet: the finished clip run, or a teacher pipeline folder (its text encoder and tokenizer)"),
            Option(name: "--vae", value: "RUN", help: "unet: the finished vae run (with --init: instead of the pipeline's VAE)"),
            Option(name: "--init", value: "DIR", help: "vae: continue from a trained VAE (a vae/ folder, or a teacher pipeline folder); unet: continue a teacher pipeline folder's U-Net with its text encoder and VAE"),
            Option(name: "--decoder-only", value: nil, help: "vae with --init: fine-tune the decoder only (latents, and a U-Net trained on them, stay valid)"),
            Option(name: "--text-lr-multiplier", value: "M", help: "unet: train the text encoder with the U-Net at M × its learning rate, with an auxiliary head reading the attributes each caption states (negations included)", defaultValue: "frozen"),
            Option(name: "--text-attribute-weight", value: "W", help: "unet with --text-lr-multiplier: weight of the auxiliary attribute loss", defaultValue: "0.1"),
            Option(name: "--text-implied-absent", value: nil, help: "unet with --text-lr-multiplier: the auxiliary head also learns what a caption implies absent (a stated hair colour: the other five false), so the end token keeps the hair colours apart"),
            Option(name: "--adversarial-weight", value: "W", help: "vae: add Stable Diffusion's patch-adversarial term (PatchGAN, hinge loss) at this weight on its adaptive λ (SD: 0.5)", defaultValue: "off"),
            Option(name: "--adversarial-start", value: "N", help: "vae: the decoder feels the adversarial term from step N (the discriminator trains from step 0)", defaultValue: "500"),
            Option(name: "--adversarial-lr", value: "X", help: "vae: the discriminator's peak learning rate", defaultValue: "the VAE's"),
            Option(name: "--checkpoint-minutes", value: "M", help: "Minutes between checkpoints", defaultValue: "5"),
            Option(name: "--fresh", value: nil, help: "Start over even if the run folder has checkpoints"),
        ] + TrainingPool.options,
        run: run)

    static let defaults: [String: (steps: Int, batch: Int)] = ["clip": (3000, 64), "judge": (3000, 64), "vae": (4000, 8), "unet": (6000, 32), "attributes": (2000, 64)]

    static func run(_ args: Arguments) throws {
        try TrainingPool.configure(args)
        guard let part = args.string("--part"), let d = defaults[part] else {
            throw UsageError(message: "--part must be one of clip, judge, vae, unet, attributes", command: args.command)
        }
        guard let data = args.string("--data") else { throw UsageError(message: "missing required option '--data'", command: args.command) }
        guard let out = args.string("--out") else { throw UsageError(message: "missing required option '--out'", command: args.command) }
        var s = TeacherRunSettings(data: data, out: out, steps: try args.int("--steps", default: d.steps, range: 1...10_000_000),
                                   batch: try args.int("--batch", default: d.batch, range: 1...4096),
                                   seed: UInt64(try args.int("--seed", default: part == "judge" ? 1 : 0, range: 0...Int.max)))
        s.resume = !args.flag("--fresh")
        s.configFile = args.string("--config")
        s.clipRun = args.string("--clip"); s.vaeRun = args.string("--vae")
        if args.string("--lr") != nil { s.lr = Double(try args.float("--lr", default: 0)) }
        s.initFolder = args.string("--init")
        s.decoderOnly = args.flag("--decoder-only")
        if args.string("--text-lr-multiplier") != nil {
            guard part == "unet" else { throw UsageError(message: "--text-lr-multiplier is for --part unet", command: args.command) }
            let t = TextEncoderTraining(lrMultiplier: Double(try args.float("--text-lr-multiplier", default: 1)),
                                        attributeWeight: try args.float("--text-attribute-weight", default: 0.1),
                                        impliedAbsent: args.flag("--text-implied-absent"))
            guard t.lrMultiplier > 0, t.lrMultiplier.isFinite, t.attributeWeight >= 0, t.attributeWeight.isFinite else {
                throw UsageError(message: "--text-lr-multiplier must be positive and --text-attribute-weight at least 0", command: args.command)
            }
            s.textTraining = t
        } else if args.string("--text-attribute-weight") != nil || args.flag("--text-implied-absent") {
            throw UsageError(message: "--text-attribute-weight and --text-implied-absent go with --text-lr-multiplier", command: args.command)
        }
        if args.string("--adversarial-weight") != nil {
            guard part == "vae" else { throw UsageError(message: "--adversarial-weight is for --part vae", command: args.command) }
            var a = AdversarialSettings(weight: try args.float("--adversarial-weight", default: 0.5),
                                        start: try args.int("--adversarial-start", default: 500, range: 0...10_000_000))
            guard a.weight > 0, a.weight.isFinite else { throw UsageError(message: "--adversarial-weight must be a positive number", command: args.command) }
            if args.string("--adversarial-lr") != nil { a.lr = Double(try args.float("--adversarial-lr", default: 0)) }
            s.adversarial = a
        } else if args.string("--adversarial-start") != nil || args.string("--adversarial-lr") != nil {
            throw UsageError(message: "--adversarial-start and --adversarial-lr go with --adversarial-weight", command: args.command)
        }
        if (part != "vae" && s.decoderOnly) || (part != "vae" && part != "unet" && s.initFolder != nil) {
            throw UsageError(message: s.decoderOnly ? "--decoder-only is for --part vae" : "--init is for --part vae and --part unet", command: args.command)
        }
        if part == "unet" && s.initFolder != nil && s.clipRun != nil {
            throw UsageError(message: "--part unet takes either --init PIPELINE (its text encoder, and its VAE unless --vae RUN) or --clip RUN --vae RUN, not --init with --clip", command: args.command)
        }
        s.checkpointSeconds = 60 * Double(try args.int("--checkpoint-minutes", default: 5, range: 1...10_000))
        Interrupt.install(message: "finishing the step in flight, then checkpointing and exporting")
        switch part {
        case "clip", "judge": try TeacherParts.runCLIP(s, judge: part == "judge")
        case "vae": try TeacherParts.runVAE(s)
        case "attributes": try TeacherParts.runAttributes(s)
        default: try TeacherParts.runUNet(s)
        }
    }
}
