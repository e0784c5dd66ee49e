// Phrase banks and sentence templates of the two caption styles. Every phrase names something true of the
// identity (or, in a negation sentence, something false), so captions agree with the ground truth.
import Foundation

struct Lexicon: Sendable {
    let style: CaptionStyle
    static let celebAText = Lexicon(style: .celebAText)
    static let ood = Lexicon(style: .ood)

    var isA: Bool { style == .celebAText }
    var man: [String] { isA ? ["man", "male"] : ["gentleman", "guy"] }
    var woman: [String] { isA ? ["woman", "female"] : ["lady", "gal"] }
    var adjectiveJoiner: String { isA ? " " : ", " }

    // Follow-up sentence templates ({P} pronoun, {X} a list of phrases).
    var followHas: [String] { isA ? ["{P} has {X}.", "{P} also has {X}.", "{P} has got {X}."] : ["{P} is shown with {X}.", "{P} features {X}."] }
    var followWears: [String] { isA ? ["{P} is wearing {X}.", "{P} wears {X}.", "{P} also wears {X}."] : ["{P} sports {X}.", "{P} has on {X}."] }
    var followBe: [String] { isA ? ["{P} is {X}.", "{P} seems to be {X}.", "{P} appears to be {X}."] : ["{P} appears {X}.", "{P} comes across as {X}."] }

    /// The first sentence, naming the subject; consumes some of the phrase lists.
    func opening(subject s: String, has: inout [String], wears: inout [String], be: inout [String], r: inout WorldRandom) -> String {
        func take(_ a: inout [String], _ n: Int) -> String {
            let items = Array(a.prefix(n)); a.removeFirst(items.count); return list(items)
        }
        let n = 1 + r.integer(below: 3)
        var options: [Int] = []
        if isA {
            if !has.isEmpty { options += [0, 1, 2, 3, 4, 5] }
            if !wears.isEmpty { options += [6, 7] }
            if !has.isEmpty && !wears.isEmpty { options += [8, 9] }
            if !be.isEmpty { options += [10, 11] }
            if !has.isEmpty && !be.isEmpty { options += [12] }
            if options.isEmpty { return capitalized("This is \(article(s)).") }
            switch r.pick(options) {
            case 0: return "The \(s) has \(take(&has, n))."
            case 1: return "This \(s) has \(take(&has, n))."
            case 2: return capitalized("\(article(s)) with \(take(&has, n)).")
            case 3: return "There is \(article(s)) who has \(take(&has, n))."
            case 4: return "The person is \(article(s)) with \(take(&has, n))."
            case 5: return "The \(s) in the picture has \(take(&has, n))."
            case 6: return "The \(s) is wearing \(take(&wears, n))."
            case 7: return "This \(s) wears \(take(&wears, n))."
            case 8: let w = take(&wears, n); return "This \(s) is wearing \(w) and has \(take(&has, n))."
            case 9: let h = take(&has, 1); return "The \(s) with \(h) wears \(take(&wears, n))."
            case 10: return "The \(s) is \(take(&be, n))."
            case 11: return "This \(s) appears to be \(take(&be, 1))."
            default: let h = take(&has, n); return "The \(s) has \(h) and is \(take(&be, 1))."
            }
        } else {
            // The OOD style's opening takes things had ("with ...") or, when there are none, things worn.
            let worn = has.isEmpty
            var with = worn ? wears : has
            if worn { wears = [] } else { has = [] }
            if !with.isEmpty { options += [0, 1, 2, 3, 4, 5] }
            if !be.isEmpty { options += [6] }
            if options.isEmpty { return capitalized("A close portrait of \(article(s)).") }
            let choice = r.pick(options)
            defer { if worn { wears = with } else { has = with } }
            switch choice {
            case 0: return "A portrait photo of \(article(s)) with \(take(&with, n))."
            case 1: return "Close-up headshot of \(article(s)) with \(take(&with, n))."
            case 2: return "Picture of \(article(s)) sporting \(take(&with, n))."
            case 3: return capitalized("\(article(s)), pictured with \(take(&with, n)).")
            case 4: return "In this photo, \(article(s)) is shown with \(take(&with, n))."
            case 5: return "Face of \(article(s)), featuring \(take(&with, n))."
            default: return "A portrait of \(article(s)) who appears \(take(&be, 1))."
            }
        }
    }

    /// Every fact this style can state about `id`.
    func facts(_ id: Identity) -> [Fact] {
        var f: [Fact] = []
        // Hair.
        if id.isBald {
            f.append(isA ? Fact(be: ["bald"], adjective: ["bald"]) : Fact(has: ["a shaved head"], be: ["hairless"], adjective: ["shaven-headed"]))
        } else {
            let colours: [String]
            switch id.hairColor {
            case .black: colours = isA ? ["black"] : ["jet-black", "raven"]
            case .brown: colours = isA ? ["brown"] : ["chestnut", "brunette"]
            case .blond: colours = isA ? ["blond", "blonde"] : ["golden", "flaxen"]
            case .red: colours = isA ? ["red"] : ["ginger", "auburn"]
            case .grey: colours = isA ? ["gray", "grey"] : ["silver", "ash-grey"]
            case .white: colours = isA ? ["white"] : ["snow-white", "snowy"]
            }
            let styles: [String]
            switch id.hairStyle {
            case .short: styles = isA ? ["short"] : ["cropped", "short-cropped"]
            case .longStraight: styles = isA ? ["long straight", "straight", "long"] : ["sleek shoulder-length", "flowing sleek"]
            case .longWavy: styles = isA ? ["long wavy", "wavy", "long"] : ["curly shoulder-length", "flowing curly"]
            case .bun, .ponytail, .bald: styles = []
            }
            let noun = isA ? ["hair"] : ["locks", "tresses"]
            var phrases: [String] = []
            for c in colours {
                for n in noun {
                    phrases.append("\(c) \(n)")
                    for st in styles { phrases.append("\(st) \(c) \(n)") }
                    if id.hairStyle == .bun { phrases.append(isA ? "\(c) \(n) in a bun" : "\(c) \(n) gathered in a topknot") }
                    if id.hairStyle == .ponytail { phrases.append(isA ? "\(c) \(n) in a ponytail" : "\(c) \(n) tied into a ponytail") }
                }
            }
            var hair = Fact(has: phrases)
            if isA {
                hair.sentence = colours.flatMap { c in ["{P} has hair which is \(c) in color."] + styles.map { "{P} has \($0) hair which is \(c) in color." } }
            }
            f.append(hair)
            if id.hairStyle == .bun { f.append(Fact(has: isA ? ["a bun", "a hair bun"] : ["a topknot"])) }
            if id.hairStyle == .ponytail { f.append(Fact(has: isA ? ["a ponytail"] : ["a high ponytail"])) }
            if id.bangs { f.append(Fact(has: isA ? ["bangs"] : ["a fringe", "a fringe over the forehead"])) }
            if id.recedingHairline { f.append(Fact(has: isA ? ["a receding hairline"] : ["a high forehead", "a thinning hairline"])) }
        }
        // Eyes, skin, age.
        if id.eyesVisible {
            let c = id.eyeColor.rawValue
            f.append(isA ? Fact(has: ["\(c) eyes"]) : Fact(adjective: ["\(c)-eyed"]))
        }
        let tone = id.skinTone.rawValue
        f.append(isA ? Fact(has: ["\(tone) skin"]) : Fact(has: ["a \(tone) complexion"], adjective: ["\(tone)-skinned"]))
        switch id.age {
        case .young: f.append(isA ? Fact(be: ["young"], adjective: ["young"]) : Fact(be: ["youthful"], adjective: ["youthful"]))
        case .middleAged: f.append(isA ? Fact(be: ["middle-aged"], adjective: ["middle-aged"]) : Fact(be: ["in middle age"], adjective: ["mature"]))
        case .old: f.append(isA ? Fact(be: ["old"], adjective: ["old", "older"]) : Fact(be: ["elderly"], adjective: ["elderly", "senior"]))
        }
        // Expression.
        switch id.expression {
        case .smiling: f.append(isA ? Fact(has: ["a smile", "a big smile"], be: ["smiling"], adjective: ["smiling"])
                                    : Fact(has: ["a broad grin"], be: ["grinning"], adjective: ["grinning", "beaming"]))
        case .mouthOpen: f.append(isA ? Fact(has: ["the mouth slightly open", "a slightly open mouth"])
                                      : Fact(has: ["parted lips"], adjective: ["open-mouthed"]))
        case .neutral: f.append(Fact(sentence: isA ? ["{P} is not smiling."] : ["{P} has a serious expression."]))
        }
        // Facial hair.
        if id.beard { f.append(Fact(has: isA ? ["a beard", "a full beard"] : ["a thick beard", "a full-grown beard"])) }
        if id.goatee { f.append(Fact(has: isA ? ["a goatee"] : ["a chin beard"])) }
        if id.moustache { f.append(Fact(has: isA ? ["a mustache"] : ["a moustache"])) }
        if id.sideburns { f.append(Fact(has: isA ? ["sideburns"] : ["mutton chops"])) }
        if id.stubble { f.append(Fact(has: isA ? ["a 5 o'clock shadow", "a five o'clock shadow"] : ["stubble", "a stubbly jaw"])) }
        if id.sex == .man {
            if isA && !id.beard && !id.goatee { f.append(Fact(sentence: ["{P} has no beard."])) }
            if !isA && !id.beard && !id.goatee && !id.moustache && !id.stubble { f.append(Fact(sentence: ["{P} is clean-shaven."])) }
        }
        // Accessories.
        switch id.eyewear {
        case .eyeglasses: f.append(Fact(wears: isA ? ["eyeglasses", "glasses"] : ["spectacles", "specs"]))
        case .sunglasses: f.append(Fact(wears: isA ? ["sunglasses"] : ["shades", "dark glasses"]))
        case .none: f.append(Fact(sentence: isA ? ["{P} is not wearing eyeglasses.", "{P} doesn't wear glasses."] : ["{P} is without spectacles."]))
        }
        if id.hat { f.append(Fact(wears: isA ? ["a hat"] : ["a fedora", "a brimmed fedora"])) }
        if id.earrings { f.append(Fact(wears: isA ? ["earrings"] : ["ear studs"])) }
        if id.neckwear == .necklace { f.append(Fact(wears: isA ? ["a necklace"] : ["a pendant", "a chain with a pendant"])) }
        if id.neckwear == .necktie { f.append(Fact(wears: isA ? ["a necktie", "a tie"] : ["a collar and tie"])) }
        if id.lipstick { f.append(isA ? Fact(wears: ["lipstick"]) : Fact(has: ["painted lips", "a red lip colour"])) }
        // Face shape.
        if id.bigNose { f.append(Fact(has: isA ? ["a big nose", "a large nose"] : ["a prominent nose"])) }
        if id.pointyNose { f.append(Fact(has: isA ? ["a pointy nose"] : ["a sharp nose"])) }
        if id.bigLips { f.append(Fact(has: isA ? ["big lips", "full lips"] : ["plump lips"])) }
        if id.bushyEyebrows { f.append(Fact(has: isA ? ["bushy eyebrows"] : ["heavy brows"])) }
        if id.archedEyebrows { f.append(Fact(has: isA ? ["arched eyebrows"] : ["curved brows"])) }
        if id.chubby { f.append(isA ? Fact(has: ["a chubby face"], be: ["chubby"], adjective: ["chubby"]) : Fact(has: ["a round face"], adjective: ["round-faced"])) }
        if id.doubleChin { f.append(Fact(has: isA ? ["a double chin"] : ["a second chin"])) }
        if id.highCheekbones { f.append(Fact(has: isA ? ["high cheekbones"] : ["sculpted cheekbones"])) }
        if id.narrowEyes { f.append(Fact(has: isA ? ["narrow eyes"] : ["hooded eyes"])) }
        if id.bagsUnderEyes { f.append(Fact(has: isA ? ["bags under the eyes", "eye bags"] : ["tired-looking eyes", "puffy under-eyes"])) }
        if id.rosyCheeks { f.append(Fact(has: isA ? ["rosy cheeks"] : ["flushed cheeks", "pink cheeks"])) }
        if !isA {
            let bg = id.background.rawValue
            f.append(Fact(sentence: ["{P} poses against a \(bg) backdrop.", "Shot against a \(bg) backdrop."]))
        }
        return f
    }
}
