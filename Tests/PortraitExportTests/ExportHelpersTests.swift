// The pieces of `dreamportrait generate` on their own: SHA-256, image and depth quantisation, camera-label files,
// renderer seeds, the stage timer's memory probe, density-grid sampling, border trimming and the no-surface error.
import Foundation
import XCTest
import Codecs
import TensorCore
import TriPlaneGAN
@testable import PortraitExport
import TestSupport

final class ExportHelpersTests: XCTestCase {
    func testSHA256KnownDigests() throws {
        XCTAssertEqual(SHA256.hex(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        XCTAssertEqual(SHA256.hex(Data(two.utf8)), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // A million 'a's fed in uneven pieces, and through a file.
        let million = Data(repeating: UInt8(ascii: "a"), count: 1_000_000)
        var s = SHA256()
        var i = 0
        for piece in [1, 63, 64, 65, 1000, 999_000 - 193 + 1000] { let j = Swift.min(million.count, i + piece); s.update(million[i..<j]); i = j }
        s.update(million[i...])
        XCTAssertEqual(s.hexDigest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        let path = temporaryPath("sha") + ".bin"
        try million.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let f = try SHA256.file(path)
        XCTAssertEqual(f.hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        XCTAssertEqual(f.bytes, 1_000_000)
        XCTAssertThrowsError(try SHA256.file(path + ".missing")) { XCTAssertTrue("\($0)".contains(".missing"), "\($0)") }
    }

    func testRGB8QuantisesAsEG3D() {
        // (x·127.5 + 128).clamp(0, 255) truncated: -1 → 0, 0 → 128, 1 → 255, 0.5 → 191, NaN → 0, beyond → clamped.
        let values: [Float] = [-1, 0, 1, 0.5, .nan, 3, -3, -0.999]
        let t = Tensor(values + values.map { -$0 } + values, shape: [1, 3, 2, 4])
        let img = ImageExport.rgb8(t)
        XCTAssertEqual(img.width, 4); XCTAssertEqual(img.height, 2); XCTAssertEqual(img.channels, 3); XCTAssertEqual(img.bitDepth, 8)
        XCTAssertEqual((0..<8).map { Int(img.samples[$0 * 3]) }, [0, 128, 255, 191, 0, 255, 0, 0])
        XCTAssertEqual((0..<8).map { Int(img.samples[$0 * 3 + 1]) }, [255, 128, 0, 64, 0, 0, 255, 255])
    }

    func testDepth16MapsNearToBrightAndEmptyToZero() {
        let depth = Tensor([2.25, 3.3, 2.775, 2.0, 4.0, 2.5], shape: [1, 1, 2, 3])
        let weights = Tensor([1, 1, 1, 1, 1, 0.0005], shape: [1, 1, 2, 3])
        let img = ImageExport.depth16(depth, weights: weights, rayStart: 2.25, rayEnd: 3.3)
        XCTAssertEqual(img.bitDepth, 16); XCTAssertEqual(img.channels, 1); XCTAssertEqual(img.width, 3); XCTAssertEqual(img.height, 2)
        XCTAssertEqual(img.samples[0], 65535)
        XCTAssertEqual(img.samples[1], 0)
        XCTAssertEqual(Int(img.samples[2]), 32768, accuracy: 2)
        XCTAssertEqual(img.samples[3], 65535)   // nearer than ray_start: clamped
        XCTAssertEqual(img.samples[4], 0)       // farther than ray_end: clamped
        XCTAssertEqual(img.samples[5], 0)       // weight below 1e-3: nothing hit
        // The PNG round trip keeps 16 bits.
        let back = try! PNG.decode(PNG.encode(img), name: "depth")
        XCTAssertEqual(back, img)
    }

    func testCameraLabelFilesParseAndFailClearly() throws {
        let frontal = Camera.frontal().label
        let text = frontal.map { "\($0)" }
        for body in ["[" + text.joined(separator: ", ") + "]",
                     "[[" + text[0..<16].joined(separator: ",") + "], [" + text[16...].joined(separator: ",") + "]]",
                     text.joined(separator: " ") + "\n",
                     text[0..<16].joined(separator: ", ") + "\n" + text[16...].joined(separator: "\t")] {
            XCTAssertEqual(try CameraLabelFile.parse(Data(body.utf8), name: "cam.txt").label, frontal, body)
        }
        func failure(_ body: String) -> String {
            do { _ = try CameraLabelFile.parse(Data(body.utf8), name: "cam.json"); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(failure(text.dropLast().joined(separator: " ")).contains("25 numbers (16 cam2world + 9 intrinsics), found 24"))
        XCTAssertTrue(failure("[" + text.joined(separator: ",") + ", 1]").contains("found 26"))
        XCTAssertTrue(failure((text.dropLast() + ["nan"]).joined(separator: " ")).contains("value 24 is nan"))
        XCTAssertTrue(failure((["inf"] + text.dropFirst()).joined(separator: " ")).contains("value 0 is inf"))
        XCTAssertTrue(failure((text.dropLast() + ["x1"]).joined(separator: " ")).contains("'x1' is not a number"))
        XCTAssertTrue(failure("[1, 2, \"a\"]").contains("not a number"))
        XCTAssertTrue(failure("[1, 2,").contains("not valid JSON"))
        var zeroFocal = frontal
        zeroFocal[16] = 0
        XCTAssertTrue(failure(zeroFocal.map { "\($0)" }.joined(separator: " ")).contains("fx"))
        for f in [failure(""), failure("[1, 2,")] { XCTAssertTrue(f.hasPrefix("cam.json:"), f) }
        XCTAssertThrowsError(try CameraLabelFile.read(path: "/nonexistent/cam.json")) {
            XCTAssertEqual("\($0)", "/nonexistent/cam.json: no such camera label file")
        }
    }

    func testRendererSeedsAreDistinctAndStable() {
        var seen = Set<UInt64>()
        for stream in [RendererSeeds.Stream.view, .orbit, .cameraLabel] {
            for i in 0..<100 { seen.insert(RendererSeeds.seed(0, stream, i)); seen.insert(RendererSeeds.seed(1, stream, i)) }
        }
        XCTAssertEqual(seen.count, 600)
        XCTAssertEqual(RendererSeeds.seed(5, .view, 2), RendererSeeds.seed(5, .view, 2))
        XCTAssertEqual(RendererSeeds.mix(0), 0xE220_A839_7B1D_CDAF)   // SplitMix64's first output for state 0
    }

    func testStageTimerReportsEachStagesPeak() throws {
        let timer = StageTimer()
        let bytes = 96 << 20
        timer.measure("big") {
            #if os(Linux)
            // Anonymous pages straight from the kernel, so the RSS surely falls when they are unmapped (a malloc'd
            // block may come from, and go back to, free space inside the heap that other tests left behind).
            let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            XCTAssertNotEqual(p, MAP_FAILED)
            if let p, p != MAP_FAILED { memset(p, 1, bytes); munmap(p, bytes) }
            #else
            let p = UnsafeMutablePointer<UInt8>.allocate(capacity: bytes)
            p.initialize(repeating: 1, count: bytes)
            p.deallocate()
            #endif
        }
        timer.measure("small") { _ = (0..<1000).reduce(0, +) }
        XCTAssertEqual(timer.records.map(\.name), ["big", "small"])
        let big = timer.records[0], small = timer.records[1]
        XCTAssertGreaterThan(big.peakRssMiB, 96)
        XCTAssertGreaterThanOrEqual(big.seconds, 0); XCTAssertGreaterThanOrEqual(big.cpuSeconds, 0)
        #if os(Linux)
        if big.peakScope == "stage" { XCTAssertLessThan(small.peakRssMiB, big.peakRssMiB - 64, "the peak was not reset between stages") }
        XCTAssertNotNil(ResourceProbe.currentResidentBytes())
        #endif
    }

    func testDensityGridMatchesSampleDensityWhateverTheChunking() throws {
        let g = TriPlaneGenerator(config: .tiny128, rng: RandomGenerator(seed: 7))
        try withNoGrad {
            let ws = g.mapping(RandomGenerator(seed: 1).normal([1, g.config.zDim]), Camera.labels([Camera.frontal()]))
            let planes = g.planes(ws, noiseMode: .const)
            let m = 9
            var reported: [Int] = []
            let grid = try MeshExtraction.sampleGrid(generator: g, planes: planes, resolution: m, pointsPerCall: 2 * m * m,
                                                     progress: { done, total in XCTAssertEqual(total, m); reported.append(done) })
            XCTAssertEqual(reported, [2, 4, 6, 8, 9])
            let whole = try MeshExtraction.sampleGrid(generator: g, planes: planes, resolution: m)
            XCTAssertEqual(grid.values, whole.values)
            XCTAssertEqual(grid.origin, SIMD3(repeating: -0.5)); XCTAssertEqual(grid.spacing, 1.0 / 8, accuracy: 1e-7)
            // Voxel (i, j, k) holds σ at origin + (i, j, k)·spacing.
            let probes = [(0, 0, 0), (8, 8, 8), (2, 5, 7), (4, 4, 4)]
            var coords: [Float] = []
            for (i, j, k) in probes { for v in [i, j, k] { coords.append(-0.5 + Float(v) / 8) } }
            let pts = Tensor(coords, shape: [1, probes.count, 3])
            let direct = g.sampleDensity(planes: planes, points: pts).sigma.toArray()
            for (n, p) in probes.enumerated() { XCTAssertEqual(grid.values[(p.0 * m + p.1) * m + p.2], direct[n], accuracy: 1e-5) }
            // With a border pad only the interior is sampled: the grid equals the whole grid trimmed as the mesh trims it.
            for (pad, perCall) in [(2, 1 << 18), (3, 2 * m * m), (5, 1 << 18)] {
                var trimmed = whole
                trimmed.trimBorder(pad: pad)
                let padded = try MeshExtraction.sampleGrid(generator: g, planes: planes, resolution: m, pad: pad, pointsPerCall: perCall)
                XCTAssertEqual(padded.values, trimmed.values, "pad \(pad)")
                XCTAssertEqual(padded.range(pad: pad).min, whole.range(pad: pad).min)
            }
            XCTAssertThrowsError(try MeshExtraction.sampleGrid(generator: g, planes: planes, resolution: m, shouldStop: { true })) {
                XCTAssertTrue($0 is GenerationInterrupted)
            }
        }
    }

    func testTrimBorderRangeAndNoSurfaceMessage() {
        let m = 6
        var grid = DensityGrid(resolution: m, origin: .zero, spacing: 1, values: (0..<(m * m * m)).map(Float.init))
        XCTAssertEqual(grid.range().min, 0); XCTAssertEqual(grid.range().max, Float(m * m * m - 1))
        XCTAssertEqual(grid.range(pad: 1).min, Float((1 * m + 1) * m + 1)); XCTAssertEqual(grid.range(pad: 1).max, Float((4 * m + 4) * m + 4))
        grid.trimBorder(pad: 1)
        XCTAssertEqual(grid.values[0], -1000); XCTAssertEqual(grid.values[(5 * m + 2) * m + 2], -1000)
        XCTAssertEqual(grid.values[(2 * m + 3) * m + 4], Float((2 * m + 3) * m + 4))
        XCTAssertEqual(grid.values.filter { $0 != -1000 }.count, 4 * 4 * 4)
        XCTAssertEqual(MeshExtraction.defaultPad(resolution: 512), 60)   // gen_samples.py at N = 512
        XCTAssertEqual("\(NoSurfaceError(threshold: 10, minimum: -3.5, maximum: 2.25))",
                       "no surface at σ = 10: the density ranges from -3.5 to 2.25; try a lower --mesh-threshold")
        XCTAssertTrue("\(NoSurfaceError(threshold: -10, minimum: -3.5, maximum: 2.25))".hasSuffix("try a higher --mesh-threshold"))
    }
}
