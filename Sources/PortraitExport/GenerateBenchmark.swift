// The product benchmark (issue 12 §2 "Time"; a benchmark, not a timed test): with a random-weight model of the
// shipped size written as a model folder (F16, as shipped), (a) the generator forward for one view — text
// encoding, mapping + semantics mapping, tri-planes with the adapters, rendering and super-resolution — best of
// `runs`; (b) the whole `generate` run (load, 5 views, orbit GIF, mesh at the default 128³ grid, export) with the
// wall time of each stage from its manifest. Random weights: the mesh's σ grid is sampled and marching cubes run
// (its time counts) but a random density usually has no surface at σ = 10, so the mesh is then skipped.
import Foundation
import Teacher
import TensorCore
import TriPlaneGAN

public enum GenerateBenchmark {
    /// The shipped generator size (TriPlaneConfig.world128).
    public static let world128 = TriPlaneConfig.world128

    /// The world teacher's text encoder size (TeacherTraining's WorldTeacherSizes.clip without its last layer,
    /// as the teacher's text_encoder/ is cut: 3 layers × 256, GELU).
    public static func worldTextConfig(tokenizer tok: CLIPTokenizer) -> CLIPTextConfig {
        var c = CLIPTextConfig()
        c.vocabSize = tok.vocabularySize; c.hiddenSize = 256; c.intermediateSize = 1024; c.numHiddenLayers = 3
        c.numAttentionHeads = 4; c.projectionDim = 256; c.hiddenAct = .gelu
        c.bosTokenID = tok.startTokenID; c.eosTokenID = tok.endTokenID; c.padTokenID = tok.padTokenID
        return c
    }

    public struct Result {
        /// Best and mean wall seconds of one view's forward, the CPU seconds of the best, and the parts of the best.
        public var forwardBest: Double
        public var forwardCPU: Double
        public var forwardMean: Double
        public var parts: [(name: String, seconds: Double)]
        /// The whole run's stages (from its manifest) and their sum.
        public var stages: [StageRecord]
        public var totalSeconds: Double
        public var meshSkipped: String?
        public var modelBytes: Int
    }

    /// Writes a random model of `config` to `folder` and times it. `textDim` is the encoder width.
    public static func run(config: TriPlaneConfig, textConfig: ((CLIPTokenizer) -> CLIPTextConfig)? = nil, folder: String, runs: Int = 5,
                           options edit: (inout GenerateOptions) -> Void = { _ in }) throws -> Result {
        let prompt = "a smiling woman with long red hair and glasses"
        let tok = try CLIPTokenizer.train(corpus: [prompt, "a man with a beard", "an old man with grey hair and a hat"], maxMerges: 200)
        let tc = (textConfig ?? worldTextConfig)(tok)
        let g = TextConditionedGenerator(config: config, conditioning: ConditioningConfig(generator: config, textDim: tc.hiddenSize),
                                         rng: RandomGenerator(seed: 1))
        try ShippedModel.write(folder: folder, generator: g, textEncoder: CLIPTextModel(tc, rng: RandomGenerator(seed: 2)), tokenizer: tok,
                               manifest: ShippedModelManifest(description: "random weights for the benchmark"), dtype: .F16)
        let model = try GenerateModel(weights: folder)
        let encoder = model.encoder!, gen = model.generator
        var best = Double.infinity, sum = 0.0, bestCPU = 0.0, bestParts: [(String, Double)] = []
        for i in 0...runs {   // run 0 warms up
            var parts: [(String, Double)] = []
            var t0 = ResourceProbe.now()
            let c0 = ResourceProbe.cpuSeconds()
            func lap(_ name: String) { let t = ResourceProbe.now(); parts.append((name, t - t0)); t0 = t }
            try withNoGrad {
                let text = try encoder.encode(prompt); lap("text")
                let ws = model.mapping(z: RandomGenerator(seed: UInt64(i)).normal([1, gen.config.zDim]), truncationPsi: 0.7, text: text); lap("mapping")
                let planes = model.planes(ws: ws, text: text); lap("planes")
                _ = gen.render(planes: planes, ws: ws, cameras: Camera.labels([Camera.frontal()]), random: GeneratorRandomSource(seed: UInt64(i)))
                lap("render")
            }
            let total = parts.reduce(0) { $0 + $1.1 }, cpu = ResourceProbe.cpuSeconds() - c0
            if i > 0 { sum += total; if total < best { best = total; bestCPU = cpu; bestParts = parts } }
        }
        var o = GenerateOptions(weights: folder, outputDirectory: (folder as NSString).appendingPathComponent("portrait"))
        o.prompt = prompt
        edit(&o)
        let r = try GeneratePipeline(options: o).run(model: nil)
        return Result(forwardBest: best, forwardCPU: bestCPU, forwardMean: sum / Double(runs), parts: bestParts.map { (name: $0.0, seconds: $0.1) },
                      stages: r.manifest.stages, totalSeconds: r.manifest.stages.reduce(0) { $0 + $1.seconds },
                      meshSkipped: r.manifest.meshSkipped, modelBytes: ShippedModel.bytes(folder))
    }
}
