// PNG: decoding every reference file Scripts/make_codec_fixtures.py wrote with Python's zlib (each colour
// type, bit depths 1-16, palette + tRNS, colour keys, Adam7, multiple IDAT, all five filters), round trips
// of every format the encoder writes, float views, and specific malformed inputs.
import Foundation
import XCTest
@testable import Codecs
import TestSupport

final class PNGTests: XCTestCase {
    // The fixture formulas (see the script's docstring).
    func sample(_ x: Int, _ y: Int, _ c: Int, _ depth: Int) -> Int {
        depth == 16 ? (x * 2039 + y * 4093 + c * 15013 + x * y * 97) % 65536 : (x * 7 + y * 13 + c * 29 + x * y * 3) % (1 << depth)
    }
    func paletteRGB(_ i: Int) -> [Int] { [(i * 37) % 256, (i * 91 + 17) % 256, (i * 53 + 101) % 256] }

    /// The image a fixture should decode to. `ctype` as in IHDR; `trns`: palette alpha entries; `key`: grey key.
    func expected(_ w: Int, _ h: Int, ctype: Int, depth: Int, palette n: Int = 0, trns: Int = 0, key: Int? = nil) -> Image {
        let chIn = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][ctype]!
        let chOut = ctype == 3 ? (trns > 0 ? 4 : 3) : chIn + (key != nil ? 1 : 0)
        var img = Image(width: w, height: h, channels: chOut, bitDepth: depth == 16 ? 16 : 8)
        for y in 0..<h {
            for x in 0..<w {
                if ctype == 3 {
                    let i = (x * 3 + y * 5 + x * y) % n
                    let rgb = paletteRGB(i)
                    for c in 0..<3 { img[x, y, c] = UInt16(rgb[c]) }
                    if trns > 0 { img[x, y, 3] = UInt16(i < trns ? (i * 71 + 5) % 256 : 255) }
                } else {
                    let scale = depth < 8 ? 255 / ((1 << depth) - 1) : 1
                    for c in 0..<chIn { img[x, y, c] = UInt16(sample(x, y, c, depth) * scale) }
                    if let key { img[x, y, 1] = sample(x, y, 0, depth) == key ? 0 : 255 }
                }
            }
        }
        return img
    }

    func testDecodePythonFixtures() throws {
        let cases: [(String, Image)] = [
            ("grey1.png", expected(13, 7, ctype: 0, depth: 1)),
            ("grey2.png", expected(11, 6, ctype: 0, depth: 2)),
            ("grey4.png", expected(9, 5, ctype: 0, depth: 4)),
            ("grey8.png", expected(17, 11, ctype: 0, depth: 8)),
            ("grey16.png", expected(10, 9, ctype: 0, depth: 16)),
            ("grey8_trns.png", expected(8, 8, ctype: 0, depth: 8, key: sample(3, 2, 0, 8))),
            ("greyalpha8.png", expected(12, 7, ctype: 4, depth: 8)),
            ("greyalpha16.png", expected(7, 6, ctype: 4, depth: 16)),
            ("rgb8.png", expected(15, 10, ctype: 2, depth: 8)),
            ("rgb16.png", expected(9, 8, ctype: 2, depth: 16)),
            ("rgba8.png", expected(16, 9, ctype: 6, depth: 8)),
            ("rgba16.png", expected(6, 5, ctype: 6, depth: 16)),
            ("palette1.png", expected(19, 5, ctype: 3, depth: 1, palette: 2)),
            ("palette2.png", expected(10, 6, ctype: 3, depth: 2, palette: 4)),
            ("palette4.png", expected(13, 9, ctype: 3, depth: 4, palette: 11, trns: 7)),
            ("palette8.png", expected(20, 12, ctype: 3, depth: 8, palette: 200)),
            ("interlaced_rgb8.png", expected(23, 19, ctype: 2, depth: 8)),
            ("interlaced_grey16.png", expected(9, 11, ctype: 0, depth: 16)),
            ("interlaced_palette4.png", expected(13, 10, ctype: 3, depth: 4, palette: 16)),
            ("interlaced_tiny.png", expected(3, 2, ctype: 6, depth: 8)),
            ("multi_idat.png", expected(31, 17, ctype: 2, depth: 8)),
        ]
        for (file, want) in cases {
            let got = try PNG.read(path: codecFixture(file))
            XCTAssertEqual(got.width, want.width, file)
            XCTAssertEqual(got.height, want.height, file)
            XCTAssertEqual(got.channels, want.channels, file)
            XCTAssertEqual(got.bitDepth, want.bitDepth, file)
            if got.samples != want.samples {
                let i = zip(got.samples, want.samples).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? -1
                XCTFail("\(file): samples differ first at \(i)")
            }
        }
    }

    func testRoundTripEveryEncodedFormat() throws {
        var rng = SeededRandom(3)
        for depth in [8, 16] {
            for channels in 1...4 {
                for (w, h) in [(1, 1), (5, 3), (64, 48), (33, 1)] {
                    var img = Image(width: w, height: h, channels: channels, bitDepth: depth)
                    let smooth = naturalImage(width: w, height: h, seed: UInt64(w * h))
                    for i in 0..<img.samples.count {
                        let base = Int(smooth.samples[(i / channels) * 3 + min(i % channels, 2)])
                        img.samples[i] = UInt16(depth == 16 ? base * 256 + rng.int(256) : base)
                    }
                    for level in [0, 1, 6, 9] {
                        let png = PNG.encode(img, level: level)
                        let back = try PNG.decode(png, name: "rt")
                        XCTAssertEqual(back, img, "\(w)x\(h)x\(channels) depth \(depth) level \(level)")
                    }
                }
            }
        }
    }

    func testFloatViewsAndConversions() throws {
        let img = naturalImage(width: 9, height: 7)
        let planar = img.planarFloats()
        XCTAssertEqual(Image(width: 9, height: 7, channels: 3, planar: planar), img)
        XCTAssertEqual(Image(width: 9, height: 7, channels: 3, interleaved: img.interleavedFloats()), img)
        XCTAssertEqual(planar[9 * 7 + 2], Float(img[2, 0, 1]) / 255, accuracy: 1e-6)
        let clamped = Image(width: 2, height: 1, channels: 1, interleaved: [-3, .nan])
        XCTAssertEqual(clamped.samples, [0, 0])
        XCTAssertEqual(Image(width: 2, height: 1, channels: 1, interleaved: [1.7, 0.5]).samples, [255, 128])
        XCTAssertEqual(img.converted(bitDepth: 16).converted(bitDepth: 8), img)
        XCTAssertEqual(img.converted(channels: 4).converted(channels: 3), img)
        XCTAssertEqual(img.converted(channels: 1).converted(channels: 3).converted(channels: 1), img.converted(channels: 1))
        // A 16-bit depth map survives exactly.
        let depthMap = Image(width: 5, height: 4, channels: 1, bitDepth: 16, interleaved: (0..<20).map { Float($0) / 19 })
        XCTAssertEqual(try PNG.decode(PNG.encode(depthMap), name: "depth"), depthMap)
        let dir = URL(fileURLWithPath: try temporaryFolder("codecs"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("a.png").path
        try PNG.write(img, to: path)
        XCTAssertEqual(try PNG.read(path: path), img)
        assertCodecError(dir.appendingPathComponent("missing.png").path) { _ = try PNG.read(path: dir.appendingPathComponent("missing.png").path) }
    }

    /// A PNG built from pieces, for malformed-input tests.
    func makePNG(width: Int, height: Int, ctype: UInt8 = 2, depth: UInt8 = 8, idat: Data? = nil) -> Data {
        var out = ByteBuffer(capacity: 64)
        out.append(PNG.signature)
        var ihdr = [UInt8]()
        for v in [width, height] { ihdr += [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
        ihdr += [depth, ctype, 0, 0, 0]
        ihdr.withUnsafeBytes { PNG.appendChunk("IHDR", $0, to: &out) }
        let body = idat ?? Zlib.compress(Data(count: height * (1 + width * 3)))
        withBytes(body) { PNG.appendChunk("IDAT", $0, to: &out) }
        PNG.appendChunk("IEND", UnsafeRawBufferPointer(start: nil, count: 0), to: &out)
        return out.takeData()
    }

    func testMalformed() {
        XCTAssertNoThrow(try PNG.decode(makePNG(width: 4, height: 3), name: "ok.png"))
        var m = assertCodecError("huge.png") { _ = try PNG.decode(self.makePNG(width: 100_000, height: 100_000, idat: Zlib.compress(Data(count: 100))), name: "huge.png") }
        XCTAssertTrue(m?.contains("100000x100000") ?? false, m ?? "")
        m = assertCodecError("zero.png") { _ = try PNG.decode(self.makePNG(width: 0, height: 3), name: "zero.png") }
        m = assertCodecError("depth.png") { _ = try PNG.decode(self.makePNG(width: 4, height: 3, depth: 4), name: "depth.png") }
        XCTAssertTrue(m?.contains("bit depth") ?? false, m ?? "")
        // A bomb: IHDR says 4x3 but the stream inflates to 1 MB.
        m = assertCodecError("bomb.png") { _ = try PNG.decode(self.makePNG(width: 4, height: 3, idat: Zlib.compress(Data(count: 1 << 20))), name: "bomb.png") }
        XCTAssertTrue(m?.contains("exceeds") ?? false, m ?? "")
        m = assertCodecError("short.png") { _ = try PNG.decode(self.makePNG(width: 4, height: 3, idat: Zlib.compress(Data(count: 20))), name: "short.png") }
        XCTAssertTrue(m?.contains("truncated") ?? false, m ?? "")
        m = assertCodecError("filter.png") { _ = try PNG.decode(self.makePNG(width: 4, height: 3, idat: Zlib.compress(Data([7] + [UInt8](repeating: 0, count: 38)))), name: "filter.png") }
        XCTAssertTrue(m?.contains("filter type 7") ?? false, m ?? "")
        var bad = makePNG(width: 4, height: 3)
        bad[bad.count - 20] ^= 1
        m = assertCodecError("crc.png") { _ = try PNG.decode(bad, name: "crc.png") }
        XCTAssertTrue(m?.contains("CRC") ?? false, m ?? "")
        m = assertCodecError("cut.png") { _ = try PNG.decode(self.makePNG(width: 4, height: 3).dropLast(12), name: "cut.png") }
        XCTAssertTrue(m?.contains("IEND") ?? false, m ?? "")
        assertCodecError("text.png") { _ = try PNG.decode(Data("hello".utf8), name: "text.png") }
        // Palette indices beyond a 2-colour palette (tRNS dropped, it would be longer than the palette).
        var cs = pngChunks(Array((try? codecFixtureData("palette4.png")) ?? Data()))
        cs.removeAll { $0.0 == "tRNS" }
        if let i = cs.firstIndex(where: { $0.0 == "PLTE" }) { cs[i].1 = Array(cs[i].1.prefix(6)) }
        m = assertCodecError("pal.png") { _ = try PNG.decode(Data(assemblePNG(cs)), name: "pal.png") }
        XCTAssertTrue(m?.contains("palette index") ?? false, m ?? "")
        // An unknown critical chunk.
        cs = pngChunks(Array(makePNG(width: 2, height: 2)))
        cs.insert(("ABCD", [1, 2]), at: 1)
        m = assertCodecError("crit.png") { _ = try PNG.decode(Data(assemblePNG(cs)), name: "crit.png") }
        XCTAssertTrue(m?.contains("critical") ?? false, m ?? "")
    }
}

/// PNG.write replaces an existing file (it once used FileManager.replaceItemAt, which fails on Linux).
final class CodecOverwriteTests: XCTestCase {
    func testWriteReplacesExistingFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ow-\(UUID().uuidString).png").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let a = Image(width: 2, height: 1, channels: 1, bitDepth: 8, samples: [0, 255])
        let b = Image(width: 1, height: 1, channels: 1, bitDepth: 8, samples: [7])
        try PNG.write(a, to: path)
        try PNG.write(b, to: path)
        XCTAssertEqual(try PNG.read(path: path), b)
    }
}
