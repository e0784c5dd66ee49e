// Attribute accuracy's counts, pooled and per attribute, on hand-made classifier outputs.
import XCTest
import PortraitWorld
@testable import Metrics

final class AttributeAccuracyTests: XCTestCase {
    func testCountsPooledAndPerAttribute() {
        let n = Attribute.allCases.count
        let prompts = ["A smiling woman with long blond hair.", "The man is not smiling."]
        var probs = [Float](repeating: 0.1, count: 2 * n)
        func set(_ i: Int, _ a: Attribute, _ p: Float) { probs[i * n + Attribute.allCases.firstIndex(of: a)!] = p }
        set(0, .smiling, 0.9)          // agrees (stated true)
        set(0, .blondHair, 0.3)        // disagrees (stated true)
        set(0, .longHair, 0.8)         // agrees
        set(1, .male, 0.7)             // agrees
        set(1, .smiling, 0.6)          // disagrees (stated false)
        let c = AttributeAccuracy.count(prompts: prompts, probabilities: probs)
        let stated0 = PromptAttributes.parse(prompts[0]), stated1 = PromptAttributes.parse(prompts[1])
        XCTAssertEqual(c.stated, stated0.count + stated1.count)
        XCTAssertEqual(c.perAttribute[.smiling]?.stated, 2)
        XCTAssertEqual(c.perAttribute[.smiling]?.agree, 1)
        XCTAssertEqual(c.perAttribute[.blondHair]?.agree, 0)
        XCTAssertEqual(c.perAttribute[.longHair]?.agree, 1)
        XCTAssertEqual(c.perAttribute.values.reduce(0) { $0 + $1.stated }, c.stated)
        XCTAssertEqual(c.perAttribute.values.reduce(0) { $0 + $1.agree }, c.agree)
        // Summing two halves gives the whole.
        let a = AttributeAccuracy.count(prompts: [prompts[0]], probabilities: Array(probs[0..<n]))
        let b = AttributeAccuracy.count(prompts: [prompts[1]], probabilities: Array(probs[n...]))
        let sum = a + b
        XCTAssertEqual(sum.agree, c.agree)
        XCTAssertEqual(sum.perAttribute[.smiling]?.agree, 1)
        XCTAssertEqual((c.perAttributeJSON["Smiling"] as? [String: Any])?["percent"] as? Double, 50)
        // Split by what was stated: smiling stated true once (agreed), false once (disagreed); male stated true once.
        XCTAssertEqual(c.perAttribute[.smiling]?.statedTrue, 1)
        XCTAssertEqual(c.perAttribute[.smiling]?.agreeWhenTrue, 1)
        XCTAssertEqual(c.perAttribute[.smiling]?.statedFalse, 1)
        XCTAssertEqual(c.perAttribute[.smiling]?.agreeWhenFalse, 0)
        XCTAssertEqual(sum.perAttribute[.smiling]?.agreeWhenTrue, 1)
        let smiling = c.perAttributeJSON["Smiling"] as? [String: Any]
        XCTAssertEqual((smiling?["when_stated_true"] as? [String: Any])?["percent"] as? Double, 100)
        XCTAssertEqual((smiling?["when_stated_false"] as? [String: Any])?["percent"] as? Double, 0)
        let male = c.perAttributeJSON["Male"] as? [String: Any]
        XCTAssertEqual((male?["when_stated_true"] as? [String: Any])?["stated"] as? Int, 1)
        XCTAssertEqual((male?["when_stated_false"] as? [String: Any])?["stated"] as? Int, prompts[0].contains("woman") ? 1 : 0)
        // Balanced: male (both agree: 100) and smiling ((100 + 0) / 2 = 50) are stated both ways, once each.
        XCTAssertEqual(c.balanced(minimumEachWay: 1)?.attributes, [.male, .smiling])
        XCTAssertEqual(try XCTUnwrap(c.balanced(minimumEachWay: 1)?.percent), 75, accuracy: 1e-12)
        XCTAssertNil(c.balanced(minimumEachWay: 2), "no attribute stated twice each way")
    }

    /// A generator that draws one value whatever the prompt says scores 50% balanced, however lopsided the prompts;
    /// one that follows the prompts scores 100%.
    func testBalancedAccuracyOfBlindAndFaithfulGenerators() {
        let n = Attribute.allCases.count
        let k = Attribute.allCases.firstIndex(of: .eyeglasses)!
        let prompts = (0..<10).map { $0 < 2 ? "A man with glasses." : "A man without glasses." }
        let blind = (0..<10).flatMap { _ in (0..<n).map { $0 == k ? Float(0.1) : 0.9 } }     // never glasses
        let faithful = (0..<10).flatMap { i in (0..<n).map { $0 == k ? (i < 2 ? Float(0.9) : 0.1) : 0.9 } }
        let b = AttributeAccuracy.count(prompts: prompts, probabilities: blind)
        XCTAssertEqual(b.perAttribute[.eyeglasses]?.agree, 8, "pooled: 80% agreement from the base rate alone")
        XCTAssertEqual(try XCTUnwrap(b.balanced(minimumEachWay: 2)?.percent), 50, accuracy: 1e-12)
        XCTAssertEqual(b.balanced(minimumEachWay: 2)?.attributes, [.eyeglasses])
        let f = AttributeAccuracy.count(prompts: prompts, probabilities: faithful)
        XCTAssertEqual(try XCTUnwrap(f.balanced(minimumEachWay: 2)?.percent), 100, accuracy: 1e-12)
    }

    /// Hair colours are stated only present ("blond hair"), but exclusive: a prompt naming one implies the other five
    /// absent. Those implied absences make the colours count in the balanced figure (a generator drawing black hair
    /// for every prompt reads 50% on them, one that follows the prompt 100%) and stay out of the pooled accuracy.
    func testHairColoursCountInSteeringThroughImpliedAbsence() throws {
        let colours: [(String, Attribute)] = [("black", .blackHair), ("blond", .blondHair), ("red", .redHair)]
        let prompts = (0..<12).map { "The woman has \(colours[$0 % 3].0) hair." }
        func probs(_ drawn: (Int) -> Attribute) -> [Float] {
            (0..<12).flatMap { i in Attribute.allCases.map { a -> Float in a == drawn(i) || a == .male ? (a == .male ? 0.1 : 0.9) : 0.1 } }
        }
        let blind = AttributeAccuracy.count(prompts: prompts, probabilities: probs { _ in .blackHair })
        let faithful = AttributeAccuracy.count(prompts: prompts, probabilities: probs { colours[$0 % 3].1 })
        let black = try XCTUnwrap(blind.perAttribute[.blackHair])
        XCTAssertEqual(black.statedTrue, 4); XCTAssertEqual(black.agreeWhenTrue, 4)
        XCTAssertEqual(black.impliedFalse, 8); XCTAssertEqual(black.agreeWhenImpliedFalse, 0)
        XCTAssertEqual(blind.perAttribute[.brownHair]?.impliedFalse, 12, "never stated, implied absent by every prompt")
        XCTAssertEqual(blind.perAttribute[.brownHair]?.stated ?? 0, 0)
        // Pooled: only the words (colour true, bald false, female) count; black drawn for all, so 4 of 12 colours agree.
        XCTAssertEqual(blind.stated, 36)
        XCTAssertEqual(blind.agree, 4 + 12 + 12)
        let b = try XCTUnwrap(blind.balanced(minimumEachWay: 4))
        XCTAssertEqual(b.attributes, [.blackHair, .blondHair, .redHair])
        XCTAssertEqual(b.percent, 50, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(faithful.balanced(minimumEachWay: 4)?.percent), 100, accuracy: 1e-12)
        let json = try XCTUnwrap(blind.perAttributeJSON["Blond_Hair"] as? [String: Any])
        XCTAssertEqual((json["when_implied_false"] as? [String: Any])?["stated"] as? Int, 8)
        XCTAssertEqual((json["when_implied_false"] as? [String: Any])?["percent"] as? Double, 100)
        // Two colours named: neither is implied absent, the other four are.
        XCTAssertEqual(Set(PromptAttributes.impliedAbsent(PromptAttributes.parse("She has black and gray hair."))),
                       Set(PromptAttributes.impliedAbsent(PromptAttributes.parse("She has gray hair."))).subtracting([.blackHair]))
        XCTAssertEqual(PromptAttributes.impliedAbsent(PromptAttributes.parse("The man is bald.")), [])
    }
}
