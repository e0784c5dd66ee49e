// The VAE's patch-adversarial term (PatchDiscriminator.swift): the discriminator's layout and keys (taming's
// NLayerDiscriminator), the hinge losses and the adaptive weight against hand-computed values, and a decoder-only
// fine-tune with the term that keeps the encoder, trains D, and resumes bit for bit (D and its Adam included).
import Foundation
import Teacher
import TeacherTraining
import TensorCore
import TestSupport
import Training
import XCTest

final class VAEAdversarialTests: XCTestCase {
    func testPatchDiscriminatorLayoutAndKeys() {
        let d = PatchDiscriminator(rng: RandomGenerator(seed: 1))
        let keys = Set(d.namedParameters().map(\.0))
        XCTAssertEqual(keys, ["main.0.weight", "main.0.bias", "main.2.weight", "main.3.weight", "main.3.bias",
                              "main.5.weight", "main.6.weight", "main.6.bias", "main.8.weight", "main.8.bias"])
        // 64² -> 32² -> 16² (stride 2) -> 15² -> 14² (4×4, stride 1, padding 1).
        XCTAssertEqual(d(Tensor.zeros([2, 3, 64, 64])).shape, [2, 1, 14, 14])
        XCTAssertEqual(d(Tensor.zeros([1, 3, 32, 32])).shape, [1, 1, 6, 6])
    }

    func testHingeLossesAndAdaptiveWeight() {
        // ½(mean relu(1 − [2, 0.5]) + mean relu(1 + [−2, 0.25])) = ½(0.25 + 0.625).
        let dLoss = AdversarialTerm.discriminatorLoss(real: Tensor([2, 0.5], shape: [2]), fake: Tensor([-2, 0.25], shape: [2]))
        XCTAssertEqual(dLoss.item(), 0.4375, accuracy: 1e-7)
        XCTAssertEqual(AdversarialTerm.generatorLoss(Tensor([1, 3], shape: [2])).item(), -2, accuracy: 1e-7)
        // rec = ½Σr² has gradient r (norm 5); adv = Σ c·r has gradient c (norm 2): λ = w · 5 / (2 + 1e-4).
        let r = Tensor([3, 4], shape: [2]); r.requiresGrad = true
        let c = Tensor([0, 2], shape: [2])
        let lambda = AdversarialTerm.lambda(recon: r, reconstructionLoss: (r * r).sum() * 0.5, adversarialLoss: (r * c).sum(), weight: 0.5)
        XCTAssertEqual(lambda, 0.5 * 5 / 2.0001, accuracy: 1e-6)
        // A vanishing adversarial gradient clamps the ratio at 1e4.
        let flat = AdversarialTerm.lambda(recon: r, reconstructionLoss: (r * r).sum() * 0.5, adversarialLoss: (r * Tensor.zeros([2])).sum(), weight: 1)
        XCTAssertEqual(flat, 1e4, accuracy: 1e-3)
    }

    func testDecoderOnlyFineTuneWithTheTermResumesBitForBit() throws {
        let t = TeacherTrainingTests.self
        var base = try t.settings("adv-base", steps: 2, batch: 4)
        base.configFile = try t.writeConfig(t.tinyVAE(), "vae")
        try TeacherParts.runVAE(base)
        let (straight, a) = try t.assertResumesBitForBit("adv", files: ["model", "adam", "discriminator", "discriminator_adam"]) { tag, steps, out in
            var s = try t.settings(tag, steps: steps, batch: 4)
            if let out { s.out = out }
            s.initFolder = base.out + "/export"; s.decoderOnly = true; s.lr = 1e-3
            s.adversarial = AdversarialSettings(weight: 0.5, start: 1)
            try TeacherParts.runVAE(s)
            return s
        }
        // The term reaches the decoder from step `start` on, with a positive finite λ; D trains from step 0.
        let log = TrainingLog.read(path: straight.out + "/log.jsonl")
        XCTAssertEqual(log.count, 4)
        XCTAssertNil(log[0].values["adv/lambda"])
        for e in log.dropFirst() { XCTAssertGreaterThan(try XCTUnwrap(e.values["adv/lambda"]), 0) }
        XCTAssertTrue(log.allSatisfy { ($0.values["loss/d"] ?? .nan).isFinite })
        let initialD = PatchDiscriminator(rng: RandomGenerator(seed: 3 &+ 0xD15C)).stateDict()
        XCTAssertTrue(a.files["discriminator"]!.contains { initialD[$0.key]!.toArray() != $0.value.toArray() }, "D trains")
        // The encoder is frozen; the decoder moves.
        let initial = Dictionary(uniqueKeysWithValues: try AutoencoderKL.load(folder: base.out + "/export").namedParameters())
        for (k, v) in try AutoencoderKL.load(folder: straight.out + "/export").namedParameters() where k.hasPrefix("encoder.") {
            XCTAssertEqual(v.toArray(), initial[k]!.toArray(), "\(k) is frozen")
        }
        // A run begun with the term does not resume without it (or with another weight).
        var plain = try t.settings("adv-c", steps: 5, batch: 4)
        plain.out = straight.out; plain.initFolder = base.out + "/export"; plain.decoderOnly = true; plain.lr = 1e-3
        XCTAssertThrowsError(try TeacherParts.runVAE(plain)) { XCTAssertTrue("\($0)".contains("adversarial_weight"), "\($0)") }
    }
}
