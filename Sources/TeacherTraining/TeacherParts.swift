// `dreamportrait teacher train --part clip|judge|vae|unet`: each part's whole run — data, model, the shared
// training loop (resume, checkpoints, log, plot, Ctrl-C), then the export in the layout the ecosystem reads
// and the part's quality figures on held-out identities (RUN/report.json).
//   clip, judge  RUN/export/   a transformers CLIPModel folder (config, weights, tokenizer, preprocessor)
//   vae          RUN/export/   a diffusers AutoencoderKL folder (scaling_factor measured on the data)
//   unet         RUN/export/   a whole diffusers StableDiffusionPipeline folder (unet, vae, text_encoder,
//                              tokenizer, scheduler) built from the clip and vae exports
//   attributes   RUN/export/attributes.safetensors   the attribute classifier of the evaluation
import Foundation
import Teacher
import TensorCore
import Training

public struct TeacherRunSettings {
    public var data: String
    public var out: String
    public var steps: Int
    public var batch: Int
    public var seed: UInt64
    public var resume = true
    public var configFile: String? = nil
    /// For unet: the clip and vae run folders (their export/).
    public var clipRun: String? = nil, vaeRun: String? = nil
    public var lr: Double? = nil
    /// vae: continue from this trained VAE (a diffusers vae/ folder, or a pipeline folder holding one).
    public var initFolder: String? = nil
    /// vae: with initFolder, train the decoder only (the latent space and its scaling factor stay).
    public var decoderOnly = false
    /// unet: train the text encoder with the U-Net (nil: frozen).
    public var textTraining: TextEncoderTraining? = nil
    /// vae: add the patch-adversarial term (nil: reconstruction and KL only).
    public var adversarial: AdversarialSettings? = nil
    public var checkpointSeconds: Double = 300
    public var limit: Int? = nil
    /// attributes: the classifier's input size (the others take theirs from their model configs).
    public var imageSize = WorldTeacherSizes.imageSize
    public var quiet = false
    public init(data: String, out: String, steps: Int, batch: Int, seed: UInt64) {
        self.data = data; self.out = out; self.steps = steps; self.batch = batch; self.seed = seed
    }
}

public enum TeacherParts {
    /// An interrupted run exports nothing (an export and report.json mark a finished part).
    static let resumeHint = "interrupted: checkpoint saved; run the same command again to resume (nothing exported yet)"

    static func log(_ s: String, _ quiet: Bool) { if !quiet { FileHandle.standardError.write(Data((s + "\n").utf8)) } }

    static func decodeConfig<C: Decodable>(_ type: C.Type, _ path: String?) throws -> C? {
        guard let path else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else { throw FileError(path: path, message: "cannot read the --config file") }
        do { return try JSONDecoder().decode(C.self, from: data) } catch {
            throw FileError(path: path, message: "is not a \(C.self) JSON: \(error)")
        }
    }

    static func loopSettings(_ s: TeacherRunSettings) -> LoopSettings {
        var l = LoopSettings(steps: s.steps)
        l.checkpointSeconds = s.checkpointSeconds
        l.quiet = s.quiet
        l.shown = ["loss/", "psnr", "acc/"]
        return l
    }

    /// The tokenizer learnt from the training split's captions (both styles), saved in RUN/tokenizer (reused
    /// when it is there, so a resumed run keeps its vocabulary).
    static func tokenizer(_ run: RunFolder, _ bank: WorldImageBank) throws -> CLIPTokenizer {
        let dir = run.file("tokenizer")
        if FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("vocab.json")) { return try CLIPTokenizer(folder: dir) }
        let t = try CLIPTokenizer.train(corpus: bank.captions.flatMap { $0 } + bank.captionsOOD.flatMap { $0 }, maxMerges: 4000)
        try t.save(folder: dir)
        return t
    }

    /// clip or judge (`judge` changes only the title, the seed the caller passes, and the folder).
    @discardableResult
    public static func runCLIP(_ s: TeacherRunSettings, judge: Bool) throws -> [CLIPRetrieval.Result] {
        let run = try RunFolder(path: s.out)
        // The judge learns auxiliary attribute heads beside the contrastive loss (CLIPTraining.swift); the teacher's CLIP
        // does not (its run predates them, and its text tower only has to tell words apart for the U-Net).
        let attributeWeight: Float = judge ? 1 : 0
        try run.writeOrCheckConfig(["part": judge ? "judge" : "clip", "data": s.data, "batch": s.batch, "seed": s.seed, "steps": s.steps,
                                    "attribute_weight": Double(attributeWeight)],
                                   mustMatch: ["part", "batch", "seed"] + (judge ? ["attribute_weight"] : []))
        let file = try decodeConfig(CLIPConfig.self, s.configFile)
        let size = file?.visionConfig.imageSize ?? WorldTeacherSizes.imageSize
        log("loading the training split of \(s.data)", s.quiet)
        let bank = try WorldImageBank(dataset: s.data, split: .train, resolution: size, limit: s.limit, progress: !s.quiet)
        let tok = try tokenizer(run, bank)
        var config = file ?? WorldTeacherSizes.clip(vocabularySize: tok.vocabularySize, bos: tok.startTokenID, eos: tok.endTokenID, pad: tok.padTokenID)
        guard config.textConfig.vocabSize >= tok.vocabularySize else {
            throw FileError(path: s.configFile ?? "config", message: "text_config.vocab_size \(config.textConfig.vocabSize) is smaller than the tokenizer's \(tok.vocabularySize) tokens")
        }
        config.textConfig.eosTokenID = tok.endTokenID
        config.textConfig.bosTokenID = tok.startTokenID
        config.textConfig.padTokenID = tok.padTokenID
        let task = CLIPTrainer(title: judge ? "judge" : "teacher clip", config: config, tokenizer: tok, bank: bank, batch: s.batch,
                               steps: s.steps, seed: s.seed, optimiser: OptimiserSettings(lr: s.lr ?? 5e-4, warmupSteps: 200, weightDecay: 0.1),
                               attributeWeight: bank.attributes.count == bank.count ? attributeWeight : 0)
        let outcome = try TrainingLoop.run(task, in: run, settings: loopSettings(s), resume: s.resume)
        if outcome.interrupted { log(resumeHint, s.quiet); return [] }
        let export = run.file("export")
        try task.model.save(folder: export)
        try tok.save(folder: export)
        try task.processor.save(folder: export)
        log("wrote \(export)", s.quiet)
        let test = try WorldImageBank(dataset: s.data, split: .test, resolution: size, limit: 500)
        let results = CLIPRetrieval.evaluate(model: task.model, tokenizer: tok, processor: task.processor, bank: test, group: Swift.min(100, test.count))
        var report: [String: Any] = ["part": judge ? "judge" : "clip", "step": outcome.endStep]
        for r in results {
            report["retrieval_top1_\(r.style)"] = r.top1
            report["retrieval_top1_attribute_oracle_\(r.style)"] = r.attributeOracleTop1
            log(String(format: "held-out caption -> image top-1 among %d (%@): %.1f%% (%d captions; a reader of the 43 attributes: %.1f%%)",
                       Swift.min(100, test.count), r.style, 100 * r.top1, r.queries, 100 * r.attributeOracleTop1), s.quiet)
        }
        try writeJSONAtomically(report, to: run.file("report.json"))
        return results
    }

    /// The VAE; exports with scaling_factor = 1 / std of the training latents (as Stable Diffusion chose 0.18215), or,
    /// decoder-only from --init, the initial VAE's (its latent space is unchanged).
    @discardableResult
    public static func runVAE(_ s: TeacherRunSettings) throws -> Double {
        let run = try RunFolder(path: s.out)
        guard !s.decoderOnly || s.initFolder != nil else {
            throw FileError(path: s.out, message: "--decoder-only fine-tunes a trained VAE: give it with --init DIR")
        }
        guard s.initFolder == nil || s.configFile == nil else {
            throw FileError(path: s.configFile!, message: "--config and --init: a VAE continued with --init keeps its own config")
        }
        let initFolder = s.initFolder.map { f in
            FileManager.default.fileExists(atPath: (f as NSString).appendingPathComponent("vae/config.json")) ? (f as NSString).appendingPathComponent("vae") : f
        }
        var config: [String: Any] = ["part": "vae", "data": s.data, "batch": s.batch, "seed": s.seed, "steps": s.steps,
                                     "init": initFolder ?? "none", "decoder_only": s.decoderOnly]
        if let a = s.adversarial {
            config.merge(["adversarial_weight": Double(a.weight), "adversarial_start": a.start, "adversarial_lr": a.lr ?? 0]) { $1 }
        }
        // The adversarial keys are absent without the term, so a run is resumed only with the settings it began with.
        try run.writeOrCheckConfig(config, mustMatch: ["part", "batch", "seed", "init", "decoder_only",
                                                       "adversarial_weight", "adversarial_start", "adversarial_lr"])
        let initial = try initFolder.map { try AutoencoderKL.load(folder: $0) }
        let modelConfig = try initial?.config ?? decodeConfig(AutoencoderKLConfig.self, s.configFile) ?? WorldTeacherSizes.vae
        log("loading the training split of \(s.data)", s.quiet)
        let bank = try WorldImageBank(dataset: s.data, split: .train, resolution: modelConfig.sampleSize, limit: s.limit, progress: !s.quiet)
        let test = try WorldImageBank(dataset: s.data, split: .test, resolution: modelConfig.sampleSize, limit: 500)
        let task = try VAETrainer(config: modelConfig, initial: initial, decoderOnly: s.decoderOnly, bank: bank, batch: s.batch,
                                  steps: s.steps, seed: s.seed,
                                  optimiser: OptimiserSettings(lr: s.lr ?? (s.decoderOnly ? 1e-4 : 1e-3), warmupSteps: 100, weightDecay: 0),
                                  adversarial: s.adversarial)
        var report: [String: Any] = ["part": "vae", "decoder_only": s.decoderOnly]
        if let a = s.adversarial { report["adversarial_weight"] = Double(a.weight) }
        if let initFolder, run.latestCheckpointPath() == nil {
            let before = task.psnr(test, count: 500)
            log(String(format: "%@: held-out PSNR %.2f dB before training", initFolder, before), s.quiet)
            try writeJSONAtomically(["init": initFolder, "psnr_heldout_db": before], to: run.file("init_report.json"))
        }
        let outcome = try TrainingLoop.run(task, in: run, settings: loopSettings(s), resume: s.resume)
        if outcome.interrupted { log(resumeHint, s.quiet); return .nan }
        // Latent scale from posterior samples of up to 512 training images (decoder-only: the encoder's, unchanged).
        var exportConfig = task.model.config
        if !s.decoderOnly {
            let std: Double = withNoGrad {
                let idx = Array(0..<Swift.min(512, bank.count))
                let p = task.model.encode(bank.images(idx))
                let z = p.sample(noise: RandomGenerator(seed: 99).normal(p.mean.shape)).toArray()
                let m = z.reduce(0.0) { $0 + Double($1) } / Double(z.count)
                return (z.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) } / Double(z.count)).squareRoot()
            }
            exportConfig.scalingFactor = Float(1 / std)
        }
        let exported = try AutoencoderKL(config: exportConfig)
        try exported.load(task.model.stateDict())
        let export = run.file("export")
        try exported.save(folder: export)
        let psnr = task.psnr(test, count: 500)
        log(String(format: "wrote %@ (scaling_factor %.5f); held-out PSNR %.2f dB", export, exportConfig.scalingFactor, psnr), s.quiet)
        report.merge(["step": outcome.endStep, "psnr_heldout_db": psnr, "scaling_factor": Double(exportConfig.scalingFactor)]) { $1 }
        if let data = FileManager.default.contents(atPath: run.file("init_report.json")),
           let before = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["psnr_heldout_db"] {
            report["psnr_heldout_db_before"] = before
        }
        try writeJSONAtomically(report, to: run.file("report.json"))
        return psnr
    }

    /// The run-config keys of the text encoder's training (absent when it is frozen, as in runs that predate it).
    static func textTrainingConfig(_ s: TeacherRunSettings) -> [String: Any] {
        guard let t = s.textTraining else { return [:] }
        var c: [String: Any] = ["text_lr_multiplier": t.lrMultiplier, "text_attribute_weight": Double(t.attributeWeight)]
        if t.impliedAbsent { c["text_implied_absent"] = true }   // absent otherwise, as in the runs that predate it
        return c
    }

    /// The U-Net, conditioned by the clip run's text tower (penultimate layer + final norm) on the vae run's latents;
    /// or, with `initFolder` (a teacher pipeline folder), that pipeline's U-Net trained further with its own text
    /// encoder and VAE (a fresh optimiser and warm-up: a longer schedule for a teacher already shipped), or with
    /// `vaeRun` as well on that run's VAE instead (a VAE fine-tuned from the pipeline's, whose latents moved a little).
    public static func runUNet(_ s: TeacherRunSettings) throws {
        if s.initFolder != nil && s.configFile != nil {
            throw FileError(path: s.configFile!, message: "--config and --init: a U-Net continued with --init keeps its own config")
        }
        let run = try RunFolder(path: s.out)
        let text: CLIPTextEncoding, initial: UNet2DConditionModel?
        var vae: AutoencoderKL
        if let initFolder = s.initFolder {
            var config: [String: Any] = ["part": "unet", "data": s.data, "batch": s.batch, "seed": s.seed, "steps": s.steps, "init": initFolder]
            if let vaeRun = s.vaeRun { config["vae"] = vaeRun }
            config.merge(textTrainingConfig(s)) { $1 }
            try run.writeOrCheckConfig(config, mustMatch: ["part", "batch", "seed", "init", "vae", "text_lr_multiplier", "text_attribute_weight", "text_implied_absent"])
            let models = try loadTeacherModels(folder: initFolder)
            (text, vae, initial) = (models.text, models.vae, models.unet)
            if let vaeRun = s.vaeRun {
                let folder = (vaeRun as NSString).appendingPathComponent("export")
                vae = try AutoencoderKL.load(folder: folder)
                guard vae.config.latentChannels == models.unet.config.inChannels else {
                    throw FileError(path: folder, message: "has \(vae.config.latentChannels) latent channels; the U-Net of \(initFolder) takes \(models.unet.config.inChannels)")
                }
            }
        } else {
            guard let clipRun = s.clipRun, let vaeRun = s.vaeRun else {
                throw FileError(path: s.out, message: "the unet part needs --clip RUN and --vae RUN (finished clip and vae runs), or --init PIPELINE")
            }
            var config: [String: Any] = ["part": "unet", "data": s.data, "batch": s.batch, "seed": s.seed, "steps": s.steps,
                                         "clip": clipRun, "vae": vaeRun]
            config.merge(textTrainingConfig(s)) { $1 }
            try run.writeOrCheckConfig(config, mustMatch: ["part", "batch", "seed", "clip", "vae", "text_lr_multiplier", "text_attribute_weight", "text_implied_absent"])
            let vaeFolder = (vaeRun as NSString).appendingPathComponent("export")
            let pipelineText = (clipRun as NSString).appendingPathComponent("text_encoder/config.json")
            if FileManager.default.fileExists(atPath: pipelineText) {
                // A teacher pipeline folder: its text encoder as it stands (already the penultimate layer + final
                // norm), so a U-Net can be trained on a new VAE with the shipped teacher's text conditioning.
                text = try CLIPTextEncoding(tokenizerFolder: (clipRun as NSString).appendingPathComponent("tokenizer"),
                                            textEncoderFolder: (clipRun as NSString).appendingPathComponent("text_encoder"))
            } else {
                let clipFolder = (clipRun as NSString).appendingPathComponent("export")
                let clip = try CLIPModel(folder: clipFolder)
                text = CLIPTextEncoding(tokenizer: try CLIPTokenizer(folder: clipFolder), textEncoder: try clip.textEncoder(droppingLastLayers: 1))
            }
            vae = try AutoencoderKL.load(folder: vaeFolder)
            initial = nil
        }
        let tok = text.tokenizer
        for p in text.textEncoder.parameters() { p.requiresGrad = false }
        for p in vae.parameters() { p.requiresGrad = false }
        log("loading the training split of \(s.data)", s.quiet)
        let bank = try WorldImageBank(dataset: s.data, split: .train, resolution: vae.config.sampleSize, limit: s.limit, progress: !s.quiet)
        let cache = run.file("latents.safetensors")
        let posteriors: Tensor
        if let f = try? SafeTensorsFile(path: cache), let t = try? f.tensor("posteriors"), t.shape[0] == bank.count {
            posteriors = Tensor(t.toArray(), shape: t.shape)
        } else {
            log("encoding \(bank.count) training images with the VAE (once; cached in \(cache))", s.quiet)
            posteriors = UNetTrainer.encodeAll(vae, bank, progress: !s.quiet)
            try saveSafeTensors(["posteriors": posteriors], to: cache)
        }
        let config = try initial?.config ?? decodeConfig(UNet2DConditionConfig.self, s.configFile) ?? WorldTeacherSizes.unet(crossAttentionDim: text.hiddenSize, latentChannels: vae.config.latentChannels)
        let task = try UNetTrainer(config: config, text: text, vae: vae, posteriors: posteriors, bank: bank, batch: s.batch, steps: s.steps,
                                   seed: s.seed, optimiser: OptimiserSettings(lr: s.lr ?? (initial == nil ? 3e-4 : 1e-4), warmupSteps: 200, weightDecay: 0.01),
                                   textTraining: s.textTraining)
        if let initial {
            try task.unet.load(initial.stateDict()); try task.ema.load(initial.stateDict())
        }
        var loop = loopSettings(s)
        loop.sampleSteps = Swift.max(s.steps / 10, 1)
        if try TrainingLoop.run(task, in: run, settings: loop, resume: s.resume).interrupted { log(resumeHint, s.quiet); return }
        var writer = try PipelineWriter(path: run.file("export"))
        try writer.write(scheduler: .stableDiffusion2)
        try writer.write(vae: vae)
        try writer.write(unet: task.ema)
        try writer.write(textEncoder: task.emaText.textEncoder)
        try writer.write(tokenizer: tok)
        log("wrote the teacher pipeline \(run.file("export"))", s.quiet)
    }

    /// The attribute classifier; reports the accuracy of each attribute on held-out images.
    @discardableResult
    public static func runAttributes(_ s: TeacherRunSettings) throws -> [String: Double] {
        let run = try RunFolder(path: s.out)
        try run.writeOrCheckConfig(["part": "attributes", "data": s.data, "batch": s.batch, "seed": s.seed, "steps": s.steps],
                                   mustMatch: ["part", "batch", "seed"])
        log("loading the training split of \(s.data)", s.quiet)
        let bank = try WorldImageBank(dataset: s.data, split: .train, resolution: s.imageSize, limit: s.limit, progress: !s.quiet)
        guard !bank.attributes.isEmpty else { throw FileError(path: "\(s.data)/attributes.json", message: "missing: the classifier learns the world's attributes") }
        let task = AttributeTrainer(bank: bank, batch: s.batch, steps: s.steps, seed: s.seed,
                                    optimiser: OptimiserSettings(lr: s.lr ?? 2e-3, warmupSteps: 100, weightDecay: 1e-4))
        let outcome = try TrainingLoop.run(task, in: run, settings: loopSettings(s), resume: s.resume)
        if outcome.interrupted { log(resumeHint, s.quiet); return [:] }
        try FileManager.default.createDirectory(atPath: run.file("export"), withIntermediateDirectories: true)
        try task.model.save(run.file("export/attributes.safetensors"))
        let test = try WorldImageBank(dataset: s.data, split: .test, resolution: s.imageSize, limit: 1000)
        let acc = AttributeTrainer.accuracy(task.model, on: test)
        var perAttribute: [String: Double] = [:]
        for (n, a) in zip(AttributeClassifier.names, acc) { perAttribute[n] = a }
        let mean = acc.reduce(0, +) / Double(acc.count)
        log(String(format: "wrote %@; held-out accuracy %.2f%% averaged over %d attributes (worst %@ %.1f%%)", run.file("export/attributes.safetensors"),
                   100 * mean, acc.count, perAttribute.min { $0.value < $1.value }!.key, 100 * acc.min()!), s.quiet)
        try writeJSONAtomically(["part": "attributes", "step": outcome.endStep, "heldout_images": test.count, "mean_accuracy": mean,
                                 "accuracy": perAttribute], to: run.file("report.json"))
        return perAttribute
    }
}
