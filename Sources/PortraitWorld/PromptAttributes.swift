// What a prompt states about the world's binary attributes: each attribute a phrase asserts (true) or denies
// (false), parsed with the wordings of both caption styles and common synonyms. Attributes the prompt does not
// mention are absent from the result. Used by evaluation (attribute accuracy: does the image show what the
// prompt states?) and by the teacher's evaluation; an independent lexicon in the tests checks the captions.
import Foundation

public enum PromptAttributes {
    typealias Rule = (pattern: String, facts: [(Attribute, Bool)])

    /// Denials, matched (and blanked) before anything else.
    static let negations: [Rule] = [
        (#"\b(no beard|beardless)\b"#, [(.noBeard, true)]),
        (#"\b(clean-shaven|clean shaven)\b"#, [(.noBeard, true), (.mustache, false), (.goatee, false), (.fiveOClockShadow, false)]),
        (#"\b(not wearing (eye)?glasses|doesn't wear glasses|does not wear glasses|without (spectacles|glasses|eyeglasses)|no glasses)\b"#,
         [(.eyeglasses, false)]),
        (#"\b(not smiling|serious expression|unsmiling|frowning)\b"#, [(.smiling, false)]),
        (#"\b(no hat|not wearing a hat|without a hat)\b"#, [(.wearingHat, false)]),
    ]

    /// Assertions, longer phrases first; each match is blanked before the next rule.
    static let positives: [Rule] = [
        (#"\b(sunglasses|shades|dark glasses)\b"#, [(.sunglasses, true)]),
        (#"\b(eyeglasses|glasses|spectacles|specs)\b"#, [(.eyeglasses, true)]),
        (#"\b(hat|fedora|cap)\b"#, [(.wearingHat, true)]),
        (#"\b(earrings|ear studs)\b"#, [(.wearingEarrings, true)]),
        (#"\b(necklace|pendant)\b"#, [(.wearingNecklace, true)]),
        (#"\b(necktie|tie)\b"#, [(.wearingNecktie, true)]),
        (#"\b(lipstick|painted lips|red lip colou?r)\b"#, [(.wearingLipstick, true)]),
        (#"\b(goatee|chin beard)\b"#, [(.goatee, true), (.noBeard, false)]),
        (#"\bbeard(ed)?\b"#, [(.noBeard, false)]),
        (#"\b(mustache|moustache)\b"#, [(.mustache, true)]),
        (#"\b(sideburns|mutton chops)\b"#, [(.sideburns, true)]),
        (#"\b(5 o'clock shadow|five o'clock shadow|stubble|stubbly)\b"#, [(.fiveOClockShadow, true)]),
        (#"\b(smil\w*|grin\w*|beaming)\b"#, [(.smiling, true)]),
        (#"\b(mouth slightly open|slightly open mouth|parted lips|open-mouthed|open mouth)\b"#, [(.mouthSlightlyOpen, true)]),
        (#"\b(bald|hairless|shaved head|shaven-headed)\b"#, [(.bald, true)]),
        (#"\b(bangs|fringe)\b"#, [(.bangs, true)]),
        (#"\b(receding hairline|high forehead|thinning hairline)\b"#, [(.recedingHairline, true)]),
        (#"\b(bun|topknot)\b"#, [(.hairBun, true)]),
        (#"\bponytail\b"#, [(.ponytail, true)]),
        (#"\b(big nose|large nose|prominent nose)\b"#, [(.bigNose, true)]),
        (#"\b(pointy nose|sharp nose|pointed nose)\b"#, [(.pointyNose, true)]),
        (#"\b(big lips|full lips|plump lips)\b"#, [(.bigLips, true)]),
        (#"\b(bushy eyebrows|heavy brows|thick eyebrows)\b"#, [(.bushyEyebrows, true)]),
        (#"\b(arched eyebrows|curved brows)\b"#, [(.archedEyebrows, true)]),
        (#"\b(chubby|round face|round-faced)\b"#, [(.chubby, true)]),
        (#"\b(double chin|second chin)\b"#, [(.doubleChin, true)]),
        (#"\b(high cheekbones|sculpted cheekbones)\b"#, [(.highCheekbones, true)]),
        (#"\b(narrow eyes|hooded eyes)\b"#, [(.narrowEyes, true)]),
        (#"\b(bags under the eyes|eye bags|tired-looking eyes|puffy under-eyes)\b"#, [(.bagsUnderEyes, true)]),
        (#"\b(rosy cheeks|flushed cheeks|pink cheeks)\b"#, [(.rosyCheeks, true)]),
        (#"\b(wavy|curly)\b"#, [(.wavyHair, true), (.longHair, true)]),
        (#"\b(straight|sleek)\b"#, [(.straightHair, true), (.longHair, true)]),
        (#"\b(long|shoulder-length|flowing)\b"#, [(.longHair, true)]),
        (#"\b(short|cropped|short-cropped)\b"#, [(.longHair, false)]),
        (#"\b(middle-aged|in middle age|mature)\b"#, [(.young, false), (.old, false)]),
        (#"\b(young|youthful)\b"#, [(.young, true), (.old, false)]),
        (#"\b(old|older|elderly|senior)\b"#, [(.old, true), (.young, false)]),
        (#"\b(pale|porcelain)(?: skin|-skinned| complexion)\b"#, [(.paleSkin, true)]),
        (#"\b(fair|olive|tan|brown|dark)(?: skin|-skinned| complexion)\b"#, [(.paleSkin, false)]),
    ]

    static let hairColours: [String: Attribute] = [
        "black": .blackHair, "raven": .blackHair, "brown": .brownHair, "chestnut": .brownHair, "brunette": .brownHair,
        "blond": .blondHair, "blonde": .blondHair, "golden": .blondHair, "flaxen": .blondHair, "red": .redHair, "ginger": .redHair,
        "auburn": .redHair, "gray": .grayHair, "grey": .grayHair, "silver": .grayHair, "white": .whiteHair, "snowy": .whiteHair,
    ]

    /// The attributes `prompt` states: true asserted, false denied.
    public static func parse(_ prompt: String) -> [Attribute: Bool] {
        var text = prompt.lowercased()
        var out: [Attribute: Bool] = [:]
        func apply(_ pattern: String, _ body: ([String]) -> [(Attribute, Bool)]) {
            guard let re = try? NSRegularExpression(pattern: pattern) else { return }
            let ms = re.matches(in: text, range: NSRange(text.startIndex..., in: text))
            for m in ms {
                let groups = (0..<m.numberOfRanges).map { i -> String in
                    guard let r = Range(m.range(at: i), in: text) else { return "" }
                    return String(text[r])
                }
                for (a, v) in body(groups) where out[a] == nil { out[a] = v }
            }
            for m in ms.reversed() {
                guard let r = Range(m.range, in: text) else { continue }
                text.replaceSubrange(r, with: String(repeating: "_", count: text[r].count))
            }
        }
        for rule in negations { apply(rule.pattern) { _ in rule.facts } }
        // Hair colours: "<colour> [up to two words] hair/locks/tresses" or "hair which is <colour> in color".
        let colour = { (g: [String]) -> [(Attribute, Bool)] in
            guard g.count > 1, let a = hairColours[g[1]] else { return [] }
            return [(a, true), (.bald, false)]
        }
        apply(#"\bhair which is (\w+) in colou?r\b"#, colour)
        apply(#"\b(black|raven|brown|chestnut|brunette|blonde?|golden|flaxen|red|ginger|auburn|gr[ae]y|silver|white|snowy)(?= (?:[a-z-]+ ){0,2}(?:hair|locks|tresses)\b)"#, colour)
        for rule in positives { apply(rule.pattern) { _ in rule.facts } }
        if let re = try? NSRegularExpression(pattern: #"\b(man|male|gentleman|guy|boy|he|his|him)\b"#),
           re.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil { out[.male] = out[.male] ?? true }
        if let re = try? NSRegularExpression(pattern: #"\b(woman|female|lady|gal|girl|she|her)\b"#),
           re.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil { out[.male] = out[.male] == true ? nil : false }
        return out
    }

    /// The world's hair colours, which exclude one another: an identity has one of them (or none, bald).
    public static let exclusiveHairColours: [Attribute] = [.blackHair, .blondHair, .brownHair, .grayHair, .redHair, .whiteHair]

    /// Attributes `stated` (a `parse` result) implies absent without naming them: every hair colour it does not
    /// mention, when it states one present. Captions only ever assert a hair colour, so without this no caption
    /// says which colours a person does *not* have.
    public static func impliedAbsent(_ stated: [Attribute: Bool]) -> [Attribute] {
        guard exclusiveHairColours.contains(where: { stated[$0] == true }) else { return [] }
        return exclusiveHairColours.filter { stated[$0] == nil }
    }
}
