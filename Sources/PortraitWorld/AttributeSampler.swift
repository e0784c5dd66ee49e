// Samples identities with plausible correlations (sex, age and skin tone shape hair, facial hair, accessories
// and face shape). Every probability is a named parameter of `SamplerConfig`, overridable from a JSON file.
import Foundation

/// Named sampling parameters. A value is a list: one probability, a probability per group (sex: [man, woman];
/// age: [young, middle-aged, old]), or relative weights over an enum's cases in declaration order.
public struct SamplerConfig: Sendable, Equatable {
    public private(set) var values: [String: [Double]]

    /// (name, default, kind, meaning). Kinds: "p" probabilities in [0, 1]; "w" non-negative weights.
    public static let parameters: [(name: String, value: [Double], kind: Character, doc: String)] = [
        ("male", [0.5], "p", "P(man)"),
        ("age", [0.5, 0.3, 0.2], "w", "weights of young, middle-aged, old"),
        ("skin_tone", [0.12, 0.28, 0.2, 0.16, 0.13, 0.11], "w", "weights of pale, fair, olive, tan, brown, dark"),
        ("hair_color_young", [0.3, 0.33, 0.2, 0.1, 0.04, 0.03], "w", "young: black, brown, blond, red, grey, white"),
        ("hair_color_middle", [0.3, 0.32, 0.13, 0.06, 0.16, 0.03], "w", "middle-aged: hair colour weights"),
        ("hair_color_old", [0.05, 0.07, 0.03, 0.02, 0.5, 0.33], "w", "old: hair colour weights"),
        ("dark_skin_black_hair", [0.75], "p", "brown or dark skin: P(black hair) unless grey or white"),
        ("hair_style_man", [0, 0.8, 0.06, 0.05, 0.03, 0.06], "w", "man: bald, short, long straight, long wavy, bun, ponytail"),
        ("hair_style_woman", [0, 0.14, 0.33, 0.3, 0.1, 0.13], "w", "woman: hair style weights"),
        ("bald_man_by_age", [0.03, 0.15, 0.35], "p", "P(bald | man, age)"),
        ("bald_woman", [0.005], "p", "P(bald | woman)"),
        ("bangs", [0.1, 0.3], "p", "P(bangs | sex), for short and long hair"),
        ("receding_man_by_age", [0.03, 0.2, 0.4], "p", "P(receding hairline | man, age), without bangs"),
        ("receding_woman", [0.02], "p", "P(receding hairline | woman), without bangs"),
        ("eye_color", [0.45, 0.2, 0.1, 0.1, 0.15], "w", "weights of brown, blue, green, grey, hazel"),
        ("dark_skin_brown_eyes", [0.9], "p", "tan, brown or dark skin: P(brown eyes)"),
        ("expression", [0.37, 0.45, 0.18], "w", "weights of neutral, smiling, mouth open"),
        ("beard_man", [0.2], "p", "P(full beard | man)"),
        ("moustache_with_beard", [0.85], "p", "P(moustache | beard)"),
        ("moustache_alone", [0.07], "p", "P(moustache | man, no beard)"),
        ("goatee_man", [0.1], "p", "P(goatee | man, no beard)"),
        ("sideburns_man", [0.12, 0.6], "p", "P(sideburns | man) without, with a beard"),
        ("stubble_man", [0.2], "p", "P(5 o'clock shadow | man, no beard or goatee)"),
        ("eyeglasses_by_age", [0.08, 0.15, 0.35], "p", "P(eyeglasses | age)"),
        ("sunglasses", [0.05], "p", "P(sunglasses | no eyeglasses)"),
        ("hat", [0.07], "p", "P(hat), not over a bald head or a bun"),
        ("earrings", [0.03, 0.45], "p", "P(earrings | sex)"),
        ("necklace", [0.02, 0.22], "p", "P(necklace | sex)"),
        ("necktie", [0.15, 0.01], "p", "P(necktie | sex, no necklace)"),
        ("lipstick", [0.0, 0.5], "p", "P(lipstick | sex)"),
        ("rosy_cheeks", [0.05, 0.15], "p", "P(rosy cheeks | sex)"),
        ("big_nose", [0.25, 0.08], "p", "P(big nose | sex)"),
        ("pointy_nose", [0.15, 0.3], "p", "P(pointy nose | sex, not big)"),
        ("big_lips", [0.15, 0.3], "p", "P(big lips | sex)"),
        ("bushy_eyebrows", [0.25, 0.08], "p", "P(bushy eyebrows | sex)"),
        ("arched_eyebrows", [0.05, 0.35], "p", "P(arched eyebrows | sex, not bushy)"),
        ("chubby_by_age", [0.08, 0.15, 0.2], "p", "P(chubby | age)"),
        ("double_chin", [0.5, 0.2], "p", "P(double chin) if chubby, if old and not chubby"),
        ("high_cheekbones", [0.15, 0.3], "p", "P(high cheekbones | sex); times 1.5 when smiling"),
        ("narrow_eyes", [0.12], "p", "P(narrow eyes)"),
        ("bags_by_age", [0.05, 0.25, 0.5], "p", "P(bags under the eyes | age)"),
        ("background", [1, 1, 1, 1, 1, 1, 1, 1, 1], "w", "white, grey, charcoal, blue, green, beige, pink, yellow, purple"),
    ]

    public static let standard = SamplerConfig()

    public init() {
        values = Dictionary(uniqueKeysWithValues: SamplerConfig.parameters.map { ($0.name, $0.value) })
    }

    /// The defaults overridden by a JSON object {"name": number or [numbers], ...} (e.g. `{"male": 0.8}`).
    public init(json data: Data, source: String) throws {
        self.init()
        guard let obj = try? JSONSerialization.jsonObject(with: data), let dict = obj as? [String: Any] else {
            throw ConfigError(source: source, message: "not a JSON object")
        }
        for (key, raw) in dict.sorted(by: { $0.key < $1.key }) {
            guard SamplerConfig.parameters.contains(where: { $0.name == key }) else {
                throw ConfigError(source: source, message: "unknown parameter '\(key)'; known: \(SamplerConfig.parameters.map(\.name).joined(separator: ", "))")
            }
            let list: [Double]
            if let n = raw as? NSNumber, !isJSONBool(raw) { list = [n.doubleValue] }
            else if let a = raw as? [Any], a.allSatisfy({ $0 is NSNumber && !isJSONBool($0) }) { list = a.map { ($0 as! NSNumber).doubleValue } }
            else { throw ConfigError(source: source, message: "'\(key)' must be a number or a list of numbers") }
            try set(key, list, source: source)
        }
    }

    /// Sets one parameter, checking its length and range.
    public mutating func set(_ name: String, _ v: [Double], source: String = "config") throws {
        guard let spec = SamplerConfig.parameters.first(where: { $0.name == name }) else {
            throw ConfigError(source: source, message: "unknown parameter '\(name)'")
        }
        guard v.count == spec.value.count else {
            throw ConfigError(source: source, message: "'\(name)' needs \(spec.value.count) value(s) (\(spec.doc)), got \(v.count)")
        }
        guard v.allSatisfy({ $0.isFinite && $0 >= 0 && (spec.kind == "w" || $0 <= 1) }) else {
            throw ConfigError(source: source, message: "'\(name)' values must be \(spec.kind == "p" ? "probabilities in [0, 1]" : "non-negative weights")")
        }
        if spec.kind == "w" && v.allSatisfy({ $0 == 0 }) {
            throw ConfigError(source: source, message: "'\(name)' weights are all zero")
        }
        values[name] = v
    }

    @inline(__always) func p(_ name: String, _ i: Int = 0) -> Double { values[name]![i] }
    @inline(__always) func w(_ name: String) -> [Double] { values[name]! }
}

/// A bad sampler configuration, naming where it came from.
public struct ConfigError: Error, CustomStringConvertible {
    public let source: String
    public let message: String
    public var description: String { "\(source): \(message)" }
}

/// Draws identities: identity `index` under `seed` is always the same.
public struct AttributeSampler: Sendable {
    public let config: SamplerConfig
    public init(config: SamplerConfig = .standard) { self.config = config }

    public func identity(seed: UInt64, index: Int) -> Identity {
        var r = WorldRandom(seed: seed, index: index, purpose: .identity)
        return sample(&r)
    }

    /// Samples one identity from the stream `r`. Draw order is fixed so the result depends only on the stream.
    public func sample(_ r: inout WorldRandom) -> Identity {
        let c = config
        var id = Identity()
        id.sex = r.bernoulli(c.p("male")) ? .man : .woman
        let s = id.sex == .man ? 0 : 1
        id.age = AgeGroup.allCases[r.choice(c.w("age"))]
        let a = AgeGroup.allCases.firstIndex(of: id.age)!
        id.skinTone = SkinTone.allCases[r.choice(c.w("skin_tone"))]
        let darkish = id.skinTone == .brown || id.skinTone == .dark
        let tanOrDarker = darkish || id.skinTone == .tan

        // Hair: colour by age (dark skin mostly black), style by sex, baldness by sex and age.
        id.hairColor = HairColor.allCases[r.choice(c.w(["hair_color_young", "hair_color_middle", "hair_color_old"][a]))]
        let blackOverride = r.bernoulli(c.p("dark_skin_black_hair"))
        if darkish && blackOverride && id.hairColor != .grey && id.hairColor != .white { id.hairColor = .black }
        id.hairStyle = HairStyle.allCases[r.choice(c.w(id.sex == .man ? "hair_style_man" : "hair_style_woman"))]
        let bald = r.bernoulli(id.sex == .man ? c.p("bald_man_by_age", a) : c.p("bald_woman"))
        if bald { id.hairStyle = .bald }
        let bangs = r.bernoulli(c.p("bangs", s))
        id.bangs = bangs && (id.hairStyle == .short || id.hairStyle.isLong)
        let receding = r.bernoulli(id.sex == .man ? c.p("receding_man_by_age", a) : c.p("receding_woman"))
        id.recedingHairline = receding && !id.isBald && !id.bangs

        // Eyes and expression.
        id.eyeColor = EyeColor.allCases[r.choice(c.w("eye_color"))]
        if tanOrDarker && r.bernoulli(c.p("dark_skin_brown_eyes")) { id.eyeColor = .brown }
        id.expression = Expression.allCases[r.choice(c.w("expression"))]

        // Facial hair (men only).
        let u = (beard: r.uniform(), mWith: r.uniform(), mAlone: r.uniform(), goatee: r.uniform(), side: r.uniform(), stubble: r.uniform())
        if id.sex == .man {
            id.beard = u.beard < c.p("beard_man")
            id.moustache = id.beard ? u.mWith < c.p("moustache_with_beard") : u.mAlone < c.p("moustache_alone")
            id.goatee = !id.beard && u.goatee < c.p("goatee_man")
            id.sideburns = u.side < c.p("sideburns_man", id.beard ? 1 : 0) && !id.isBald
            id.stubble = !id.beard && !id.goatee && u.stubble < c.p("stubble_man")
        }

        // Accessories.
        let ug = r.uniform(), us = r.uniform()
        if ug < c.p("eyeglasses_by_age", a) { id.eyewear = .eyeglasses } else if us < c.p("sunglasses") { id.eyewear = .sunglasses }
        id.hat = r.bernoulli(c.p("hat")) && !id.isBald && id.hairStyle != .bun
        id.earrings = r.bernoulli(c.p("earrings", s))
        let un = r.uniform(), ut = r.uniform()
        if un < c.p("necklace", s) { id.neckwear = .necklace } else if ut < c.p("necktie", s) { id.neckwear = .necktie }
        id.lipstick = r.bernoulli(c.p("lipstick", s))
        id.rosyCheeks = r.bernoulli(c.p("rosy_cheeks", s))

        // Face shape.
        id.bigNose = r.bernoulli(c.p("big_nose", s))
        let pointy = r.bernoulli(c.p("pointy_nose", s))
        id.pointyNose = pointy && !id.bigNose
        id.bigLips = r.bernoulli(c.p("big_lips", s))
        id.bushyEyebrows = r.bernoulli(c.p("bushy_eyebrows", s))
        let arched = r.bernoulli(c.p("arched_eyebrows", s))
        id.archedEyebrows = arched && !id.bushyEyebrows
        id.chubby = r.bernoulli(c.p("chubby_by_age", a))
        let dc = r.uniform()
        id.doubleChin = id.chubby ? dc < c.p("double_chin", 0) : (id.age == .old && dc < c.p("double_chin", 1))
        id.highCheekbones = r.bernoulli(min(1, c.p("high_cheekbones", s) * (id.expression == .smiling ? 1.5 : 1)))
        id.narrowEyes = r.bernoulli(c.p("narrow_eyes"))
        id.bagsUnderEyes = r.bernoulli(c.p("bags_by_age", a))
        id.background = Background.allCases[r.choice(c.w("background"))]

        // Continuous variation.
        var v = Variation()
        func jitter(_ sd: Double) -> Double { 1 + max(-2.5, min(2.5, r.normal())) * sd }
        v.headWidth = jitter(0.03) * (id.sex == .man ? 1.02 : 0.98)
        v.faceLength = jitter(0.03) * (id.sex == .man ? 1.02 : 0.98)
        v.jawWidth = jitter(0.04) * (id.sex == .man ? 1.05 : 0.95)
        v.eyeSpacing = jitter(0.03)
        v.noseLength = jitter(0.05)
        v.skinTint = SIMD3(jitter(0.04), jitter(0.04), jitter(0.04))
        v.hairTint = SIMD3(jitter(0.06), jitter(0.06), jitter(0.06))
        v.clothing = SIMD3(r.uniform(0.05, 0.85), r.uniform(0.05, 0.85), r.uniform(0.05, 0.85))
        v.lightYaw = r.uniform(-0.9, 0.9)
        v.lightElevation = r.uniform(0.3, 0.9)
        id.variation = v
        return id
    }
}
