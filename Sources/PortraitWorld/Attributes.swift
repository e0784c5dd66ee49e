// The attribute vocabulary of the synthetic portrait world: a structured identity (sex, age, skin tone, hair,
// eyes, expression, facial hair, accessories, face shape, background) and the CelebA-style binary attributes
// derived from it. Sampling with correlations lives in AttributeSampler.swift.
import Foundation

public enum Sex: String, CaseIterable, Sendable { case man, woman }
public enum AgeGroup: String, CaseIterable, Sendable { case young, middleAged = "middle-aged", old }
/// Six skin tones, lightest first.
public enum SkinTone: String, CaseIterable, Sendable { case pale, fair, olive, tan, brown, dark }
public enum HairColor: String, CaseIterable, Sendable { case black, brown, blond, red, grey, white }
/// Hair styles; bangs (a fringe) is a separate flag that combines with short and long hair.
public enum HairStyle: String, CaseIterable, Sendable {
    case bald, short, longStraight = "long straight", longWavy = "long wavy", bun, ponytail
    public var isLong: Bool { self == .longStraight || self == .longWavy }
}
public enum EyeColor: String, CaseIterable, Sendable { case brown, blue, green, grey, hazel }
public enum Expression: String, CaseIterable, Sendable { case neutral, smiling, mouthOpen = "mouth open" }
public enum Eyewear: String, CaseIterable, Sendable { case none, eyeglasses, sunglasses }
public enum Neckwear: String, CaseIterable, Sendable { case none, necklace, necktie }
public enum Background: String, CaseIterable, Sendable {
    case white, grey, charcoal, blue, green, beige, pink, yellow, purple
}

/// Continuous, uncaptioned variation between identities (multipliers near 1 and small offsets).
public struct Variation: Sendable, Equatable {
    public var headWidth = 1.0, faceLength = 1.0, jawWidth = 1.0, eyeSpacing = 1.0, noseLength = 1.0
    /// Multiplicative jitter of the skin and hair albedo (per channel, near 1).
    public var skinTint = SIMD3<Double>(1, 1, 1), hairTint = SIMD3<Double>(1, 1, 1)
    /// Clothing colour, sRGB in [0, 1].
    public var clothing = SIMD3<Double>(0.2, 0.25, 0.4)
    /// Key light direction: yaw (radians, + = light from the subject's left, image right) and elevation.
    public var lightYaw = 0.5, lightElevation = 0.6
    public init() {}
}

/// One synthetic person: everything the scene builder, the captioner and the ground truth need.
public struct Identity: Sendable, Equatable {
    public var sex: Sex = .woman
    public var age: AgeGroup = .young
    public var skinTone: SkinTone = .fair
    public var hairColor: HairColor = .brown
    public var hairStyle: HairStyle = .short
    public var bangs = false
    public var recedingHairline = false
    public var eyeColor: EyeColor = .brown
    public var expression: Expression = .neutral
    public var beard = false, goatee = false, moustache = false, sideburns = false, stubble = false
    public var eyewear: Eyewear = .none
    public var hat = false, earrings = false
    public var neckwear: Neckwear = .none
    public var lipstick = false, rosyCheeks = false
    public var bigNose = false, pointyNose = false, bigLips = false
    public var bushyEyebrows = false, archedEyebrows = false
    public var chubby = false, doubleChin = false, highCheekbones = false
    public var narrowEyes = false, bagsUnderEyes = false
    public var background: Background = .grey
    public var variation = Variation()
    public init() {}

    public var isBald: Bool { hairStyle == .bald }
    /// Whether the iris is visible (sunglasses hide it).
    public var eyesVisible: Bool { eyewear != .sunglasses }
}

/// The CelebA-style binary attributes (36 of CelebA's 40 with CelebA's names, plus 7 this world adds).
/// Left out from CelebA: Attractive, Blurry, Heavy_Makeup, Oval_Face (not well defined for a procedural head).
public enum Attribute: String, CaseIterable, Sendable {
    case fiveOClockShadow = "5_o_Clock_Shadow", archedEyebrows = "Arched_Eyebrows", bagsUnderEyes = "Bags_Under_Eyes"
    case bald = "Bald", bangs = "Bangs", bigLips = "Big_Lips", bigNose = "Big_Nose"
    case blackHair = "Black_Hair", blondHair = "Blond_Hair", brownHair = "Brown_Hair"
    case bushyEyebrows = "Bushy_Eyebrows", chubby = "Chubby", doubleChin = "Double_Chin"
    case eyeglasses = "Eyeglasses", goatee = "Goatee", grayHair = "Gray_Hair", highCheekbones = "High_Cheekbones"
    case male = "Male", mouthSlightlyOpen = "Mouth_Slightly_Open", mustache = "Mustache", narrowEyes = "Narrow_Eyes"
    case noBeard = "No_Beard", paleSkin = "Pale_Skin", pointyNose = "Pointy_Nose"
    case recedingHairline = "Receding_Hairline", rosyCheeks = "Rosy_Cheeks", sideburns = "Sideburns"
    case smiling = "Smiling", straightHair = "Straight_Hair", wavyHair = "Wavy_Hair"
    case wearingEarrings = "Wearing_Earrings", wearingHat = "Wearing_Hat", wearingLipstick = "Wearing_Lipstick"
    case wearingNecklace = "Wearing_Necklace", wearingNecktie = "Wearing_Necktie", young = "Young"
    // Added by this world.
    case redHair = "Red_Hair", whiteHair = "White_Hair", longHair = "Long_Hair", hairBun = "Hair_Bun"
    case ponytail = "Ponytail", sunglasses = "Sunglasses", old = "Old"

    /// What the attribute means here, for the README and attributes.json.
    public var definition: String {
        switch self {
        case .fiveOClockShadow: "stubble on the jaw and upper lip (only without a beard or goatee)"
        case .archedEyebrows: "eyebrows with a raised arch"
        case .bagsUnderEyes: "dark, puffy skin under the eyes"
        case .bald: "no scalp hair"
        case .bangs: "a fringe over the forehead"
        case .bigLips: "full lips"
        case .bigNose: "a large nose"
        case .blackHair, .blondHair, .brownHair, .grayHair, .redHair, .whiteHair: "scalp hair of that colour (false when bald)"
        case .bushyEyebrows: "thick eyebrows"
        case .chubby: "a round, full face"
        case .doubleChin: "a second fold under the chin"
        case .eyeglasses: "clear eyeglasses (sunglasses are a separate attribute, unlike CelebA)"
        case .goatee: "a small beard on the chin only"
        case .highCheekbones: "prominent, high cheekbones"
        case .male: "the person is a man"
        case .mouthSlightlyOpen: "the mouth is open"
        case .mustache: "hair on the upper lip"
        case .narrowEyes: "narrow eye openings"
        case .noBeard: "neither a full beard nor a goatee (a moustache alone still counts as no beard)"
        case .paleSkin: "the palest of the six skin tones"
        case .pointyNose: "a narrow nose with a pointed tip"
        case .recedingHairline: "a hairline set far back on the forehead"
        case .rosyCheeks: "red cheeks"
        case .sideburns: "hair in front of the ears"
        case .smiling: "a smile with the corners of the mouth up and teeth showing"
        case .straightHair: "long straight hair"
        case .wavyHair: "long wavy hair"
        case .wearingEarrings: "earrings"
        case .wearingHat: "a hat with a brim"
        case .wearingLipstick: "red lipstick"
        case .wearingNecklace: "a necklace"
        case .wearingNecktie: "a necktie"
        case .young: "the young age group"
        case .longHair: "hair reaching the shoulders (long straight or long wavy)"
        case .hairBun: "hair gathered in a bun on top of the head"
        case .ponytail: "hair gathered in a ponytail"
        case .sunglasses: "dark sunglasses"
        case .old: "the old age group (grey or white hair likely, wrinkles)"
        }
    }
}

extension Identity {
    /// The value of one binary attribute.
    public func has(_ a: Attribute) -> Bool {
        let hair = !isBald
        switch a {
        case .fiveOClockShadow: return stubble
        case .archedEyebrows: return archedEyebrows
        case .bagsUnderEyes: return bagsUnderEyes
        case .bald: return isBald
        case .bangs: return bangs
        case .bigLips: return bigLips
        case .bigNose: return bigNose
        case .blackHair: return hair && hairColor == .black
        case .blondHair: return hair && hairColor == .blond
        case .brownHair: return hair && hairColor == .brown
        case .grayHair: return hair && hairColor == .grey
        case .redHair: return hair && hairColor == .red
        case .whiteHair: return hair && hairColor == .white
        case .bushyEyebrows: return bushyEyebrows
        case .chubby: return chubby
        case .doubleChin: return doubleChin
        case .eyeglasses: return eyewear == .eyeglasses
        case .sunglasses: return eyewear == .sunglasses
        case .goatee: return goatee
        case .highCheekbones: return highCheekbones
        case .male: return sex == .man
        case .mouthSlightlyOpen: return expression == .mouthOpen
        case .mustache: return moustache
        case .narrowEyes: return narrowEyes
        case .noBeard: return !beard && !goatee
        case .paleSkin: return skinTone == .pale
        case .pointyNose: return pointyNose
        case .recedingHairline: return recedingHairline
        case .rosyCheeks: return rosyCheeks
        case .sideburns: return sideburns
        case .smiling: return expression == .smiling
        case .straightHair: return hairStyle == .longStraight
        case .wavyHair: return hairStyle == .longWavy
        case .longHair: return hairStyle.isLong
        case .hairBun: return hairStyle == .bun
        case .ponytail: return hairStyle == .ponytail
        case .wearingEarrings: return earrings
        case .wearingHat: return hat
        case .wearingLipstick: return lipstick
        case .wearingNecklace: return neckwear == .necklace
        case .wearingNecktie: return neckwear == .necktie
        case .young: return age == .young
        case .old: return age == .old
        }
    }

    /// All binary attributes in vocabulary order (CelebA's convention would write them as ±1).
    public var binaryAttributes: [Bool] { Attribute.allCases.map(has) }

    /// Ground truth for attributes.json: the binary attributes by name plus the structured fields.
    public var groundTruth: [String: Any] {
        var d: [String: Any] = [:]
        for a in Attribute.allCases { d[a.rawValue] = has(a) }
        d["sex"] = sex.rawValue
        d["age"] = age.rawValue
        d["skin_tone"] = skinTone.rawValue
        d["hair_color"] = hairColor.rawValue
        d["hair_style"] = hairStyle.rawValue
        d["eye_color"] = eyeColor.rawValue
        d["expression"] = expression.rawValue
        d["eyewear"] = eyewear.rawValue
        d["neckwear"] = neckwear.rawValue
        d["background"] = background.rawValue
        d["full_beard"] = beard
        return d
    }

    /// Checks the combinations the scene builder relies on; returns a description of the first violation.
    public func inconsistency() -> String? {
        if isBald && (bangs || recedingHairline) { return "bald with bangs or a receding hairline" }
        if bangs && recedingHairline { return "bangs with a receding hairline" }
        if hat && (isBald || hairStyle == .bun) { return "a hat over a bald head or a bun" }
        if stubble && (beard || goatee) { return "stubble with a beard or goatee" }
        if beard && goatee { return "both a full beard and a goatee" }
        if sex == .woman && (beard || goatee || moustache || sideburns || stubble) { return "facial hair on a woman" }
        if pointyNose && bigNose { return "a nose both big and pointy" }
        if bushyEyebrows && archedEyebrows { return "eyebrows both bushy and arched" }
        if doubleChin && !(chubby || age == .old) { return "a double chin without a chubby face or old age" }
        return nil
    }
}
