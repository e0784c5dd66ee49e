// The attribute classifier of the evaluation: a small CNN that reads the world's 43 binary attributes off a
// 64×64 image (any view), trained with binary cross-entropy against the world's ground truth. It measures
// "does the image show what the prompt states" (the shipped-model issue's attribute accuracy) and judges the
// teacher's samples; it never takes part in training a generator.
//   conv 3→32 s2 (32²) → conv 32→64 s2 (16²) → conv 64→128 s2 (8²) → conv 128→128 s2 (4²) → mean → linear 43
// each conv 3×3 + GroupNorm(8) + SiLU. Saved as one safetensors file with its config in the metadata.
import Codecs
import Foundation
import PortraitWorld
import Teacher
import TensorCore
import Training

public final class AttributeClassifier: Module {
    public static let names = Attribute.allCases.map(\.rawValue)
    public let imageSize: Int
    let blocks: StridedConvStack
    public let head: Linear

    public init(imageSize: Int = 64, widths: [Int] = [32, 64, 128, 128], rng: RandomGenerator) {
        self.imageSize = imageSize
        blocks = StridedConvStack(inChannels: 3, widths: widths, rng: rng)
        head = Linear(blocks.outChannels, AttributeClassifier.names.count, rng: rng)
        super.init()
        blocks.register(in: self)
        registerModule("head", head)
    }

    /// images (B, 3, S, S) in [-1, 1] (S a multiple of imageSize: box-filtered down first) -> logits (B, 43).
    public func callAsFunction(_ images: Tensor) -> Tensor {
        var x = images
        if x.shape[2] != imageSize {
            let f = x.shape[2] / imageSize
            require(f >= 1 && x.shape[2] == f * imageSize && x.shape[3] == f * imageSize,
                    "AttributeClassifier: images \(x.shape) must be square multiples of \(imageSize)")
            x = avgPool2d(x, kernel: (f, f))
        }
        return head(blocks(x).mean(axes: [2, 3]))
    }

    /// Probabilities that each attribute is present.
    public func probabilities(_ images: Tensor) -> Tensor { withNoGrad { self(images).sigmoid() } }

    public func save(_ path: String) throws {
        try saveSafeTensors(stateDict(), metadata: ["attributes": AttributeClassifier.names.joined(separator: ","), "image_size": "\(imageSize)"], to: path)
    }

    public static func load(_ path: String) throws -> AttributeClassifier {
        let file = try SafeTensorsFile(path: path)
        guard let size = file.metadata["image_size"].flatMap(Int.init), (8...1024).contains(size) else {
            throw FileError(path: path, message: "metadata image_size is missing or not in 8...1024: not an attribute classifier")
        }
        guard file.metadata["attributes"] == names.joined(separator: ",") else {
            throw FileError(path: path, message: "metadata attributes do not list this world's \(names.count) attributes in order")
        }
        let m = AttributeClassifier(imageSize: size, rng: RandomGenerator(seed: 0))
        try m.load(safetensors: path)
        return m
    }
}

public final class AttributeTrainer: TrainingTask {
    public let title = "attributes"
    public let model: AttributeClassifier
    var data: WorldBatches
    let adam: Adam
    let optimiser: OptimiserSettings
    public var itemsPerStep: Int { data.size }

    public init(bank: WorldImageBank, batch: Int, steps: Int, seed: UInt64, optimiser: OptimiserSettings) {
        model = AttributeClassifier(imageSize: bank.resolution, rng: RandomGenerator(seed: seed))
        data = WorldBatches(bank: bank, size: batch, steps: steps, seed: seed)
        self.optimiser = optimiser
        adam = Adam.adamW(model.namedParameters(), lr: optimiser.lr, weightDecay: optimiser.weightDecay)
    }

    /// Mean binary cross-entropy with logits (the stable form max(x, 0) - x·y + log(1 + e^-|x|)).
    static func bce(_ logits: Tensor, _ targets: Tensor) -> Tensor {
        (logits.relu() - logits * targets + (-logits.abs()).exp().add(1).log()).mean()
    }

    public func step(_ step: Int) throws -> [String: Double] {
        let idx = data.indices(step)
        let logits = model(data.bank.images(idx))
        let targets = data.bank.attributeTensor(idx)
        let loss = AttributeTrainer.bce(logits, targets)
        let value = try optimise(loss, name: "loss/attributes", model: model, adam: adam, lr: optimiser.rate(step: step, total: data.steps), step: step)
        let acc = withNoGrad { () -> Double in
            let p = logits.toArray(), t = targets.toArray()
            return Double(zip(p, t).filter { ($0 > 0) == ($1 > 0.5) }.count) / Double(p.count)
        }
        return ["loss/attributes": value, "acc/batch": acc]
    }

    /// Accuracy per attribute on `bank` (every image), in `names` order.
    public static func accuracy(_ model: AttributeClassifier, on bank: WorldImageBank) -> [Double] {
        var right = [Int](repeating: 0, count: AttributeClassifier.names.count)
        for start in stride(from: 0, to: bank.count, by: 64) {
            let idx = Array(start..<Swift.min(start + 64, bank.count))
            let p = model.probabilities(bank.images(idx)).toArray(), t = bank.attributeTensor(idx).toArray()
            for (k, (a, b)) in zip(p, t).enumerated() where (a > 0.5) == (b > 0.5) { right[k % right.count] += 1 }
        }
        return right.map { Double($0) / Double(bank.count) }
    }

    public func checkpoint() throws -> (files: [String: [String: Tensor]], state: [String: Any]) {
        (checkpointFiles(["model": model], adam), ["part": "attributes"])
    }

    public func restore(_ c: Checkpoint) throws { try restoreFiles(c, ["model": model], adam) }

    public func samples() throws -> Image? { nil }
}
