// How well a CLIP matches captions to images it never saw: caption → image retrieval top-1 among groups of
// 100 held-out images (each image's first caption of a style against the 100 images of its group), per
// caption style. The bar of the teacher issue is ≥ 80% for each style.
// Beside it, the ceiling the captions allow a reader of the world's 43 binary attributes (`attributeOracle`): a
// caption states a handful of attributes, so several of the 100 images may fit it equally.
import Foundation
import PortraitWorld
import Teacher
import TensorCore
import Training

public enum CLIPRetrieval {
    public struct Result: Sendable {
        public let style: String
        public let top1: Double
        public let queries: Int
        /// The expected top-1 of a retriever that knows every image's 43 binary attributes and reads what each
        /// caption states about them (PromptAttributes), picking at random among the images that fit: mean of
        /// 1/(images of the group that fit) over the captions whose own image fits (0 for the others).
        public let attributeOracleTop1: Double
    }

    /// `attributeOracleTop1` for `captions` against `attributes` (rows in Attribute.allCases order), in groups.
    public static func attributeOracle(captions: [String], attributes: [[Float]], group: Int) -> Double {
        let n = (Swift.min(captions.count, attributes.count) / group) * group
        guard n > 0 else { return 0 }
        let index = Dictionary(uniqueKeysWithValues: Attribute.allCases.enumerated().map { ($1, $0) })
        var sum = 0.0
        for i in 0..<n {
            let stated = PromptAttributes.parse(captions[i])
            func fits(_ j: Int) -> Bool { stated.allSatisfy { a, v in (attributes[j][index[a]!] > 0.5) == v } }
            guard fits(i) else { continue }
            let g = i / group
            let k = ((g * group)..<((g + 1) * group)).filter(fits).count
            sum += 1 / Double(k)
        }
        return sum / Double(n)
    }

    /// Embeds images and captions of `bank` in groups of `group` and counts the captions whose own image ranks
    /// first. Uses the first `groups` × `group` images.
    public static func evaluate(model: CLIPModel, tokenizer: CLIPTokenizer, processor: CLIPImageProcessor, bank: WorldImageBank,
                                group: Int = 100, groups: Int = 5) -> [Result] {
        withNoGrad {
            let n = Swift.min(bank.count / group, groups) * group
            guard n > 0 else { return [] }
            var imageEmbeds: [Tensor] = []
            for start in stride(from: 0, to: n, by: 50) {
                let idx = Array(start..<Swift.min(start + 50, n))
                imageEmbeds.append(model.imageEmbeddings(pixelValues: processor((bank.images(idx) + 1) * 0.5)))
            }
            let images = Tensor.concat(imageEmbeds, axis: 0)
            var out: [Result] = []
            for (style, captions) in [("celebatext", bank.captions), ("ood", bank.captionsOOD)] {
                var hits = 0
                for g in 0..<(n / group) {
                    let idx = Array((g * group)..<((g + 1) * group))
                    let texts = idx.map { captions[$0].first ?? "" }
                    let t = model.textEmbeddings(ids: CLIPTrainer.ids(tokenizer, texts))
                    let sim = t.matmul(images.slice(axis: 0, start: g * group, end: (g + 1) * group).transpose(0, 1))
                    let best = sim.argmax(axis: 1).toArray()
                    hits += best.enumerated().filter { Int($0.element) == $0.offset }.count
                }
                let oracle = bank.attributes.count == bank.count
                    ? attributeOracle(captions: captions.prefix(n).map { $0.first ?? "" }, attributes: bank.attributes, group: group) : 0
                out.append(Result(style: style, top1: Double(hits) / Double(n), queries: n, attributeOracleTop1: oracle))
            }
            return out
        }
    }
}
