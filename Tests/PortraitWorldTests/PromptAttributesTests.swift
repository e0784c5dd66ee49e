// The prompt parser against the world's own captions: every attribute a caption of either style states must be
// true of the image's ground truth (precision), and the parser finds something in almost every caption.
import Foundation
import XCTest
@testable import PortraitWorld

final class PromptAttributesTests: XCTestCase {
    func testHandWrittenPrompts() {
        let p = PromptAttributes.parse("A smiling woman with long blond hair and sunglasses. She is not wearing a hat.")
        XCTAssertEqual(p[.smiling], true); XCTAssertEqual(p[.male], false); XCTAssertEqual(p[.blondHair], true)
        XCTAssertEqual(p[.longHair], true); XCTAssertEqual(p[.sunglasses], true); XCTAssertEqual(p[.wearingHat], false)
        XCTAssertNil(p[.eyeglasses], "sunglasses are not eyeglasses")
        let q = PromptAttributes.parse("An elderly gentleman, clean-shaven, with grey hair.")
        XCTAssertEqual(q[.old], true); XCTAssertEqual(q[.young], false); XCTAssertEqual(q[.male], true)
        XCTAssertEqual(q[.noBeard], true); XCTAssertEqual(q[.grayHair], true)
        XCTAssertTrue(PromptAttributes.parse("a portrait").isEmpty)
        XCTAssertTrue(PromptAttributes.parse("").isEmpty)
        XCTAssertTrue(PromptAttributes.parse("👩‍🎤 ☃︎ naïve façade").isEmpty)
    }

    func testWorldCaptionsStateOnlyTrueAttributes() throws {
        var wrong: [String] = [], stated = 0, captions = 0, empty = 0
        for i in 0..<200 {
            let id = AttributeSampler(config: .standard).identity(seed: 4, index: i)
            let all = Captioner(style: .celebAText).captions(for: id, seed: 4, index: i, count: 10)
                + Captioner(style: .ood).captions(for: id, seed: 4, index: i, count: 10)
            for caption in all {
                captions += 1
                let facts = PromptAttributes.parse(caption)
                if facts.isEmpty { empty += 1 }
                for (a, v) in facts {
                    stated += 1
                    if id.has(a) != v { wrong.append("\(a.rawValue)=\(v) in '\(caption)'") }
                }
            }
        }
        XCTAssertEqual(wrong.count, 0, "first: \(wrong.prefix(5))")
        XCTAssertGreaterThan(Double(stated) / Double(captions), 2, "attributes stated per caption")
        XCTAssertLessThan(Double(empty) / Double(captions), 0.01)
    }
}
