// The error every decoder in this module throws (naming the input and the problem), file reading and
// atomic file writing, and the growable malloc-backed byte buffer the codecs write into.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A malformed or unreadable input: `name` is the file path (or the name the caller gave the bytes) and
/// `message` says what is wrong with it, e.g. `face.png: IDAT: deflate stream truncated`.
public struct CodecError: Error, CustomStringConvertible, Equatable, Sendable {
    public let name: String
    public let message: String
    public init(name: String, message: String) { self.name = name; self.message = message }
    public var description: String { "\(name): \(message)" }
}

/// Reads a whole file (memory-mapped when the system allows), throwing a `CodecError` naming `path`.
public func readCodecFile(_ path: String) throws -> Data {
    do {
        return try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
    } catch {
        throw CodecError(name: path, message: "cannot read: \(error.localizedDescription)")
    }
}

/// Writes `data` to `path` through a temporary file in the same folder and a rename, so readers never see
/// a half-written file. Throws a `CodecError` naming `path`.
public func writeCodecFile(_ data: Data, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let tmp = url.deletingLastPathComponent()
        .appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
    do {
        try data.write(to: tmp)
    } catch {
        try? FileManager.default.removeItem(at: tmp)
        throw CodecError(name: path, message: "cannot write: \(error.localizedDescription)")
    }
    // POSIX rename replaces the target atomically (FileManager.replaceItemAt fails on Linux when it exists).
    if rename(tmp.path, url.path) != 0 {
        let reason = String(cString: strerror(errno))
        try? FileManager.default.removeItem(at: tmp)
        throw CodecError(name: path, message: "cannot replace: \(reason)")
    }
}

/// A growable byte buffer on `malloc`, handed to `Data` without a copy. Not copyable in spirit: one owner
/// either calls `takeData()` or `release()` exactly once.
struct ByteBuffer {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    var count: Int = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = malloc(self.capacity)!.assumingMemoryBound(to: UInt8.self)
    }

    /// Makes room for at least `extra` more bytes.
    @inline(__always) mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(count + extra) }
    }

    @inline(never) mutating func grow(_ needed: Int) {
        var c = capacity
        while c < needed { c = c < (1 << 30) ? c * 2 : c + (1 << 30) }
        base = realloc(base, c)!.assumingMemoryBound(to: UInt8.self)
        capacity = c
    }

    @inline(__always) mutating func append(_ b: UInt8) {
        if count == capacity { grow(count + 1) }
        base[count] = b
        count += 1
    }

    mutating func append(_ p: UnsafeRawBufferPointer) {
        guard p.count > 0 else { return }
        reserve(p.count)
        memcpy(base + count, p.baseAddress!, p.count)
        count += p.count
    }

    mutating func append(_ bytes: [UInt8]) { bytes.withUnsafeBytes { append($0) } }

    mutating func appendBE32(_ v: UInt32) {
        append(UInt8(v >> 24)); append(UInt8((v >> 16) & 0xFF)); append(UInt8((v >> 8) & 0xFF)); append(UInt8(v & 0xFF))
    }
    mutating func appendLE16(_ v: UInt16) { append(UInt8(v & 0xFF)); append(UInt8(v >> 8)) }
    mutating func appendLE32(_ v: UInt32) { appendLE16(UInt16(v & 0xFFFF)); appendLE16(UInt16(v >> 16)) }

    var bytes: UnsafeMutableBufferPointer<UInt8> { UnsafeMutableBufferPointer(start: base, count: count) }

    /// Hands the bytes to a `Data` that frees them; the buffer must not be used afterwards.
    func takeData() -> Data {
        if count == 0 { free(base); return Data() }
        return Data(bytesNoCopy: base, count: count, deallocator: .free)
    }

    func toArray() -> [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// Frees the bytes; the buffer must not be used afterwards.
    func release() { free(base) }
}

/// Runs `body` on the bytes of `data` (never a nil base address, even when empty).
@inline(__always)
func withBytes<R>(_ data: Data, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    if data.isEmpty {
        var zero: UInt8 = 0
        return try withUnsafeBytes(of: &zero) { try body(UnsafeRawBufferPointer(start: $0.baseAddress, count: 0)) }
    }
    return try data.withUnsafeBytes { try body($0) }
}

/// Little- and big-endian loads with the caller having checked bounds.
extension UnsafeRawBufferPointer {
    @inline(__always) func le16(_ i: Int) -> Int { Int(self[i]) | Int(self[i + 1]) << 8 }
    @inline(__always) func le32(_ i: Int) -> Int { le16(i) | le16(i + 2) << 16 }
    @inline(__always) func be16(_ i: Int) -> Int { Int(self[i]) << 8 | Int(self[i + 1]) }
    @inline(__always) func be32(_ i: Int) -> Int {
        Int(self[i]) << 24 | Int(self[i + 1]) << 16 | Int(self[i + 2]) << 8 | Int(self[i + 3])
    }
}
