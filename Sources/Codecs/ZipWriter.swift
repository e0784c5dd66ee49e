// Zip archive writer (PKWARE APPNOTE.TXT 6.3 §4.3.7 local headers, §4.3.12 central directory, §4.3.16 end
// record), stored or deflated entries, into memory or streamed to a file (renamed into place on finish).
// Without ZIP64, archives are limited to 65535 entries and 4 GiB; exceeding that throws.
import Foundation

/// How a zip entry is stored.
public enum ZipMethod: Sendable, Equatable {
    case stored
    case deflate(level: Int)
}

/// Writes zip archives. In-memory: `ZipWriter()`, `add`..., `finish()`, then `data`. To a file:
/// `ZipWriter(path:)`, `add`..., `finish()` (the file appears atomically when finished).
public final class ZipWriter {
    private var memory = ByteBuffer(capacity: 1024)
    private var handle: FileHandle?
    private let path: String?
    private let tmpPath: String?
    private var central = ByteBuffer(capacity: 1024)
    private var offset = 0
    private var count = 0
    private var names = Set<String>()
    private var finished = false
    /// Modification time stamped on entries (DOS format, 2-second resolution). Default 1980-01-01 00:00,
    /// which keeps archives reproducible.
    public var modified: Date = Date(timeIntervalSince1970: 315_532_800)

    /// A writer that builds the archive in memory.
    public init() {
        path = nil
        tmpPath = nil
    }

    /// A writer that streams to `path` (through a temporary file renamed on `finish`).
    public init(path: String) throws {
        self.path = path
        let url = URL(fileURLWithPath: path)
        let tmp = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)").path
        tmpPath = tmp
        guard FileManager.default.createFile(atPath: tmp, contents: nil), let h = FileHandle(forWritingAtPath: tmp) else {
            throw CodecError(name: path, message: "cannot create")
        }
        handle = h
    }

    deinit {
        memory.release()
        central.release()
        if !finished, let tmpPath { try? handle?.close(); try? FileManager.default.removeItem(atPath: tmpPath) }
    }

    private var label: String { path ?? "zip archive" }
    private func fail(_ m: String) -> CodecError { CodecError(name: label, message: m) }

    /// The finished archive (in-memory writers, after `finish()`).
    public var data: Data {
        precondition(finished && path == nil, "ZipWriter.data: only for a finished in-memory writer")
        return Data(UnsafeRawBufferPointer(memory.bytes))
    }

    /// Adds a file. Names use "/" as separator; a name may appear once.
    public func add(name: String, data: Data, method: ZipMethod = .deflate(level: 6)) throws {
        var m = method
        if case .deflate(let level) = method, level <= 0 { m = .stored }
        let body: Data
        switch m {
        case .stored: body = data
        case .deflate(let level): body = Deflate.compress(data, level: level)
        }
        // Store instead when deflate does not help, as zip tools do.
        let useDeflate = m != .stored && body.count < data.count
        try addEntry(name: name, method: useDeflate ? 8 : 0, crc: CRC32.checksum(data), size: data.count,
                     body: useDeflate ? body : data, external: 0o100644 << 16)
    }

    /// Adds a folder entry (`name` gets a trailing "/").
    public func addDirectory(name: String) throws {
        let n = name.hasSuffix("/") ? name : name + "/"
        try addEntry(name: n, method: 0, crc: 0, size: 0, body: Data(), external: 0o40755 << 16 | 0x10)
    }

    private func addEntry(name: String, method: Int, crc: UInt32, size: Int, body: Data, external: Int) throws {
        guard !finished else { throw fail("add after finish") }
        guard !name.isEmpty, !names.contains(name) else { throw fail("entry name \"\(name)\" empty or repeated") }
        let nameBytes = Array(name.utf8)
        guard nameBytes.count <= 65535 else { throw fail("entry name too long") }
        guard count < 65535, offset < 0xFFFF_FFFF, size < 0xFFFF_FFFF, body.count < 0xFFFF_FFFF,
              offset + 30 + nameBytes.count + body.count < 0xFFFF_FFFF else {
            throw fail("archive too large for zip without ZIP64 (65535 entries, 4 GiB)")
        }
        names.insert(name)
        let (time, date) = dosTime(modified)
        let utf8Flag = nameBytes.contains { $0 >= 0x80 } ? 0x800 : 0
        let version = method == 8 ? 20 : 10
        var local = ByteBuffer(capacity: 30 + nameBytes.count)
        defer { local.release() }
        local.appendLE32(0x0403_4B50)
        for v in [version, utf8Flag, method, time, date] { local.appendLE16(UInt16(v)) }
        local.appendLE32(crc)
        local.appendLE32(UInt32(body.count))
        local.appendLE32(UInt32(size))
        local.appendLE16(UInt16(nameBytes.count))
        local.appendLE16(0)
        local.append(nameBytes)

        central.appendLE32(0x0201_4B50)
        for v in [3 << 8 | 20, version, utf8Flag, method, time, date] { central.appendLE16(UInt16(v)) }
        central.appendLE32(crc)
        central.appendLE32(UInt32(body.count))
        central.appendLE32(UInt32(size))
        for v in [nameBytes.count, 0, 0, 0, 0] { central.appendLE16(UInt16(v)) }
        central.appendLE32(UInt32(external))
        central.appendLE32(UInt32(offset))
        central.append(nameBytes)

        try emit(UnsafeRawBufferPointer(local.bytes))
        try withBytes(body) { try emit($0) }
        count += 1
    }

    private func emit(_ bytes: UnsafeRawBufferPointer) throws {
        if let handle {
            do { try handle.write(contentsOf: bytes) } catch { throw fail("cannot write: \(error.localizedDescription)") }
        } else {
            memory.append(bytes)
        }
        offset += bytes.count
    }

    /// Writes the central directory and end record; file writers then move the file into place.
    public func finish() throws {
        guard !finished else { return }
        guard offset + central.count < 0xFFFF_FFFF else { throw fail("archive too large for zip without ZIP64") }
        var end = ByteBuffer(capacity: 22)
        defer { end.release() }
        end.appendLE32(0x0605_4B50)
        for v in [0, 0, count, count] { end.appendLE16(UInt16(v)) }
        end.appendLE32(UInt32(central.count))
        end.appendLE32(UInt32(offset))
        end.appendLE16(0)
        try emit(UnsafeRawBufferPointer(central.bytes))
        try emit(UnsafeRawBufferPointer(end.bytes))
        finished = true
        if let handle, let path, let tmpPath {
            do {
                try handle.close()
                if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
                try FileManager.default.moveItem(atPath: tmpPath, toPath: path)
            } catch {
                try? FileManager.default.removeItem(atPath: tmpPath)
                throw fail("cannot write: \(error.localizedDescription)")
            }
        }
    }

    /// MS-DOS time and date fields (UTC), clamped to 1980...2107.
    private func dosTime(_ d: Date) -> (Int, Int) {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        let c = cal.dateComponents([.year, .month, .day, .hour, .minute, .second], from: d)
        let year = min(2107, max(1980, c.year ?? 1980))
        if year != c.year { return (0, 1 << 5 | 1) }
        return ((c.hour ?? 0) << 11 | (c.minute ?? 0) << 5 | (c.second ?? 0) / 2,
                (year - 1980) << 9 | (c.month ?? 1) << 5 | (c.day ?? 1))
    }
}
