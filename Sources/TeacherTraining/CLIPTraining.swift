// Contrastive training of a small CLIP on world images and their captions (both caption styles, one caption
// at random per image and step), as CLIP: symmetric cross-entropy over the batch's image-text cosine logits
// scaled by a learned temperature (clamped at 100). Used twice: the teacher's CLIP (its text tower becomes the
// diffusion model's and the generator's text encoder) and the judge (another seed; used only by `eval`).
import Codecs
import Foundation
import PortraitWorld
import Teacher
import TensorCore
import Training

public struct OptimiserSettings: Sendable {
    public var lr: Double
    public var warmupSteps: Int
    public var weightDecay: Double
    public var betas: (Double, Double) = (0.9, 0.98)
    public init(lr: Double, warmupSteps: Int, weightDecay: Double) { self.lr = lr; self.warmupSteps = warmupSteps; self.weightDecay = weightDecay }

    /// Linear warm-up, then cosine decay to 10% of the peak at `total`.
    public func rate(step: Int, total: Int) -> Double {
        if step < warmupSteps { return lr * Double(step + 1) / Double(warmupSteps) }
        let p = Double(step - warmupSteps) / Double(Swift.max(total - warmupSteps, 1))
        return lr * (0.1 + 0.9 * 0.5 * (1 + cos(Double.pi * Swift.min(p, 1))))
    }
}

public final class CLIPTrainer: TrainingTask {
    public let title: String
    public let model: CLIPModel
    public let tokenizer: CLIPTokenizer
    public let processor: CLIPImageProcessor
    var data: WorldBatches
    let adam: Adam
    let optimiser: OptimiserSettings
    public var itemsPerStep: Int { data.size }

    public init(title: String, config: CLIPConfig, tokenizer: CLIPTokenizer, bank: WorldImageBank, batch: Int, steps: Int,
                seed: UInt64, optimiser: OptimiserSettings) {
        self.title = title
        model = CLIPModel(config, rng: RandomGenerator(seed: seed))
        self.tokenizer = tokenizer
        var p = CLIPImageProcessor()
        p.shortestEdge = config.visionConfig.imageSize
        p.cropHeight = config.visionConfig.imageSize; p.cropWidth = config.visionConfig.imageSize
        processor = p
        data = WorldBatches(bank: bank, size: batch, steps: steps, seed: seed)
        self.optimiser = optimiser
        // Decay on matrices only (CLIP's recipe: no decay on gains, biases, embeddings' scale or the temperature).
        let named = model.namedParameters()
        let decay = named.filter { $0.1.rank >= 2 && !$0.0.contains("embedding") }
        let rest = named.filter { !($0.1.rank >= 2 && !$0.0.contains("embedding")) }
        adam = Adam(groups: [(Adam.Group(lr: optimiser.lr, betas: optimiser.betas, eps: 1e-6, weightDecay: optimiser.weightDecay), decay),
                             (Adam.Group(lr: optimiser.lr, betas: optimiser.betas, eps: 1e-6, weightDecay: 0), rest)],
                    decoupledWeightDecay: true)
    }

    /// One caption per image, drawn from both styles.
    func captions(_ indices: [Int], step: Int) -> [String] {
        let g = data.random.generator("caption", step: step)
        return indices.map { i in
            let pool = data.bank.captions[i] + data.bank.captionsOOD[i]
            return pool.isEmpty ? "" : pool[g.integer(below: pool.count)]
        }
    }

    /// Token ids cut to the longest caption of the batch (the causal mask makes the states up to each end
    /// token independent of what follows, so this equals running all 77 positions).
    public static func ids(_ tokenizer: CLIPTokenizer, _ texts: [String]) -> Tensor {
        let enc = tokenizer.encode(batch: texts)
        let lengths = enc.attentionMask.sum(axes: [1]).toArray()
        let longest = Int(lengths.max() ?? 2)
        return enc.ids.slice(axis: 1, start: 0, end: longest).contiguous()
    }

    public func step(_ step: Int) throws -> [String: Double] {
        let idx = data.indices(step)
        let pixels = processor((data.bank.images(idx) + 1) * 0.5)
        let ids = CLIPTrainer.ids(tokenizer, captions(idx, step: step))
        let out = model(ids: ids, pixelValues: pixels)
        let target = Tensor((0..<idx.count).map(Float.init), shape: [idx.count, 1])
        func crossEntropy(_ logits: Tensor) -> Tensor { -(logits.logSoftmax(axis: 1).gather(axis: 1, target)).mean() }
        let loss = (crossEntropy(out.logitsPerImage) + crossEntropy(out.logitsPerText)) * 0.5
        let lr = optimiser.rate(step: step, total: data.steps)
        let value = try optimise(loss, name: "loss/clip", model: model, adam: adam, lr: lr, step: step)
        withNoGrad { // CLIP clamps the temperature at 100
            let s = model.logit_scale.data
            s[0] = Swift.min(s[0], Float(Foundation.log(100.0)))
        }
        let accuracy = withNoGrad { () -> Double in
            let best = out.logitsPerImage.argmax(axis: 1).toArray()
            return Double(best.enumerated().filter { Int($0.element) == $0.offset }.count) / Double(idx.count)
        }
        return ["loss/clip": value, "acc/batch_image_to_text": accuracy, "lr": lr, "scale": Double(model.logit_scale.item())]
    }

    public func checkpoint() throws -> (files: [String: [String: Tensor]], state: [String: Any]) {
        (checkpointFiles(["model": model], adam), ["part": title])
    }

    public func restore(_ c: Checkpoint) throws { try restoreFiles(c, ["model": model], adam) }

    public func samples() throws -> Image? { nil }
}
