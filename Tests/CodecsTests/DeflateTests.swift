// Checksums (known values), inflate of Python-zlib streams at levels 0/1/6/9, deflate round trips over many
// kinds of data and levels, gzip/zlib wrappers, error cases, and the system's gzip decompressing our output plus
// size comparisons at level 6 with gzip's (a photo-like image) and Python zlib's (the fixture source).
import Foundation
import XCTest
@testable import Codecs
import TestSupport

final class DeflateTests: XCTestCase {
    func testChecksumKnownValues() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(CRC32.checksum([UInt8]()), 0)
        XCTAssertEqual(CRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8)), 0x414F_A339)
        XCTAssertEqual(Adler32.checksum(Array("Wikipedia".utf8)), 0x11E6_0398)
        XCTAssertEqual(Adler32.checksum([UInt8]()), 1)
        // Long inputs cross the slicing-by-8 and Adler NMAX boundaries: compare with bytewise definitions.
        var rng = SeededRandom(1)
        let bytes = rng.bytes(100_003)
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 != 0 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        }
        XCTAssertEqual(CRC32.checksum(bytes), ~crc)
        var a: UInt32 = 1, b: UInt32 = 0
        for x in bytes { a = (a + UInt32(x)) % 65521; b = (b + a) % 65521 }
        XCTAssertEqual(Adler32.checksum(bytes), b << 16 | a)
        let split = bytes.withUnsafeBytes { CRC32.update(CRC32.update(0, UnsafeRawBufferPointer(rebasing: $0[..<777])), UnsafeRawBufferPointer(rebasing: $0[777...])) }
        XCTAssertEqual(split, ~crc)
    }

    func testInflatePythonZlibLevels() throws {
        let source = try codecFixtureData("zlib_source.bin")
        for level in [0, 1, 6, 9] {
            let z = try codecFixtureData("zlib_level\(level).zlib")
            XCTAssertEqual(try Zlib.decompress(z, name: "level\(level)"), source, "level \(level)")
        }
        XCTAssertEqual(try Deflate.decompress(try codecFixtureData("raw_level6.deflate"), name: "raw"), source)
    }

    func testRoundTripsAllLevels() throws {
        var rng = SeededRandom(42)
        var inputs: [[UInt8]] = [[], [7], [1, 2], Array("abc".utf8), [UInt8](repeating: 0, count: 100_000),
                                 rng.bytes(70_000), Array(try codecFixtureData("zlib_source.bin"))]
        // Short alphabet with repeats at all distances, and data longer than the 32 KiB window.
        inputs.append((0..<200_000).map { i in UInt8(truncatingIfNeeded: (i % 251) ^ (i / 4096)) })
        inputs.append((0..<50_000).map { _ in UInt8(rng.int(4) + 65) })
        inputs.append([UInt8](repeating: 9, count: 65_536 * 2 + 5) + rng.bytes(3))
        for (k, input) in inputs.enumerated() {
            for level in 0...9 {
                let data = Data(input)
                let d = Deflate.compress(data, level: level)
                XCTAssertEqual(try Deflate.decompress(d, name: "rt"), data, "input \(k) level \(level)")
                let z = Zlib.compress(data, level: level)
                XCTAssertEqual(try Zlib.decompress(z, name: "rt"), data, "zlib input \(k) level \(level)")
                if level >= 1 && k == 4 { XCTAssertLessThan(d.count, 1000, "zeros at level \(level)") }
                if level >= 1 && k == 5 { XCTAssertLessThan(d.count, input.count + input.count / 100 + 64, "random at level \(level)") }
            }
        }
    }

    func testGzip() throws {
        let text = try codecFixtureData("vocab.txt")
        XCTAssertEqual(try Gzip.decompress(path: codecFixture("vocab.txt.gz")), text)
        XCTAssertEqual(try Gzip.decompress(try codecFixtureData("two_members.gz"), name: "two"),
                       Data("first member\nsecond member\n".utf8))
        let mine = Gzip.compress(text, level: 9, fileName: "vocab.txt")
        XCTAssertEqual(try Gzip.decompress(mine, name: "mine"), text)
        XCTAssertEqual(try Gzip.decompress(mine + Data(count: 10), name: "padded"), text)
        assertCodecError("junk") { _ = try Gzip.decompress(mine + Data([1, 2, 3]), name: "junk") }
        var bad = mine
        bad[bad.count - 6] ^= 1  // CRC
        let m = assertCodecError("bad.gz") { _ = try Gzip.decompress(bad, name: "bad.gz") }
        XCTAssertTrue(m?.contains("CRC-32") ?? false, m ?? "")
        assertCodecError("small") { _ = try Gzip.decompress(mine, name: "small", maxOutput: 1000) }
    }

    func testMalformedStreams() {
        // Block type 3.
        XCTAssertTrue(assertCodecError("t3") { _ = try Deflate.decompress(Data([0x07]), name: "t3") }?.contains("block type") ?? false)
        // Stored block with a bad complement.
        XCTAssertTrue(assertCodecError("s") { _ = try Deflate.decompress(Data([0x01, 0x05, 0x00, 0x00, 0x00]), name: "s") }?.contains("complement") ?? false)
        // Fixed block: a match at distance 1 with nothing written yet.
        var w = BitWriter(out: ByteBuffer(capacity: 16))
        w.put(1, 1); w.put(1, 2)
        w.put(0b1000000, 7)  // length code 257: 7-bit code 0000001, written MSB-first
        w.put(0, 5)          // distance code 0
        w.alignToByte()
        let far = w.out.takeData()
        XCTAssertTrue(assertCodecError("far") { _ = try Deflate.decompress(far, name: "far") }?.contains("too far back") ?? false)
        // Dynamic header with an over-subscribed code-length code (all 19 lengths 1).
        var h = BitWriter(out: ByteBuffer(capacity: 16))
        h.put(1, 1); h.put(2, 2); h.put(0, 5); h.put(0, 5); h.put(15, 4)
        for _ in 0..<19 { h.put(1, 3) }
        h.alignToByte()
        let over = h.out.takeData()
        XCTAssertTrue(assertCodecError("over") { _ = try Deflate.decompress(over, name: "over") }?.contains("over-subscribed") ?? false)
        // Truncations of a real stream all throw.
        let z = Zlib.compress(Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 * $0 / 7) }), level: 6)
        for cut in 0..<(z.count - 1) {
            assertCodecError("cut") { _ = try Zlib.decompress(z.prefix(cut), name: "cut") }
        }
        // A bomb: 10 MB of zeros capped at 1 MB.
        let bomb = Deflate.compress(Data(count: 10_000_000), level: 9)
        XCTAssertTrue(assertCodecError("bomb") { _ = try Deflate.decompress(bomb, name: "bomb", maxOutput: 1_000_000) }?.contains("exceeds") ?? false)
        // Wrong Adler-32.
        var zz = Zlib.compress(Data("hello".utf8))
        zz[zz.count - 1] ^= 0x40
        XCTAssertTrue(assertCodecError("adler") { _ = try Zlib.decompress(zz, name: "adler") }?.contains("Adler") ?? false)
    }

    /// A dynamic block whose header sends all 19 code-length code lengths (57 bits), at every bit alignment.
    func testDynamicHeaderWithNineteenCodeLengthsAtEveryAlignment() throws {
        func rev(_ code: Int, _ len: Int) -> Int { (0..<len).reduce(0) { $0 | ((code >> $1) & 1) << (len - 1 - $1) } }
        for empties in 0..<4 {
            for withLiteral in [false, true] {
                var w = BitWriter(out: ByteBuffer(capacity: 64))
                for _ in 0..<empties { w.put(0, 1); w.put(1, 2); w.put(0, 7) }  // empty fixed blocks (10 bits)
                if withLiteral { w.put(0, 1); w.put(1, 2); w.put(rev(0b1_1001_0000 + 56, 9), 9); w.put(0, 7) }  // byte 200
                w.put(1, 1); w.put(2, 2)
                w.put(0, 5); w.put(0, 5); w.put(15, 4)  // HLIT 257, HDIST 1, HCLEN 19
                // Code-length code: 8 -> 1 bit (0), 16 -> 2 bits (10), 1 and 9 -> 3 bits (110, 111).
                let clLen: [Int: Int] = [16: 2, 8: 1, 9: 3, 1: 3]
                for sym in DeflateTables.codeLengthOrder { w.put(clLen[sym] ?? 0, 3) }
                func cl(_ sym: Int) { switch sym { case 8: w.put(0, 1); case 16: w.put(rev(0b10, 2), 2); case 1: w.put(rev(0b110, 3), 3); default: w.put(rev(0b111, 3), 3) } }
                // Literal lengths: 0...254 -> 8, 255 and 256 -> 9; one distance code of length 1.
                cl(8)
                for _ in 0..<42 { cl(16); w.put(3, 2) }  // repeat the previous length 6 times
                cl(8); cl(8); cl(9); cl(9); cl(1)
                for b in Array("hi".utf8) { w.put(rev(Int(b), 8), 8) }
                w.put(511, 9)  // end of block: code 111111111
                w.alignToByte()
                let stream = w.out.takeData()
                let expected = (withLiteral ? [UInt8(200)] : []) + Array("hi".utf8)
                XCTAssertEqual(try Deflate.decompress(stream, name: "hclen19"), Data(expected), "\(empties) \(withLiteral)")
            }
        }
        // The picture whose PNG first exposed the 57-bit header read.
        let smooth = smoothImage(64)
        for level in 0...9 { XCTAssertEqual(try PNG.decode(PNG.encode(smooth, level: level), name: "smooth"), smooth) }
    }

    /// The system's gzip (an independent inflater) decompresses what we write, and our level 6 is compared with gzip's
    /// level 6 on the same PNG-filtered photo-like image, and with Python zlib's level 6 on the fixture's source (the
    /// stream `Scripts/make_codec_fixtures.py` wrote).
    func testSystemGzipInflatesOurOutputAndSizeComparison() throws {
        let img = naturalImage(width: 256, height: 256)
        let filtered = PNG.filteredScanlines(img)
        let src = try codecFixtureData("zlib_source.bin")
        let dir = URL(fileURLWithPath: try temporaryFolder("codecs"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let raw = dir.appendingPathComponent("img.raw")
        try filtered.write(to: raw)
        for level in [1, 6, 9] {
            for (name, data) in [("img", filtered), ("src", src)] {
                let file = dir.appendingPathComponent("\(name)\(level).gz")
                try Gzip.compress(data, level: level).write(to: file)
                guard let back = try runTool("gzip", ["-dc", file.path]) else { throw XCTSkip("gzip not installed") }
                XCTAssertEqual(back, data, "gzip -d of our level \(level) \(name)")
            }
        }
        // gzip -n writes a 10-byte header and an 8-byte trailer around the deflate stream; zlib 2 + 4.
        guard let theirs = try runTool("gzip", ["-n", "-6", "-c", raw.path]) else { throw XCTSkip("gzip not installed") }
        let ours = Deflate.compress(filtered, level: 6).count, gzip6 = theirs.count - 18
        let oursSource = Deflate.compress(src, level: 6).count, zlib6 = try codecFixtureData("zlib_level6.zlib").count - 6
        print("filtered 256x256 RGB image: \(filtered.count) bytes; level 6: ours \(ours), gzip \(gzip6); fixture source \(src.count) bytes: ours \(oursSource), Python zlib \(zlib6)")
        XCTAssertLessThan(Double(ours), Double(gzip6) * 1.05, "level 6 within 5% of gzip's")
        XCTAssertLessThan(Double(oursSource), Double(zlib6) * 1.05, "level 6 within 5% of zlib's on the fixture source")
        XCTAssertLessThan(Double(ours), Double(filtered.count) * 0.8, "beats stored blocks substantially")
    }
}
