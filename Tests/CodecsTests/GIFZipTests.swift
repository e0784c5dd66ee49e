// GIF: LZW round trips (every minimum code size, table-full clears, long runs), encode -> decode of palette
// indices and colours, loop and delay fields, quantisation quality. Zip: reading Python zipfile's archive,
// writing (memory and file) and reading back, Python reading ours, malformed archives. Contact sheets.
import Foundation
import XCTest
@testable import Codecs
import TestSupport

final class GIFTests: XCTestCase {
    func testLZWRoundTrip() throws {
        var rng = SeededRandom(9)
        for mcs in 2...8 {
            let n = 1 << mcs
            let cases: [[UInt8]] = [
                [0], [UInt8(n - 1), 0],
                (0..<100_000).map { _ in UInt8(rng.int(n)) },                   // many clears
                [UInt8](repeating: UInt8(n / 2), count: 70_000),                // KwKwK runs
                (0..<50_000).map { i in UInt8((i / 7 + i % 3) % n) },            // long repeats
            ]
            for (k, indices) in cases.enumerated() {
                let code = GIF.lzwEncode(indices, minCodeSize: mcs)
                let back = try GIF.lzwDecode(code, minCodeSize: mcs, count: indices.count, name: "lzw")
                XCTAssertEqual(back, indices, "min code size \(mcs) case \(k)")
            }
        }
        // Compression on a smooth index field.
        let smooth: [UInt8] = (0..<65_536).map { (i: Int) -> UInt8 in UInt8((i % 256 + i / 256) / 4) }
        XCTAssertLessThan(GIF.lzwEncode(smooth, minCodeSize: 8).count, smooth.count / 2)
    }

    func testEncodeDecodeExactColours() throws {
        // Frames with few colours keep them exactly, so decoded frames equal the input.
        var frames = [Image]()
        for f in 0..<5 {
            var img = Image(width: 37, height: 23, channels: 3)
            for y in 0..<23 { for x in 0..<37 {
                let v = (x / 5 + y / 4 + f) % 6
                img[x, y, 0] = UInt16(v * 40); img[x, y, 1] = UInt16(255 - v * 30); img[x, y, 2] = UInt16((v * 77) % 256)
            } }
            frames.append(img)
        }
        let gif = GIF.encode(frames: frames, delays: [3, 4, 5, 6, 7], options: .init(loopCount: 0))
        XCTAssertEqual(Array(gif.prefix(6)), Array("GIF89a".utf8))
        XCTAssertNotNil(gif.range(of: Data("NETSCAPE2.0".utf8)))
        let anim = try GIF.decode(gif, name: "exact.gif")
        XCTAssertEqual(anim.width, 37)
        XCTAssertEqual(anim.height, 23)
        XCTAssertEqual(anim.loopCount, 0)
        XCTAssertEqual(anim.frames.map(\.delay), [3, 4, 5, 6, 7])
        XCTAssertEqual(anim.frames.map { $0.image() }, frames)
        // Per-frame palettes and no loop extension.
        let local = try GIF.decode(GIF.encode(frames: frames, delay: 10, options: .init(loopCount: nil, perFramePalette: true)), name: "local.gif")
        XCTAssertNil(local.loopCount)
        XCTAssertEqual(local.frames.map { $0.image() }, frames)
        XCTAssertTrue(local.globalPalette.isEmpty)
        // Grey input becomes RGB.
        let grey = Image(width: 4, height: 4, channels: 1, fill: 77)
        XCTAssertEqual(try GIF.decode(GIF.encode(frames: [grey]), name: "g").frames[0].image(), grey.converted(channels: 3))
    }

    func testQuantisedNaturalFrames() throws {
        let frames = (0..<4).map { naturalImage(width: 64, height: 48, seed: UInt64(10 + $0)) }
        for (dither, perFrame) in [(false, false), (true, false), (false, true)] {
            let gif = GIF.encode(frames: frames, options: .init(perFramePalette: perFrame, dither: dither))
            let anim = try GIF.decode(gif, name: "natural.gif")
            XCTAssertEqual(anim.frames.count, 4)
            var err = 0.0
            for (a, b) in zip(anim.frames.map { $0.image() }, frames) {
                for i in 0..<a.samples.count { err += abs(Double(a.samples[i]) - Double(b.samples[i])) }
            }
            let mean = err / Double(4 * 64 * 48 * 3)
            print("GIF 4x64x48 natural frames, dither \(dither), per-frame palette \(perFrame): \(gif.count) bytes, mean |error| \(mean)")
            XCTAssertLessThan(mean, dither ? 9 : 5)
        }
    }

    func testMalformedGIF() throws {
        let gif = GIF.encode(frames: [naturalImage(width: 16, height: 16)])
        for cut in [0, 5, 13, 20, 100, gif.count - 3] {
            assertCodecError("cut.gif") { _ = try GIF.decode(gif.prefix(cut), name: "cut.gif") }
        }
    }
}

final class ZipTests: XCTestCase {
    func testReadPythonZip() throws {
        let zip = try ZipArchive(path: codecFixture("dataset.zip"))
        XCTAssertEqual(zip.entries.map(\.name), ["00000/", "00000/img_grey8.png", "00000/img_rgb8.png",
                                                 "00000/img_palette4.png", "dataset.json", "source.bin"])
        XCTAssertTrue(zip.entries[0].isDirectory)
        XCTAssertEqual(zip.entries[1].method, 0)
        XCTAssertEqual(zip.entries[4].method, 8)
        XCTAssertEqual(try zip.extract(named: "00000/img_rgb8.png"), try codecFixtureData("rgb8.png"))
        XCTAssertEqual(try zip.extract(named: "source.bin"), try codecFixtureData("zlib_source.bin"))
        let json = try JSONSerialization.jsonObject(with: try zip.extract(named: "dataset.json")) as? [String: Any]
        XCTAssertEqual((json?["labels"] as? [Any])?.count, 3)
        _ = try PNG.decode(try zip.extract(named: "00000/img_palette4.png"), name: "palette4")
        assertCodecError(codecFixture("dataset.zip")) { _ = try zip.extract(named: "missing") }
    }

    func testWriteAndReadBack() throws {
        let src = try codecFixtureData("zlib_source.bin")
        let w = ZipWriter()
        try w.addDirectory(name: "00000")
        try w.add(name: "00000/a.png", data: PNG.encode(naturalImage(width: 32, height: 32)), method: .stored)
        try w.add(name: "source.bin", data: src, method: .deflate(level: 9))
        try w.add(name: "empty.txt", data: Data())
        try w.add(name: "naïve.json", data: Data("{\"labels\": null}".utf8), method: .deflate(level: 1))
        XCTAssertThrowsError(try w.add(name: "source.bin", data: src))
        try w.finish()
        let zip = try ZipArchive(data: w.data, name: "mine.zip")
        XCTAssertEqual(zip.entries.map(\.name), ["00000/", "00000/a.png", "source.bin", "empty.txt", "naïve.json"])
        XCTAssertEqual(zip.entries[2].method, 8)
        XCTAssertLessThan(zip.entries[2].compressedSize, src.count / 2)
        XCTAssertEqual(try zip.extract(named: "source.bin"), src)
        XCTAssertEqual(try zip.extract(named: "empty.txt"), Data())
        XCTAssertEqual(try PNG.decode(try zip.extract(named: "00000/a.png"), name: "a"), naturalImage(width: 32, height: 32))

        let dir = URL(fileURLWithPath: try temporaryFolder("codecs"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("out.zip").path
        let fw = try ZipWriter(path: path)
        try fw.add(name: "source.bin", data: src)
        try fw.add(name: "dataset.json", data: Data("{}".utf8), method: .stored)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        try fw.finish()
        let back = try ZipArchive(path: path)
        XCTAssertEqual(try back.extract(named: "source.bin"), src)
        // Info-ZIP's unzip (an independent reader) tests every entry's CRC and extracts them.
        guard try runTool("unzip", ["-tqq", path]) != nil else { throw XCTSkip("unzip not installed") }
        XCTAssertEqual(try runTool("unzip", ["-p", path, "source.bin"]), src)
        XCTAssertEqual(try runTool("unzip", ["-p", path, "dataset.json"]), Data("{}".utf8))
    }

    func testMalformedZip() throws {
        let good = try codecFixtureData("dataset.zip")
        let zip = try ZipArchive(data: good, name: "d.zip")
        let e = zip.entry(named: "source.bin")!
        // Corrupt a byte inside source.bin's compressed data: CRC or deflate error, naming the archive.
        var bad = good
        bad[e.localHeaderOffset + 30 + e.name.utf8.count + e.compressedSize / 2] ^= 0x10
        let z2 = try ZipArchive(data: bad, name: "bad.zip")
        assertCodecError("bad.zip") { _ = try z2.extract(named: "source.bin") }
        // A ZIP64 end record (count 0xFFFF).
        var z64 = good
        z64[z64.count - 22 + 10] = 0xFF; z64[z64.count - 22 + 11] = 0xFF
        XCTAssertTrue(assertCodecError("z64.zip") { _ = try ZipArchive(data: z64, name: "z64.zip") }?.contains("ZIP64") ?? false)
        assertCodecError("text.zip") { _ = try ZipArchive(data: Data("not a zip at all, clearly".utf8), name: "text.zip") }
        assertCodecError("tiny.zip") { _ = try ZipArchive(data: Data([0x50, 0x4B]), name: "tiny.zip") }
    }
}

final class ContactSheetTests: XCTestCase {
    func testGridAndLabels() throws {
        let imgs = (0..<5).map { naturalImage(width: 40, height: 30, seed: UInt64($0)) }
        let sheet = ContactSheet.make(imgs, columns: 3, labels: ["a", "seed 1", "x", "yaw 30", "long label that is cut"], padding: 4)
        XCTAssertEqual(sheet.width, 3 * 40 + 4 * 4)
        XCTAssertEqual(sheet.height, 2 * (30 + 9) + 3 * 4)
        XCTAssertEqual(sheet.channels, 3)
        // Image 4 (second row, middle) is copied exactly.
        for y in 0..<30 { for x in 0..<40 { for c in 0..<3 {
            XCTAssertEqual(sheet[4 + 44 + x, 4 + 39 + 4 + y, c], imgs[4][x, y, c])
        } } }
        // The label strip of image 1 has dark text pixels; the empty sixth cell is background.
        var dark = 0
        for y in 34..<43 { for x in 48..<88 where sheet[x, y, 0] == 0 { dark += 1 } }
        XCTAssertGreaterThan(dark, 20)
        XCTAssertEqual(sheet[2 * 44 + 10, 60, 0], 255)
        XCTAssertEqual(try PNG.decode(PNG.encode(sheet), name: "sheet"), sheet)
        // The font draws every printable character inside its 5x7 box.
        var canvas = Image(width: 6 * 95, height: 7, channels: 1)
        BitmapFont.draw(String((32...126).map { Character(Unicode.Scalar($0)!) }), into: &canvas, x: 0, y: 0, colour: [255])
        for k in 0..<95 { for y in 0..<7 { XCTAssertEqual(canvas[6 * k + 5, y, 0], 0, "glyph \(k + 32) bleeds") } }
        XCTAssertEqual(BitmapFont.width(of: "ab", scale: 2), 22)
        // Grey + alpha composites over the background.
        let ga = Image(width: 2, height: 1, channels: 2, samples: [0, 0, 0, 255])
        let s2 = ContactSheet.make([ga], columns: 1, padding: 0)
        XCTAssertEqual(s2.samples, [255, 255, 255, 0, 0, 0])
    }
}
