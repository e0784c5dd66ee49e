// Test support for the Codecs tests: the codecs fixture folder, a natural-looking synthetic image, PNG chunk
// helpers and a runner for the system's gzip and unzip, independent readers of what we write (tests that use them
// skip when they are missing). The seeded generator and temporary folders are TestSupport's.
import Foundation
import XCTest
@testable import Codecs
import TestSupport

/// Tests/Fixtures/codecs
let codecFixturesDir = fixturesDir.appendingPathComponent("codecs")

func codecFixture(_ name: String) -> String { codecFixturesDir.appendingPathComponent(name).path }

func codecFixtureData(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: codecFixture(name))) }

/// A photo-like RGB image: smooth shading, a few soft-edged blobs, fine texture and sensor noise.
func naturalImage(width: Int, height: Int, seed: UInt64 = 7) -> Image {
    var rng = SeededRandom(seed)
    var img = Image(width: width, height: height, channels: 3, bitDepth: 8)
    let blobs = (0..<6).map { _ in (rng.unit() * Double(width), rng.unit() * Double(height),
                                    (0.15 + 0.3 * rng.unit()) * Double(min(width, height)),
                                    [rng.unit(), rng.unit(), rng.unit()]) }
    for y in 0..<height {
        for x in 0..<width {
            let u = Double(x) / Double(width), v = Double(y) / Double(height)
            var c = [0.35 + 0.3 * u, 0.3 + 0.25 * v, 0.45 - 0.2 * u * v]
            for (bx, by, r, col) in blobs {
                let d = ((Double(x) - bx) * (Double(x) - bx) + (Double(y) - by) * (Double(y) - by)).squareRoot() / r
                let w = 1 / (1 + exp(8 * (d - 1)))
                for k in 0..<3 { c[k] = c[k] * (1 - 0.7 * w) + 0.7 * w * col[k] }
            }
            let texture = 0.03 * sin(Double(x) * 0.9 + 2 * sin(Double(y) * 0.3))
            for k in 0..<3 {
                let noise = (rng.unit() + rng.unit() - 1) * 0.02
                img[x, y, k] = UInt16(max(0, min(255, ((c[k] + texture + noise) * 255).rounded())))
            }
        }
    }
    return img
}

/// A smooth picture (a 5x5 box blur of `naturalImage`), like a generator's output; its filtered rows
/// compress to long runs of small residuals.
func smoothImage(_ size: Int) -> Image {
    let base = naturalImage(width: size, height: size, seed: 99)
    var img = Image(width: size, height: size, channels: 3)
    for y in 0..<size {
        for x in 0..<size {
            for c in 0..<3 {
                var s = 0, n = 0
                for yy in max(0, y - 2)...min(size - 1, y + 2) {
                    for xx in max(0, x - 2)...min(size - 1, x + 2) { s += Int(base[xx, yy, c]); n += 1 }
                }
                img[x, y, c] = UInt16(s / n)
            }
        }
    }
    return img
}

/// Runs a system tool (an independent implementation of a format: gzip, unzip) found on PATH or in /usr/bin, returning
/// its standard output, or nil when the tool is not installed. A non-zero exit fails the test with the tool's stderr.
func runTool(_ name: String, _ arguments: [String]) throws -> Data? {
    let path = (ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":").map { "\($0)/\(name)" } ?? []) + ["/usr/bin/\(name)"]
    guard let tool = path.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return nil }
    let proc = Process()
    proc.executableURL = URL(fileURLWithPath: tool)
    proc.arguments = arguments
    // stderr goes to a file, so that a tool that writes much to it cannot block while stdout is being read.
    let errPath = try temporaryFolder("tool") + "/stderr"
    defer { try? FileManager.default.removeItem(atPath: (errPath as NSString).deletingLastPathComponent) }
    FileManager.default.createFile(atPath: errPath, contents: nil)
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    let out = Pipe()
    proc.standardOutput = out
    proc.standardError = err
    try proc.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    proc.waitUntilExit()
    try err.close()
    let message = FileManager.default.contents(atPath: errPath) ?? Data()
    guard proc.terminationStatus == 0 else {
        XCTFail("\(name) \(arguments.joined(separator: " ")) exited \(proc.terminationStatus): \(String(decoding: message, as: UTF8.self))")
        return nil
    }
    return data
}

/// The chunks of a valid PNG.
func pngChunks(_ d: [UInt8]) -> [(String, [UInt8])] {
    var out = [(String, [UInt8])](), p = 8
    while p + 12 <= d.count {
        let len = Int(d[p]) << 24 | Int(d[p + 1]) << 16 | Int(d[p + 2]) << 8 | Int(d[p + 3])
        out.append((String(decoding: d[(p + 4)..<(p + 8)], as: UTF8.self), Array(d[(p + 8)..<(p + 8 + len)])))
        p += 12 + len
    }
    return out
}

/// A PNG with correct CRCs from chunks.
func assemblePNG(_ chunks: [(String, [UInt8])]) -> [UInt8] {
    var out = ByteBuffer(capacity: 256)
    out.append(PNG.signature)
    for (type, body) in chunks { body.withUnsafeBytes { PNG.appendChunk(type, $0, to: &out) } }
    return out.toArray()
}

/// Asserts `body` throws a `CodecError` naming `name`, and returns its message.
@discardableResult
func assertCodecError(_ name: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) -> String? {
    do {
        try body()
        XCTFail("expected an error for \(name)", file: file, line: line)
    } catch let e as CodecError {
        XCTAssertEqual(e.name, name, file: file, line: line)
        return e.message
    } catch {
        XCTFail("expected a CodecError, got \(error)", file: file, line: line)
    }
    return nil
}
