// The teacher's text encoder trained with its U-Net (TextEncoderTraining.swift): the end-token gather, the
// auxiliary loss's targets, the learning-rate groups, bit-exact resume of every trained network and EMA, and an
// export whose text encoder is the EMA one.
import Foundation
import PortraitWorld
import Teacher
@testable import TeacherTraining
import TensorCore
import TestSupport
import Training
import XCTest

final class TextEncoderTrainingTests: XCTestCase {
    func testEndStatesAreEachRowsEndToken() {
        // states[n, l, h] = 100n + 10l + h; rows of lengths 3 and 1 end at positions 2 and 0.
        let (n, l, h) = (2, 4, 2)
        var v = [Float](repeating: 0, count: n * l * h)
        for a in 0..<n { for b in 0..<l { for c in 0..<h { v[(a * l + b) * h + c] = Float(100 * a + 10 * b + c) } } }
        let mask = Tensor([1, 1, 1, 0, 1, 0, 0, 0], shape: [2, 4])
        XCTAssertEqual(StatedAttributeHead.endStates(Tensor(v, shape: [n, l, h]), attentionMask: mask).toArray(), [20, 21, 100, 101])
    }

    func testAuxiliaryTargetsReadNegations() {
        let (t, m) = AttributeHeads.stated(["He is not wearing eyeglasses.", "He is wearing eyeglasses.", ""])
        let k = Attribute.allCases.firstIndex(of: .eyeglasses)!, a = Attribute.allCases.count
        XCTAssertEqual(m.toArray()[k], 1); XCTAssertEqual(t.toArray()[k], 0, "a negation is a stated false")
        XCTAssertEqual(m.toArray()[a + k], 1); XCTAssertEqual(t.toArray()[a + k], 1)
        XCTAssertEqual(m.toArray()[(2 * a)...].reduce(0, +), 0, "a dropped caption states nothing")
    }

    func testImpliedAbsentTargetsTellTheHairColoursApart() {
        let captions = ["The woman has blond hair.", "She has long red hair and no beard.", "The man is bald.", "He is smiling."]
        let (t0, m0) = AttributeHeads.stated(captions)
        let (t1, m1) = AttributeHeads.stated(captions, impliedAbsent: true)
        let a = Attribute.allCases.count, idx = { Attribute.allCases.firstIndex(of: $0)! }
        let colours: [Attribute] = [.blackHair, .blondHair, .brownHair, .grayHair, .redHair, .whiteHair]
        // As stated, a hair colour is only ever a true target: nothing tells blond from red.
        XCTAssertEqual(colours.map { m0.toArray()[idx($0)] }, [0, 1, 0, 0, 0, 0])
        // Implied, each caption naming a colour has all six as targets, the named one true, the rest false.
        for (row, named) in [(0, Attribute.blondHair), (1, .redHair)] {
            XCTAssertEqual(colours.map { m1.toArray()[row * a + idx($0)] }, [1, 1, 1, 1, 1, 1], "row \(row)")
            XCTAssertEqual(colours.map { t1.toArray()[row * a + idx($0)] }, colours.map { $0 == named ? 1 : 0 }, "row \(row)")
        }
        // Captions naming no colour, and every other attribute, are as before.
        XCTAssertEqual(Array(t1.toArray()[(2 * a)...]), Array(t0.toArray()[(2 * a)...]))
        XCTAssertEqual(Array(m1.toArray()[(2 * a)...]), Array(m0.toArray()[(2 * a)...]))
        for k in 0..<(2 * a) where !colours.map(idx).contains(k % a) {
            XCTAssertEqual(m1.toArray()[k], m0.toArray()[k]); XCTAssertEqual(t1.toArray()[k], t0.toArray()[k])
        }
        XCTAssertEqual(m1.toArray()[a + idx(.noBeard)], 1); XCTAssertEqual(t1.toArray()[a + idx(.noBeard)], 1)
    }

    func testJointTrainingResumesBitForBitAndExportsTheEMATextEncoder() throws {
        let t = TeacherTrainingTests.self
        var clip = try t.settings("te-clip", steps: 2, batch: 8)
        clip.configFile = try t.writeConfig(t.tinyCLIP(), "clip")
        try TeacherParts.runCLIP(clip, judge: false)
        var vae = try t.settings("te-vae", steps: 1, batch: 4)
        vae.configFile = try t.writeConfig(t.tinyVAE(), "vae")
        try TeacherParts.runVAE(vae)
        var cfg = WorldTeacherSizes.unet(crossAttentionDim: 32)
        cfg.sampleSize = 16; cfg.blockOutChannels = [16, 32]; cfg.normNumGroups = 8
        cfg.downBlockTypes = ["CrossAttnDownBlock2D", "DownBlock2D"]; cfg.upBlockTypes = ["UpBlock2D", "CrossAttnUpBlock2D"]
        cfg.attentionHeadDim = .many([1, 2])
        let unetConfig = try t.writeConfig(cfg, "unet")
        let (straight, a) = try t.assertResumesBitForBit("te", files: ["unet", "unet_ema", "text_encoder", "text_encoder_ema", "text_head", "adam"]) { tag, steps, out in
            var s = try t.settings(tag, steps: steps, batch: 4)
            if let out { s.out = out }
            s.clipRun = clip.out; s.vaeRun = vae.out; s.configFile = unetConfig; s.lr = 1e-3
            s.textTraining = TextEncoderTraining(lrMultiplier: 0.5, attributeWeight: 0.1, impliedAbsent: true)
            try TeacherParts.runUNet(s)
            return s
        }
        // The text encoder moved; the export holds its EMA (not the raw weights, not the initial ones).
        let initial = Dictionary(uniqueKeysWithValues: try CLIPModel(folder: clip.out + "/export").textEncoder(droppingLastLayers: 1).namedParameters())
        let exported = try loadTeacherModels(folder: straight.out + "/export").text.textEncoder.namedParameters()
        XCTAssertEqual(exported.count, initial.count)
        var moved = 0
        for (k, v) in exported {
            XCTAssertEqual(v.toArray(), a.files["text_encoder_ema"]![k]!.toArray(), "export \(k) is the EMA")
            if v.toArray() != initial[k]!.toArray() { moved += 1 }
        }
        XCTAssertGreaterThan(moved, exported.count / 2, "the text encoder trains")
        let log = TrainingLog.read(path: straight.out + "/log.jsonl")
        XCTAssertTrue(log.allSatisfy { ($0.values["loss/text_attributes"] ?? .nan).isFinite && ($0.values["loss/epsilon"] ?? .nan).isFinite })
        XCTAssertNotNil(a.files["adam"]!.keys.first { $0.hasPrefix("text_encoder.") }, "the text encoder's moments are checkpointed")
        // The text encoder and its head step at 0.5 × the U-Net's scheduled rate.
        let models = try loadTeacherModels(folder: straight.out + "/export")
        let bank = try WorldImageBank(dataset: TeacherTrainingTests.world, split: .train, resolution: 32, limit: 8)
        let trainer = try UNetTrainer(config: models.unet.config, text: models.text, vae: models.vae,
                                      posteriors: UNetTrainer.encodeAll(models.vae, bank, progress: false), bank: bank, batch: 4,
                                      steps: 10, seed: 1, optimiser: OptimiserSettings(lr: 1e-3, warmupSteps: 4, weightDecay: 0),
                                      textTraining: TextEncoderTraining(lrMultiplier: 0.5))
        _ = try trainer.step(1)
        XCTAssertEqual(trainer.adam.learningRate(of: "conv_in.weight")!, 5e-4, accuracy: 1e-12, "warm-up step 2 of 4")
        for name in ["text_encoder.text_model.final_layer_norm.weight", "text_head.proj.weight"] {
            XCTAssertEqual(trainer.adam.learningRate(of: name)!, 2.5e-4, accuracy: 1e-12, name)
        }
        // A run begun with implied absences does not resume without them, nor frozen.
        var plain = try t.settings("te-p", steps: 5, batch: 4)
        plain.out = straight.out; plain.clipRun = clip.out; plain.vaeRun = vae.out; plain.configFile = unetConfig
        plain.textTraining = TextEncoderTraining(lrMultiplier: 0.5, attributeWeight: 0.1)
        XCTAssertThrowsError(try TeacherParts.runUNet(plain)) { XCTAssertTrue("\($0)".contains("text_implied_absent"), "\($0)") }
        var frozen = try t.settings("te-c", steps: 5, batch: 4)
        frozen.out = straight.out; frozen.clipRun = clip.out; frozen.vaeRun = vae.out; frozen.configFile = unetConfig
        XCTAssertThrowsError(try TeacherParts.runUNet(frozen)) { XCTAssertTrue("\($0)".contains("text_lr_multiplier"), "\($0)") }
    }
}
