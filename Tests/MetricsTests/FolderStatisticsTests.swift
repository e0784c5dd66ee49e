// Image folders as pytorch-fid reads them (PNG only, sorted, grey/alpha/16-bit to RGB bytes / 255), streamed
// folder statistics (batch-size independent, equal to the statistics of all features at once) and the
// statistics cache (hit for the same folder and encoder, miss after an image changes or for another encoder).
import Codecs
import Foundation
import XCTest
@testable import Metrics
@testable import TensorCore

/// A cheap stand-in encoder: per-channel means and a few pixel values.
struct StubEncoder: ImageFeatureEncoder {
    var dimension: Int { 5 }
    var identity: String
    func encode(_ images: [Tensor]) -> Tensor {
        Tensor.concat(images.map { x -> Tensor in
            let m = x.mean(axes: [1, 2]).toArray(), v = x.contiguous().toArray()
            return Tensor(m + [v[0], v[v.count - 1]], shape: [1, 5])
        }, axis: 0)
    }
}

final class FolderStatisticsTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("fid-folder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func writeImages(_ count: Int, seed: UInt64 = 1) throws {
        var state = seed
        for i in 0..<count {
            let (w, h) = (5 + i % 3, 4 + i % 2)
            let bytes = (0..<(w * h * 3)).map { _ -> UInt8 in state = state &* 6364136223846793005 &+ 1442695040888963407; return UInt8(state >> 56) }
            try PNG.write(Image(width: w, height: h, channels: 3, bytes: bytes), to: folder.appendingPathComponent(String(format: "img%03d.png", i)).path)
        }
    }

    func testListingIsSortedPNGsOnly() throws {
        try writeImages(3)
        try Data().write(to: folder.appendingPathComponent("notes.txt"))
        try Data().write(to: folder.appendingPathComponent("upper.PNG"))   // pytorch-fid's glob is case-sensitive
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("sub.png"), withIntermediateDirectories: true)
        let f = try ImageFolder(path: folder.path)
        XCTAssertEqual(f.files.map { ($0 as NSString).lastPathComponent }, ["img000.png", "img001.png", "img002.png"])
    }

    func testFolderErrorsNameTheProblem() throws {
        XCTAssertThrowsError(try ImageFolder(path: folder.path)) { XCTAssertTrue("\($0)".contains("holds no PNG images"), "\($0)") }
        XCTAssertThrowsError(try ImageFolder(path: folder.path + "/missing")) { XCTAssertTrue("\($0)".contains("no such folder"), "\($0)") }
        try writeImages(2)
        try Data([0xFF, 0xD8]).write(to: folder.appendingPathComponent("photo.jpg"))
        XCTAssertThrowsError(try ImageFolder(path: folder.path)) {
            XCTAssertTrue("\($0)".contains("photo.jpg") && "\($0)".contains("JPEG is not"), "\($0)")
        }
        try FileManager.default.removeItem(at: folder.appendingPathComponent("photo.jpg"))
        try Data("not a png".utf8).write(to: folder.appendingPathComponent("broken.png"))
        let f = try ImageFolder(path: folder.path)
        XCTAssertThrowsError(try folderStatistics(f, encoder: StubEncoder(identity: "stub"), batchSize: 2)) {
            XCTAssertTrue("\($0)".contains("broken.png") && "\($0)".contains("not a readable PNG"), "\($0)")
        }
    }

    /// PNG.write, removing an existing file first (Codecs' writeCodecFile cannot replace a file on Linux:
    /// FileManager.replaceItemAt fails there).
    func overwrite(_ image: Image, _ path: String) throws {
        try? FileManager.default.removeItem(atPath: path)
        try PNG.write(image, to: path)
    }

    func testRGBConversionIsPILConvertThenToTensor() throws {
        let path = folder.appendingPathComponent("x.png").path
        // Grey + alpha: grey copied to R, G, B; alpha dropped.
        try PNG.write(Image(width: 2, height: 1, channels: 2, bytes: [10, 99, 200, 0]), to: path)
        XCTAssertEqual(try ImageFolder.loadRGB(path).toArray(), [10, 200, 10, 200, 10, 200].map { Float($0) / 255 })
        // RGBA: alpha dropped, not composited.
        try overwrite(Image(width: 1, height: 1, channels: 4, bytes: [1, 2, 3, 0]), path)
        XCTAssertEqual(try ImageFolder.loadRGB(path).toArray(), [1, 2, 3].map { Float($0) / 255 })
        // 16-bit: the high byte of each sample.
        try overwrite(Image(width: 1, height: 1, channels: 3, bitDepth: 16, samples: [0x1234, 0xFF00, 0x00FF]), path)
        XCTAssertEqual(try ImageFolder.loadRGB(path).toArray(), [0x12, 0xFF, 0x00].map { Float($0) / 255 })
        XCTAssertEqual(try ImageFolder.loadRGB(path).shape, [3, 1, 1])
    }

    func testStreamingStatisticsDoNotDependOnTheBatchSize() throws {
        try writeImages(7)
        let f = try ImageFolder(path: folder.path)
        let encoder = StubEncoder(identity: "stub")
        var reports: [Int] = []
        let one = try folderStatistics(f, encoder: encoder, batchSize: 3) { done, total in XCTAssertEqual(total, 7); reports.append(done) }
        XCTAssertEqual(reports, [3, 6, 7])
        let all = encoder.encode(try f.files.map { try ImageFolder.loadRGB($0) })
        var direct = FeatureStatistics(dimension: 5)
        direct.add(all)
        for batch in [1, 7, 100] {
            let s = try folderStatistics(f, encoder: encoder, batchSize: batch)
            XCTAssertEqual(s.count, 7)
            XCTAssertLessThan(maxRelative(s.mean, direct.mean), 1e-12)
            XCTAssertLessThan(maxRelative(s.covariance, direct.covariance), 1e-10)
        }
        XCTAssertLessThan(maxRelative(one.covariance, direct.covariance), 1e-10)
    }

    func testCacheHitsOnlyForTheSameFolderAndEncoder() throws {
        try writeImages(4)
        let cacheDir = folder.appendingPathComponent("cache").path
        let cache = StatisticsCache(directory: cacheDir)
        let f = try ImageFolder(path: folder.path)
        let encoder = StubEncoder(identity: "stub-a")
        XCTAssertNil(try cache.load(for: f, encoder: encoder))
        let stats = try folderStatistics(f, encoder: encoder, batchSize: 2)
        try cache.store(stats, for: f, encoder: encoder)
        let cached = try XCTUnwrap(try cache.load(for: f, encoder: encoder))
        XCTAssertEqual(cached.mean, stats.mean)
        XCTAssertEqual(cached.covariance, stats.covariance)
        XCTAssertNil(try cache.load(for: f, encoder: StubEncoder(identity: "stub-b")), "another encoder")
        // Rewriting an image (different size) changes the fingerprint.
        try overwrite(Image(width: 9, height: 9, channels: 3, fill: 7), f.files[0])
        XCTAssertNil(try cache.load(for: try ImageFolder(path: folder.path), encoder: encoder), "changed image")
    }

    func testStableHashIsFNV1a() throws {
        var h = StableHash()
        Array("a".utf8).withUnsafeBytes { h.add($0) }
        XCTAssertEqual(h.value, 0xAF63_DC4C_8601_EC8C)   // FNV-1a 64 of "a"
        let path = folder.appendingPathComponent("bytes").path
        try Data("a".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try StableHash.file(path), 0xAF63_DC4C_8601_EC8C)
    }
}
