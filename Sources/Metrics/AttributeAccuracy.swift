// Attribute accuracy (issue 12 §2, a column the paper lacks): does the image show what its prompt states? Each
// prompt's stated attributes come from PromptAttributes.parse (the world's lexicon, both caption styles: true
// asserted, false denied); an attribute classifier's probability > 0.5 on the image is its verdict. The accuracy is
// the share of (image, stated attribute) pairs where the verdict matches the statement, pooled over images (micro
// average; attributes a prompt does not mention are not scored). The same rule as `teacher eval`'s agreement.
import PortraitWorld

public enum AttributeAccuracy {
    /// Agreements over stated attributes, pooled and per attribute.
    public struct Counts: Sendable {
        public var agree = 0, stated = 0
        public var perAttribute: [Attribute: (agree: Int, stated: Int)] = [:]
        public init() {}
        public var percent: Double { stated == 0 ? 0 : 100 * Double(agree) / Double(stated) }

        public static func + (a: Counts, b: Counts) -> Counts {
            var c = a
            c.agree += b.agree; c.stated += b.stated
            for (k, v) in b.perAttribute {
                let o = c.perAttribute[k] ?? (0, 0)
                c.perAttribute[k] = (o.agree + v.agree, o.stated + v.stated)
            }
            return c
        }

        /// {attribute: {"percent", "stated"}} for the attributes prompts stated, for JSON reports.
        public var perAttributeJSON: [String: Any] {
            var out: [String: Any] = [:]
            for (a, v) in perAttribute where v.stated > 0 {
                out[a.rawValue] = ["percent": 100 * Double(v.agree) / Double(v.stated), "stated": v.stated]
            }
            return out
        }
    }

    /// Counts over images: `prompts[i]` is image i's prompt; `probabilities` holds one row of
    /// `Attribute.allCases.count` values per image, in `Attribute.allCases` order.
    public static func count(prompts: [String], probabilities: [Float]) -> Counts {
        let n = Attribute.allCases.count
        precondition(probabilities.count == prompts.count * n,
                     "AttributeAccuracy: \(probabilities.count) probabilities for \(prompts.count) images of \(n) attributes")
        var c = Counts()
        for (i, prompt) in prompts.enumerated() {
            for (a, v) in PromptAttributes.parse(prompt) {
                guard let k = Attribute.allCases.firstIndex(of: a) else { continue }
                let hit = (probabilities[i * n + k] > 0.5) == v ? 1 : 0
                c.stated += 1
                c.agree += hit
                let o = c.perAttribute[a] ?? (0, 0)
                c.perAttribute[a] = (o.agree + hit, o.stated + 1)
            }
        }
        return c
    }
}
