// `dreamportrait eval` without --images: the shipped (or given) text-conditioned model evaluated generator-driven
// on held-out captions: the test split of a world dataset (identities no model trained on), one sample per
// image, its true caption in the chosen style (in-distribution captions.json or OOD captions_ood.json) as the
// prompt. Scores: MSC and R-precision by the judge (and FID on Inception when given), attribute accuracy over
// the three views, 3D consistency through the rendered depth, and the mode-collapse ratio.
//
// Defaults, beside the shipped model folder <W>/dreamportrait (ShippedModel.locate): the judge is <W>/judge (a
// transformers CLIPModel folder), the attribute classifier <W>/attributes.safetensors; the world dataset is
// --data or $DREAMPORTRAIT_WORLD (it is not shipped: `dreamportrait data synth` makes it).
import Codecs
import Foundation
import Metrics
import PortraitWorld
import TensorCore

public struct GeneratorEvaluationSettings {
    public var model: String? = nil
    public var judge: String? = nil
    public var attributes: String? = nil
    public var data: String? = nil
    public var captions: EvalFolder.CaptionSet = .inDistribution
    /// Held-out prompts: `count` test-split images (sorted by name) from the first image of `split`.
    public var count = 500
    /// Which held-out prompts. Both are captions of identities no model saw; they never share an image.
    public enum PromptSplit: String, CaseIterable {
        /// Table 1's prompts: the test split's first `count` images. Report figures with these only.
        case evaluation = "eval"
        /// The test split's images from `validationStart` on: choose checkpoints, runs and settings with these, so
        /// that no choice is tuned on the prompts Table 1 reports.
        case validation
    }
    public var split: PromptSplit = .evaluation
    /// The first test-split image (sorted) of the validation prompts; evaluation counts up to it stay disjoint.
    public var validationStart = 1000
    /// The index of the split's first prompt among the sorted test-split images.
    public var firstPrompt: Int { split == .evaluation ? 0 : validationStart }
    public var seed: UInt64 = 0
    public var truncationPsi: Float = 0.7
    public var distractors = 99
    public var metrics: [MetricsTable.Metric] = [.msc, .rp]
    public var reference: String? = nil
    public var inception: String? = nil
    public var batchSize = 16
    /// The table row's name (nil: "DreamPortrait (ours)", or "EG3D stage 0 (text-blind)" for an unconditional model).
    public var method: String? = nil
    /// Prompts of the mode-collapse check (each: 8 seeds against the real images that fit its caption); 0 skips it.
    public var spreadPrompts = 4
    public static let spreadSeeds = 8
    /// A prompt counts in the check only when at least this many real images fit it: the spread of a handful of
    /// images says little (three images of a rare caption once gave a real spread of 0.01 and a ratio of 27).
    public var spreadMinRealImages = 16
    public init() {}
}

/// Extra values of a generator-driven evaluation (also in the report's info, so in the JSON).
public struct GeneratorEvaluationExtras {
    public var attributeAccuracy: AttributeAccuracy.Counts?
    public var consistency: ReprojectionConsistency.Result
    /// Per checked prompt: (prompt, generated spread, real spread, real images).
    public var spread: [(prompt: String, generated: Double, real: Double, realImages: Int)] = []
    /// Fréchet distance between the judge's (L2-normalised) image embeddings of every generated view and of the
    /// held-out real images, with the image counts.
    public var judgeFID: (value: Double, generated: Int, real: Int)?
    /// The same judge and classifier on the held-out real images of the prompts (HeldOutImagesSource): the ceiling.
    public var realRPrecision: Double?
    public var realAttributeAccuracy: AttributeAccuracy.Counts?
    /// Mean over checked prompts of generated / real spread.
    public var spreadRatio: Double? {
        let r = spread.filter { $0.real > 0 }.map { $0.generated / $0.real }
        return r.isEmpty ? nil : r.reduce(0, +) / Double(r.count)
    }
}

public enum GeneratorEvaluation {
    /// The folders and files an evaluation uses, with defaults filled in.
    /// - Throws: `FileError` naming the first thing missing and how to get it.
    public static func resolve(_ s: GeneratorEvaluationSettings, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws -> (model: String, judge: String?, attributes: String, data: String) {
        let model = try s.model ?? ShippedModel.locate(environment: environment)
        // The judge and the classifier default to the folder beside the model: the parent of a model folder, or the
        // folder of a generator file (Weights/eg3d_stage0.safetensors finds Weights/judge).
        var isDir: ObjCBool = false
        let isFile = FileManager.default.fileExists(atPath: model, isDirectory: &isDir) && !isDir.boolValue
        let weights = ShippedModel.isModelFolder(model) || isFile ? (model as NSString).deletingLastPathComponent : "."
        // No judge metric asked (`--metrics none`): attribute accuracy and 3D consistency need no judge.
        let wantsJudge = s.metrics.contains(.msc) || s.metrics.contains(.rp)
        let judge = s.judge ?? (weights as NSString).appendingPathComponent("judge")
        guard !wantsJudge || FileManager.default.fileExists(atPath: (judge as NSString).appendingPathComponent("config.json")) else {
            throw FileError(path: judge, message: "no judge CLIP (a transformers CLIPModel folder; --judge DIR): Scripts/train_default.sh trains it (`dreamportrait teacher train --part judge`) and ships it in Weights/judge")
        }
        let attributes = s.attributes ?? (weights as NSString).appendingPathComponent("attributes.safetensors")
        guard FileManager.default.fileExists(atPath: attributes) else {
            throw FileError(path: attributes, message: "no attribute classifier (--attributes FILE): Scripts/train_default.sh trains it (`dreamportrait teacher train --part attributes`) and ships it in Weights/attributes.safetensors")
        }
        guard let data = s.data ?? environment["DREAMPORTRAIT_WORLD"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw FileError(path: "--data", message: "no world dataset for the held-out captions: pass --data DIR (or set $DREAMPORTRAIT_WORLD), a `dreamportrait data synth` folder with split.json, e.g. `dreamportrait data synth --count 30000 --resolution 128 --seed 0 --aux --out world128` as the recipe makes")
        }
        return (model, wantsJudge ? judge : nil, attributes, data)
    }

    /// The held-out prompts: `count` test-split images (sorted) from index `start` (0: Table 1's prompts,
    /// `validationStart`: the validation prompts), each one's captions in the style asked.
    /// - Throws: `FileError` for a dataset without split.json, without the caption file, or whose test split ends
    ///   before `start`.
    public static func heldOutCaptions(data: String, set: EvalFolder.CaptionSet, count: Int, start: Int = 0) throws -> (names: [String], captions: [[String]]) {
        let ds = try EG3DDataset(path: data)
        guard let split = ds.split else { throw FileError(path: (data as NSString).appendingPathComponent("split.json"), message: "is missing: the held-out (test) identities are needed") }
        guard let all = set == .inDistribution ? ds.captions : ds.captionsOOD else {
            throw FileError(path: (data as NSString).appendingPathComponent(set.file), message: "is missing: the held-out captions are needed")
        }
        let test = split.test.sorted()
        guard start < test.count else {
            throw FileError(path: (data as NSString).appendingPathComponent("split.json"),
                            message: "the test split has \(test.count) images, so none is left for the validation prompts (they start at image \(start), after the evaluation prompts)")
        }
        let names = Array(test[start...].prefix(count)).filter { !(all[$0] ?? []).isEmpty }
        guard !names.isEmpty else { throw FileError(path: data, message: "the test split has no captioned image") }
        return (names, names.map { all[$0]! })
    }

    /// Runs the evaluation. `attributeProbabilities` maps images (N, 3, H, W) in [-1, 1] to (N, 43) probabilities in
    /// Attribute.allCases order (the attribute classifier); `embedder` replaces the judge folder (tests).
    public static func run(_ s: GeneratorEvaluationSettings, model: GenerateModel, judge: String?, data: String,
                           attributeProbabilities: ((Tensor) throws -> Tensor)?, embedder given: CLIPEmbedder? = nil,
                           progress: ((String, Int, Int) -> Void)? = nil) throws -> (report: EvalReport, extras: GeneratorEvaluationExtras) {
        let held = try heldOutCaptions(data: data, set: s.captions, count: s.count, start: s.firstPrompt)
        let source = try GeneratorEvalSource(model: model, prompts: held.captions, seed: s.seed, truncationPsi: s.truncationPsi,
                                             name: "generator \(model.path)")
        source.progress = { progress?("render", $0, $1) }
        try source.renderAll()                      // one stage with its own progress and ETA
        var e = EvalSettings(metrics: s.metrics)
        e.clip = judge; e.seed = s.seed; e.distractors = s.distractors; e.batchSize = s.batchSize
        e.method = s.method ?? (source.textBlind ? "EG3D stage 0 (text-blind)" : "DreamPortrait (ours)")
        e.reference = s.reference; e.inception = s.inception
        e.dataset = URL(fileURLWithPath: data).standardizedFileURL.lastPathComponent + (s.split == .evaluation ? " test" : " validation")
            + (s.captions == .outOfDistribution ? " (ood captions)" : "")
        e.distribution = s.captions == .inDistribution ? .inDistribution : .outOfDistribution
        let embedder: CLIPEmbedder? = try given ?? judge.map { try CLIPScorer(folder: $0, batchSize: s.batchSize) }
        var report: EvalReport
        if s.metrics.isEmpty {      // judge-free: only the extras below
            report = EvalReport(table: MetricsTable(datasets: [.init(name: e.dataset, distribution: e.distribution)], metrics: [],
                                                    caption: "Performance on \(e.dataset) (\(source.count) samples)"))
            report.info = ["source": source.name, "samples": source.count, "method": e.method, "dataset": e.dataset,
                           "distribution": e.distribution.rawValue, "metrics": [String]()]
        } else {
            report = try Evaluation.run(source: source, settings: e, embedder: embedder, progress: progress)
        }

        var extras = GeneratorEvaluationExtras(consistency: try source.consistency())
        report.info["prompts"] = ["split": s.split.rawValue, "first_test_image": s.firstPrompt, "count": held.names.count,
                                  "rule": "sorted test-split images from first_test_image; eval = Table 1's, validation = for choosing models"]
        if let attributeProbabilities {
            var c = AttributeAccuracy.Counts()
            for v in MSCView.allCases {
                c = c + (try attributeCounts(count: source.count, batch: s.batchSize, prompts: held.captions.map { $0[0] },
                                             probabilities: attributeProbabilities) { try source.signedImage($0, view: v) })
            }
            extras.attributeAccuracy = c
            report.info["attribute_accuracy"] = ["percent": c.percent, "agree": c.agree, "stated": c.stated, "per_attribute": c.perAttributeJSON,
                                                 "balanced_percent": c.balanced().map { $0.percent as Any } ?? NSNull(),
                                                 "balanced_attributes": c.balanced()?.attributes.map(\.rawValue) ?? [],
                                                 "views": "F, L15, R15", "rule": "classifier probability > 0.5 equals the statement of PromptAttributes.parse(prompt)"]
        }
        try referenceRow(held: held, data: data, settings: e, embedder: embedder, batch: s.batchSize,
                         attributeProbabilities: attributeProbabilities, extras: &extras, report: &report)
        let c = extras.consistency
        report.info["consistency_3d"] = ["mean_reprojection_error": c.pixels == 0 ? -1 : c.meanError, "pixels": c.pixels,
                                         "coverage": c.coverage, "units": "world units (EG3D's, the head ~0.5 wide)",
                                         "pairs": "(F, L15), (F, R15), both directions", "foreground_weight": Double(ReprojectionConsistency.foregroundWeight)]
        if let embedder {
            let f = try judgeFID(source: source, data: data, names: held.names, embedder: embedder, batch: s.batchSize)
            extras.judgeFID = f
            report.info["fid_judge"] = ["value": f.value, "generated_images": f.generated, "real_images": f.real,
                                        "features": "judge image embeddings (L2-normalised), all three views vs the held-out real images"]
        }
        if s.spreadPrompts > 0, let embedder {
            extras.spread = try modeCollapse(model: model, data: data, candidates: held.captions.map { $0[0] },
                                             settings: s, embedder: embedder)
            report.info["mode_collapse"] = ["ratio": extras.spreadRatio ?? -1, "seeds": GeneratorEvaluationSettings.spreadSeeds,
                                            "per_prompt": extras.spread.map { ["prompt": $0.prompt, "generated": $0.generated, "real": $0.real, "real_images": $0.realImages] },
                                            "spread": "mean pairwise cosine distance of judge image embeddings (frontal view)"]
        }
        return (report, extras)
    }

    /// The ceiling: the held-out real images of the prompts scored by the same judge (R-precision, same distractor
    /// draw) and classifier (attribute accuracy), into `extras` and `report.info["real_images"]`.
    static func referenceRow(held: (names: [String], captions: [[String]]), data: String, settings e: EvalSettings,
                             embedder: CLIPEmbedder?, batch: Int, attributeProbabilities: ((Tensor) throws -> Tensor)?,
                             extras: inout GeneratorEvaluationExtras, report: inout EvalReport) throws {
        let real = try HeldOutImagesSource(data: data, names: held.names, captions: held.captions)
        var info: [String: Any] = ["images": real.count, "what": "the held-out real images of the prompts, one view each at its own camera"]
        if e.metrics.contains(.rp), let embedder {
            var r = e
            r.metrics = [.rp]
            extras.realRPrecision = try Evaluation.run(source: real, settings: r, embedder: embedder).values[.rp]
            info["rp"] = extras.realRPrecision
        }
        if let attributeProbabilities {
            let c = try attributeCounts(count: real.count, batch: batch, prompts: held.captions.map { $0[0] },
                                        probabilities: attributeProbabilities) { try real.image($0, view: .frontal) * 2 - 1 }
            extras.realAttributeAccuracy = c
            info["attribute_accuracy_percent"] = c.percent
            info["attribute_accuracy_balanced_percent"] = c.balanced().map { $0.percent as Any } ?? NSNull()
            info["attribute_accuracy_per_attribute"] = c.perAttributeJSON
        }
        report.info["real_images"] = info
    }

    /// The classifier's agreement with what each sample's prompt states: images `image(i)` in [-1, 1], in batches.
    static func attributeCounts(count: Int, batch: Int, prompts: [String], probabilities: (Tensor) throws -> Tensor,
                                image: (Int) throws -> Tensor) throws -> AttributeAccuracy.Counts {
        var c = AttributeAccuracy.Counts()
        for start in stride(from: 0, to: count, by: batch) {
            let r = start..<Swift.min(count, start + batch)
            let probs = try probabilities(Tensor.stack(try r.map(image), axis: 0)).toArray()
            c = c + AttributeAccuracy.count(prompts: r.map { prompts[$0] }, probabilities: probs)
        }
        return c
    }

    /// The judge-feature spread of `seeds` samples of each prompt against that of the real images of the whole
    /// dataset whose ground-truth attributes agree with every attribute the prompt states (at most 64 of them), for
    /// the first `settings.spreadPrompts` candidates that at least `spreadMinRealImages` real images fit.
    static func modeCollapse(model: GenerateModel, data: String, candidates: [String], settings s: GeneratorEvaluationSettings,
                             embedder: CLIPEmbedder) throws -> [(prompt: String, generated: Double, real: Double, realImages: Int)] {
        let ds = try EG3DDataset(path: data)
        var out: [(String, Double, Double, Int)] = []
        for prompt in candidates where out.count < s.spreadPrompts {
            let stated = PromptAttributes.parse(prompt)
            var realNames: [String] = []
            for name in ds.imageNames where realNames.count < 64 {
                guard let attrs = ds.attributes?[name], stated.allSatisfy({ a, v in (attrs[a.rawValue] as? Bool ?? false) == v }) else { continue }
                realNames.append(name)
            }
            guard realNames.count >= Swift.max(2, s.spreadMinRealImages) else { continue }
            let k = out.count
            // Sample i of this source is seed (base + i): 8 seeds of one prompt.
            let gen = try GeneratorEvalSource(model: model, prompts: Array(repeating: [prompt], count: GeneratorEvaluationSettings.spreadSeeds),
                                              seed: s.seed &+ 1_000_003 &* UInt64(k + 1), truncationPsi: s.truncationPsi)
            let generated = FeatureSpread.meanPairwiseCosineDistance(try embedder.imageEmbeddings(try gen.batch(0..<gen.count, view: .frontal)))
            let real = try realNames.map { name -> Tensor in
                let img = try ds.image(name)
                return Tensor(imageFloats(img), shape: [3, img.height, img.width])
            }
            let realSpread = FeatureSpread.meanPairwiseCosineDistance(try embedder.imageEmbeddings(Tensor.stack(real, axis: 0)))
            out.append((prompt, generated, realSpread, real.count))
        }
        return out
    }

    /// FID on judge features: every generated view against the held-out images of the same identities.
    static func judgeFID(source: GeneratorEvalSource, data: String, names: [String], embedder: CLIPEmbedder,
                         batch: Int) throws -> (value: Double, generated: Int, real: Int) {
        let ds = try EG3DDataset(path: data)
        var gen: FeatureStatistics? = nil, real: FeatureStatistics? = nil
        func add(_ e: Tensor, to stats: inout FeatureStatistics?) {
            if stats == nil { stats = FeatureStatistics(dimension: e.shape[1]) }
            stats!.add(e)
        }
        for v in MSCView.allCases {
            for start in stride(from: 0, to: source.count, by: batch) {
                add(try embedder.imageEmbeddings(try source.batch(start..<Swift.min(source.count, start + batch), view: v)), to: &gen)
            }
        }
        for start in stride(from: 0, to: names.count, by: batch) {
            let imgs = try names[start..<Swift.min(names.count, start + batch)].map { n -> Tensor in
                let img = try ds.image(n)
                return Tensor(imageFloats(img), shape: [3, img.height, img.width])
            }
            add(try embedder.imageEmbeddings(Tensor.stack(imgs, axis: 0)), to: &real)
        }
        let value = try frechetDistance(GaussianStatistics(gen!), GaussianStatistics(real!))
        return (value, gen!.count, real!.count)
    }

    /// An 8-bit RGB image as planar floats in [0, 1].
    static func imageFloats(_ img: Image) -> [Float] {
        let plane = img.width * img.height, ch = img.channels
        var v = [Float](repeating: 0, count: 3 * plane)
        let scale: Float = img.bitDepth == 16 ? 65535 : 255
        for i in 0..<plane { for c in 0..<3 { v[c * plane + i] = Float(img.samples[i * ch + Swift.min(c, ch - 1)]) / scale } }
        return v
    }
}
