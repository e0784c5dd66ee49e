// Contrastive training of a small CLIP on world images and their captions (both caption styles, one caption
// at random per image and step), as CLIP: symmetric cross-entropy over the batch's image-text cosine logits
// scaled by a learned temperature (clamped at 100). Used twice: the teacher's CLIP (its text tower becomes the
// diffusion model's and the generator's text encoder) and the judge (another seed; used only by `eval`).
// The judge also learns auxiliary attribute heads (AttributeHeads): the world knows each image's attributes and
// what each caption states, so a linear map from each embedding to the 43 attributes, trained with binary
// cross-entropy, pulls both towers toward what the metrics ask about. The heads are not exported: the judge
// folder is a plain CLIPModel.
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

/// Linear maps from CLIP's image and text embeddings to the world's 43 attributes (logits).
public final class AttributeHeads: Module {
    public let image: Linear, text: Linear
    public init(dim: Int, rng: RandomGenerator) {
        image = Linear(dim, Attribute.allCases.count, rng: rng)
        text = Linear(dim, Attribute.allCases.count, rng: rng)
        super.init()
        registerModule("image", image)
        registerModule("text", text)
    }

    /// Mean binary cross-entropy of logits (B, A) against targets in {0, 1}, over the entries `mask` keeps.
    static func bce(_ logits: Tensor, _ target: Tensor, mask: Tensor? = nil) -> Tensor {
        let l = logits.softplus() - logits * target
        guard let mask else { return l.mean() }
        return (l * mask).sum() / Swift.max(mask.sum().item(), 1)
    }

    /// Targets and mask (B, A) of the attributes each caption states (PromptAttributes), unstated ones masked;
    /// with `impliedAbsent`, also those a statement implies false (the other hair colours, when one is stated).
    public static func stated(_ captions: [String], impliedAbsent: Bool = false) -> (target: Tensor, mask: Tensor) {
        var t = [Float](repeating: 0, count: captions.count * Attribute.allCases.count), m = t
        for (b, c) in captions.enumerated() {
            let stated = PromptAttributes.parse(c)
            let implied = impliedAbsent ? PromptAttributes.impliedAbsent(stated).map { ($0, false) } : []
            for (a, v) in Array(stated) + implied {
                let k = b * Attribute.allCases.count + Attribute.allCases.firstIndex(of: a)!
                t[k] = v ? 1 : 0
                m[k] = 1
            }
        }
        let shape = [captions.count, Attribute.allCases.count]
        return (Tensor(t, shape: shape), Tensor(m, shape: shape))
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
    /// The judge's auxiliary attribute heads and their loss weight (nil / 0: plain CLIP).
    public let heads: AttributeHeads?
    public let attributeWeight: Float
    public var itemsPerStep: Int { data.size }

    public init(title: String, config: CLIPConfig, tokenizer: CLIPTokenizer, bank: WorldImageBank, batch: Int, steps: Int,
                seed: UInt64, optimiser: OptimiserSettings, attributeWeight: Float = 0) {
        precondition(attributeWeight == 0 || bank.attributes.count == bank.count, "CLIPTrainer: attribute heads need the dataset's attributes")
        self.attributeWeight = attributeWeight
        heads = attributeWeight > 0 ? AttributeHeads(dim: config.projectionDim, rng: RandomGenerator(seed: seed ^ 0xA77)) : nil
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
        let named = model.namedParameters() + (heads?.namedParameters().map { ("attribute_heads." + $0.0, $0.1) } ?? [])
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
        let texts = captions(idx, step: step)
        let ids = CLIPTrainer.ids(tokenizer, texts)
        let out = model(ids: ids, pixelValues: pixels)
        let target = Tensor((0..<idx.count).map(Float.init), shape: [idx.count, 1])
        func crossEntropy(_ logits: Tensor) -> Tensor { -(logits.logSoftmax(axis: 1).gather(axis: 1, target)).mean() }
        let contrastive = (crossEntropy(out.logitsPerImage) + crossEntropy(out.logitsPerText)) * 0.5
        var loss = contrastive
        var extra: [String: Double] = [:]
        if let heads {
            let imageLoss = AttributeHeads.bce(heads.image(out.imageEmbeds), data.bank.attributeTensor(idx))
            let (t, m) = AttributeHeads.stated(texts)
            let textLoss = AttributeHeads.bce(heads.text(out.textEmbeds), t, mask: m)
            loss = loss + (imageLoss + textLoss) * attributeWeight
            extra = ["loss/clip_contrastive": Double(contrastive.item()), "loss/attributes_image": Double(imageLoss.item()),
                     "loss/attributes_text": Double(textLoss.item())]
        }
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
            .merging(extra) { $1 }
    }

    var networks: [String: Module] { heads.map { ["model": model, "attribute_heads": $0] } ?? ["model": model] }

    public func checkpoint() throws -> (files: [String: [String: Tensor]], state: [String: Any]) {
        (checkpointFiles(networks, adam), ["part": title])
    }

    public func restore(_ c: Checkpoint) throws { try restoreFiles(c, networks, adam) }

    public func samples() throws -> Image? { nil }
}
