// Stages 1 and 2 (DreamPortrait's two-stage strategy, paper Appendix; method doc §6): a stage-0 (or converted
// official) EG3D is wrapped with the semantics mapping network and the 3D-aware adapters (identity at the start),
// whose prompts are captions of training images encoded by the teacher's text encoder. Stage 1 trains with EG3D's
// GAN loss only; stage 2 adds D-SDS from the teacher's U-Net and VAE (or no text loss, for the ablation).
import Foundation
import TensorCore
import Teacher
import Training
import TriPlaneGAN

public enum TextLossKind: String, Sendable { case dsds, clip, none }

public struct TextStageSettings {
    public var stage: Int
    public var textLoss: TextLossKind = .dsds
    public var adapters = 6
    /// Adapter ablations: `--no-3d-pool`, `--no-gate`.
    public var pool3D = true
    public var gated = true
    /// `--whiten-eot` (ours; EOTWhitening.swift): a new semantics mapping reads t_EOT whitened on the training captions.
    public var whitenEOT = false
    /// λ of a new semantics mapping network (nil: EG3D's mapping value, 0.01). A continued text-conditioned
    /// checkpoint keeps its own unless this is set (then it must agree).
    public var mappingLrMultiplier: Float?
    /// `--gate-init V` (ours): new adapters start with tanh(γ) = V instead of the paper's closed gate (still the
    /// identity: `proj_out` is zero). nil or 0: the paper's γ = 0.
    public var gateInit: Float?
    /// `--adapter-lr-multiplier M` (ours): the adapters' parameters step at M × G's learning rate. EG3D's rate
    /// (0.0025) is set for its equalised-lr layers, whose relative step is lr; the adapters' plain layers
    /// (torch's initialisation, weights ~1/√fan_in) move lr·√fan_in of their scale per Adam step at it.
    public var adapterLrMultiplier: Double?
    /// "g": only the text conditioning trains; "d": D is not updated.
    public var freeze = "none"
    public var dsds = DSDSSettings()
    /// `--fake-score-lr LR` (ours; FakeScore.swift): D-SDS compares the teacher's guided prediction with a fake score,
    /// a copy of the teacher trained online on the generator's renders at this rate, instead of the injected noise
    /// (variational score distillation / DMD). nil: the paper's D-SDS.
    public var fakeScoreLR: Double?
    /// The CLIP folder of `--text-loss clip` (a Hugging Face CLIPModel folder) and the loss weight.
    public var clipFolder: String?
    public var clipWeight: Float = 1
    /// `--d-text`: D also judges the prompt (ours, not the paper's: DiscriminatorTextProjection.swift), real images
    /// paired with one of their own CelebAText-style captions; `mismatchWeight` weighs the matching-aware term.
    public var discriminatorText = false
    public var mismatchWeight: Float = 1
    /// `--world-supervision on` (ours, not the paper's): Grec also runs in this stage, each training image rendered
    /// from its encoder code *and one of its own captions*, so the adapters and the semantics mapping learn what the
    /// world's captions mean from the world's pairs (a conditional VAE beside the GAN and D-SDS). Needs aux/.
    public var worldSupervision: WorldSupervisionSettings?
    /// `--mode-seeking W` (ours, MSGAN; ModeSeeking.swift): the weight of the mode-seeking term in Gmain; when > 0
    /// the prompts are drawn in pairs (samples 2k and 2k+1 share theirs). 0: off, the draws as before.
    public var modeSeekingWeight: Float = 0
    /// `--mode-seeking-on planes|images`: what its distance is taken on (images: the pair also shares its camera).
    public var modeSeekingSpace = ModeSeekingLoss.Space.planes
    public init(stage: Int) { self.stage = stage }
}

public enum TextStages {
    /// The whitening of t_EOT fitted on up to `count` training captions (one random caption of each of as many random
    /// training images, drawn from `seed`), encoded by the teacher's text encoder.
    public static func fitWhitening(text: CLIPTextEncoding, captions: [[String]], seed: UInt64, count: Int = 4096) throws -> (mean: [Float], matrix: [Float]) {
        let r = RandomGenerator(seed: StepRandom.mix(seed ^ 0x5748_4954))
        let n = Swift.min(count, captions.count)
        let prompts = (0..<n).map { _ -> String in
            let c = captions[r.integer(below: captions.count)]
            return c[r.integer(below: c.count)]
        }
        var rows: [Float] = []
        rows.reserveCapacity(n * text.hiddenSize)
        for start in stride(from: 0, to: n, by: 64) {
            let batch = Array(prompts[start..<Swift.min(start + 64, n)])
            let states = try withNoGrad { try text.encode(batch) }
            rows += TriPlaneGAN.TextConditioning.fromCLIP(hiddenStates: states, tokenIDs: text.tokenIDs(batch)).eot.toArray()
        }
        return try EOTWhitening.fit(rows, count: n, dim: text.hiddenSize)
    }

    /// Builds the stage-1/2 task. `initPath` is a stage-0 checkpoint folder (G, G_ema, D .safetensors) or one
    /// generator file (G = G_ema = it, D fresh). The generator's configuration comes from the checkpoint;
    /// `training` gives the optimisation settings.
    public static func makeTask(data path: String, training: TrainingOptions, seed: UInt64, initPath: String,
                                teacher teacherPath: String, settings: TextStageSettings, limit: Int? = nil,
                                progress: Bool = false) throws -> GANTrainingTask<TextConditionedGenerator> {
        var clipLoss: CLIPTextLoss? = nil
        if settings.stage == 2 && settings.textLoss == .clip {
            guard let folder = settings.clipFolder else {
                throw TrainingError.data("--text-loss clip needs --clip DIR (a CLIP model folder: weights, tokenizer, preprocessor)")
            }
            clipLoss = try CLIPTextLoss(folder: folder)
        }
        // Teacher first: its parts are checked before the dataset is decoded.
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: teacherPath, isDirectory: &isDir), isDir.boolValue else {
            throw FileError(path: teacherPath, message: "no such teacher folder (a diffusers pipeline: tokenizer/, text_encoder/, and for stage 2 unet/, vae/, scheduler/)")
        }
        let needsScore = settings.stage == 2 && settings.textLoss == .dsds
        let teacher: TeacherModels? = needsScore ? try loadTeacherModels(folder: teacherPath) : nil
        let text = try teacher?.text ?? CLIPTextEncoding(tokenizerFolder: (teacherPath as NSString).appendingPathComponent("tokenizer"),
                                                         textEncoderFolder: (teacherPath as NSString).appendingPathComponent("text_encoder"))
        text.textEncoder.setRequiresGrad(false)

        // The pre-trained generator(s) and D.
        let initial = try loadInit(initPath)
        let cfg = initial.g.config
        let bank = try PortraitWorldSplit.bank(path: path, resolution: cfg.imgResolution, limit: limit, progress: progress)
        if let i = bank.captions.firstIndex(where: { $0.isEmpty }) {
            throw FileError(path: (path as NSString).appendingPathComponent("captions.json"),
                            message: "no captions for \(bank.names[i]): stages 1-2 train on captioned images")
        }
        var cc = ConditioningConfig(generator: cfg, textDim: text.hiddenSize, adapters: settings.adapters)
        if let l = settings.mappingLrMultiplier ?? (initial.g as? TextConditionedGenerator)?.conditioningConfig.mappingLrMultiplier {
            cc.mappingLrMultiplier = l
        }
        cc.pool3D = settings.pool3D
        cc.gated = settings.gated
        cc.whitenEOT = settings.whitenEOT
        let problems = cc.problems(for: cfg)
        guard problems.isEmpty else { throw TrainingError.data("the conditioning does not fit the generator: " + problems.joined(separator: "; ")) }
        let rng = RandomGenerator(seed: StepRandom.mix(seed ^ 0x5445_5854))
        let g: TextConditionedGenerator, ema: TextConditionedGenerator
        if let tg = initial.g as? TextConditionedGenerator, let te = initial.ema as? TextConditionedGenerator {
            // A stage-1 (or 2) checkpoint: continue its adapters and semantics mapping.
            guard tg.conditioningConfig == cc else {
                throw FileError(path: initPath, message: "its text conditioning \((try? tg.conditioningConfig.jsonString()) ?? "?") differs from this run's \((try? cc.jsonString()) ?? "?") (--adapters, --no-3d-pool, --no-gate, --whiten-eot, --mapping-lr-multiplier, text encoder width)")
            }
            if let v = settings.gateInit, v != 0 {
                throw FileError(path: initPath, message: "--gate-init opens the gates of new adapters; this checkpoint's adapters are trained (their gates are what they learnt)")
            }
            (g, ema) = (tg, te)
        } else {
            g = TextConditionedGenerator(generator: initial.g.eg3d, conditioning: cc, rng: rng)
            if let v = settings.gateInit, v != 0 { for a in g.conditioning.adapters.items { a.openGate(to: v) } }
            if cc.whitenEOT {
                let w = try fitWhitening(text: text, captions: bank.captions, seed: seed)
                g.conditioning.semanticsMapping.setWhitening(mean: w.mean, matrix: w.matrix)
            }
            ema = TextConditionedGenerator(generator: initial.ema.eg3d, conditioning: cc, rng: RandomGenerator(seed: 0))
            try withNoGrad { try ema.conditioning.load(g.conditioning.stateDict(), strict: true) }
        }
        var dConfig = cfg.discriminatorConfig
        if settings.discriminatorText { dConfig.textDim = text.hiddenSize }
        let d = DualDiscriminator(dConfig, rng: rng)
        if let dState = initial.d {
            let hasText = dState.keys.contains { $0.hasPrefix("text.") }
            if hasText && !settings.discriminatorText {
                throw FileError(path: initPath, message: "its D is text-conditioned (keys text.*); continue it with --d-text")
            }
            // A camera-only D (stage 0) loads into a text-conditioned one: every key but the new head's must be there.
            if !hasText && settings.discriminatorText {
                let own = d.stateDict()
                if let k = own.keys.filter({ !$0.hasPrefix("text.") && dState[$0] == nil }).sorted().first { throw FileError(path: initPath, message: "D: missing key \(k)") }
                if let k = dState.keys.filter({ own[$0] == nil }).sorted().first { throw FileError(path: initPath, message: "D: unexpected key \(k)") }
            }
            do { try d.load(dState, strict: hasText || !settings.discriminatorText) } catch { throw FileError(path: initPath, message: "D: \(error)") }
        }
        g.neuralRenderingResolution = training.neuralRenderingResolutionInitial
        let adapterRate = settings.adapterLrMultiplier
        let trainer = try GANTrainer(options: training, seed: seed, generator: g, generatorEMA: ema, discriminator: d,
                                     data: bank, copyToEMA: false,
                                     generatorLrMultiplier: adapterRate.map { m in { $0.hasPrefix("conditioning.adapters.") ? m : 1 } })
        if let ws = settings.worldSupervision {
            trainer.worldSupervision = try worldSupervision(ws, data: path, bank: bank, zDim: cfg.zDim, seed: seed,
                                                            resolution: training.neuralRenderingResolutionInitial,
                                                            initFolder: initial.folder, progress: progress)
        }
        if settings.freeze == "g" { trainer.generatorTrainable = { $0.hasPrefix("conditioning.") } }
        trainer.freezeDiscriminator = settings.freeze == "d"
        trainer.loss.mismatchWeight = settings.discriminatorText ? settings.mismatchWeight : 0

        // Prompts: a random caption of a random training image per sample.
        let captions = bank.captions
        func encode(_ prompts: [String]) -> (TriPlaneGAN.TextConditioning, Tensor, [String]) {
            let states = (try? text.encode(prompts)) ?? Tensor.zeros([prompts.count, 77, text.hiddenSize])
            return (TriPlaneGAN.TextConditioning.fromCLIP(hiddenStates: states, tokenIDs: text.tokenIDs(prompts)), states, prompts)
        }
        trainer.prompts = { streams, tag, n in
            let r = streams.generator(.captions, phase: tag)
            let draw = { (count: Int) in
                (0..<count).map { _ -> String in
                    let c = captions[r.integer(below: captions.count)]
                    return c[r.integer(below: c.count)]
                }
            }
            return encode(settings.modeSeekingWeight > 0 ? ModeSeekingLoss.paired(n, draw) : draw(n))
        }
        if settings.discriminatorText {
            // One of each real image's own captions (the style the generator trains on).
            trainer.realCaptionFeatures = { r, indices in
                encode(indices.map { i in captions[i][r.integer(below: captions[i].count)] }).0.eot.detach()
            }
        }
        if trainer.worldSupervision != nil {
            trainer.reconstructionCaptions = { r, indices in
                encode(indices.map { i in captions[i][r.integer(below: captions[i].count)] }).0
            }
        }
        let fixed = (0..<8).map { captions[$0 % captions.count][0] }
        trainer.samplePrompts = { n in encode(Array(fixed.prefix(n))).0 }
        if let teacher {
            let empty = try text.encode([""])
            var ds = settings.dsds
            // The teacher sees images at its training size: the U-Net's sample_size × the VAE's factor (64² for the
            // world teacher), unless set.
            if ds.teacherResolution == nil, let side = teacher.unet.config.sampleSize { ds.teacherResolution = side * teacher.vae.downsamplingFactor }
            let latentChannels = teacher.vae.latentChannels, f = teacher.vae.downsamplingFactor
            let fake = try settings.fakeScoreLR.map { try FakeScore(teacher: teacher.unet, schedule: teacher.scheduler.schedule, lr: $0) }
            trainer.fakeScore = fake
            trainer.generatorTextLoss = { [unowned trainer] out, draws in
                guard let states = draws.promptStates, let r = draws.textLossRandom else { fatalError("D-SDS needs the prompts' states") }
                let side = (ds.teacherResolution ?? out.image.shape[2]) / f
                let dd = DSDSDraws.draw(r, n: out.image.shape[0], latentShape: [latentChannels, side, side],
                                        trainTimesteps: teacher.scheduler.schedule.trainTimesteps, settings: ds.annealed(nimg: trainer.currentNimg))
                let res = DSDS.evaluate(unet: teacher.unet, vae: teacher.vae, schedule: teacher.scheduler.schedule, image: out.image,
                                        conditional: states, unconditional: empty, draws: dd, settings: ds, fake: fake)
                var report = ["G/dsds": Double(res.loss.item()),
                              "dsds/pred_rms": Double(res.predictedRMS.reduce(0, +)) / Double(res.predictedRMS.count)]
                // The fake score learns the renders it has just scored (their latents, detached), after g is taken.
                if let fake { report["G/fake_score"] = fake.update(latents: res.latents, states: states, random: r) }
                return (res.loss * ds.weight, report)
            }
        }
        if let clipLoss {
            let w = settings.clipWeight
            trainer.generatorTextLoss = { out, draws in
                guard let texts = draws.promptTexts else { fatalError("the CLIP loss needs the prompts' texts") }
                let (l, sim) = clipLoss(images: out.image, prompts: texts)
                return (l * w, ["G/clip": Double(l.item()), "clip/similarity": sim])
            }
        }
        if settings.modeSeekingWeight > 0 {
            // The mode-seeking term beside the text loss (or alone, in stage 1).
            let modeSeeking = ModeSeekingLoss(weight: settings.modeSeekingWeight, space: settings.modeSeekingSpace)
            trainer.pairedCameras = settings.modeSeekingSpace == .images
            let textLoss = trainer.generatorTextLoss
            trainer.generatorTextLoss = { out, draws in
                let m = modeSeeking(out, z: draws.z)
                guard let (l, r) = textLoss?(out, draws) else { return m }
                return (l + m.loss, r.merging(m.report) { $1 })
            }
        }
        let task = GANTrainingTask(trainer: trainer, title: "stage \(settings.stage)")
        task.runInfo = ["stage": settings.stage, "dataset": path, "images": bank.count, "init": initPath, "teacher": teacherPath,
                        "text_loss": settings.textLoss.rawValue, "adapters": settings.adapters, "freeze": settings.freeze,
                        "pool_3d": settings.pool3D, "gated": settings.gated, "d_text": settings.discriminatorText,
                        "mode_seeking": Double(settings.modeSeekingWeight),
                        "mode_seeking_on": settings.modeSeekingSpace.rawValue]
        if let lr = settings.fakeScoreLR { task.runInfo["fake_score_lr"] = lr }
        return task
    }

    /// G, G_ema and D's state from a checkpoint folder (stage 0: EG3D generators; stage 1-2: text-conditioned ones),
    /// a run folder (its newest checkpoint), or G = G_ema from one generator file (D fresh).
    static func loadInit(_ path: String) throws -> (g: any TrainableGenerator, ema: any TrainableGenerator, d: [String: Tensor]?, folder: String?) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw FileError(path: path, message: "no such checkpoint (--init takes a run folder, a checkpoint folder or a generator .safetensors)")
        }
        func generator(_ file: String) throws -> any TrainableGenerator {
            let f = try SafeTensorsFile(path: file)
            return f.metadata["conditioning"] != nil ? try TextConditionedGenerator.load(path: file) : try TriPlaneGenerator.load(path: file)
        }
        guard isDir.boolValue else { return (try generator(path), try generator(path), nil, nil) }
        var folder = path
        if FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("checkpoints")) {
            guard let latest = try RunFolder(path: path).latestCheckpointPath() else {
                throw FileError(path: path, message: "this run folder has no complete checkpoint yet")
            }
            folder = latest
        }
        let file = { (n: String) in (folder as NSString).appendingPathComponent("\(n).safetensors") }
        let d = try SafeTensorsFile(path: file("D"))
        var t: [String: Tensor] = [:]
        for k in d.keys { t[k] = try d.tensor(k) }
        return (try generator(file("G")), try generator(file("G_ema")), t, folder)
    }

    /// World supervision for a text stage: the dataset's depth and masks at the neural rendering resolution, and the
    /// encoder of the `--init` checkpoint when it has one (E.safetensors: a supervised stage-0 or text-stage run),
    /// else a fresh one. An encoder that does not fit the settings (e.g. another pooling) is refused by name.
    static func worldSupervision(_ settings: WorldSupervisionSettings, data path: String, bank: WorldImageBank, zDim: Int,
                                 seed: UInt64, resolution: Int, initFolder: String?, progress: Bool) throws -> WorldSupervision {
        let w = try WorldSupervision.forDataset(path, names: bank.names, settings: settings, zDim: zDim, seed: seed,
                                                resolution: resolution, progress: progress)
        if let folder = initFolder {
            let file = (folder as NSString).appendingPathComponent("E.safetensors")
            if FileManager.default.fileExists(atPath: file) {
                let f = try SafeTensorsFile(path: file)
                var t: [String: Tensor] = [:]
                for k in f.keys { t[k] = try f.tensor(k) }
                do { try w.encoder.load(t, strict: true) } catch {
                    throw FileError(path: file, message: "this encoder does not fit world_supervision (encoder_pooling \(settings.encoderPooling.rawValue)): \(error)")
                }
            }
        }
        return w
    }
}
