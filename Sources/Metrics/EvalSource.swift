// What `dreamportrait eval` scores: a set of generated samples, each a prompt's portrait with its captions and
// its images at the MSC views (MSCViews.swift). The metrics read samples only through `EvalSource`, so a folder on
// disk (EvalFolder.swift) and, later, the trained generator rendering each prompt's three views in memory
// (generator-driven evaluation during training) are interchangeable:
//   * FID encodes every image of every sample (all its views);
//   * MSC scores each sample's caption against its frontal, left and right views (needs `hasViews`);
//   * R-precision ranks each sample's true caption against its frontal image.
import Foundation
import TensorCore

/// A set of generated samples to evaluate.
public protocol EvalSource {
    /// Where the samples come from, for reports ("folder eval/", "generator checkpoint ...").
    var name: String { get }
    /// The number of samples (prompts).
    var count: Int { get }
    /// Whether every sample has captions (MSC and R-precision need them).
    var hasCaptions: Bool { get }
    /// The views each sample has: [.frontal] (one image per sample) or all three MSC views.
    var views: [MSCView] { get }
    /// Sample i's captions, its true caption first (empty when the source has none).
    func captions(_ i: Int) -> [String]
    /// Sample i's image at `view` (one of `views`): (3, H, W) with values in [0, 1].
    func image(_ i: Int, view: MSCView) throws -> Tensor
}

extension EvalSource {
    /// Whether each sample has its three MSC views.
    public var hasViews: Bool { views.count == MSCView.allCases.count }

    /// Samples `range`'s images at `view` stacked as (n, 3, H, W).
    /// - Throws: the source's errors, or `MetricError` when the images' sizes differ within the batch.
    public func batch(_ range: Range<Int>, view: MSCView) throws -> Tensor {
        let images = try range.map { try image($0, view: view) }
        for (k, x) in images.enumerated() where x.rank != 3 || x.shape[0] != 3 {
            throw MetricError(message: "\(name): sample \(range.lowerBound + k) (\(view.name)) has shape \(x.shape), expected (3, H, W)")
        }
        if let k = images.firstIndex(where: { $0.shape != images[0].shape }) {
            throw MetricError(message: "\(name): sample \(range.lowerBound + k) (\(view.name)) is \(images[k].shape[1])x\(images[k].shape[2]) but sample \(range.lowerBound) is \(images[0].shape[1])x\(images[0].shape[2]); CLIP batches need one size: resize the images or use --batch 1")
        }
        return Tensor.stack(images, axis: 0)
    }
}

/// An EvalSource's views rendered through MSC's `ViewRenderer` seam (sample i at a view's camera label).
public struct EvalSourceRenderer: ViewRenderer {
    public let source: EvalSource
    public init(_ source: EvalSource) { self.source = source }

    public func render(sample: Int, camera label: [Float]) throws -> Tensor {
        guard let view = MSCView.matching(label: label), source.views.contains(view) else {
            throw MetricError(message: "\(source.name) has no image of sample \(sample) at camera \(label.prefix(16))")
        }
        return try source.image(sample, view: view)
    }
}
