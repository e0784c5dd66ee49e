// `dreamportrait train --stage 0|1|2`: EG3D's GAN training (stage 0) and DreamPortrait's stages on the shared
// Training loop (run folder with atomic checkpoints, JSONL log, progress with ETA, Ctrl-C, non-finite guard).
import Distill
import Foundation
import Teacher
import TensorCore
import Training

enum TrainCommand {
    static let command = Command(
        name: "train",
        abstract: "Train the generator: stage 0 (EG3D from scratch), 1 (adapters, GAN loss), 2 (D-SDS + GAN loss)",
        discussion: """
            Stage 0 trains an unconditional EG3D on an EG3D-format dataset (our world, or one made by EG3D's dataset_tool) \
            with EG3D's losses and schedules: non-saturating logistic loss, lazy R1 on both D inputs, density \
            regularisation, blur fade-in, pose conditioning with swapping, EMA of G. Only the train split of split.json is \
            read. RUNDIR gets config.json, log.jsonl, loss.png, samples/ and checkpoints/<step>/{G,G_ema,D,G_opt,D_opt}.safetensors \
            + state.json; `generate --weights RUNDIR/checkpoints/<step>/G_ema.safetensors` reads G_ema. Ctrl-C saves a \
            checkpoint and stops; `--resume RUNDIR` continues bit for bit. --config takes a built-in name (world128, tiny128) \
            or a JSON file {"base": NAME, "generator": {...}, "training": {...}} with EG3D's key names. Stages 1-2 \
            wrap --init (a stage-0 checkpoint folder, or a generator file) with the semantics mapping network and the \
            adapters (identity at the start; the generator config comes from the checkpoint, the training options from \
            --config, without blur, swap fade or EMA ramp-up, as EG3D fine-tunes) and condition them on captions of the \
            train split encoded by --teacher's text encoder; stage 2 adds D-SDS from --teacher's U-Net and VAE.
            """,
        options: [
            Option(name: "--stage", value: "0|1|2", help: "Training stage"),
            Option(name: "--data", value: "DIR", help: "EG3D-format dataset folder or zip (labels required)"),
            Option(name: "--out", value: "RUNDIR", help: "Run folder (created)"),
            Option(name: "--config", value: "NAME|FILE.json", help: "Generator + training configuration", defaultValue: "world128"),
            Option(name: "--kimg", value: "K", help: "Train until K thousand images have been shown", defaultValue: "100"),
            Option(name: "--batch", value: "N", help: "Total batch (EG3D: 32)", defaultValue: "the config's, else 8"),
            Option(name: "--resume", value: "RUNDIR", help: "Continue the run in RUNDIR from its newest checkpoint"),
            Option(name: "--teacher", value: "DIR", help: "Teacher pipeline folder (stage 2)"),
            Option(name: "--init", value: "CHECKPOINT", help: "Start G (and D if present) from a generator checkpoint"),
            Option(name: "--seed", value: "S", help: "Run seed (initialisation, data order, every random draw)", defaultValue: "0"),
            Option(name: "--limit", value: "N", help: "Train on the first N images of the split only (smoke runs)"),
            Option(name: "--checkpoint-minutes", value: "M", help: "Checkpoint every M minutes (and at the end, on Ctrl-C)", defaultValue: "10"),
            Option(name: "--sample-kimg", value: "K", help: "Sample grid from G_ema every K kimg", defaultValue: "4"),
            Option(name: "--world-supervision", value: "auto|on|off", help: "Also reconstruct world images (depth, masks, camera; needs aux/). Stage 0: auto = on when the config has world_supervision settings and the data has aux/. Stages 1-2: only with on, from each image's code and one of its own captions", defaultValue: "auto"),
            Option(name: "--text-loss", value: "dsds|clip|none", help: "Stage 2's text loss (ablation)", defaultValue: "dsds"),
            Option(name: "--adapters", value: "0|2|4|6", help: "Adapters (stages 1-2)", defaultValue: "6"),
            Option(name: "--no-3d-pool", value: nil, help: "Adapters without the 3D-aware pooling (ablation)"),
            Option(name: "--no-gate", value: nil, help: "Adapters without the tanh gate (ablation)"),
            Option(name: "--whiten-eot", value: nil, help: "Ours: a new semantics mapping reads t_EOT whitened on 4,096 training captions (ZCA), so attributes the text encoder varies little along reach it as strongly as the rest"),
            Option(name: "--freeze", value: "g|d|none", help: "Freeze G (only the text conditioning trains) or D (ablation)", defaultValue: "none"),
            Option(name: "--guidance", value: "S", help: "D-SDS classifier-free guidance scale (stage 2)", defaultValue: "100"),
            Option(name: "--dsds-weight", value: "W", help: "Weight of D-SDS beside the GAN loss in G's objective (stage 2)", defaultValue: "1"),
            Option(name: "--dsds-rescale", value: "unit_rms|shared_rms|none", help: "D-SDS noise rescaling: each of ε̂ and ε by its own RMS, both by rms(ε̂), or none (DreamFusion)", defaultValue: "unit_rms"),
            Option(name: "--t-min", value: "T", help: "D-SDS: smallest timestep drawn, as a share of the schedule (stage 2)", defaultValue: "0.02"),
            Option(name: "--t-max", value: "T", help: "D-SDS: largest timestep drawn, as a share of the schedule (stage 2)", defaultValue: "0.98"),
            Option(name: "--t-max-end", value: "T", help: "D-SDS: anneal the largest timestep linearly from --t-max to T over --t-anneal-kimg (stage 2)"),
            Option(name: "--t-anneal-kimg", value: "K", help: "Length of that annealing in thousands of images", defaultValue: "--kimg"),
            Option(name: "--mapping-lr-multiplier", value: "L", help: "λ of a new semantics mapping network's equalised-lr layers (stages 1-2; a continued text-conditioned checkpoint keeps its own)", defaultValue: "0.01, EG3D's mapping"),
            Option(name: "--gate-init", value: "V", help: "Ours: new adapters start with the gate tanh(γ) = V, in [0, 1) (still the identity: proj_out starts at zero); the paper's 0 keeps the gate shut until γ drifts"),
            Option(name: "--adapter-lr-multiplier", value: "M", help: "Ours: the adapters' parameters train at M × G's learning rate (EG3D's rate is set for equalised-lr layers)", defaultValue: "1"),
            Option(name: "--clip", value: "DIR", help: "CLIP model folder of --text-loss clip (weights, tokenizer, preprocessor)"),
            Option(name: "--d-text", value: nil, help: "Stages 1-2: D also judges the prompt (a projection on the caption's t_EOT; ours, not the paper's), real images with their own captions"),
            Option(name: "--d-mismatch", value: "W", help: "With --d-text: weight of real images paired with another image's caption as fakes in D's loss", defaultValue: "1"),
            Option(name: "--mode-seeking", value: "W", help: "Ours (MSGAN): stages 1-2 draw prompts in pairs and penalise pairs whose tri-planes or images (--mode-seeking-on) draw together (against one portrait per prompt; Distill/ModeSeeking.swift)", defaultValue: "0, off"),
            Option(name: "--fake-score-lr", value: "LR", help: "Ours (VSD/DMD): stage 2's D-SDS compares the teacher's guided prediction with a fake score (a copy of the teacher trained online on the generator's renders at LR) instead of the injected noise (Distill/FakeScore.swift)", defaultValue: "off"),
            Option(name: "--mode-seeking-on", value: "X", help: "What --mode-seeking compares: planes (the tri-planes) or images (the rendered images; each pair then shares its camera)", defaultValue: "planes"),
            Option(name: "--quiet", value: nil, help: "No progress line"),
        ] + TrainingPool.options,
        run: run)

    static func run(_ args: Arguments) throws {
        let stage = try args.int("--stage", default: -1, range: -1...2)
        guard stage >= 0 else { throw UsageError(message: "missing required option '--stage' (0, 1 or 2)", command: args.command) }
        guard let data = args.string("--data") else { throw UsageError(message: "missing required option '--data'", command: args.command) }
        let resume = args.string("--resume")
        guard let out = args.string("--out") ?? resume else {
            throw UsageError(message: "missing required option '--out' (or '--resume RUNDIR')", command: args.command)
        }
        if let resume, let o = args.string("--out"), (resume as NSString).standardizingPath != (o as NSString).standardizingPath {
            throw UsageError(message: "--resume \(resume) and --out \(o) differ: a run continues in its own folder", command: args.command)
        }
        let kimg = try args.float("--kimg", default: 100)
        guard kimg > 0 else { throw UsageError(message: "invalid value '\(kimg)' for --kimg: expected a positive number", command: args.command) }
        let batch = args.string("--batch") == nil ? nil : try args.int("--batch", default: 8, range: 1...4096)
        let seed = UInt64(try args.int("--seed", default: 0, range: 0...Int.max))
        let limit = args.string("--limit") == nil ? nil : try args.int("--limit", default: 0, range: 1...Int.max)
        let configName = args.string("--config") ?? "world128"
        try TrainingPool.configure(args)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: data, isDirectory: &isDir) else {
            throw UsageError(message: "--data \(data): no such dataset folder or zip", command: args.command)
        }
        var config = try RunConfig.load(configName, batch: batch)
        var settings = TextStageSettings(stage: stage)
        if stage > 0 {
            guard let t = args.string("--text-loss").map({ TextLossKind(rawValue: $0) }) ?? .dsds else {
                throw UsageError(message: "invalid value '\(args.string("--text-loss")!)' for --text-loss: expected dsds, clip or none", command: args.command)
            }
            settings.textLoss = t
            settings.adapters = try args.int("--adapters", default: 6, range: 0...16)
            settings.freeze = args.string("--freeze") ?? "none"
            guard ["g", "d", "none"].contains(settings.freeze) else {
                throw UsageError(message: "invalid value '\(settings.freeze)' for --freeze: expected g, d or none", command: args.command)
            }
            settings.dsds.guidance = try args.float("--guidance", default: 100)
            settings.dsds.weight = try args.float("--dsds-weight", default: 1)
            guard settings.dsds.guidance.isFinite && settings.dsds.guidance > 0 else {
                throw UsageError(message: "invalid value \(settings.dsds.guidance) for --guidance: expected a positive number (1 turns guidance off)", command: args.command)
            }
            guard settings.dsds.weight.isFinite && settings.dsds.weight >= 0 else {
                throw UsageError(message: "invalid value \(settings.dsds.weight) for --dsds-weight: expected a non-negative number", command: args.command)
            }
            // Parsed as Double, so that a run's recorded settings read as typed.
            func double(_ flag: String) throws -> Double? {
                guard let text = args.string(flag) else { return nil }
                guard let v = Double(text), v.isFinite else {
                    throw UsageError(message: "invalid value '\(text)' for \(flag): expected a number", command: args.command)
                }
                return v
            }
            if let r = args.string("--dsds-rescale") {
                guard let rule = DSDSSettings.Rescale(rawValue: r) else {
                    throw UsageError(message: "invalid value '\(r)' for --dsds-rescale: expected unit_rms, shared_rms or none", command: args.command)
                }
                settings.dsds.rescale = rule
            }
            settings.dsds.tMin = try double("--t-min") ?? settings.dsds.tMin
            settings.dsds.tMax = try double("--t-max") ?? settings.dsds.tMax
            if let end = try double("--t-max-end") {
                settings.dsds.tMaxEnd = end
                settings.dsds.annealKimg = try double("--t-anneal-kimg") ?? double("--kimg") ?? 100
                guard settings.dsds.annealKimg > 0 else {
                    throw UsageError(message: "invalid value \(settings.dsds.annealKimg) for --t-anneal-kimg: expected a positive number", command: args.command)
                }
            }
            for t in [settings.dsds.tMax] + (settings.dsds.tMaxEnd.map { [$0] } ?? []) {
                guard settings.dsds.tMin >= 0 && settings.dsds.tMin < t && t <= 1 else {
                    throw UsageError(message: "invalid --t-min \(settings.dsds.tMin) / --t-max or --t-max-end \(t): expected 0 ≤ t-min < t-max ≤ 1", command: args.command)
                }
            }
            settings.clipFolder = args.string("--clip")
            settings.discriminatorText = args.flag("--d-text")
            settings.mismatchWeight = try args.float("--d-mismatch", default: 1)
            guard settings.mismatchWeight.isFinite && settings.mismatchWeight >= 0 else {
                throw UsageError(message: "invalid value \(settings.mismatchWeight) for --d-mismatch: expected a non-negative number", command: args.command)
            }
            if args.string("--d-mismatch") != nil && !settings.discriminatorText {
                throw UsageError(message: "--d-mismatch weighs a term of the text-conditioned D: add --d-text", command: args.command)
            }
            settings.modeSeekingWeight = try args.float("--mode-seeking", default: 0)
            guard settings.modeSeekingWeight.isFinite && settings.modeSeekingWeight >= 0 else {
                throw UsageError(message: "invalid value \(settings.modeSeekingWeight) for --mode-seeking: expected a non-negative number", command: args.command)
            }
            if let on = args.string("--mode-seeking-on") {
                guard let space = ModeSeekingLoss.Space(rawValue: on) else {
                    throw UsageError(message: "invalid value '\(on)' for --mode-seeking-on: expected planes or images", command: args.command)
                }
                guard settings.modeSeekingWeight > 0 else { throw UsageError(message: "--mode-seeking-on needs --mode-seeking W > 0", command: args.command) }
                settings.modeSeekingSpace = space
            }
            if let lr = try double("--fake-score-lr") {
                guard lr > 0 && lr <= 1 else {
                    throw UsageError(message: "invalid value \(lr) for --fake-score-lr: expected a learning rate in (0, 1]", command: args.command)
                }
                guard stage == 2 && settings.textLoss == .dsds else {
                    throw UsageError(message: "--fake-score-lr trains the fake score of stage 2's D-SDS: use it with --stage 2 and --text-loss dsds", command: args.command)
                }
                settings.fakeScoreLR = lr
            }
            settings.pool3D = !args.flag("--no-3d-pool")
            settings.gated = !args.flag("--no-gate")
            settings.whitenEOT = args.flag("--whiten-eot")
            if args.string("--mapping-lr-multiplier") != nil {
                let l = try args.float("--mapping-lr-multiplier", default: 0.01)
                guard l.isFinite && l > 0 && l <= 100 else {
                    throw UsageError(message: "invalid value \(l) for --mapping-lr-multiplier: expected a positive number up to 100", command: args.command)
                }
                settings.mappingLrMultiplier = l
            }
            if args.string("--gate-init") != nil {
                let v = try args.float("--gate-init", default: 0)
                guard v.isFinite && v >= 0 && v < 1 else {
                    throw UsageError(message: "invalid value \(v) for --gate-init: expected tanh(γ) in [0, 1)", command: args.command)
                }
                guard settings.gated else { throw UsageError(message: "--gate-init opens a gate that --no-gate removes: use one of them", command: args.command) }
                settings.gateInit = v
            }
            if args.string("--adapter-lr-multiplier") != nil {
                let m = try args.float("--adapter-lr-multiplier", default: 1)
                guard m.isFinite && m > 0 && m <= 100 else {
                    throw UsageError(message: "invalid value \(m) for --adapter-lr-multiplier: expected a positive number up to 100", command: args.command)
                }
                settings.adapterLrMultiplier = Double(m)
            }
            guard args.string("--init") != nil else {
                throw UsageError(message: "--stage \(stage) needs --init (a stage-0 checkpoint folder or generator file)", command: args.command)
            }
            guard args.string("--teacher") != nil else {
                throw UsageError(message: "--stage \(stage) needs --teacher (the diffusers pipeline folder whose text encoder conditions the adapters)", command: args.command)
            }
            // Fine-tuning a pre-trained generator, as EG3D resumes: no blur, no swap fade, no EMA ramp-up.
            config.training.blurInitSigma = 0
            config.training.gpcRegFadeKimg = 0
            config.training.emaRampup = nil
        }
        let run = try RunFolder(path: out)
        if resume == nil, run.latestCheckpointPath() != nil {
            throw UsageError(message: "--out \(out) already holds a run with checkpoints; continue it with --resume \(out) or choose another folder", command: args.command)
        }
        let supervisionFlag = args.string("--world-supervision") ?? "auto"
        guard ["auto", "on", "off"].contains(supervisionFlag) else {
            throw UsageError(message: "invalid value '\(supervisionFlag)' for --world-supervision: expected auto, on or off", command: args.command)
        }
        if supervisionFlag == "on" && config.worldSupervision == nil {
            throw UsageError(message: "--world-supervision on: --config \(configName) has no \"world_supervision\" settings", command: args.command)
        }
        // Stages 1-2 reconstruct only when asked (their runs from before this option stay as they were).
        let supervised = config.worldSupervision != nil
            && (supervisionFlag == "on" || (stage == 0 && supervisionFlag == "auto" && StageZero.hasWorldGeometry(data)))
        if stage > 0 && supervised { settings.worldSupervision = config.worldSupervision }
        var settingsRecord: [String: Any] = ["stage": stage, "data": data, "config": configName, "seed": "\(seed)",
                                             "batch": config.training.batch, "limit": limit.map { "\($0)" } ?? "all",
                                             "init": args.string("--init") ?? "none"]
        var mustMatch = ["stage", "data", "config", "seed", "batch", "limit", "init"]
        if supervised { settingsRecord["world_supervision"] = true; mustMatch.append("world_supervision") }
        if stage > 0 {
            // Stage-0 run folders (also those written before these keys existed) never record them.
            settingsRecord.merge(["teacher": args.string("--teacher") ?? "none", "text_loss": settings.textLoss.rawValue, "clip": settings.clipFolder ?? "none",
                                  "adapters": settings.adapters, "freeze": settings.freeze,
                                  "pool_3d": settings.pool3D, "gated": settings.gated]) { $1 }
            if settings.whitenEOT { settingsRecord["whiten_eot"] = true }
            mustMatch += ["teacher", "text_loss", "clip", "adapters", "freeze", "pool_3d", "gated", "guidance", "dsds_weight", "t_min", "t_max", "t_max_end", "t_anneal_kimg", "mapping_lr_multiplier", "gate_init", "adapter_lr_multiplier", "d_text", "d_mismatch", "dsds_rescale", "mode_seeking", "mode_seeking_on", "fake_score_lr", "whiten_eot"]
            // Recorded only when not the default, so that runs started before these keys existed resume.
            if settings.dsds.guidance != 100 { settingsRecord["guidance"] = Double(settings.dsds.guidance) }
            if settings.dsds.weight != 1 { settingsRecord["dsds_weight"] = Double(settings.dsds.weight) }
            if settings.dsds.tMin != 0.02 { settingsRecord["t_min"] = settings.dsds.tMin }
            if settings.dsds.tMax != 0.98 { settingsRecord["t_max"] = settings.dsds.tMax }
            if let e = settings.dsds.tMaxEnd { settingsRecord["t_max_end"] = e; settingsRecord["t_anneal_kimg"] = settings.dsds.annealKimg }
            if let l = settings.mappingLrMultiplier { settingsRecord["mapping_lr_multiplier"] = Double(l) }
            if let v = settings.gateInit { settingsRecord["gate_init"] = Double(v) }
            if let m = settings.adapterLrMultiplier { settingsRecord["adapter_lr_multiplier"] = m }
            if settings.dsds.rescale != .unitRMS { settingsRecord["dsds_rescale"] = settings.dsds.rescale.rawValue }
            if settings.discriminatorText { settingsRecord["d_text"] = true; settingsRecord["d_mismatch"] = Double(settings.mismatchWeight) }
            if settings.modeSeekingWeight != 0 { settingsRecord["mode_seeking"] = Double(settings.modeSeekingWeight) }
            if settings.modeSeekingSpace != .planes { settingsRecord["mode_seeking_on"] = settings.modeSeekingSpace.rawValue }
            if let lr = settings.fakeScoreLR { settingsRecord["fake_score_lr"] = lr }
        }
        try run.writeOrCheckConfig(settingsRecord, mustMatch: mustMatch)

        printError("loading \(data) (train split)")
        let t0 = Date()
        let task: TrainingTask
        let images: Int, gParams: Int, dParams: Int
        if stage == 0 {
            let t = try StageZero.makeTask(data: data, config: config, seed: seed, initCheckpoint: args.string("--init"),
                                           limit: limit, worldSupervision: supervised, progress: true)
            if supervised { printError("world supervision on: reconstructing each training image's colours, depth and mask from its camera (Grec)") }
            (task, images) = (t, t.trainer.labels.shape[0])
            gParams = t.trainer.generator.parameters().reduce(0) { $0 + $1.count }
            dParams = t.trainer.discriminator.parameters().reduce(0) { $0 + $1.count }
        } else {
            let t = try TextStages.makeTask(data: data, training: config.training, seed: seed, initPath: args.string("--init")!,
                                            teacher: args.string("--teacher")!, settings: settings, limit: limit, progress: true)
            if supervised { printError("world supervision on: reconstructing each training image from its code and one of its own captions (Grec)") }
            (task, images) = (t, t.trainer.labels.shape[0])
            gParams = t.trainer.generator.parameters().reduce(0) { $0 + $1.count }
            dParams = t.trainer.discriminator.parameters().reduce(0) { $0 + $1.count }
        }
        printError(String(format: "%d training images in %.1f s; G %d parameters, D %d parameters; batch %d",
                          images, Date().timeIntervalSince(t0), gParams, dParams, config.training.batch))
        let steps = Int((Double(kimg) * 1000 / Double(config.training.batch)).rounded(.up))
        var loop = LoopSettings(steps: steps)
        loop.checkpointSeconds = Double(try args.float("--checkpoint-minutes", default: 10)) * 60
        let sampleKimg = Double(try args.float("--sample-kimg", default: 4))
        loop.sampleSteps = sampleKimg > 0 ? Swift.max(1, Int(sampleKimg * 1000 / Double(config.training.batch))) : 0
        loop.quiet = args.flag("--quiet")
        loop.shown = ["loss/Grec/image_l1", "loss/Grec/depth_l1", "loss/G/loss", "loss/D/loss", "loss/r1_penalty", "loss/G/density_reg", "loss/G/dsds", "loss/G/clip",
                      "time/G", "time/D"]
        Interrupt.install(message: "finishing the step in flight and saving a checkpoint")
        try TrainingLoop.run(task, in: run, settings: loop, resume: resume != nil)
    }
}
