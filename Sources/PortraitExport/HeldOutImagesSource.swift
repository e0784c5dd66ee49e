// The held-out real images themselves as an EvalSource: each test-split image (one view, at its own camera) with
// its captions. Scored by the same judge and attribute classifier as the generator, they give the ceiling of the
// generator-driven evaluation: the R-precision and attribute accuracy that the captions, the judge and the
// classifier allow when the image is exactly right (a world caption states a handful of attributes, so several of
// 100 images can fit it).
import Foundation
import Metrics
import PortraitWorld
import TensorCore

public final class HeldOutImagesSource: EvalSource {
    public let name: String
    public let names: [String]
    let dataset: EG3DDataset
    let sampleCaptions: [[String]]

    /// `names` and `captions` from `GeneratorEvaluation.heldOutCaptions`.
    public init(data: String, names: [String], captions: [[String]]) throws {
        dataset = try EG3DDataset(path: data)
        self.names = names
        sampleCaptions = captions
        name = "held-out real images of \(data)"
    }

    public var count: Int { names.count }
    public var hasCaptions: Bool { true }
    public var views: [MSCView] { [.frontal] }
    public func captions(_ i: Int) -> [String] { sampleCaptions[i] }

    /// (3, H, W) in [0, 1].
    public func image(_ i: Int, view: MSCView) throws -> Tensor {
        let img = try dataset.image(names[i])
        return Tensor(GeneratorEvaluation.imageFloats(img), shape: [3, img.height, img.width])
    }
}
