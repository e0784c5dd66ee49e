// CLIP score (paper §4.1; method doc §7): 100 · cos(E_I, E_C) of an image's and its caption's CLIP embeddings.
// torchmetrics' CLIPScore (functional/multimodal/clip_score.py `_clip_score_update`) computes exactly that per
// (image, caption) pair; its reported value (CLIPScore.compute, clip_score) is then the batch mean clamped at 0,
// max(mean, 0). Here `clipScores` returns the per-pair values (unclamped, unaveraged: MSC and analyses need them)
// and `meanClipScore` torchmetrics' reported value.
//
// Images go through CLIPImageProcessor (float images in [0, 1]; see its header for how it differs from
// transformers' 8-bit pipeline, which torchmetrics feeds), captions through CLIPTokenizer (transformers'
// CLIPTokenizer; a caption longer than the context keeps its end token, where torchmetrics cuts the ids at 77
// and loses it). The model runs in batches without building a graph. MSC (MSC.swift) and R-precision
// (RPrecision.swift) use the same embeddings through the `CLIPEmbedder` protocol, so tests can inject their own.
import Foundation
import TensorCore
import Teacher

/// A metric's misuse or an input it cannot score: the message names the counts involved.
public struct CLIPMetricError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// CLIP embeddings of images and captions: everything the CLIP score, MSC and R-precision need.
/// `CLIPScorer` is the real one; tests (and cached embeddings) can supply their own.
public protocol CLIPEmbedder {
    /// Image embeddings, one row per image: images (N, 3, H, W) with values in [0, 1] -> (N, D).
    func imageEmbeddings(_ images: Tensor) throws -> Tensor
    /// Caption embeddings, one row per caption: N captions -> (N, D).
    func textEmbeddings(_ captions: [String]) throws -> Tensor
}

/// A CLIP model with its tokenizer and image processor (any transformers CLIPModel folder, e.g. a ViT-B/32 one),
/// computing L2-normalised embeddings (CLIPOutput.image_embeds / text_embeds) in batches, without gradients.
public final class CLIPScorer: CLIPEmbedder {
    public let model: CLIPModel
    public let tokenizer: CLIPTokenizer
    public let processor: CLIPImageProcessor
    /// Images or captions per forward pass.
    public var batchSize: Int

    public init(model: CLIPModel, tokenizer: CLIPTokenizer, processor: CLIPImageProcessor, batchSize: Int = 32) {
        require(batchSize > 0, "CLIPScorer: batch size must be positive, got \(batchSize)")
        self.model = model
        self.tokenizer = tokenizer
        self.processor = processor
        self.batchSize = batchSize
    }

    /// Loads model (config.json + safetensors weights), tokenizer (vocab.json, merges.txt, tokenizer_config.json)
    /// and image settings (preprocessor_config.json) from one Hugging Face CLIP folder.
    /// - Throws: `FileError` naming the missing or malformed file.
    public convenience init(folder: String, batchSize: Int = 32) throws {
        let model = try CLIPModel(folder: folder), tokenizer = try CLIPTokenizer(folder: folder)
        let processor = try CLIPImageProcessor(folder: folder)
        let config = (folder as NSString).appendingPathComponent("config.json")
        try tokenizer.check(against: model.config.textConfig, configPath: config, tokenizerFolder: folder)
        try processor.check(against: model.config.visionConfig,
                            path: (folder as NSString).appendingPathComponent("preprocessor_config.json"), configPath: config)
        guard batchSize > 0 else { throw CLIPMetricError("CLIP batch size must be positive, got \(batchSize)") }
        self.init(model: model, tokenizer: tokenizer, processor: processor, batchSize: batchSize)
    }

    /// images (N, 3, H, W) in [0, 1] -> normalised embeddings (N, projection_dim).
    public func imageEmbeddings(_ images: Tensor) throws -> Tensor {
        guard images.rank == 4, images.shape[1] == processor.imageMean.count else {
            throw CLIPMetricError("CLIP image embeddings need images of shape (N, \(processor.imageMean.count), H, W), got \(images.shape)")
        }
        let n = images.shape[0]
        guard n > 0 else { return Tensor.zeros([0, model.config.projectionDim]) }
        let (rh, rw) = processor.resizedSize(height: images.shape[2], width: images.shape[3])
        if processor.doCenterCrop && (rh < processor.cropHeight || rw < processor.cropWidth) {
            throw CLIPMetricError("CLIP image embeddings: \(images.shape[2])x\(images.shape[3]) images resize to \(rh)x\(rw), smaller than the \(processor.cropHeight)x\(processor.cropWidth) crop")
        }
        let side = model.config.visionConfig.imageSize
        let (oh, ow) = processor.doCenterCrop ? (processor.cropHeight, processor.cropWidth) : (rh, rw)
        guard oh == side && ow == side else {
            throw CLIPMetricError("CLIP image embeddings: \(images.shape[2])x\(images.shape[3]) images become \(oh)x\(ow) pixel values, but the vision tower takes \(side)x\(side) (vision_config.image_size)")
        }
        return withNoGrad {
            Tensor.concat(stride(from: 0, to: n, by: batchSize).map { start in
                let chunk = images.slice(axis: 0, start: start, end: Swift.min(n, start + batchSize))
                return model.imageEmbeddings(pixelValues: processor(chunk)).detach()       // (b, D)
            }, axis: 0)
        }
    }

    /// N captions -> normalised embeddings (N, projection_dim), with the tokenizer's attention mask (as
    /// torchmetrics passes it; CLIP's causal text attention makes the pooled output independent of padding).
    public func textEmbeddings(_ captions: [String]) throws -> Tensor {
        guard !captions.isEmpty else { return Tensor.zeros([0, model.config.projectionDim]) }
        return withNoGrad {
            Tensor.concat(stride(from: 0, to: captions.count, by: batchSize).map { start in
                let chunk = Array(captions[start..<Swift.min(captions.count, start + batchSize)])
                let (ids, mask) = tokenizer.encode(batch: chunk)                            // (b, 77) each
                return model.textEmbeddings(ids: ids, attentionMask: mask).detach()        // (b, D)
            }, axis: 0)
        }
    }
}

extension CLIPEmbedder {
    /// CLIP score of each (image, caption) pair: 100 · cos(image embedding, caption embedding), in [-100, 100],
    /// unclamped (torchmetrics' per-pair `_clip_score_update`). images (N, 3, H, W) in [0, 1], N captions -> N scores.
    /// - Throws: `CLIPMetricError` when the counts differ.
    public func score(images: Tensor, captions: [String]) throws -> [Double] {
        guard images.rank >= 1, images.shape[0] == captions.count else {
            throw CLIPMetricError("CLIP score: \(images.rank >= 1 ? images.shape[0] : 0) images but \(captions.count) captions")
        }
        return try clipScores(imageEmbeddings: imageEmbeddings(images), textEmbeddings: textEmbeddings(captions))
    }

    /// torchmetrics' CLIPScore value for these pairs: max(mean of the per-pair scores, 0).
    public func meanClipScore(images: Tensor, captions: [String]) throws -> Double {
        try Metrics.meanClipScore(score(images: images, captions: captions))
    }
}

/// 100 · cos of matching rows: imageEmbeddings (N, D) and textEmbeddings (N, D) -> N scores. The cosine is
/// computed from the rows as given (normalised or not), accumulated in Float64.
/// - Throws: `CLIPMetricError` when the shapes differ or a row has zero norm.
public func clipScores(imageEmbeddings a: Tensor, textEmbeddings b: Tensor) throws -> [Double] {
    guard a.rank == 2, a.shape == b.shape else {
        throw CLIPMetricError("CLIP score: image embeddings \(a.shape) and caption embeddings \(b.shape) must both be (N, D)")
    }
    let (n, d) = (a.shape[0], a.shape[1])
    let x = a.toArray(), y = b.toArray()
    return try (0..<n).map { i in
        guard let c = cosine(x, i * d, y, i * d, d) else { throw CLIPMetricError("CLIP score: pair \(i) has a zero embedding") }
        return 100 * c
    }
}

/// torchmetrics' reported CLIP score: max(mean(scores), 0) (CLIPScore.compute clamps the mean, not the pairs).
/// - Precondition: `scores` is not empty (torchmetrics would report 0/0).
public func meanClipScore(_ scores: [Double]) -> Double {
    require(!scores.isEmpty, "meanClipScore: no scores to average")
    return Swift.max(scores.reduce(0, +) / Double(scores.count), 0)
}

/// cos of x[xo..<xo+d] and y[yo..<yo+d] in Float64; nil when either has zero norm.
func cosine(_ x: [Float], _ xo: Int, _ y: [Float], _ yo: Int, _ d: Int) -> Double? {
    var dot = 0.0, nx = 0.0, ny = 0.0
    for k in 0..<d {
        let u = Double(x[xo + k]), v = Double(y[yo + k])
        dot += u * v; nx += u * u; ny += v * v
    }
    guard nx > 0, ny > 0 else { return nil }
    return dot / (nx.squareRoot() * ny.squareRoot())
}
