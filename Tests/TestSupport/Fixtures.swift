// Fixture locations shared by every test target: Tests/Fixtures (found from this file's path, so tests run
// from any working directory) and the safetensors files under it. Target-specific folders (teacher/, clip/,
// codecs/, world/) are reached through `fixturePath("teacher/...")` or a helper in that target.
import Foundation
import TensorCore

/// Tests/Fixtures.
public let fixturesDir: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures")

/// The path of a file or folder under Tests/Fixtures (e.g. "eg3d/tiny128.safetensors").
public func fixturePath(_ name: String) -> String {
    fixturesDir.appendingPathComponent(name).path
}

/// A safetensors file under Tests/Fixtures, opened (throws a FileError naming the path when missing or bad).
public func fixture(_ name: String) throws -> SafeTensorsFile {
    try SafeTensorsFile(path: fixturePath(name))
}
