// A read-only file mapped into memory (private copy-on-write pages, so tensors may borrow it as storage).
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeMutableRawPointer?
    public let count: Int

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileError(path: path, message: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileError(path: path, message: "cannot stat: \(String(cString: strerror(errno)))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw FileError(path: path, message: "not a regular file") }
        count = Int(st.st_size)
        if count == 0 { bytes = nil; return }
        let p = mmap(nil, count, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw FileError(path: path, message: "cannot map \(count) bytes: \(String(cString: strerror(errno)))") }
        bytes = p
    }

    deinit { if let bytes { munmap(bytes, count) } }
}

/// A problem with a file, naming the file.
public struct FileError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let message: String
    public init(path: String, message: String) { self.path = path; self.message = message }
    public var description: String { "\(path): \(message)" }
}

/// Writes `data` to `url` atomically: a temporary file in the same folder, flushed to disk, then renamed over
/// the target (POSIX rename replaces atomically), so a crash or interrupt never leaves a half-written file.
public func writeAtomically(_ data: Data, to url: URL) throws {
    let dir = url.deletingLastPathComponent()
    let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
    do {
        guard FileManager.default.createFile(atPath: tmp.path, contents: nil) else {
            throw FileError(path: url.path, message: "cannot write: cannot create \(tmp.lastPathComponent) in \(dir.path)")
        }
        let handle = try FileHandle(forWritingTo: tmp)
        defer { try? handle.close() }
        try handle.write(contentsOf: data)
        try handle.synchronize()
    } catch let e as FileError {
        try? FileManager.default.removeItem(at: tmp)
        throw e
    } catch {
        try? FileManager.default.removeItem(at: tmp)
        throw FileError(path: url.path, message: "cannot write: \(error.localizedDescription)")
    }
    if rename(tmp.path, url.path) != 0 {
        let reason = String(cString: strerror(errno))
        try? FileManager.default.removeItem(at: tmp)
        throw FileError(path: url.path, message: "cannot replace: \(reason)")
    }
}
