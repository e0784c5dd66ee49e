// Multi-view semantic consistency, MSC (paper §4.1, Fig. 5; method doc §7): "the average CLIP score of three
// different fixed views" of a generated portrait: the CLIP score (100 · cos, CLIPScore.swift) of the sample's
// caption against its frontal view and its views at yaw ±15° (MSCViews.swift), averaged over the three views and
// then over the samples. The scores are averaged as they are (no clamp at 0: with a real CLIP the per-view means
// are positive, and the mean of the three views' torchmetrics CLIPScores is then the same number).
//
// Two ways in: three rendered view sets (the `eval` command over an image folder whose cameras identify the
// views, `MSCView.matching(label:)`), or a `ViewRenderer` that renders any sample at a camera label (the
// generator, when evaluation is driven by training).
import Foundation
import TensorCore

/// Renders sample `sample` (whatever the renderer enumerates: a prompt, a latent) at an EG3D camera label
/// (25 floats) as an image (3, H, W) or (1, 3, H, W) with values in [0, 1]. Generator-driven MSC implements this.
public protocol ViewRenderer {
    func render(sample: Int, camera label: [Float]) throws -> Tensor
}

/// CLIP scores of every (view, sample) and their averages.
public struct MSCResult: Codable, Equatable, Sendable {
    /// scores[v][i]: CLIP score of sample i's caption against its view `MSCView(rawValue: v)` (3 × N).
    public private(set) var scores: [[Double]]

    /// scores (3 × N, view order frontal, left, right).
    public init(scores: [[Double]]) {
        require(scores.count == MSCView.allCases.count && Set(scores.map(\.count)).count == 1,
                "MSCResult: scores must be 3 views of equal length, got \(scores.map(\.count))")
        self.scores = scores
    }

    /// Samples scored.
    public var count: Int { scores[0].count }
    /// Each sample's MSC: the mean of its three views' scores (N).
    public var perSample: [Double] { (0..<count).map { i in scores.reduce(0) { $0 + $1[i] } / Double(scores.count) } }
    /// Each view's mean score over the samples (3).
    public var perView: [Double] { scores.map { $0.reduce(0, +) / Double(Swift.max($0.count, 1)) } }
    /// MSC: the mean over samples of the per-sample means (= the mean of all 3N scores); 0 for no samples.
    public var mean: Double { count == 0 ? 0 : perSample.reduce(0, +) / Double(count) }

    /// Adds another batch's samples after these (results of successive batches combine into the whole set's).
    public mutating func append(_ other: MSCResult) {
        for v in 0..<scores.count { scores[v] += other.scores[v] }
    }
}

/// MSC from the three views of N samples: frontal, left and right are each (N, 3, H, W) in [0, 1] (sample i's
/// three views in row i), captions[i] is sample i's caption.
/// - Throws: `CLIPMetricError` when the view sets' sample counts differ from each other or from the captions.
public func multiViewSemanticConsistency(frontal: Tensor, left: Tensor, right: Tensor, captions: [String],
                                         embedder: CLIPEmbedder) throws -> MSCResult {
    let views = [frontal, left, right]
    for (v, t) in zip(MSCView.allCases, views) where t.rank != 4 || t.shape[0] != captions.count {
        throw CLIPMetricError("MSC: the \(v) views have shape \(t.shape) but \(captions.count) captions were given (each view set must be (N, 3, H, W) with one row per caption)")
    }
    guard !captions.isEmpty else { return MSCResult(scores: [[], [], []]) }
    // One text pass for the three views.
    let text = try embedder.textEmbeddings(captions)                                    // (N, D)
    return MSCResult(scores: try views.map { try clipScores(imageEmbeddings: embedder.imageEmbeddings($0), textEmbeddings: text) })
}

/// MSC of samples 0..<captions.count rendered by `renderer` at the three MSC cameras (`MSCView.labels`), sample i
/// described by captions[i]; `batchSize` samples are rendered and scored at a time.
/// - Throws: the renderer's errors, or `CLIPMetricError` for a rendering that is not one (3, H, W) image in
///   [0, 1]'s layout or whose size differs within a batch.
public func multiViewSemanticConsistency(renderer: ViewRenderer, captions: [String], embedder: CLIPEmbedder,
                                         batchSize: Int = 8) throws -> MSCResult {
    guard batchSize > 0 else { throw CLIPMetricError("MSC: batch size must be positive, got \(batchSize)") }
    var result = MSCResult(scores: [[], [], []])
    let labels = MSCView.labels
    for start in stride(from: 0, to: captions.count, by: batchSize) {
        let samples = start..<Swift.min(captions.count, start + batchSize)
        let views = try MSCView.allCases.map { view in
            let images = try samples.map { i in
                try rendered(renderer.render(sample: i, camera: labels[view.rawValue]), sample: i, view: view)
            }
            if let odd = images.firstIndex(where: { $0.shape != images[0].shape }) {
                throw CLIPMetricError("MSC: the renderer returned \(images[odd].shape) for sample \(start + odd) but \(images[0].shape) for sample \(start), view \(view.name); one batch needs one image size")
            }
            return Tensor.concat(images, axis: 0)                                       // (b, 3, H, W)
        }
        result.append(try multiViewSemanticConsistency(frontal: views[0], left: views[1], right: views[2],
                                                       captions: Array(captions[samples]), embedder: embedder))
    }
    return result
}

/// A renderer's image as (1, 3, H, W), detached.
func rendered(_ image: Tensor, sample: Int, view: MSCView) throws -> Tensor {
    let x = image.rank == 3 ? image.reshape([1] + image.shape) : image
    guard x.rank == 4, x.shape[0] == 1, x.shape[1] == 3 else {
        throw CLIPMetricError("MSC: the renderer returned shape \(image.shape) for sample \(sample), view \(view.name); expected (3, H, W) or (1, 3, H, W)")
    }
    return x.detach()
}
