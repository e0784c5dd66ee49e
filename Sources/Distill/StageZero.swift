// Stage 0: EG3D trained from scratch (or from --init) on an EG3D-format dataset, unconditional on text.
import Foundation
import TensorCore
import Training
import TriPlaneGAN

public enum StageZero {
    /// Builds the networks, loads the training split and returns the task for TrainingLoop.
    /// - Parameters:
    ///   - initCheckpoint: a generator checkpoint (ours or converted) whose G_ema (or G) starts G, G_ema; D stays random
    ///     unless the file holds `D.*` keys.
    ///   - limit: train on the first N images of the split only (tests, smoke runs).
    ///   - worldSupervision: add the reconstruction phase of `config.worldSupervision` (needs the dataset's aux/ maps).
    public static func makeTask(data path: String, config: RunConfig, seed: UInt64, initCheckpoint: String? = nil,
                                limit: Int? = nil, worldSupervision: Bool = false, progress: Bool = false) throws -> GANTrainingTask<TriPlaneGenerator> {
        let ds = try PortraitWorldSplit.bank(path: path, resolution: config.generator.imgResolution, limit: limit, progress: progress)
        let init_ = RandomGenerator(seed: StepRandom.mix(seed ^ 0x494E_4954))
        let g = TriPlaneGenerator(config: config.generator, rng: init_)
        let d = DualDiscriminator(config.generator.discriminatorConfig, rng: init_)
        if let p = initCheckpoint {
            let loaded = try TriPlaneGenerator.load(path: p)
            guard loaded.config == config.generator else {
                throw FileError(path: p, message: "its generator config differs from the run's --config")
            }
            try g.load(loaded.stateDict(), strict: true)
            let file = try SafeTensorsFile(path: p)
            let dKeys = file.keys.filter { $0.hasPrefix("D.") }
            if !dKeys.isEmpty {
                var t: [String: Tensor] = [:]
                for k in dKeys { t[String(k.dropFirst(2))] = try file.tensor(k) }
                do { try d.load(t, strict: true) } catch { throw FileError(path: p, message: "D: \(error)") }
            }
        }
        withNoGrad { g.datasetLabelStd.copyIn(labelStd(ds.labels)) }
        g.neuralRenderingResolution = config.training.neuralRenderingResolutionInitial
        let ema = TriPlaneGenerator(config: config.generator, rng: RandomGenerator(seed: 0))
        let trainer = try GANTrainer(options: config.training, seed: seed, generator: g, generatorEMA: ema,
                                     discriminator: d, data: ds)
        if worldSupervision {
            guard let settings = config.worldSupervision else {
                throw TrainingError.data("world supervision was asked for, but the run config has no \"world_supervision\" settings")
            }
            trainer.worldSupervision = try WorldSupervision.forDataset(path, names: ds.names, settings: settings, zDim: config.generator.zDim,
                                                                       seed: seed, resolution: config.training.neuralRenderingResolutionInitial,
                                                                       progress: progress)
        }
        let task = GANTrainingTask(trainer: trainer, title: "stage 0")
        task.runInfo = ["stage": 0, "dataset": path, "images": ds.count]
        return task
    }

    /// Whether the dataset has the world's per-image depth and masks (aux/).
    public static func hasWorldGeometry(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("aux"), isDirectory: &isDir) && isDir.boolValue
    }

    /// EG3D's dataset_label_std: np.std of the labels per entry (population).
    static func labelStd(_ labels: [[Float]]) -> Tensor {
        var out = [Float](repeating: 0, count: 25)
        let n = Double(labels.count)
        for j in 0..<25 {
            let mean = labels.reduce(0.0) { $0 + Double($1[j]) } / n
            let ss = labels.reduce(0.0) { let d = Double($1[j]) - mean; return $0 + d * d }
            out[j] = Float((ss / n).squareRoot())
        }
        return Tensor(out, shape: [25])
    }
}

/// The images a stage trains on: the `train` split when the dataset has split.json (held-out identities are never
/// read), else every image (a dataset made by EG3D's dataset_tool). Labels are required.
public enum PortraitWorldSplit {
    public static func bank(path: String, resolution: Int, limit: Int?, progress: Bool) throws -> WorldImageBank {
        let hasSplit = FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("split.json"))
        let bank = try WorldImageBank(dataset: path, split: hasSplit ? .train : .all, resolution: resolution, limit: limit,
                                      progress: progress)
        if let i = bank.labels.firstIndex(where: { $0.count != 25 }) {
            throw FileError(path: (path as NSString).appendingPathComponent("dataset.json"),
                            message: bank.labels[i].isEmpty ? "no camera label for \(bank.names[i]): EG3D training needs dataset.json with 25 numbers per image"
                                                            : "the label of \(bank.names[i]) has \(bank.labels[i].count) numbers, not 25")
        }
        return bank
    }
}
