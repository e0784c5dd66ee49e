// The GAN trainer as a Training.TrainingTask: log values, checkpoints (G, G_ema, D and both Adam states as
// safetensors, the generator config in the G files' metadata so `generate --weights` reads them, options and
// counters in state.json), restore, and a sample grid of G_ema from fixed latents and cameras.
import Codecs
import Foundation
import TensorCore
import Training
import TriPlaneGAN

public final class GANTrainingTask<G: TrainableGenerator>: TrainingTask {
    public let trainer: GANTrainer<G>
    public let title: String
    /// Extra state recorded in every checkpoint (stage, dataset, …) and checked on restore.
    public var runInfo: [String: Any] = [:]
    /// Latents and cameras of the sample grid (fixed for the run).
    let gridZ: Tensor, gridC: Tensor
    /// Set on the last step's report (for tests and the command).
    public private(set) var lastReport: StepReport?

    public init(trainer: GANTrainer<G>, title: String, gridSize: Int = 8) {
        self.trainer = trainer
        self.title = title
        let n = Swift.min(gridSize, trainer.labels.shape[0])
        gridZ = RandomGenerator(seed: StepRandom.mix(trainer.seed ^ 0x5A4D_504C_4553)).normal([n, trainer.generator.config.zDim])
        gridC = trainer.labels.slice(axis: 0, start: 0, end: n).contiguous()
    }

    public var itemsPerStep: Int { trainer.options.batch }

    public func step(_ step: Int) throws -> [String: Double] {
        let r = try trainer.step(step)
        lastReport = r
        var out: [String: Double] = [:]
        for (k, v) in r.losses { out["loss/\(k)"] = v }
        for (k, v) in r.seconds { out["time/\(k)"] = v }
        out["lr/G"] = trainer.gOptimizer.groups[0].lr
        out["lr/D"] = trainer.dOptimizer.groups[0].lr
        out["kimg"] = Double(r.nextNimg) / 1000
        out["blur_sigma"] = Double(r.blurSigma)
        if let p = r.swapProbability { out["swap_prob"] = p }
        out["ema_beta"] = r.emaBeta
        out["nan_to_num"] = Double(r.sanitized)
        return out
    }

    public func checkpoint() throws -> (files: [String: [String: Tensor]], state: [String: Any]) {
        let t = trainer
        var state = runInfo
        state["seed"] = "\(t.seed)"
        state["options"] = try jsonObject(t.options)
        state["generator_config"] = try jsonObject(t.generator.config)
        state["neural_rendering_resolution"] = t.generator.neuralRenderingResolution
        var files = ["G": t.generator.stateDict(), "G_ema": t.generatorEMA.stateDict(), "D": t.discriminator.stateDict(),
                     "G_opt": t.gOptimizer.stateDict(), "D_opt": t.dOptimizer.stateDict()]
        if let w = t.worldSupervision {
            files["E"] = w.encoder.stateDict()
            files["E_opt"] = w.encoderOptimizer.stateDict()
            state["world_supervision"] = try jsonObject(w.settings)
        }
        if let f = t.fakeScore {
            files["F"] = f.unet.stateDict()
            files["F_opt"] = f.optimizer.stateDict()
        }
        return (files, state)
    }

    public func checkpointMetadata() -> [String: [String: String]] {
        let m = trainer.generator.trainingMetadata()
        let d = (try? String(decoding: JSONSerialization.data(withJSONObject: jsonObject(trainer.discriminator.config), options: [.sortedKeys]), as: UTF8.self)) ?? ""
        return ["G": m, "G_ema": m, "D": ["config": d]]
    }

    public func restore(_ c: Checkpoint) throws {
        let t = trainer
        let where_ = "checkpoint at step \(c.step)"
        if let cfg = c.state["generator_config"] {
            let data = try JSONSerialization.data(withJSONObject: cfg)
            let saved = try JSONDecoder().decode(TriPlaneConfig.self, from: data)
            guard saved == t.generator.config else {
                throw TrainingError.data("\(where_): its generator config differs from this run's (resume with the same --config)")
            }
        }
        if let s = c.state["seed"] as? String, s != "\(t.seed)" {
            throw TrainingError.data("\(where_): the run's seed is \(s), this command has \(t.seed)")
        }
        let savedSupervision = try c.state["world_supervision"].map {
            try JSONDecoder().decode(WorldSupervisionSettings.self, from: JSONSerialization.data(withJSONObject: $0))
        }
        guard savedSupervision == t.worldSupervision?.settings else {
            throw TrainingError.data("\(where_): its world supervision (\(savedSupervision.map { "\($0)" } ?? "off")) differs from this run's (\(t.worldSupervision.map { "\($0.settings)" } ?? "off"))")
        }
        let names = ["G", "G_ema", "D", "G_opt", "D_opt"] + (t.worldSupervision == nil ? [] : ["E", "E_opt"])
            + (t.fakeScore == nil ? [] : ["F", "F_opt"])
        for name in names where c.files[name] == nil {
            throw TrainingError.data("\(where_): no \(name).safetensors")
        }
        do {
            try t.generator.load(c.files["G"]!, strict: true)
            try t.generatorEMA.load(c.files["G_ema"]!, strict: true)
            try t.discriminator.load(c.files["D"]!, strict: true)
            try t.gOptimizer.loadStateDict(c.files["G_opt"]!)
            try t.dOptimizer.loadStateDict(c.files["D_opt"]!)
            if let w = t.worldSupervision {
                try w.encoder.load(c.files["E"]!, strict: true)
                try w.encoderOptimizer.loadStateDict(c.files["E_opt"]!)
            }
            if let f = t.fakeScore {
                try f.unet.load(c.files["F"]!, strict: true)
                try f.optimizer.loadStateDict(c.files["F_opt"]!)
            }
        } catch { throw TrainingError.data("\(where_): \(error)") }
        if let r = c.state["neural_rendering_resolution"] as? Int {
            t.generator.neuralRenderingResolution = r
            t.generatorEMA.neuralRenderingResolution = r
        }
    }

    /// G_ema's images of the grid latents at the grid cameras (noise const, ψ 1), in a row-major grid of 4 columns
    /// (with world supervision, then 4 training images and G_ema's reconstructions of them).
    public func samples() throws -> Image? {
        let g = trainer.generatorEMA
        let n = gridZ.shape[0]
        let prompts = trainer.samplePrompts?(n)
        let out: GeneratorOutput = withNoGrad {
            let ws = g.trainingMapping(gridZ, gridC, prompts: prompts, updateEmas: false)
            let planes = g.samplePlanes(ws, prompts: prompts)
            return g.render(planes: planes, ws: ws, cameras: gridC, resolution: nil,
                            random: GeneratorRandomSource(seed: 0x5A4D_504C))
        }
        guard let w = trainer.worldSupervision, let data = trainer.data else { return ImageGrid.make(out.image, columns: 4) }
        // World supervision: a row of training images and a row of G_ema's reconstructions of them (the encoder's
        // mean code, each image's own camera), so the grid shows how far reconstruction has come.
        let idx = Array(0..<Swift.min(4, data.count))
        let real = data.images(idx), cams = data.labelTensor(idx)
        // Stages 1-2: each image with one of its own captions (a fixed draw).
        let captions = trainer.reconstructionCaptions?(RandomGenerator(seed: 0x5245_4350), idx)
        let recon: Tensor = withNoGrad {
            let ws = g.trainingMapping(w.encoder(real).mean, cams, prompts: captions, updateEmas: false)
            return g.render(planes: g.samplePlanes(ws, prompts: captions), ws: ws, cameras: cams, resolution: nil,
                            random: GeneratorRandomSource(seed: 0x5A4D_504C)).image
        }
        return ImageGrid.make(Tensor.concat([out.image, real, recon], axis: 0), columns: 4)
    }
}

func jsonObject<T: Encodable>(_ v: T) throws -> Any {
    try JSONSerialization.jsonObject(with: JSONEncoder().encode(v))
}

/// A grid of (N, 3, H, W) images in [−1, 1] as an 8-bit RGB image (clamp(x·127.5 + 128), EG3D's scripts).
public enum ImageGrid {
    public static func make(_ images: Tensor, columns: Int) -> Image {
        let n = images.shape[0], h = images.shape[2], w = images.shape[3]
        let cols = Swift.min(columns, n), rows = (n + cols - 1) / cols
        var img = Image(width: cols * w, height: rows * h, channels: 3)
        let v = images.contiguous().toArray()
        for k in 0..<n {
            let ox = (k % cols) * w, oy = (k / cols) * h
            for c in 0..<3 { for y in 0..<h { for x in 0..<w {
                let f = v[((k * 3 + c) * h + y) * w + x] * 127.5 + 128
                img.samples[((oy + y) * cols * w + ox + x) * 3 + c] = UInt16(Swift.min(Swift.max(f, 0), 255))
            } } }
        }
        return img
    }
}
