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
    }
}
