// Mutation fuzzing of the decoders: valid PNG, zip, gzip, GIF and zlib inputs are damaged with seeded bit
// flips, truncations, byte overwrites, inserted/deleted bytes and edits to length fields, and every result
// must either decode or throw a CodecError naming the input — never crash, hang or read out of bounds.
import Foundation
import XCTest
@testable import Codecs
import TestSupport

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

    /// Mutations that keep every CRC valid, so they reach IHDR validation, inflate, unfiltering and
    /// palette lookups rather than stopping at the first CRC check.
    func structuredMutation(_ png: [UInt8], _ rng: inout SeededRandom) -> [UInt8] {
        var cs = pngChunks(png)
        switch rng.int(5) {
        case 0:  // IHDR fields
            guard let h = cs.firstIndex(where: { $0.0 == "IHDR" }) else { break }
            var b = cs[h].1
            switch rng.int(5) {
            case 0: b[3] = b[3] &+ UInt8(rng.int(7)) &- 3; b[7] = b[7] &+ UInt8(rng.int(7)) &- 3
            case 1: b[rng.int(8)] = rng.byte()
            case 2: b[8] = [1, 2, 4, 8, 16, rng.byte()][rng.int(6)]
            case 3: b[9] = [0, 2, 3, 4, 6, rng.byte()][rng.int(6)]
            default: b[12] = [0, 1, rng.byte()][rng.int(3)]
            }
            cs[h].1 = b
        case 1, 2:  // decompressed scanlines, recompressed at a random level
            let z = cs.filter { $0.0 == "IDAT" }.flatMap { $0.1 }
            guard var raw = try? Array(Zlib.decompress(Data(z), name: "fuzz")) else { break }
            switch rng.int(4) {
            case 0: if !raw.isEmpty { raw[rng.int(raw.count)] = UInt8(rng.int(8)) }  // often a filter byte
            case 1: for _ in 0..<(1 + rng.int(8)) where !raw.isEmpty { raw[rng.int(raw.count)] ^= 1 << UInt8(rng.int(8)) }
            case 2: raw.removeLast(min(raw.count, 1 + rng.int(40)))
            default: raw += rng.bytes(1 + rng.int(40))
            }
            let idat = Array(Zlib.compress(Data(raw), level: rng.int(10)))
            cs.removeAll { $0.0 == "IDAT" }
            cs.insert(("IDAT", idat), at: max(0, cs.count - 1))
        case 3:  // compressed bytes, CRC kept valid
            guard let i = cs.firstIndex(where: { $0.0 == "IDAT" }), !cs[i].1.isEmpty else { break }
            for _ in 0..<(1 + rng.int(3)) { cs[i].1[rng.int(cs[i].1.count)] ^= 1 << UInt8(rng.int(8)) }
        default:  // palette/transparency edits, dropped, duplicated or swapped chunks
            let k = rng.int(cs.count)
            switch rng.int(4) {
            case 0: cs.remove(at: k)
            case 1: cs.insert(cs[k], at: rng.int(cs.count + 1))
            case 2: cs.swapAt(k, rng.int(cs.count))
            default:
                if cs[k].1.isEmpty { cs[k].1 = rng.bytes(1 + rng.int(6)) } else { cs[k].1.removeLast(1 + rng.int(min(3, cs[k].1.count))) }
            }
        }
        return assemblePNG(cs)
    }

    /// Deflate streams of skewed random data (Huffman codes from 1 to 15 bits, so every code-length code
    /// symbol and header size occurs), shifted to each of the 8 bit alignments behind empty fixed blocks;
    /// unmutated they must inflate exactly, mutated they must decode or throw.
    func testFuzzDeflateAlignments() throws {
        let start = Date()
        var rng = SeededRandom(21)
        var exact = 0, ok = 0, rejected = 0, headers19 = 0
        for iteration in 0..<2500 {
            var src: [UInt8]
            if iteration % 3 == 0 {
                // Fibonacci frequencies make the deepest Huffman trees: codes limited to 15 bits.
                var fib = [1, 2]  // (1, 1, 2 would let tie-breaking keep the tree shallow)
                let symbols = 16 + rng.int(4)
                while fib.count < symbols { fib.append(fib[fib.count - 1] + fib[fib.count - 2]) }
                let offset = rng.int(200)
                src = fib.enumerated().flatMap { [UInt8](repeating: UInt8(offset + $0.offset), count: $0.element) }
                for k in stride(from: src.count - 1, to: 0, by: -1) { src.swapAt(k, rng.int(k + 1)) }
            } else {
                let n = 1 + rng.int(iteration % 10 == 1 ? 60_000 : 6000)
                let p = 0.3 + 0.69 * rng.unit()
                src = [UInt8](repeating: 0, count: n)
                var i = 0
                while i < n {
                    if i > 8 && rng.int(8) == 0 {  // a repeat, for matches
                        let d = 1 + rng.int(min(i, 5000)), l = min(n - i, 3 + rng.int(40))
                        for k in 0..<l { src[i + k] = src[i + k - d] }
                        i += l
                        continue
                    }
                    var v = 0
                    while v < 255 && rng.unit() > p { v += 1 }
                    src[i] = UInt8(v)
                    i += 1
                }
            }
            var raw: [UInt8]
            if iteration % 3 == 0 {
                var buf = ByteBuffer(capacity: src.count)
                src.withUnsafeBytes { deflateHuffmanOnly($0, into: &buf) }
                raw = buf.toArray()
                buf.release()
            } else {
                raw = Array(Deflate.compress(Data(src), level: 1 + rng.int(9)))
            }
            let head = raw.count >= 3 ? Int(raw[0]) | Int(raw[1]) << 8 | Int(raw[2]) << 16 : 0
            if (head >> 1) & 3 == 2 && (head >> 13) & 15 == 15 { headers19 += 1 }  // first block sends 19 lengths
            for shift in 0..<8 {
                var w = BitWriter(out: ByteBuffer(capacity: raw.count + 16))
                // Empty fixed blocks (10 bits) and a one-literal fixed block (19 bits, byte 200) reach every alignment.
                let empties = [0, 3, 2, 1, 0, 3, 2, 1][shift], literal = shift >= 4
                for _ in 0..<empties { w.put(0, 1); w.put(1, 2); w.put(0, 7) }
                if literal { w.put(0, 1); w.put(1, 2); w.put(0b0_0010_0111, 9)  /* code 111001000 reversed */; w.put(0, 7) }
                for b in raw { w.put(Int(b), 8) }
                w.alignToByte()
                var stream = Array(w.out.takeData())
                let expected = (literal ? [UInt8(200)] : []) + src
                let mutate = rng.int(2) == 0
                if mutate { for _ in 0..<(1 + rng.int(3)) { stream[rng.int(min(stream.count, 80))] ^= 1 << UInt8(rng.int(8)) } }
                let name = "deflate-\(iteration)-\(shift)"
                do {
                    let out = try Deflate.decompress(Data(stream), name: name, maxOutput: 1 << 20)
                    if !mutate { XCTAssertEqual(Array(out), expected, name); exact += 1 } else { ok += 1 }
                } catch let e as CodecError {
                    XCTAssertTrue(mutate, "\(name): valid stream rejected: \(e)")
                    XCTAssertEqual(e.name, name)
                    rejected += 1
                }
            }
        }
        print("deflate alignment fuzz (\(String(format: "%.1f", Date().timeIntervalSince(start))) s): \(exact) exact round trips, \(ok) mutated decoded, \(rejected) mutated rejected; \(headers19) streams open with a 19-length header")
        XCTAssertGreaterThan(headers19, 0)
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
        var srng = SeededRandom(11)
        let pngCorpus = try pngs + ["grey1.png", "grey2.png", "greyalpha16.png", "grey8_trns.png", "palette1.png", "palette8.png",
                                "interlaced_palette4.png", "interlaced_tiny.png", "rgba16.png"].map { Array(try codecFixtureData($0)) }
        r = fuzz("png-structured", [[0]], iterations: 20_000, seed: 6, lengthFields: { _ in [] }) { _, name in
            let mutated = self.structuredMutation(pngCorpus[srng.int(pngCorpus.count)], &srng)
            _ = try PNG.decode(Data(mutated), name: name)
        }
        report.append("PNG with valid CRCs: \(r.0) decoded, \(r.1) rejected")

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

        // Streams of varied content, size and level, so block headers fall at every bit alignment.
        let vocab = try codecFixtureData("vocab.txt")
        var zl = [[UInt8]]()
        for k in 0..<12 {
            let n = 200 + k * 377
            let src = k % 3 == 0 ? Data(vocab.prefix(n)) : k % 3 == 1 ? PNG.filteredScanlines(smoothImage(8 + k)) : Data((0..<n).map { UInt8(truncatingIfNeeded: $0 * $0 >> (k % 7)) })
            zl.append(Array(Zlib.compress(src, level: k % 10)))
        }
        r = fuzz("zlib", zl, iterations: 20_000, seed: 5, lengthFields: { _ in [] }) { data, name in
            _ = try Zlib.decompress(data, name: name, maxOutput: 1 << 20)
        }
        report.append("zlib: \(r.0) decoded, \(r.1) rejected")
        let seconds = Date().timeIntervalSince(start)
        print("fuzz (\(String(format: "%.1f", seconds)) s): " + report.joined(separator: "; "))
        XCTAssertLessThan(seconds, 60)
    }
}
