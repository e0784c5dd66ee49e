// `dreamportrait teacher eval`: the trained teacher's held-out figures (judge R-precision of its samples,
// attribute agreement), a JSON report and a grid of samples above the real images of the same captions.
import Codecs
import Foundation
import TeacherTraining
import Training

enum TeacherEvalCommand {
    static let command = Command(
        name: "eval",
        abstract: "Measure the teacher on held-out captions: judge R-precision and attribute agreement of its samples",
        discussion: "Samples one image per held-out caption (the first caption of each test-split image), then ranks the true caption among it and --distractors others with the judge CLIP, and reads the attributes with the attribute classifier.",
        options: [
            Option(name: "--teacher", value: "DIR", help: "Teacher pipeline folder (diffusers layout)"),
            Option(name: "--judge", value: "DIR", help: "Judge CLIP folder (transformers layout)"),
            Option(name: "--attributes", value: "FILE", help: "Attribute classifier (.safetensors)"),
            Option(name: "--data", value: "DIR", help: "World dataset; its test split gives the captions"),
            Option(name: "--count", value: "N", help: "Held-out captions", defaultValue: "200"),
            Option(name: "--steps", value: "N", help: "DDIM steps", defaultValue: "50"),
            Option(name: "--guidance", value: "S", help: "Classifier-free guidance", defaultValue: "7.5"),
            Option(name: "--distractors", value: "K", help: "Other captions per ranking", defaultValue: "99"),
            Option(name: "--seed", value: "S", help: "Seed of samples and distractor draws", defaultValue: "0"),
            Option(name: "--out", value: "DIR", help: "Writes report.json and samples.png there (rows: samples, real images after the VAE, real images)"),
            Option(name: "--vae", value: "DIR", help: "Read the real images' VAE round trip with this VAE (a diffusers vae/ folder, e.g. a vae run's export/) instead of the teacher's"),
        ],
        run: run)

    static func run(_ args: Arguments) throws {
        func need(_ n: String) throws -> String {
            guard let v = args.string(n) else { throw UsageError(message: "missing required option '\(n)'", command: args.command) }
            return v
        }
        var s = TeacherEvaluationSettings(teacher: try need("--teacher"), judge: try need("--judge"), attributes: try need("--attributes"), data: try need("--data"))
        let out = try need("--out")
        s.count = try args.int("--count", default: 200, range: 2...100_000)
        s.steps = try args.int("--steps", default: 50, range: 1...1000)
        s.distractors = try args.int("--distractors", default: 99, range: 1...10_000)
        s.guidance = try args.float("--guidance", default: 7.5)
        s.seed = UInt64(try args.int("--seed", default: 0, range: 0...Int.max))
        s.roundTripVAE = args.string("--vae")
        let bar = ProgressBar(total: s.count, start: 0, unit: "samples")
        let r = try TeacherEvaluation.run(s) { done, total in bar.update(Swift.min(done, total)) }
        bar.finish()
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try PNG.write(r.grid, to: (out as NSString).appendingPathComponent("samples.png"))
        try writeJSONAtomically(["teacher": s.teacher, "round_trip_vae": s.roundTripVAE ?? "teacher's", "judge": s.judge, "attributes": s.attributes, "samples": r.samples,
                                 "candidates": r.candidates, "steps": s.steps, "guidance": Double(s.guidance), "seed": s.seed,
                                 "r_precision": r.rPrecision, "attribute_agreement": r.attributeAgreement,
                                 "attribute_agreement_real_images": r.realAttributeAgreement, "r_precision_real_images": r.realRPrecision,
                                 "per_attribute": r.sampleAttributes.perAttributeJSON,
                                 "balanced_percent": r.sampleAttributes.balanced().map { $0.percent as Any } ?? NSNull(),
                                 "balanced_percent_real_images": r.realAttributes.balanced().map { $0.percent as Any } ?? NSNull(),
                                 "per_attribute_real_images": r.realAttributes.perAttributeJSON,
                                 "r_precision_vae_round_trip": r.roundTripRPrecision,
                                 "attribute_agreement_vae_round_trip": r.roundTripAttributes.percent / 100,
                                 "balanced_percent_vae_round_trip": r.roundTripAttributes.balanced().map { $0.percent as Any } ?? NSNull(),
                                 "per_attribute_vae_round_trip": r.roundTripAttributes.perAttributeJSON],
                                to: (out as NSString).appendingPathComponent("report.json"))
        print(String(format: "R-precision (judge, 1 of %d): %.1f%% (real images: %.1f%%)   attribute agreement: %.1f%% (real images: %.1f%%)   %d samples",
                     r.candidates, 100 * r.rPrecision, 100 * r.realRPrecision, 100 * r.attributeAgreement, 100 * r.realAttributeAgreement, r.samples))
        if let b = r.sampleAttributes.balanced(), let real = r.realAttributes.balanced() {
            print(String(format: "steering (balanced attribute agreement, 50%% = ignores the caption): %.1f%% (real images: %.1f%%) over %ld attributes stated both ways (hair colours: another colour stated counts as absent)",
                         b.percent, real.percent, b.attributes.count))
        }
        print(String(format: "real images after the VAE (posterior mean): R-precision %.1f%%, attribute agreement %.1f%%%@",
                     100 * r.roundTripRPrecision, r.roundTripAttributes.percent,
                     r.roundTripAttributes.balanced().map { String(format: ", steering %.1f%%", $0.percent) } ?? ""))
    }
}
