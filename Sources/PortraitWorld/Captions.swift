// Captions of an identity in two disjoint styles. `.celebAText` imitates CelebAText-HQ ("The woman has long
// blond hair and wears eyeglasses. She is smiling."): 19 sentence templates, paraphrased phrases, a random subset
// of true facts per caption and occasional explicit negations. `.ood` is a second style for out-of-distribution
// evaluation (FFHQ-Text-like portrait descriptions) with its own templates and synonyms.
import Foundation

public enum CaptionStyle: String, CaseIterable, Sendable {
    case celebAText = "celebatext", ood
}

/// A fact a caption may state, with phrasings per grammatical slot (nil: the fact has no such phrasing).
struct Fact {
    /// Noun phrases after "has" / "with" ("long blond hair", "a beard").
    var has: [String] = []
    /// Noun phrases after "wears" ("eyeglasses", "a hat").
    var wears: [String] = []
    /// Predicates after "is" ("smiling", "bald").
    var be: [String] = []
    /// Adjectives before the subject noun ("smiling", "young").
    var adjective: [String] = []
    /// A whole sentence with the pronoun as {P} (negations: "{P} has no beard.").
    var sentence: [String] = []
}

/// Caption generator for one style.
public struct Captioner: Sendable {
    public let style: CaptionStyle
    public init(style: CaptionStyle = .celebAText) { self.style = style }

    /// `count` captions of image `index` (counter-based: independent of order and thread count).
    public func captions(for id: Identity, seed: UInt64, index: Int, count: Int = 10) -> [String] {
        var r = WorldRandom(seed: seed, index: index, purpose: style == .celebAText ? .captions : .captionsOOD)
        return (0..<count).map { _ in caption(id, &r) }
    }

    /// One caption: a random subset of the identity's facts arranged by random templates.
    public func caption(_ id: Identity, _ r: inout WorldRandom) -> String {
        let lex = style == .celebAText ? Lexicon.celebAText : Lexicon.ood
        let all = lex.facts(id)
        let k = min(all.count, 2 + r.integer(below: 5))
        var chosen = Array(r.shuffled(all).prefix(k))
        let noun = r.pick(id.sex == .man ? lex.man : lex.woman)
        let pron = id.sex == .man ? "he" : "she"

        // Up to two attributive adjectives for the subject ("the smiling young woman").
        var adjectives: [String] = []
        chosen.removeAll { f in
            if !f.adjective.isEmpty && adjectives.count < 2 && r.bernoulli(0.5) { adjectives.append(r.pick(f.adjective)); return true }
            return false
        }
        var has: [String] = [], wears: [String] = [], be: [String] = [], sentences: [String] = []
        for f in chosen {
            // Prefer the fact's most natural slot; negations and special forms come as whole sentences.
            if !f.sentence.isEmpty && (f.has.isEmpty && f.wears.isEmpty && f.be.isEmpty || r.bernoulli(0.3)) {
                sentences.append(r.pick(f.sentence).replacingOccurrences(of: "{P}", with: pron))
            } else if !f.wears.isEmpty { wears.append(r.pick(f.wears)) }
            else if !f.has.isEmpty && (f.be.isEmpty || r.bernoulli(0.5)) { has.append(r.pick(f.has)) }
            else if !f.be.isEmpty { be.append(r.pick(f.be)) }
            else if !f.adjective.isEmpty { be.append(r.pick(f.adjective)) }
        }
        let subject = (adjectives.isEmpty ? "" : adjectives.joined(separator: lex.adjectiveJoiner) + " ") + noun
        var out: [String] = [lex.opening(subject: subject, has: &has, wears: &wears, be: &be, r: &r)]
        // Follow-up sentences with the pronoun.
        while !has.isEmpty || !wears.isEmpty || !be.isEmpty {
            let take = 1 + r.integer(below: 3)
            if !has.isEmpty {
                let items = Array(has.prefix(take)); has.removeFirst(items.count)
                out.append(fill(r.pick(lex.followHas), pron, list(items)))
            } else if !wears.isEmpty {
                let items = Array(wears.prefix(take)); wears.removeFirst(items.count)
                out.append(fill(r.pick(lex.followWears), pron, list(items)))
            } else {
                let items = Array(be.prefix(take)); be.removeFirst(items.count)
                out.append(fill(r.pick(lex.followBe), pron, list(items)))
            }
        }
        out += r.shuffled(sentences).map(capitalized)
        return out.joined(separator: " ")
    }

    func fill(_ template: String, _ pron: String, _ x: String) -> String {
        capitalized(template.replacingOccurrences(of: "{P}", with: pron).replacingOccurrences(of: "{X}", with: x))
    }
}

/// "a", "a and b", "a, b and c".
func list(_ items: [String]) -> String {
    if items.count <= 1 { return items.first ?? "" }
    return items.dropLast().joined(separator: ", ") + " and " + items.last!
}

func capitalized(_ s: String) -> String { s.prefix(1).uppercased() + s.dropFirst() }

/// "a" or "an" before a phrase.
func article(_ s: String) -> String {
    guard let c = s.first else { return "a" }
    return "aeiou".contains(c) ? "an \(s)" : "a \(s)"
}
