// CLIP tokenizer parity: the ids of open_clip's SimpleTokenizer and of transformers' CLIPTokenizer (Stable
// Diffusion 2's settings and OpenAI CLIP's) on the >= 1,000 strings of Tests/Fixtures/clip/tokenizer/
// cases.json.gz (Scripts/make_tokenizer_fixtures.py), plus truncation, padding, loading errors and decoding.
import Codecs
import Foundation
import XCTest
@testable import Teacher
@testable import TensorCore
import TestSupport

final class CLIPTokenizerTests: XCTestCase {
    static let tokenizerDir = clipFixturePath("tokenizer")

    struct Case { let text: String; let ids: [String: [Int]]; let mojibake: Bool }

    struct FixtureCase: Decodable {
        let text: String, open_clip: [Int], hf_sd2: [Int], hf_openai: [Int], ftfy_encoding: Bool
    }

    // JSONDecoder, not JSONSerialization: the latter drops U+FEFF inside strings on Linux.
    static let fixture: (cases: [Case], configs: [String: Any]) = {
        let data = try! Gzip.decompress(path: tokenizerDir + "/cases.json.gz")
        struct Doc: Decodable { let cases: [FixtureCase] }
        let cases = try! JSONDecoder().decode(Doc.self, from: data).cases.map {
            Case(text: $0.text, ids: ["open_clip": $0.open_clip, "hf_sd2": $0.hf_sd2, "hf_openai": $0.hf_openai], mojibake: $0.ftfy_encoding)
        }
        let doc = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        return (cases, doc["configs"] as! [String: Any])
    }()

    final class Warnings: @unchecked Sendable {
        private let lock = NSLock()
        private var messages: [String] = []
        func add(_ m: String) { lock.lock(); messages.append(m); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return messages }
    }

    /// Encodes every case and compares with `key`; returns (compared, matched).
    func check(_ tok: CLIPTokenizer, _ key: String, skipMojibake: Bool) -> (Int, Int) {
        let warnings = Warnings()
        tok.warningHandler = { warnings.add($0) }
        var compared = 0, matched = 0, failures: [String] = [], truncated = 0
        for c in Self.fixture.cases where !(skipMojibake && c.mojibake) {
            compared += 1
            let want = c.ids[key]!
            let got = tok.encode(c.text)
            if got == want { matched += 1 } else if failures.count < 8 {
                failures.append("\(key) \(c.text.debugDescription): got \(got.prefix(20)) want \(want.prefix(20))")
            }
            if tok.tokenize(c.text).count > 75 { truncated += 1 }
        }
        XCTAssertEqual(matched, compared, "\(key): \(compared - matched) mismatches:\n" + failures.joined(separator: "\n"))
        XCTAssertEqual(warnings.all.count, truncated, "\(key): one warning per truncated prompt")
        XCTAssertGreaterThan(truncated, 30)
        print("CLIP tokenizer parity \(key): \(matched)/\(compared) strings identical (\(truncated) truncated with a warning)")
        return (compared, matched)
    }

    func testOpenCLIPParity() throws {
        XCTAssertGreaterThanOrEqual(Self.fixture.cases.count, 1000)
        let tok = try CLIPTokenizer(bpeGzip: Self.tokenizerDir + "/bpe_simple_vocab_16e6.txt.gz")
        XCTAssertEqual(tok.vocabularySize, 49408)
        XCTAssertEqual([tok.startTokenID, tok.endTokenID, tok.padTokenID], [49406, 49407, 0])
        let (compared, _) = check(tok, "open_clip", skipMojibake: true)
        let skipped = Self.fixture.cases.count - compared
        XCTAssertLessThan(skipped, 20, "only strings that ftfy's mojibake repair changes are skipped")
        print("CLIP tokenizer parity open_clip: \(skipped) strings skipped (ftfy fix_encoding, not implemented)")
    }

    func testTransformersParitySD2() throws {
        let tok = try CLIPTokenizer(folder: Self.tokenizerDir + "/hf")
        XCTAssertEqual([tok.startTokenID, tok.endTokenID, tok.padTokenID, tok.contextLength], [49406, 49407, 0, 77])
        _ = check(tok, "hf_sd2", skipMojibake: false)
    }

    func testTransformersParityOpenAI() throws {
        let dir = try temporaryFolder("clip")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for name in ["vocab.json", "merges.txt"] {
            try FileManager.default.createSymbolicLink(atPath: dir + "/" + name, withDestinationPath: Self.tokenizerDir + "/hf/" + name)
        }
        let config = try JSONSerialization.data(withJSONObject: Self.fixture.configs["hf_openai"]!)
        try config.write(to: URL(fileURLWithPath: dir + "/tokenizer_config.json"))
        let tok = try CLIPTokenizer(folder: dir)
        XCTAssertEqual(tok.padTokenID, 49407)
        _ = check(tok, "hf_openai", skipMojibake: false)
    }

    func testTruncationPaddingAndMask() throws {
        let tok = try CLIPTokenizer(folder: Self.tokenizerDir + "/hf")
        let warnings = Warnings()
        tok.warningHandler = { warnings.add($0) }
        let (ids, mask) = tok.encodeWithMask("a photo of a cat")
        XCTAssertEqual(Array(ids.prefix(7)), [49406, 320, 1125, 539, 320, 2368, 49407])
        XCTAssertEqual(ids.count, 77)
        XCTAssertEqual(mask, [Int](repeating: 1, count: 7) + [Int](repeating: 0, count: 70))
        XCTAssertTrue(warnings.all.isEmpty)
        let long = tok.encode(String(repeating: "cat ", count: 100))
        XCTAssertEqual(long.count, 77)
        XCTAssertEqual(long.last, 49407)
        XCTAssertEqual(long[75], 2368)
        XCTAssertEqual(warnings.all.count, 1)
        XCTAssertTrue(warnings.all[0].contains("100 tokens"), warnings.all[0])
        // Exactly 75 content tokens fit without a warning.
        XCTAssertEqual(tok.encode(String(repeating: "cat ", count: 75)).last, 49407)
        XCTAssertEqual(warnings.all.count, 1)
        let (batch, batchMask) = tok.encode(batch: ["a cat", ""])
        XCTAssertEqual(batch.shape, [2, 77])
        XCTAssertEqual(Array(batch.toArray()[77..<80]), [49406, 49407, 0])
        XCTAssertEqual(batchMask.toArray().reduce(0, +), 6)
    }

    func testDecodeAndCache() throws {
        let tok = try CLIPTokenizer(bpeGzip: Self.tokenizerDir + "/bpe_simple_vocab_16e6.txt.gz")
        let text = "a portrait of an astronaut, ΟΔΟΣ 猫 👍🏽!"
        XCTAssertEqual(tok.decode(tok.encode(text)), "a portrait of an astronaut , οδος 猫 👍🏽!")
        let before = tok.bpe.cachedCount
        _ = tok.encode(text)
        XCTAssertEqual(tok.bpe.cachedCount, before, "a repeated prompt is served from the merge cache")
        let t0 = Date()
        for c in Self.fixture.cases { _ = tok.encode(c.text) }
        print("CLIP tokenizer: \(Self.fixture.cases.count) strings in \(String(format: "%.1f", Date().timeIntervalSince(t0) * 1000)) ms (cached)")
    }

    func testCleaningPieces() {
        XCTAssertEqual(TextCleaning.pythonLower("ΟΔΟΣ ΣΑΣ Σ aΣ."), "οδος σας σ aς.")
        XCTAssertEqual(TextCleaning.scalarLower("ΟΔΟΣ İ"), "οδοσ i\u{307}")
        XCTAssertEqual(HTMLUnescape.unescape("&amp;amp; &lt;3 &copy 2020 &#x41;&#65 &notit; &#0; &#x110000;"),
                       "&amp; <3 © 2020 AA ¬it; \u{FFFD} \u{FFFD}")
        XCTAssertEqual(HTMLUnescape.ftfyUnescape("P&EACUTE;REZ &notit; &amp &#59; &#65;"), "PÉREZ &notit; &amp &#59; A")
        XCTAssertEqual(FTFY.fixText("ﬁne “quote” ＡＢＣ\u{3000}x \u{1B}[31mred\u{1B}[0m\r\n\u{80}"), "fine \"quote\" ABC x red\n€")
        XCTAssertEqual(FTFY.fixText("a<b &amp;\n&amp;"), "a<b &amp;\n&amp;", "unescaping stays off after a line with '<'")
    }

    func testLoadingErrorsNameTheFile() throws {
        let dir = try temporaryFolder("clip")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertThrowsError(try CLIPTokenizer(folder: dir + "/nope")) { XCTAssertTrue("\($0)".contains("no such tokenizer folder"), "\($0)") }
        try FileManager.default.createSymbolicLink(atPath: dir + "/vocab.json", withDestinationPath: Self.tokenizerDir + "/hf/vocab.json")
        XCTAssertThrowsError(try CLIPTokenizer(folder: dir)) { XCTAssertTrue("\($0)".contains("merges.txt") && "\($0)".contains("missing"), "\($0)") }
        try Data("#version: 0.2\nq u\nnot-a-pair\n".utf8).write(to: URL(fileURLWithPath: dir + "/merges.txt"))
        XCTAssertThrowsError(try CLIPTokenizer(folder: dir)) { XCTAssertTrue("\($0)".contains("merges.txt: line 3"), "\($0)") }
        try Data("#version: 0.2\nq u\nzz\u{0101} qq\n".utf8).write(to: URL(fileURLWithPath: dir + "/merges.txt"))
        XCTAssertThrowsError(try CLIPTokenizer(folder: dir)) { XCTAssertTrue("\($0)".contains("line 3") && "\($0)".contains("lacks"), "\($0)") }
        try Data("#version: 0.2\n".utf8).write(to: URL(fileURLWithPath: dir + "/merges.txt"))
        try Data(#"{"pad_token": "<|pad|>"}"#.utf8).write(to: URL(fileURLWithPath: dir + "/tokenizer_config.json"))
        XCTAssertThrowsError(try CLIPTokenizer(folder: dir)) { XCTAssertTrue("\($0)".contains("pad_token \"<|pad|>\" is not in the vocabulary (\(dir)/vocab.json)"), "\($0)") }
        // tokenizer.json (transformers 5) is read when vocab.json + merges.txt are absent; it must be CLIP's BPE.
        for f in ["vocab.json", "merges.txt", "tokenizer_config.json"] { try FileManager.default.removeItem(atPath: dir + "/" + f) }
        XCTAssertThrowsError(try CLIPTokenizer(folder: dir)) { XCTAssertTrue("\($0)".contains("vocab.json and merges.txt (transformers 4 layout) or tokenizer.json"), "\($0)") }
        func tokenizerJSON(_ s: String) throws { try Data(s.utf8).write(to: URL(fileURLWithPath: dir + "/tokenizer.json")) }
        try tokenizerJSON(#"{"model": {"type": "WordPiece", "vocab": {}, "merges": []}}"#)
        XCTAssertThrowsError(try CLIPTokenizer(folder: dir)) { XCTAssertTrue("\($0)".contains("tokenizer.json: model.type is \"WordPiece\""), "\($0)") }
        try tokenizerJSON(#"{"model": {"type": "BPE", "vocab": {}, "merges": []}}"#)
        XCTAssertThrowsError(try CLIPTokenizer(folder: dir)) { XCTAssertTrue("\($0)".contains("end_of_word_suffix is null"), "\($0)") }
        try tokenizerJSON(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [["a", "b", "c"]], "end_of_word_suffix": "</w>"}}"#)
        XCTAssertThrowsError(try CLIPTokenizer(folder: dir)) { XCTAssertTrue("\($0)".contains("model.merges[0] is not a pair"), "\($0)") }
        try tokenizerJSON(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"], "end_of_word_suffix": "</w>"}}"#)
        XCTAssertThrowsError(try CLIPTokenizer(folder: dir)) { XCTAssertTrue("\($0)".contains("bos_token \"<|startoftext|>\" is not in the vocabulary (\(dir)/tokenizer.json)"), "\($0)") }
        XCTAssertThrowsError(try CLIPTokenizer(bpeGzip: dir + "/missing.txt.gz")) { XCTAssertTrue("\($0)".contains("missing.txt.gz"), "\($0)") }
        try Gzip.compress(Data("header\na b\n".utf8)).write(to: URL(fileURLWithPath: dir + "/short.txt.gz"))
        XCTAssertThrowsError(try CLIPTokenizer(bpeGzip: dir + "/short.txt.gz")) { XCTAssertTrue("\($0)".contains("needs 48894"), "\($0)") }
    }
}
