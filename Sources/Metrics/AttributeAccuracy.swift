// Attribute accuracy (issue 12 §2, a column the paper lacks): does the image show what its prompt states? Each
// prompt's stated attributes come from PromptAttributes.parse (the world's lexicon, both caption styles: true
// asserted, false denied); an attribute classifier's probability > 0.5 on the image is its verdict. The accuracy is
// the share of (image, stated attribute) pairs where the verdict matches the statement, pooled over images (micro
// average; attributes a prompt does not mention are not scored). The same rule as `teacher eval`'s agreement.
// Steering (the balanced figure) also counts what a statement implies: the world's hair colours are exclusive (one
// colour, none when bald), so "blond hair" says the other five colours are absent. Those implied statements enter
// the balanced figure only, so that a generator that draws one hair colour for every prompt reads 50% on the
// colours as it does on everything else; the pooled accuracy counts what the prompt states in words.
import Foundation
import PortraitWorld

public enum AttributeAccuracy {
    /// Agreements with one attribute's statements, split by what was stated: a generator that draws one value
    /// whatever the prompt says (every head a man) agrees with every statement of that value and none of the other,
    /// where one that draws at random agrees with half of each.
    public struct Tally: Sendable {
        public var agree = 0, stated = 0
        /// Of those, the statements that the attribute is present ("the man", "wears glasses").
        public var agreeWhenTrue = 0, statedTrue = 0
        /// Absences implied by another statement (another hair colour stated), outside `agree` and `stated`.
        public var agreeWhenImpliedFalse = 0, impliedFalse = 0
        public init() {}
        public var agreeWhenFalse: Int { agree - agreeWhenTrue }
        public var statedFalse: Int { stated - statedTrue }
        static func + (a: Tally, b: Tally) -> Tally {
            var c = a
            c.agree += b.agree; c.stated += b.stated; c.agreeWhenTrue += b.agreeWhenTrue; c.statedTrue += b.statedTrue
            c.agreeWhenImpliedFalse += b.agreeWhenImpliedFalse; c.impliedFalse += b.impliedFalse
            return c
        }
    }

    /// Agreements over stated attributes, pooled and per attribute.
    public struct Counts: Sendable {
        public var agree = 0, stated = 0
        public var perAttribute: [Attribute: Tally] = [:]
        public init() {}
        public var percent: Double { stated == 0 ? 0 : 100 * Double(agree) / Double(stated) }

        public static func + (a: Counts, b: Counts) -> Counts {
            var c = a
            c.agree += b.agree; c.stated += b.stated
            for (k, v) in b.perAttribute { c.perAttribute[k] = (c.perAttribute[k] ?? Tally()) + v }
            return c
        }

        /// Balanced accuracy, the steering figure: per attribute the mean of the agreement when the prompts state it
        /// present and when they state or imply it absent, averaged over the attributes stated both ways at least
        /// `minimumEachWay` times (a text-blind generator reads 50% in expectation, whatever it draws; the same
        /// prompts give the same attributes, so models are compared on one set). Nil when no attribute qualifies.
        public func balanced(minimumEachWay: Int = 5) -> (percent: Double, attributes: [Attribute])? {
            let both = Attribute.allCases.filter { a in
                perAttribute[a].map { $0.statedTrue >= minimumEachWay && $0.statedFalse + $0.impliedFalse >= minimumEachWay } ?? false
            }
            guard !both.isEmpty else { return nil }
            let sum = both.reduce(0.0) { acc, a in
                let t = perAttribute[a]!
                let whenFalse = Double(t.agreeWhenFalse + t.agreeWhenImpliedFalse) / Double(t.statedFalse + t.impliedFalse)
                return acc + 50 * (Double(t.agreeWhenTrue) / Double(t.statedTrue) + whenFalse)
            }
            return (sum / Double(both.count), both)
        }

        /// {attribute: {"percent", "stated", "when_stated_true": {"percent", "stated"}, "when_stated_false": {…},
        /// "when_implied_false": {…}}} for the attributes prompts stated, for JSON reports (a split's percent is null
        /// when nothing was stated so).
        public var perAttributeJSON: [String: Any] {
            func split(_ agree: Int, _ stated: Int) -> [String: Any] {
                ["percent": stated == 0 ? NSNull() : 100 * Double(agree) / Double(stated) as Any, "stated": stated]
            }
            var out: [String: Any] = [:]
            for (a, v) in perAttribute where v.stated > 0 {
                out[a.rawValue] = ["percent": 100 * Double(v.agree) / Double(v.stated), "stated": v.stated,
                                   "when_stated_true": split(v.agreeWhenTrue, v.statedTrue),
                                   "when_stated_false": split(v.agreeWhenFalse, v.statedFalse),
                                   "when_implied_false": split(v.agreeWhenImpliedFalse, v.impliedFalse)]
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
            let stated = PromptAttributes.parse(prompt)
            for (a, v) in stated {
                guard let k = Attribute.allCases.firstIndex(of: a) else { continue }
                let hit = (probabilities[i * n + k] > 0.5) == v ? 1 : 0
                c.stated += 1
                c.agree += hit
                var t = c.perAttribute[a] ?? Tally()
                t.agree += hit; t.stated += 1
                if v { t.agreeWhenTrue += hit; t.statedTrue += 1 }
                c.perAttribute[a] = t
            }
            for a in PromptAttributes.impliedAbsent(stated) {
                let k = Attribute.allCases.firstIndex(of: a)!
                var t = c.perAttribute[a] ?? Tally()
                t.impliedFalse += 1
                t.agreeWhenImpliedFalse += probabilities[i * n + k] > 0.5 ? 0 : 1
                c.perAttribute[a] = t
            }
        }
        return c
    }
}
