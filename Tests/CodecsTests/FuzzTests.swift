// Mutation fuzzing of the decoders: valid PNG, zip, gzip, GIF and zlib inputs are damaged with seeded bit
// flips, truncations, byte overwrites, inserted/deleted bytes and edits to length fields, and every result
// must either decode or throw a CodecError naming the input — never crash, hang or read out of bounds.
import Foundation
import XCTest
@testable import Codecs

final class FuzzTests: XCTestCase {
    /// One mutation of `data`; `lengthFields` are offsets of big- or little-endian size fields worth editing.
    func mutate(_ data: [UInt8], _ rng: inout SeededRandom, lengthFields: [Int]) -> [UInt8] {
        var d = data
        let rounds = 1 + rng.int(3)
        for _ in 0..<rounds {
            guard !d.isEmpty else { return d }
            switch rng.int(7) {
            case 0, 1:  // bit flips
                for _ in 0..<(1 + rng.int(4)) { d[rng.int(d.count)] ^= 1 << UInt8(rng.int(8)) }
            case 2:     // truncation
                d.removeLast(1 + rng.int(min(d.count, 64)))
            case 3:     // overwrite a run of bytes
                let at = rng.int(d.count)
                for i in at..<min(d.count, at + 1 + rng.int(8)) { d[i] = rng.byte() }
            case 4:     // length-field edit: small delta, 0, huge or all ones
                if let f = lengthFields.randomElement(using: &rng), f + 4 <= d.count {
                    switch rng.int(4) {
                    case 0: d[f + 3] = d[f + 3] &+ UInt8(rng.int(5)) &- 2; d[f] = d[f] &+ UInt8(rng.int(3)) &- 1
                    case 1: for i in 0..<4 { d[f + i] = 0 }
                    case 2: for i in 0..<4 { d[f + i] = 0xFF }
                    default: d[f + rng.int(4)] = rng.byte()
                    }
                }
            case 5:     // insert bytes
                let at = rng.int(d.count + 1)
                d.insert(contentsOf: rng.bytes(1 + rng.int(6)), at: at)
            default:    // delete bytes
                let at = rng.int(d.count)
                d.removeSubrange(at..<min(d.count, at + 1 + rng.int(6)))
            }
        }
        return d
    }

    /// Runs `iterations` mutations through `decode`, asserting each decodes or throws a CodecError naming
    /// `name`. Returns (decoded, rejected).
    func fuzz(_ label: String, _ inputs: [[UInt8]], iterations: Int, seed: UInt64, lengthFields: ([UInt8]) -> [Int],
              decode: (Data, String) throws -> Void) -> (Int, Int) {
        var rng = SeededRandom(seed)
        var ok = 0, rejected = 0
        let fields = inputs.map(lengthFields)
        for i in 0..<iterations {
            let k = i % inputs.count
            let input = Data(mutate(inputs[k], &rng, lengthFields: fields[k]))
            let name = "\(label)-\(i)"
            do {
                try decode(input, name)
                ok += 1
            } catch let e as CodecError {
                if e.name != name || !e.description.hasPrefix(name + ": ") { XCTFail("\(label) \(i): error names \(e.name), not \(name)") }
                rejected += 1
            } catch {
                XCTFail("\(label) \(i): unexpected error \(error)")
            }
        }
        return (ok, rejected)
    }

    /// Offsets of every PNG chunk length field.
    func pngLengthFields(_ d: [UInt8]) -> [Int] {
        var out = [Int](), p = 8
        while p + 8 <= d.count {
            out.append(p)
            let len = Int(d[p]) << 24 | Int(d[p + 1]) << 16 | Int(d[p + 2]) << 8 | Int(d[p + 3])
            p += 12 + len
        }
        return out + [16, 20]  // also width and height
    }

    func testFuzzDecoders() throws {
        let start = Date()
        var report = [String]()
        let pngs = [Array(PNG.encode(naturalImage(width: 24, height: 16))),
                    Array(try codecFixtureData("palette4.png")),
                    Array(try codecFixtureData("interlaced_rgb8.png")),
                    Array(try codecFixtureData("grey16.png")),
                    Array(try codecFixtureData("multi_idat.png"))]
        var r = fuzz("png", pngs, iterations: 20_000, seed: 1, lengthFields: pngLengthFields) { data, name in
            _ = try PNG.decode(data, name: name)
        }
        report.append("PNG: \(r.0) decoded, \(r.1) rejected")

        let w = ZipWriter()
        try w.add(name: "a/b.json", data: Data(repeating: 65, count: 300) + Data("{\"x\": [1, 2, 3]}".utf8))
        try w.add(name: "img.png", data: Data(pngs[1]), method: .stored)
        try w.add(name: "c.bin", data: Data((0..<2000).map { UInt8(truncatingIfNeeded: $0 * 7 / 3) }), method: .deflate(level: 9))
        try w.finish()
        let zips = [Array(w.data)]
        r = fuzz("zip", zips, iterations: 20_000, seed: 2, lengthFields: { d in
            // Local header sizes (18, 22), central sizes/offsets (20, 24, 42), end record (12, 16).
            var f = [Int]()
            for i in 0..<(d.count - 4) where d[i] == 0x50 && d[i + 1] == 0x4B {
                if d[i + 2] == 3 { f += [i + 18, i + 22, i + 26] }
                if d[i + 2] == 1 { f += [i + 20, i + 24, i + 28, i + 42] }
                if d[i + 2] == 5 { f += [i + 8, i + 12, i + 16] }
            }
            return f
        }) { data, name in
            let zip = try ZipArchive(data: data, name: name)
            for e in zip.entries { _ = try zip.extract(e) }
        }
        report.append("zip: \(r.0) decoded, \(r.1) rejected")

        let gzips = [Array(Gzip.compress(Data(repeating: 120, count: 500) + Data((0..<800).map { UInt8($0 % 251) }), fileName: "v.txt")),
                     Array(try codecFixtureData("two_members.gz"))]
        r = fuzz("gzip", gzips, iterations: 20_000, seed: 3, lengthFields: { d in [d.count - 8, d.count - 4, 3, 10] }) { data, name in
            _ = try Gzip.decompress(data, name: name, maxOutput: 1 << 20)
        }
        report.append("gzip: \(r.0) decoded, \(r.1) rejected")

        let frames = (0..<2).map { naturalImage(width: 12, height: 9, seed: UInt64($0)) }
        let gifs = [Array(GIF.encode(frames: frames, options: .init(colours: 32)))]
        r = fuzz("gif", gifs, iterations: 10_000, seed: 4, lengthFields: { _ in [6, 8] }) { data, name in
            _ = try GIF.decode(data, name: name)
        }
        report.append("GIF: \(r.0) decoded, \(r.1) rejected")

        let zl = [Array(Zlib.compress(try codecFixtureData("vocab.txt").prefix(3000), level: 6)),
                  Array(Zlib.compress(Data((0..<3000).map { UInt8(truncatingIfNeeded: $0 * $0 >> 5) }), level: 1))]
        r = fuzz("zlib", zl, iterations: 10_000, seed: 5, lengthFields: { _ in [] }) { data, name in
            _ = try Zlib.decompress(data, name: name, maxOutput: 1 << 20)
        }
        report.append("zlib: \(r.0) decoded, \(r.1) rejected")
        let seconds = Date().timeIntervalSince(start)
        print("fuzz (\(String(format: "%.1f", seconds)) s): " + report.joined(separator: "; "))
        XCTAssertLessThan(seconds, 60)
    }
}
