// Teacher training end to end on a tiny world (24 images at 32²) with tiny models: the learnt tokenizer, the
// CLIP export (transformers layout) read back to the same embeddings, the VAE resumed bit for bit, and the
// U-Net's pipeline export loadable by `loadPipeline` and sampling finite images.
import Foundation
import Metrics
import PortraitWorld
import Teacher
import TeacherTraining
import TensorCore
import TestSupport
import Training
import XCTest

final class TeacherTrainingTests: XCTestCase {
    static let world: String = {
        let dir = temporaryPath("tiny-world")
        let s = SynthSettings(count: 24, resolution: 32, seed: 11)
        _ = try! Synthesizer(settings: s, directory: dir).run()
        return dir
    }()

    static func writeConfig<C: Encodable>(_ c: C, _ name: String) throws -> String {
        let path = try temporaryFolder("cfg") + "/\(name).json"
        try JSONEncoder().encode(c).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func tinyCLIP() -> CLIPConfig {
        var c = WorldTeacherSizes.clip(vocabularySize: 4700, bos: 0, eos: 0, pad: 0)
        c.textConfig.hiddenSize = 32; c.textConfig.intermediateSize = 64; c.textConfig.numHiddenLayers = 2; c.textConfig.numAttentionHeads = 2
        c.visionConfig.hiddenSize = 32; c.visionConfig.intermediateSize = 64; c.visionConfig.numHiddenLayers = 2
        c.visionConfig.numAttentionHeads = 2; c.visionConfig.imageSize = 32; c.visionConfig.patchSize = 8
        c.projectionDim = 16; c.textConfig.projectionDim = 16; c.visionConfig.projectionDim = 16
        return c
    }

    static func tinyVAE() -> AutoencoderKLConfig {
        var c = WorldTeacherSizes.vae
        c.downBlockTypes = ["DownEncoderBlock2D", "DownEncoderBlock2D"]; c.upBlockTypes = ["UpDecoderBlock2D", "UpDecoderBlock2D"]
        c.blockOutChannels = [8, 16]; c.normNumGroups = 4; c.sampleSize = 32
        return c
    }

    /// Runs `run` to 4 steps straight (folder `tag`-a) and to 2, then resumed to 4 (`tag`-b), and asserts that the two
    /// newest checkpoints hold the same `files`, key for key and bit for bit. Returns the straight run and its checkpoint.
    static func assertResumesBitForBit(_ tag: String, files: [String],
                                       _ run: (_ tag: String, _ steps: Int, _ out: String?) throws -> TeacherRunSettings)
        throws -> (settings: TeacherRunSettings, checkpoint: Checkpoint) {
        let straight = try run(tag + "-a", 4, nil)
        let split = try run(tag + "-b", 2, nil)
        _ = try run(tag + "-b", 4, split.out)
        let a = try RunFolder.loadCheckpoint(folder: try XCTUnwrap(RunFolder(path: straight.out).latestCheckpointPath()))
        let b = try RunFolder.loadCheckpoint(folder: try XCTUnwrap(RunFolder(path: split.out).latestCheckpointPath()))
        XCTAssertEqual(a.step, 4); XCTAssertEqual(b.step, 4)
        for file in files {
            let fa = try XCTUnwrap(a.files[file], file), fb = try XCTUnwrap(b.files[file], file)
            XCTAssertEqual(Set(fa.keys), Set(fb.keys), file)
            for (k, v) in fa { XCTAssertEqual(v.toArray(), fb[k]!.toArray(), "\(file) \(k) after 2 + resume + 2") }
        }
        return (straight, a)
    }

    static func settings(_ tag: String, steps: Int, batch: Int) throws -> TeacherRunSettings {
        var s = TeacherRunSettings(data: TeacherTrainingTests.world, out: try temporaryFolder(tag), steps: steps, batch: batch, seed: 3)
        s.quiet = true
        return s
    }

    func testTokenizerLearntFromCaptions() throws {
        let corpus = ["The woman has long blond hair.", "The man has short grey hair and a beard.", "She is smiling."]
        let t = try CLIPTokenizer.train(corpus: Array(repeating: corpus, count: 3).flatMap { $0 }, maxMerges: 500)
        // Every word of the corpus is one token (enough merges), ids follow CLIP's layout.
        for word in ["woman", "blond", "hair", "beard", "smiling"] { XCTAssertEqual(t.tokenize(word).count, 1, word) }
        XCTAssertEqual(t.tokenize("The woman has long blond hair.").count, 7)
        XCTAssertEqual(t.endTokenID, t.vocabularySize - 1)
        XCTAssertEqual(t.startTokenID, t.vocabularySize - 2)
        XCTAssertEqual(t.padTokenID, 0, "\"!\" pads, as Stable Diffusion 2's tokenizer")
        // Words it never saw still encode (byte fallback), and the saved folder reads back to the same ids.
        let unseen = "Zyxt wears a fedora 🎩"
        XCTAssertFalse(t.tokenize(unseen).isEmpty)
        let dir = try temporaryFolder("bpe")
        try t.save(folder: dir)
        let back = try CLIPTokenizer(folder: dir)
        XCTAssertEqual(back.encode(unseen), t.encode(unseen))
        XCTAssertEqual(back.encode(corpus[1]), t.encode(corpus[1]))
    }

    func testCLIPTrainsAndExportsToATransformersFolder() throws {
        var s = try Self.settings("clip", steps: 6, batch: 8)
        s.configFile = try Self.writeConfig(Self.tinyCLIP(), "clip")
        let results = try TeacherParts.runCLIP(s, judge: false)
        XCTAssertEqual(results.map(\.style), ["celebatext", "ood"])
        let heldOut = try WorldImageBank(dataset: s.data, split: .test, resolution: 32).count
        XCTAssertGreaterThan(heldOut, 0)
        for r in results { XCTAssertEqual(r.queries, heldOut); XCTAssertTrue((0...1).contains(r.top1)) }
        let export = s.out + "/export"
        for f in ["config.json", "model.safetensors", "vocab.json", "merges.txt", "tokenizer_config.json", "preprocessor_config.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: export + "/" + f), f)
        }
        let loss = TrainingLog.read(path: s.out + "/log.jsonl").compactMap { $0.values["loss/clip"] }
        XCTAssertEqual(loss.count, 6)
        XCTAssertTrue(loss.allSatisfy { $0.isFinite && $0 > 0 })
        // The folder reads back (model, tokenizer, processor) and embeds as the trained model does.
        let model = try CLIPModel(folder: export), tok = try CLIPTokenizer(folder: export), proc = try CLIPImageProcessor(folder: export)
        XCTAssertEqual(proc.cropHeight, 32)
        let trained = try RunFolder.loadCheckpoint(folder: try XCTUnwrap(RunFolder(path: s.out).latestCheckpointPath()))
        let reference = CLIPModel(tinyCLIPWith(vocab: model.config.textConfig.vocabSize, tok))
        try reference.load(trained.files["model"]!)
        let ids = tok.encode(batch: ["The woman has red hair."]).ids
        assertClose(model.textEmbeddings(ids: ids), reference.textEmbeddings(ids: ids), tol: 1e-6, "text embedding after export")
        // The diffusion text encoder: the penultimate layer after the final norm.
        let te = try model.textEncoder(droppingLastLayers: 1)
        XCTAssertEqual(te.config.numHiddenLayers, 1)
        let full = model.text_model
        assertClose(te(ids: ids).lastHiddenState, full.final_layer_norm(full.hiddenStates(ids: ids, at: -2)), tol: 1e-6, "penultimate states")
    }

    /// The judge: contrastive loss plus the auxiliary attribute heads (image: ground truth; text: what the caption
    /// states), checkpointed with the run and left out of the export, which stays a plain CLIPModel folder.
    func testJudgeLearnsAttributeHeadsAndExportsAPlainCLIP() throws {
        var s = try Self.settings("judge", steps: 4, batch: 8)
        s.configFile = try Self.writeConfig(Self.tinyCLIP(), "judge")
        try TeacherParts.runCLIP(s, judge: true)
        let log = TrainingLog.read(path: s.out + "/log.jsonl")
        let image = log.compactMap { $0.values["loss/attributes_image"] }, text = log.compactMap { $0.values["loss/attributes_text"] }
        XCTAssertEqual(image.count, 4)
        XCTAssertEqual(text.count, 4)
        // BCE of 43 logits starts near ln 2 and stays finite.
        XCTAssertTrue(image.allSatisfy { $0.isFinite && $0 > 0.1 && $0 < 2 }, "\(image)")
        XCTAssertTrue(text.allSatisfy { $0.isFinite && $0 >= 0 && $0 < 2 }, "\(text)")
        let last = try RunFolder.loadCheckpoint(folder: try XCTUnwrap(RunFolder(path: s.out).latestCheckpointPath()))
        XCTAssertEqual(last.files["attribute_heads"]?["image.weight"]?.shape, [43, Self.tinyCLIP().projectionDim])
        let model = try CLIPModel(folder: s.out + "/export")
        XCTAssertFalse(model.namedParameters().contains { $0.0.contains("attribute") })
        // Captions' stated attributes become masked targets.
        let (t, m) = AttributeHeads.stated(["The man is smiling. He has no beard.", "A photo."])
        XCTAssertEqual(m.sum().item(), Float(PromptAttributes.parse("The man is smiling. He has no beard.").count))
        XCTAssertEqual(t.slice(axis: 0, start: 1, end: 2).sum().item(), 0)
    }

    func tinyCLIPWith(vocab: Int, _ tok: CLIPTokenizer) -> CLIPConfig {
        var c = Self.tinyCLIP()
        c.textConfig.vocabSize = vocab
        c.textConfig.eosTokenID = tok.endTokenID; c.textConfig.bosTokenID = tok.startTokenID; c.textConfig.padTokenID = tok.padTokenID
        return c
    }

    func testVAEDecoderOnlyFineTuneKeepsTheLatentSpace() throws {
        var base = try Self.settings("vae-base", steps: 2, batch: 4)
        base.configFile = try Self.writeConfig(Self.tinyVAE(), "vae")
        try TeacherParts.runVAE(base)
        let initial = try AutoencoderKL.load(folder: base.out + "/export")
        var ft = try Self.settings("vae-ft", steps: 3, batch: 4)
        ft.initFolder = base.out + "/export"
        ft.decoderOnly = true
        ft.lr = 1e-2
        try TeacherParts.runVAE(ft)
        let tuned = try AutoencoderKL.load(folder: ft.out + "/export")
        XCTAssertEqual(tuned.config.scalingFactor, initial.config.scalingFactor, "the latent space's scale is kept")
        let before = Dictionary(uniqueKeysWithValues: initial.namedParameters()), after = tuned.namedParameters()
        var changedDecoder = 0
        for (name, p) in after {
            let same = p.toArray() == before[name]!.toArray()
            if name.hasPrefix("decoder.") || name.hasPrefix("post_quant_conv.") { changedDecoder += same ? 0 : 1 }
            else { XCTAssertTrue(same, "\(name) is frozen in a decoder-only fine-tune") }
        }
        XCTAssertGreaterThan(changedDecoder, 10, "the decoder trains")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: ft.out + "/report.json"))) as! [String: Any]
        XCTAssertNotNil(report["psnr_heldout_db_before"] as? Double)
        XCTAssertEqual(report["decoder_only"] as? Bool, true)
        // --decoder-only needs a VAE to start from.
        var bad = try Self.settings("vae-bad", steps: 1, batch: 4)
        bad.decoderOnly = true
        XCTAssertThrowsError(try TeacherParts.runVAE(bad)) { XCTAssertTrue("\($0)".contains("--init"), "\($0)") }
    }

    func testVAEResumesBitForBitAndTheWholeTeacherExports() throws {
        let vaeConfig = try Self.writeConfig(Self.tinyVAE(), "vae")
        let (straight, _) = try Self.assertResumesBitForBit("vae", files: ["model", "adam"]) { tag, steps, out in
            var s = try Self.settings(tag, steps: steps, batch: 4)
            if let out { s.out = out }
            s.configFile = vaeConfig
            try TeacherParts.runVAE(s)
            return s
        }

        // U-Net on top of a clip run and this VAE; the exported pipeline loads and samples.
        var clip = try Self.settings("clip-for-unet", steps: 2, batch: 8)
        clip.configFile = try Self.writeConfig(Self.tinyCLIP(), "clip")
        try TeacherParts.runCLIP(clip, judge: false)
        var unet = try Self.settings("unet", steps: 3, batch: 4)
        unet.clipRun = clip.out; unet.vaeRun = straight.out
        var cfg = WorldTeacherSizes.unet(crossAttentionDim: 32)
        cfg.sampleSize = 16; cfg.blockOutChannels = [16, 32]; cfg.normNumGroups = 8
        cfg.downBlockTypes = ["CrossAttnDownBlock2D", "DownBlock2D"]; cfg.upBlockTypes = ["UpBlock2D", "CrossAttnUpBlock2D"]
        cfg.attentionHeadDim = .many([1, 2])
        unet.configFile = try Self.writeConfig(cfg, "unet")
        try TeacherParts.runUNet(unet)
        let pipe = try loadPipeline(folder: unet.out + "/export")
        let img = try pipe(prompts: ["A smiling woman."], height: 32, width: 32, steps: 2, guidanceScale: 7.5, seed: 1)
        XCTAssertEqual(img.shape, [1, 3, 32, 32])
        XCTAssertTrue(img.toArray().allSatisfy { $0.isFinite })
        XCTAssertTrue(FileManager.default.fileExists(atPath: unet.out + "/samples/step-000000003.png"))

        // --init PIPELINE: that U-Net trained further with the pipeline's own text encoder and VAE. At lr 0 the
        // continued export is the initial U-Net exactly (its weights were the starting point); at a real lr it moves.
        let initialUNet = try loadTeacherModels(folder: unet.out + "/export").unet.namedParameters()
        for (tag, lr) in [("unet-init-0", 0.0), ("unet-init", 1e-3)] {
            var more = try Self.settings(tag, steps: 2, batch: 4)
            more.initFolder = unet.out + "/export"; more.lr = lr
            try TeacherParts.runUNet(more)
            let continued = Dictionary(uniqueKeysWithValues: try loadTeacherModels(folder: more.out + "/export").unet.namedParameters())
            let moved = initialUNet.filter { continued[$0.0]!.toArray() != $0.1.toArray() }.count
            if lr == 0 { XCTAssertEqual(moved, 0, "lr 0 keeps the --init U-Net") } else { XCTAssertGreaterThan(moved, 10, "the continued U-Net trains") }
        }
        // --clip PIPELINE: a U-Net on a vae run, conditioned by a teacher pipeline's text encoder exactly as it stands.
        var onPipeline = try Self.settings("unet-pipeline-text", steps: 1, batch: 4)
        onPipeline.clipRun = unet.out + "/export"; onPipeline.vaeRun = straight.out; onPipeline.configFile = unet.configFile
        try TeacherParts.runUNet(onPipeline)
        let sourceText = try loadTeacherModels(folder: unet.out + "/export").text.textEncoder.namedParameters()
        let keptText = Dictionary(uniqueKeysWithValues: try loadTeacherModels(folder: onPipeline.out + "/export").text.textEncoder.namedParameters())
        XCTAssertEqual(keptText.count, sourceText.count)
        for (k, t) in sourceText { XCTAssertEqual(keptText[k]?.toArray(), t.toArray(), "text encoder \(k)") }
        var both = try Self.settings("unet-init-bad", steps: 1, batch: 4)
        both.initFolder = unet.out + "/export"; both.configFile = unet.configFile
        XCTAssertThrowsError(try TeacherParts.runUNet(both)) { XCTAssertTrue("\($0)".contains("--init"), "\($0)") }
        // --init PIPELINE --vae RUN: the pipeline's U-Net (kept exactly at lr 0) and text encoder on another VAE, which
        // the export carries; a VAE whose latent channels the U-Net does not take is refused by its folder.
        var otherVAE = try Self.settings("vae-other", steps: 1, batch: 4)
        otherVAE.configFile = straight.configFile; otherVAE.seed = 9
        try TeacherParts.runVAE(otherVAE)
        var onOther = try Self.settings("unet-init-other-vae", steps: 1, batch: 4)
        onOther.initFolder = unet.out + "/export"; onOther.vaeRun = otherVAE.out; onOther.lr = 0
        try TeacherParts.runUNet(onOther)
        let exported = try loadTeacherModels(folder: onOther.out + "/export")
        let otherWeights = Dictionary(uniqueKeysWithValues: try AutoencoderKL.load(folder: otherVAE.out + "/export").namedParameters())
        for (k, t) in exported.vae.namedParameters() { XCTAssertEqual(t.toArray(), otherWeights[k]?.toArray(), "vae \(k) is the --vae run's") }
        let kept = Dictionary(uniqueKeysWithValues: exported.unet.namedParameters())
        for (k, t) in initialUNet { XCTAssertEqual(kept[k]?.toArray(), t.toArray(), "unet \(k) at lr 0") }
        var wide = Self.tinyVAE(); wide.latentChannels = 8
        var wideVAE = try Self.settings("vae-wide", steps: 1, batch: 4)
        wideVAE.configFile = try Self.writeConfig(wide, "vae-wide")
        try TeacherParts.runVAE(wideVAE)
        var onWide = try Self.settings("unet-init-wide-vae", steps: 1, batch: 4)
        onWide.initFolder = unet.out + "/export"; onWide.vaeRun = wideVAE.out
        XCTAssertThrowsError(try TeacherParts.runUNet(onWide)) { XCTAssertTrue("\($0)".contains("vae-wide") && "\($0)".contains("8 latent channels"), "\($0)") }

        // The evaluation runs on these tiny parts (the figures mean nothing here; their ranges and counts do).
        var attr = try Self.settings("attr-for-eval", steps: 2, batch: 4)
        attr.imageSize = 32
        try TeacherParts.runAttributes(attr)
        var e = TeacherEvaluationSettings(teacher: unet.out + "/export", judge: clip.out + "/export",
                                          attributes: attr.out + "/export/attributes.safetensors", data: TeacherTrainingTests.world)
        e.count = 6; e.steps = 2; e.distractors = 2; e.quiet = true
        let r = try TeacherEvaluation.run(e)
        XCTAssertGreaterThan(r.samples, 2)
        XCTAssertEqual(r.candidates, 3)
        for v in [r.rPrecision, r.attributeAgreement, r.realAttributeAgreement, r.realRPrecision] { XCTAssertTrue((0...1).contains(v)) }
        for v in [r.rPrecision, r.realRPrecision] { XCTAssertEqual(v * Double(r.samples), (v * Double(r.samples)).rounded(), accuracy: 1e-9, "k of \(r.samples)") }
        XCTAssertTrue((0...1).contains(r.roundTripRPrecision))
        XCTAssertGreaterThan(r.roundTripAttributes.stated, 0)
        // --vae with the pipeline's own VAE folder reads the same round trip; another VAE reads its own.
        e.roundTripVAE = unet.out + "/export/vae"
        let same = try TeacherEvaluation.run(e)
        XCTAssertEqual(same.roundTripRPrecision, r.roundTripRPrecision)
        XCTAssertEqual(same.roundTripAttributes.percent, r.roundTripAttributes.percent)
        XCTAssertEqual(same.rPrecision, r.rPrecision, "the samples do not depend on --vae")
        e.roundTripVAE = straight.out + "/missing"
        XCTAssertThrowsError(try TeacherEvaluation.run(e)) { XCTAssertTrue("\($0)".contains("missing"), "\($0)") }
    }

    /// The retrieval ceiling of a reader of the 43 attributes: 1/k where k images of the group fit the caption.
    func testAttributeOracleCountsTheImagesThatFitACaption() {
        func row(_ on: [Attribute]) -> [Float] { Attribute.allCases.map { on.contains($0) ? 1 : 0 } }
        let captions = ["A smiling man.", "A woman with glasses."]
        XCTAssertEqual(CLIPRetrieval.attributeOracle(captions: captions, attributes: [row([.male, .smiling]), row([.eyeglasses])], group: 2), 1)
        // Both images are smiling men: caption 0 fits both (1/2), caption 1 fits neither, not even its own (0).
        let both = [row([.male, .smiling]), row([.male, .smiling, .eyeglasses])]
        XCTAssertEqual(CLIPRetrieval.attributeOracle(captions: captions, attributes: both, group: 2), 0.25)
        // In groups of one every caption whose image fits is found.
        XCTAssertEqual(CLIPRetrieval.attributeOracle(captions: captions, attributes: both, group: 1), 0.5)
    }

    func testRankCountsTiesAgainstTheTrueCaption() {
        XCTAssertEqual(TeacherEvaluation.rank(own: 0.5, others: [0.1, 0.2]), 1)
        XCTAssertEqual(TeacherEvaluation.rank(own: 0.5, others: [0.5, 0.2]), 2)
        let agree = AttributeAccuracy.count(prompts: ["A smiling man."], probabilities: (0..<43).map { k in
            k == Attribute.allCases.firstIndex(of: .smiling)! ? 0.9 : 0.1 })
        XCTAssertEqual(agree.stated, 2) // smiling, male
        XCTAssertEqual(agree.agree, 1)  // smiling shown; male read as absent
        XCTAssertEqual(agree.perAttribute[.male]?.agree, 0)
        XCTAssertEqual(agree.perAttribute[.smiling]?.agree, 1)
    }
}

final class AttributeClassifierTests: XCTestCase {
    func testClassifierTrainsSavesAndReloads() throws {
        var s = TeacherRunSettings(data: TeacherTrainingTests.world, out: try temporaryFolder("attr"), steps: 30, batch: 8, seed: 2)
        s.quiet = true
        s.imageSize = 32
        let acc = try TeacherParts.runAttributes(s)
        XCTAssertEqual(acc.count, 43)
        XCTAssertTrue(acc.values.allSatisfy { (0...1).contains($0) })
        let losses = TrainingLog.read(path: s.out + "/log.jsonl").compactMap { $0.values["loss/attributes"] }
        XCTAssertEqual(losses.count, 30)
        XCTAssertLessThan(losses.suffix(5).reduce(0, +), losses.prefix(5).reduce(0, +), "the loss falls over 30 steps")
        let m = try AttributeClassifier.load(s.out + "/export/attributes.safetensors")
        let img = try WorldImageBank(dataset: s.data, split: .train, resolution: 32, limit: 2).images([0, 1])
        XCTAssertEqual(m.probabilities(img).shape, [2, 43])
        // A file that is not a classifier is named.
        XCTAssertThrowsError(try AttributeClassifier.load(s.out + "/checkpoints/000000030/adam.safetensors")) { e in
            XCTAssertTrue("\(e)".contains("adam.safetensors"), "\(e)")
        }
    }
}

final class InterruptedPartTests: XCTestCase {
    /// Ctrl-C stops a part with a checkpoint and no export (an export and report.json mean "finished").
    func testInterruptedPartCheckpointsAndExportsNothing() throws {
        var s = TeacherRunSettings(data: TeacherTrainingTests.world, out: try temporaryFolder("attr-int"), steps: 50, batch: 4, seed: 2)
        s.quiet = true; s.imageSize = 32
        Interrupt.request(true)
        defer { Interrupt.request(false) }
        let acc = try TeacherParts.runAttributes(s)
        XCTAssertTrue(acc.isEmpty)
        XCTAssertFalse(FileManager.default.fileExists(atPath: s.out + "/report.json"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: s.out + "/export/attributes.safetensors"))
        XCTAssertEqual(try RunFolder(path: s.out).loadLatest()?.step, 0, "a checkpoint at the step reached")
        Interrupt.request(false)
        XCTAssertEqual(try TeacherParts.runAttributes(s).count, 43, "the same command resumes and finishes")
    }
}
