// safetensors robustness: the writer's round trip, every dtype the reader converts (a PyTorch-written
// file, Scripts/make_dtypes_fixture.py), one test per hostile case with its exact error text, and a
// seeded fuzzer: 100,000+ mutations of valid files (bit flips, overwrites, truncations, extensions,
// header-length edits, JSON edits), each of which must either parse and read within bounds or throw a
// FileError naming the file. A crash fails the whole run, which is the point.
import Foundation
import XCTest
@testable import TensorCore
import TestSupport

/// Bytes of a safetensors file with this header text and `dataBytes` bytes of data (0, 1, 2, ...).
func safeTensorsBytes(header: String, dataBytes: Int) -> Data {
    var out = Data()
    let h = Data(header.utf8)
    withUnsafeBytes(of: UInt64(h.count).littleEndian) { out.append(contentsOf: $0) }
    out.append(h)
    out.append(contentsOf: (0..<dataBytes).map { UInt8(truncatingIfNeeded: $0) })
    return out
}

/// The little-endian u64 at the start of a file, nil when it has fewer than 8 bytes.
func headerLength(_ d: Data) -> UInt64? {
    guard d.count >= 8 else { return nil }
    return d.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
}

final class SafeTensorsFuzzTests: XCTestCase {
    // MARK: writer and reader

    func testWriterRoundTrip() throws {
        let t: [String: Tensor] = ["a": testTensor([3, 4], seed: 1), "b.c": testTensor([7], seed: 2),
                                   "s": Tensor(scalar: -2.5), "e": Tensor.zeros([0, 5]), "v": testTensor([5, 4], seed: 3).transpose(0, 1)]
        let f = try SafeTensorsFile(data: safeTensorsData(t, metadata: ["format": "pt"]), name: "round.safetensors")
        XCTAssertEqual(f.keys, ["a", "b.c", "e", "s", "v"])
        XCTAssertEqual(f.metadata, ["format": "pt"])
        for (k, x) in t {
            let y = try f.tensor(k)
            XCTAssertEqual(y.shape, x.shape, k)
            XCTAssertEqual(y.toArray(), x.toArray(), k)
        }
    }

    /// F16, BF16, F64, I64, I32, U8 and F32 written by PyTorch read as the float32 values PyTorch gives.
    func testDTypesWrittenByPyTorch() throws {
        let f = try fixture("dtypes.safetensors")
        let dtypes = Dictionary(uniqueKeysWithValues: f.entries.map { ($0.key, $0.value.dtype) })
        XCTAssertEqual(dtypes["f16"], .F16); XCTAssertEqual(dtypes["bf16"], .BF16); XCTAssertEqual(dtypes["f64"], .F64)
        XCTAssertEqual(dtypes["i64"], .I64); XCTAssertEqual(dtypes["i32"], .I32); XCTAssertEqual(dtypes["u8"], .U8)
        var checked = 0
        for k in f.keys where !k.hasSuffix(".expected") {
            let got = try f.tensor(k), want = try f.tensor("\(k).expected")
            XCTAssertEqual(got.shape, want.shape, k)
            XCTAssertEqual(got.toArray().map(\.bitPattern), want.toArray().map(\.bitPattern), "\(k): values differ bit for bit")
            checked += 1
        }
        XCTAssertEqual(checked, 9)
    }

    // MARK: hostile cases, one by one

    func assertRejected(_ data: Data, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        let name = "hostile.safetensors"
        XCTAssertThrowsError(try SafeTensorsFile(data: data, name: name), file: file, line: line) { error in
            guard let e = error as? FileError else { return XCTFail("not a FileError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.path, name, file: file, line: line)
            XCTAssertEqual(e.description, "\(name): not a valid safetensors file: \(expected)", file: file, line: line)
        }
    }

    func entry(_ dtype: String = "\"F32\"", _ shape: String = "[3]", _ offsets: String = "[0, 12]") -> String {
        "{\"t\": {\"dtype\": \(dtype), \"shape\": \(shape), \"data_offsets\": \(offsets)}}"
    }

    func testTruncated() {
        assertRejected(Data([1, 0, 0]), "3 bytes is shorter than the 8-byte header length")
        assertRejected(Data(), "0 bytes is shorter than the 8-byte header length")
        let good = safeTensorsBytes(header: entry(), dataBytes: 12)
        assertRejected(good.prefix(good.count - 1), "entry \"t\" data_offsets [0, 12] lie outside the 11-byte data section")
    }

    func testHeaderLengthPastEnd() {
        var d = safeTensorsBytes(header: entry(), dataBytes: 12)
        d.replaceSubrange(0..<8, with: [0xE8, 0x03, 0, 0, 0, 0, 0, 0])
        assertRejected(d, "header length 1000 runs past the end of the file (\(d.count) bytes)")
        d.replaceSubrange(0..<8, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        assertRejected(d, "header length 18446744073709551615 runs past the end of the file (\(d.count) bytes)")
    }

    func testBadJSON() {
        assertRejected(safeTensorsBytes(header: "{\"t\": {", dataBytes: 0), "header is not valid JSON")
        assertRejected(safeTensorsBytes(header: "[1, 2]", dataBytes: 0), "header is not a JSON object")
        assertRejected(safeTensorsBytes(header: String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000), dataBytes: 0),
                       "header is not valid JSON")
        assertRejected(safeTensorsBytes(header: "{\"__metadata__\": {\"k\": 1}}", dataBytes: 0), "__metadata__ value for \"k\" is not a string")
        assertRejected(safeTensorsBytes(header: "{\"t\": 5}", dataBytes: 0), "entry \"t\" is not an object")
    }

    func testOffsetsOutOfRange() {
        assertRejected(safeTensorsBytes(header: entry("\"F32\"", "[3]", "[40, 52]"), dataBytes: 48),
                       "entry \"t\" data_offsets [40, 52] lie outside the 48-byte data section")
        assertRejected(safeTensorsBytes(header: entry("\"F32\"", "[3]", "[-4, 8]"), dataBytes: 48),
                       "entry \"t\" data_offsets [-4, 8] lie outside the 48-byte data section")
        assertRejected(safeTensorsBytes(header: entry("\"F32\"", "[3]", "[12, 0]"), dataBytes: 48),
                       "entry \"t\" data_offsets [12, 0] lie outside the 48-byte data section")
        assertRejected(safeTensorsBytes(header: entry("\"F32\"", "[3]", "[0, 1e18]"), dataBytes: 48),
                       "entry \"t\" has no [begin, end] data_offsets")
        assertRejected(safeTensorsBytes(header: entry("\"F32\"", "[3]", "[0, \"12\"]"), dataBytes: 48),
                       "entry \"t\" has no [begin, end] data_offsets")
        assertRejected(safeTensorsBytes(header: entry("\"F32\"", "[3]", "[0, 12, 24]"), dataBytes: 48),
                       "entry \"t\" has no [begin, end] data_offsets")
    }

    func testOverlapping() {
        let h = "{\"a\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 12]}, \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 16]}}"
        assertRejected(safeTensorsBytes(header: h, dataBytes: 16), "entries \"a\" and \"b\" overlap")
    }

    func testSizeMismatch() {
        assertRejected(safeTensorsBytes(header: entry("\"F32\"", "[3]", "[0, 8]"), dataBytes: 48),
                       "entry \"t\" holds 8 bytes but F32 [3] needs 12")
        assertRejected(safeTensorsBytes(header: entry("\"F16\"", "[2, 3]", "[0, 24]"), dataBytes: 48),
                       "entry \"t\" holds 24 bytes but F16 [2, 3] needs 12")
    }

    func testAbsurdShapes() {
        assertRejected(safeTensorsBytes(header: entry("\"F32\"", "[1e18]"), dataBytes: 48),
                       "entry \"t\" has an invalid dimension in shape [1e+18]")
        assertRejected(safeTensorsBytes(header: entry("\"F32\"", "[-1, 3]"), dataBytes: 48),
                       "entry \"t\" has an invalid dimension in shape [-1, 3]")
        assertRejected(safeTensorsBytes(header: entry("\"F32\"", "[1.5]"), dataBytes: 48),
                       "entry \"t\" has an invalid dimension in shape [1.5]")
        assertRejected(safeTensorsBytes(header: entry("\"F32\"", "[true]"), dataBytes: 48),
                       "entry \"t\" has an invalid dimension in shape [1]")
        assertRejected(safeTensorsBytes(header: entry("\"F32\"", "[1099511627776, 1099511627776]"), dataBytes: 48),
                       "entry \"t\" shape [1099511627776, 1099511627776] is absurdly large")
        // Zero elements, but strides that would overflow: rejected, not a crash when read.
        assertRejected(safeTensorsBytes(header: entry("\"F32\"", "[0, 4503599627370496, 4503599627370496]", "[0, 0]"), dataBytes: 48),
                       "entry \"t\" shape [0, 4503599627370496, 4503599627370496] is absurdly large")
        assertRejected(safeTensorsBytes(header: entry("\"F32\"", "\"3\""), dataBytes: 48), "entry \"t\" has no shape list")
        assertRejected(safeTensorsBytes(header: entry("\"Q4\""), dataBytes: 48), "entry \"t\" has unsupported dtype Q4")
        assertRejected(safeTensorsBytes(header: entry("7"), dataBytes: 48), "entry \"t\" has no dtype")
    }

    // MARK: the fuzzer

    /// Valid starting files: written by the Swift writer and by PyTorch (several dtypes).
    func seedFiles() throws -> [Data] {
        var seeds: [Data] = []
        seeds.append(try safeTensorsData(["a": testTensor([3, 4], seed: 1), "b": testTensor([7], seed: 2), "c": Tensor(scalar: 1),
                                          "d": Tensor.zeros([0, 5])], metadata: ["format": "pt", "note": "seed"]))
        seeds.append(try safeTensorsData(["w": testTensor([33, 31], seed: 3)]))
        seeds.append(try safeTensorsData([:]))
        seeds.append(try Data(contentsOf: fixturesDir.appendingPathComponent("dtypes.safetensors")))
        for s in seeds { _ = try SafeTensorsFile(data: s, name: "seed") }
        return seeds
    }

    static let interestingBytes: [UInt8] = Array("\"[]{},:-0123456789e.E+ ".utf8) + [0, 0x7F, 0x80, 0xFF]
    static let numberTexts = ["-1", "0", "1e18", "1e400", "-0", "0.5", "18446744073709551616", "9007199254740993",
                              "4294967296", "1099511627776", "true", "null", "\"7\"", "[]", "{}", "[1, 2]", "2147483647"]
    static let dtypeTexts = ["\"F32\"", "\"F16\"", "\"BF16\"", "\"F64\"", "\"I64\"", "\"I32\"", "\"U8\"", "\"BOOL\"", "\"f32\"", "3", "null", "[\"F32\"]"]

    /// A header rewritten as JSON: one entry's field replaced by something plausible or hostile.
    func jsonEdit(_ seed: Data, _ r: inout SeededRandom) -> Data {
        guard let n64 = headerLength(seed), n64 <= UInt64(seed.count - 8) else { return seed }
        let n = Int(n64)
        guard var header = (try? JSONSerialization.jsonObject(with: seed.subdata(in: 8..<(8 + n)))) as? [String: Any] else { return seed }
        var body = seed.subdata(in: (8 + n)..<seed.count)
        let names = header.keys.filter { $0 != "__metadata__" }.sorted()
        let sizes: [Any] = [1e18, -1, -12, 0, 1, 3, 12, 1 << 40, 1 << 62, 4_294_967_296, 0.5, "12", true, NSNull(), [1, 2], body.count, body.count + 4]
        switch r.below(9) {
        case 0 where !names.isEmpty: // offsets
            let k = r.pick(names)
            var e = header[k] as? [String: Any] ?? [:]
            e["data_offsets"] = r.below(4) == 0 ? r.pick(sizes) : [r.pick(sizes), r.pick(sizes)]
            header[k] = e
        case 1 where !names.isEmpty: // shape
            let k = r.pick(names)
            var e = header[k] as? [String: Any] ?? [:]
            var dims = (0..<r.below(5)).map { _ in r.pick(sizes) }
            if r.below(4) == 0 { // zero elements next to huge sizes (whose strides overflow)
                let huge: [Any] = [1 << 40, 1 << 52, 4_294_967_296, 1e15, 8e15]
                dims = [0] + (0...r.below(3)).map { _ in r.pick(huge) }
                dims.shuffle(using: &r)
            }
            e["shape"] = r.below(6) == 0 ? r.pick(sizes) : dims
            header[k] = e
        case 2 where !names.isEmpty: // dtype
            let k = r.pick(names)
            var e = header[k] as? [String: Any] ?? [:]
            e["dtype"] = r.pick(["F32", "F16", "BF16", "F64", "I64", "I32", "U8", "BOOL", "", "f32", 3, NSNull()] as [Any])
            header[k] = e
        case 3 where !names.isEmpty: // drop a field or the whole entry's object
            let k = r.pick(names)
            if var e = header[k] as? [String: Any], r.below(2) == 0 { e[r.pick(["dtype", "shape", "data_offsets"])] = nil; header[k] = e }
            else { header[k] = r.pick([1, "x", [1, 2], NSNull()] as [Any]) }
        case 4 where names.count >= 2: // make two entries share (overlap) their bytes
            let a = r.pick(names), b = r.pick(names)
            if var eb = header[b] as? [String: Any], let ea = header[a] as? [String: Any] { eb["data_offsets"] = ea["data_offsets"]; header[b] = eb }
        case 5: // metadata
            header["__metadata__"] = r.pick([["k": "v"], ["k": 1], "text", [1], NSNull()] as [Any])
        case 6: // deep nesting
            var v: Any = 1
            for _ in 0..<(1 + r.below(1200)) { v = r.below(2) == 0 ? [v] : ["k": v] }
            header[names.isEmpty ? "deep" : r.pick(names)] = v
        case 7: // many or odd names
            for i in 0..<r.below(50) { header["x\(i)\u{0}é\u{1F600}"] = ["dtype": "U8", "shape": [1], "data_offsets": [i, i + 1]] }
        default: // the data section shrinks or grows
            if r.below(2) == 0 { body = body.prefix(r.below(body.count + 1)) } else { body.append(contentsOf: (0..<r.below(64)).map { UInt8($0) }) }
        }
        guard let json = try? JSONSerialization.data(withJSONObject: header) else { return seed }
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json); out.append(body)
        return out
    }

    func mutate(_ seed: Data, _ r: inout SeededRandom, seeds: [Data]) -> Data {
        var d = seed
        let headerEnd = Swift.min(d.count, 8 + Int((headerLength(d) ?? 0) & 0xFFFF_FFFF))
        // Most edits land in the 8-byte length or the header, where parsing decisions are made.
        func spot() -> Int { r.below(4) == 0 || headerEnd == 0 ? r.below(Swift.max(d.count, 1)) : r.below(headerEnd) }
        switch r.below(8) {
        case 0: // bit flips
            for _ in 0..<(1 + r.below(8)) where !d.isEmpty { let i = spot(); d[i] ^= UInt8(1) << UInt8(r.below(8)) }
        case 1: // byte overwrites
            for _ in 0..<(1 + r.below(4)) where !d.isEmpty { let i = spot(); d[i] = r.below(2) == 0 ? r.pick(Self.interestingBytes) : UInt8(r.below(256)) }
        case 2: // truncation
            d = d.prefix(r.below(d.count + 1))
        case 3: // extension
            d.append(contentsOf: (0..<(1 + r.below(100))).map { _ in UInt8(r.below(256)) })
        case 4: // header length edits
            let n = headerLength(d) ?? 0
            let values: [UInt64] = [0, 1, 7, n &+ 1, n &- 1, n &+ 8, UInt64(d.count), UInt64(d.count) &- 8, UInt64(d.count) &- 7,
                                    1 << 32, 100_000_001, UInt64.max, UInt64(Int.max), 1 << 63, UInt64(r.next() % 4096)]
            if d.count >= 8 { withUnsafeBytes(of: r.pick(values).littleEndian) { d.replaceSubrange(0..<8, with: $0) } }
        case 5:
            d = jsonEdit(seed, &r)
        case 6: // textual edits in the header: numbers, dtypes, deletions, insertions
            guard headerEnd > 8, var text = String(data: d.subdata(in: 8..<headerEnd), encoding: .utf8) else { break }
            let chars = Array(text)
            let i = r.below(chars.count), j = Swift.min(chars.count, i + 1 + r.below(12))
            switch r.below(3) {
            case 0: text = String(chars[..<i]) + r.pick(Self.numberTexts) + String(chars[j...])
            case 1: text = String(chars[..<i]) + String(chars[j...])
            default: text = String(chars[..<i]) + r.pick(Self.dtypeTexts) + String(chars[i...])
            }
            let h = Data(text.utf8)
            var out = Data()
            withUnsafeBytes(of: UInt64(h.count).littleEndian) { out.append(contentsOf: $0) }
            out.append(h); out.append(d.subdata(in: headerEnd..<d.count))
            d = out
        default: // splice two files
            let other = r.pick(seeds)
            d = d.prefix(r.below(d.count + 1)) + other.suffix(r.below(other.count + 1))
        }
        return d
    }

    func testFuzzHostileFiles() throws {
        let seeds = try seedFiles()
        var r = SeededRandom(state: 0x5EED_2024)
        let total = 100_000
        var accepted = 0, rejected = 0, tensorsRead = 0, failures: [String] = []
        let start = Date()
        for i in 0..<total {
            var d = mutate(r.pick(seeds), &r, seeds: seeds)
            if r.below(4) == 0 { d = mutate(d, &r, seeds: seeds) } // sometimes stack two mutations
            let name = "fuzz-\(i).safetensors"
            do {
                let f = try SafeTensorsFile(data: d, name: name)
                let n = Int(headerLength(d)!)
                let dataCount = d.count - 8 - n
                for k in f.keys {
                    let e = f.entries[k]!
                    let count = e.shape.reduce(1, *)
                    guard e.begin >= 0, e.end <= dataCount, e.end - e.begin == count * e.dtype.size else {
                        failures.append("\(name): entry \(k) \(e) outside the \(dataCount)-byte data section"); continue
                    }
                    let t = try f.tensor(k)
                    var s: Float = 0
                    let c = t.contiguous()
                    for j in 0..<c.count { s += c.storage.base[c.offset + j] } // touch every element
                    if t.shape != e.shape || t.count != count { failures.append("\(name): \(k) read as \(t.shape)") }
                    _ = s
                    tensorsRead += 1
                }
                accepted += 1
            } catch let e as FileError {
                if e.path != name || !e.description.hasPrefix(name) { failures.append("error does not name the file: \(e)") }
                rejected += 1
            } catch {
                failures.append("\(name): unexpected error type \(type(of: error)): \(error)")
            }
        }
        let seconds = Date().timeIntervalSince(start)
        print("safetensors fuzz: \(total) mutations, \(rejected) rejected, \(accepted) parsed (\(tensorsRead) tensors read) in \(String(format: "%.1f", seconds)) s")
        XCTAssertEqual(accepted + rejected, total)
        XCTAssertTrue(failures.isEmpty, "\(failures.count) bad outcomes, first: \(failures.prefix(5))")
        XCTAssertGreaterThan(rejected, total / 2, "most mutations should be caught")
        XCTAssertGreaterThan(accepted, total / 100, "some mutations should stay valid and be read")
    }
}
