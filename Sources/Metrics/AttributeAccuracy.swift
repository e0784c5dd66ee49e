// Attribute accuracy (issue 12 §2, a column the paper lacks): does the image show what its prompt states? Each
// prompt's stated attributes come from PromptAttributes.parse (the world's lexicon, both caption styles: true
// asserted, false denied); an attribute classifier's probability > 0.5 on the image is its verdict. The accuracy is
// the share of (image, stated attribute) pairs where the verdict matches the statement, pooled over images (micro
// average; attributes a prompt does not mention are not scored). The same rule as `teacher eval`'s agreement.
import PortraitWorld

public enum AttributeAccuracy {
    /// Counts over images: `prompts[i]` is image i's prompt; `probabilities` holds one row of
    /// `Attribute.allCases.count` values per image, in `Attribute.allCases` order.
    public static func count(prompts: [String], probabilities: [Float]) -> (agree: Int, stated: Int) {
        let n = Attribute.allCases.count
        precondition(probabilities.count == prompts.count * n,
                     "AttributeAccuracy: \(probabilities.count) probabilities for \(prompts.count) images of \(n) attributes")
        var agree = 0, stated = 0
        for (i, prompt) in prompts.enumerated() {
            for (a, v) in PromptAttributes.parse(prompt) {
                guard let k = Attribute.allCases.firstIndex(of: a) else { continue }
                stated += 1
                if (probabilities[i * n + k] > 0.5) == v { agree += 1 }
            }
        }
        return (agree, stated)
    }
}
