// Scratch locations for tests: unique per call, under the system's temporary folder; the caller removes them.
import Foundation

/// A unique path `<tmp>/<tag>-<UUID>` (nothing is created): a folder or file name for code that must create it.
public func temporaryPath(_ tag: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("\(tag)-\(UUID().uuidString)").path
}

/// A fresh, empty folder `<tmp>/<tag>-<UUID>`, removed by the caller's defer.
public func temporaryFolder(_ tag: String) throws -> String {
    let dir = temporaryPath(tag)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}
