// Captions agree with the ground truth: an independent phrase lexicon (both styles' wordings) finds every
// attribute a caption mentions and checks it against the identity; negations must be false of it. Also: ten
// captions per image, many templates, and the two styles' vocabularies are disjoint.
import Foundation
import XCTest
@testable import PortraitWorld

final class CaptionTests: XCTestCase {
    typealias Check = (Identity) -> Bool

    /// Negated phrases: the thing they deny must be absent. Matched (and blanked) first.
    let negations: [(String, Check)] = [
        (#"\bno beard\b"#, { !$0.beard && !$0.goatee }),
        (#"\bnot wearing eyeglasses\b|\bdoesn't wear glasses\b|\bwithout spectacles\b"#, { $0.eyewear == .none }),
        (#"\bnot smiling\b|\bserious expression\b"#, { $0.expression != .smiling }),
        (#"\bclean-shaven\b"#, { !$0.beard && !$0.goatee && !$0.moustache && !$0.stubble }),
    ]

    /// Positive phrases, in matching order (longer phrases first; each match is blanked before the next rule).
    let positives: [(String, Check)] = [
        (#"\b(sunglasses|shades|dark glasses)\b"#, { $0.eyewear == .sunglasses }),
        (#"\b(eyeglasses|glasses|spectacles|specs)\b"#, { $0.eyewear == .eyeglasses }),
        (#"\b(hat|fedora)\b"#, { $0.hat }),
        (#"\b(earrings|ear studs)\b"#, { $0.earrings }),
        (#"\b(necklace|pendant|chain)\b"#, { $0.neckwear == .necklace }),
        (#"\b(necktie|tie)\b"#, { $0.neckwear == .necktie }),
        (#"\b(lipstick|painted lips|red lip colour)\b"#, { $0.lipstick }),
        (#"\b(goatee|chin beard)\b"#, { $0.goatee }),
        (#"\bbeard\b"#, { $0.beard }),
        (#"\b(mustache|moustache)\b"#, { $0.moustache }),
        (#"\b(sideburns|mutton chops)\b"#, { $0.sideburns }),
        (#"\b(5 o'clock shadow|five o'clock shadow|stubble|stubbly)\b"#, { $0.stubble }),
        (#"\b(smil\w*|grin\w*|beaming)\b"#, { $0.expression == .smiling }),
        (#"\b(mouth slightly open|slightly open mouth|parted lips|open-mouthed)\b"#, { $0.expression == .mouthOpen }),
        (#"\b(bald|hairless|shaved head|shaven-headed)\b"#, { $0.isBald }),
        (#"\b(bangs|fringe)\b"#, { $0.bangs }),
        (#"\b(receding hairline|high forehead|thinning hairline)\b"#, { $0.recedingHairline }),
        (#"\b(bun|topknot)\b"#, { $0.hairStyle == .bun }),
        (#"\bponytail\b"#, { $0.hairStyle == .ponytail }),
        (#"\b(big nose|large nose|prominent nose)\b"#, { $0.bigNose }),
        (#"\b(pointy nose|sharp nose)\b"#, { $0.pointyNose }),
        (#"\b(big lips|full lips|plump lips)\b"#, { $0.bigLips }),
        (#"\b(bushy eyebrows|heavy brows)\b"#, { $0.bushyEyebrows }),
        (#"\b(arched eyebrows|curved brows)\b"#, { $0.archedEyebrows }),
        (#"\b(chubby|round face|round-faced)\b"#, { $0.chubby }),
        (#"\b(double chin|second chin)\b"#, { $0.doubleChin }),
        (#"\b(high cheekbones|sculpted cheekbones)\b"#, { $0.highCheekbones }),
        (#"\b(narrow eyes|hooded eyes)\b"#, { $0.narrowEyes }),
        (#"\b(bags under the eyes|eye bags|tired-looking eyes|puffy under-eyes)\b"#, { $0.bagsUnderEyes }),
        (#"\b(rosy cheeks|flushed cheeks|pink cheeks)\b"#, { $0.rosyCheeks }),
        (#"\b(wavy|curly)\b"#, { $0.hairStyle == .longWavy }),
        (#"\b(straight|sleek)\b"#, { $0.hairStyle == .longStraight }),
        (#"\b(long|shoulder-length|flowing)\b"#, { $0.hairStyle.isLong }),
        (#"\b(short|cropped|short-cropped)\b"#, { $0.hairStyle == .short }),
        (#"\b(middle-aged|in middle age|mature)\b"#, { $0.age == .middleAged }),
        (#"\b(young|youthful)\b"#, { $0.age == .young }),
        (#"\b(old|older|elderly|senior)\b"#, { $0.age == .old }),
    ]

    static let hairColourWords: [String: HairColor] = [
        "black": .black, "raven": .black, "brown": .brown, "chestnut": .brown, "brunette": .brown, "blond": .blond, "blonde": .blond,
        "golden": .blond, "flaxen": .blond, "red": .red, "ginger": .red, "auburn": .red, "gray": .grey, "grey": .grey,
        "silver": .grey, "white": .white, "snowy": .white,
    ]

    func matches(_ pattern: String, _ text: String) -> [NSTextCheckingResult] {
        let re = try! NSRegularExpression(pattern: pattern)
        return re.matches(in: text, range: NSRange(text.startIndex..., in: text))
    }

    func group(_ m: NSTextCheckingResult, _ i: Int, _ text: String) -> String {
        String(text[Range(m.range(at: i), in: text)!])
    }

    /// Checks one caption; returns the number of attribute mentions it found (sex not counted).
    @discardableResult
    func check(_ caption: String, _ id: Identity, file: StaticString = #filePath, line: UInt = #line) -> Int {
        var text = caption.lowercased()
        var found = 0
        func blank(_ pattern: String, _ ok: Check, _ what: String) {
            let ms = matches(pattern, text)
            if ms.isEmpty { return }
            found += 1
            XCTAssertTrue(ok(id), "'\(caption)' says \(what) (\(pattern)), which is false of \(DataSummary.of(id))", file: file, line: line)
            for m in ms.reversed() {
                let r = Range(m.range, in: text)!
                text.replaceSubrange(r, with: String(repeating: "_", count: text[r].count))
            }
        }
        for (p, ok) in negations { blank(p, ok, "a negation") }
        // Colours first: hair ("<colour> [up to two words] hair/locks/tresses", "hair which is <colour> in color"), eyes,
        // skin, backdrop. Each match is checked and blanked.
        func scan(_ pattern: String, _ test: (NSTextCheckingResult) -> Void) {
            let ms = matches(pattern, text)
            for m in ms { found += 1; test(m) }
            for m in ms.reversed() {
                let r = Range(m.range, in: text)!
                text.replaceSubrange(r, with: String(repeating: "_", count: text[r].count))
            }
        }
        let hairColour = { (m: NSTextCheckingResult) in
            XCTAssertEqual(CaptionTests.hairColourWords[self.group(m, 1, text)], id.isBald ? nil : id.hairColor, "'\(caption)'", file: file, line: line)
        }
        scan(#"\bhair which is (\w+) in color\b"#, hairColour)
        scan(#"\b(black|raven|brown|chestnut|brunette|blonde?|golden|flaxen|red|ginger|auburn|gr[ae]y|silver|white|snowy)(?= (?:[a-z-]+ ){0,2}(?:hair|locks|tresses)\b)"#, hairColour)
        scan(#"\b(brown|blue|green|grey|hazel)(?: eyes|-eyed)\b"#) { m in
            XCTAssertTrue(id.eyesVisible && self.group(m, 1, text) == id.eyeColor.rawValue, "'\(caption)'", file: file, line: line)
        }
        scan(#"\b(pale|fair|olive|tan|brown|dark)(?: skin|-skinned| complexion)\b"#) { m in
            XCTAssertEqual(self.group(m, 1, text), id.skinTone.rawValue, "'\(caption)'", file: file, line: line)
        }
        scan(#"\b(\w+) backdrop\b"#) { m in
            XCTAssertEqual(self.group(m, 1, text), id.background.rawValue, "'\(caption)'", file: file, line: line)
        }
        for (p, ok) in positives { blank(p, ok, "something") }
        // Sex: nouns and pronouns.
        if !matches(#"\b(man|male|gentleman|guy|he|his)\b"#, text).isEmpty { XCTAssertEqual(id.sex, .man, "'\(caption)'", file: file, line: line) }
        if !matches(#"\b(woman|female|lady|gal|she|her)\b"#, text).isEmpty { XCTAssertEqual(id.sex, .woman, "'\(caption)'", file: file, line: line) }
        return found
    }

    func testCaptionsAgreeWithAttributes() {
        let sampler = AttributeSampler()
        for style in CaptionStyle.allCases {
            let cap = Captioner(style: style)
            var mentions = 0, total = 0
            for i in 0..<400 {
                let id = sampler.identity(seed: 77, index: i)
                let caps = cap.captions(for: id, seed: 77, index: i)
                XCTAssertEqual(caps.count, 10)
                XCTAssertGreaterThan(Set(caps).count, 6, "captions of one image should mostly differ")
                for c in caps {
                    let n = check(c, id)
                    XCTAssertGreaterThan(n, 0, "'\(c)' mentions no attribute the lexicon knows")
                    mentions += n; total += 1
                }
            }
            XCTAssertGreaterThan(Double(mentions) / Double(total), 2.5, "\(style): captions mention few attributes")
        }
    }

    func testStylesUseDisjointWordingAndManyTemplates() {
        let sampler = AttributeSampler()
        var a: [String] = [], b: [String] = []
        for i in 0..<300 {
            let id = sampler.identity(seed: 5, index: i)
            a += Captioner(style: .celebAText).captions(for: id, seed: 5, index: i)
            b += Captioner(style: .ood).captions(for: id, seed: 5, index: i)
        }
        let onlyA = ["eyeglasses", "mustache", "bangs", "in color", "hair", "wears", "wearing", "necktie", "lipstick", "goatee",
                     "sideburns", "smiling", "young", "woman", "man", "the person", "picture has"]
        let onlyB = ["spectacles", "locks", "tresses", "moustache", "fringe", "sports", "fedora", "gentleman", "lady", "grinning",
                     "youthful", "backdrop", "portrait", "headshot", "pictured", "complexion"]
        func uses(_ text: String, _ word: String) -> Bool { !matches("\\b\(word)\\b", text.lowercased()).isEmpty }
        for w in onlyA { XCTAssertFalse(b.contains { uses($0, w) }, "OOD captions use '\(w)'"); XCTAssertTrue(a.contains { uses($0, w) }, w) }
        for w in onlyB { XCTAssertFalse(a.contains { uses($0, w) }, "CelebAText captions use '\(w)'"); XCTAssertTrue(b.contains { uses($0, w) }, w) }
        // Sentence frames: distinct first three words of the CelebAText-style sentences, pronoun and noun normalised.
        var frames = Set<String>()
        for c in a {
            for s in c.split(separator: ".") {
                var words = s.split(separator: " ").map { $0.lowercased() }
                words = words.map { ["he", "she"].contains($0) ? "P" : ["man", "woman", "male", "female"].contains($0) ? "N" : $0 }
                if words.count >= 3 { frames.insert(words.prefix(3).joined(separator: " ")) }
            }
        }
        XCTAssertGreaterThanOrEqual(frames.count, 15, "\(frames.sorted())")
    }

    func testCaptionsAreDeterministic() {
        let id = AttributeSampler().identity(seed: 3, index: 9)
        XCTAssertEqual(Captioner().captions(for: id, seed: 3, index: 9), Captioner().captions(for: id, seed: 3, index: 9))
        XCTAssertNotEqual(Captioner().captions(for: id, seed: 3, index: 9), Captioner().captions(for: id, seed: 3, index: 10))
    }
}

enum DataSummary {
    static func of(_ id: Identity) -> String {
        Attribute.allCases.filter { id.has($0) }.map(\.rawValue).joined(separator: ",") + " \(id.hairStyle) \(id.eyeColor) eyes \(id.skinTone)"
    }
}
