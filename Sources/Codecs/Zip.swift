// Zip archives (PKWARE APPNOTE.TXT 6.3): reading through the end-of-central-directory record (§4.3.16) and
// central directory (§4.3.12) with stored (method 0) and deflated (method 8) entries, CRC-32 checked; and
// writing local headers (§4.3.7), central directory and end record. ZIP64 (§4.3.14), multi-disk,
// encrypted entries and other methods are rejected with a clear error. EG3D's dataset_tool.py writes
// this layout (images plus dataset.json) with Python's zipfile.
import Foundation

/// One file (or folder, when the name ends in "/") in a zip archive.
public struct ZipEntry: Sendable, Equatable {
    public let name: String
    /// 0 stored, 8 deflated; others cannot be extracted.
    public let method: Int
    public let crc32: UInt32
    public let compressedSize: Int
    public let uncompressedSize: Int
    public let isEncrypted: Bool
    let localHeaderOffset: Int
    public var isDirectory: Bool { name.hasSuffix("/") }
}

/// A zip archive read from memory (or a memory-mapped file).
public struct ZipArchive: Sendable {
    /// The archive's name in error messages (its path when opened from a file).
    public let name: String
    public let entries: [ZipEntry]
    private let data: Data

    /// Parses the central directory. Throws a `CodecError` naming `name` for a malformed archive or ZIP64.
    public init(data: Data, name: String) throws {
        self.name = name
        self.data = data
        entries = try withBytes(data) { try ZipArchive.centralDirectory($0, name) }
    }

    /// Opens (memory-maps) the zip file at `path`.
    public init(path: String) throws {
        try self.init(data: try readCodecFile(path), name: path)
    }

    /// The entry called `name`, if any.
    public func entry(named n: String) -> ZipEntry? { entries.first { $0.name == n } }

    /// The uncompressed contents of `entry`, CRC-checked.
    public func extract(_ entry: ZipEntry) throws -> Data {
        func fail(_ m: String) -> CodecError { CodecError(name: name, message: "entry \(entry.name): " + m) }
        guard !entry.isEncrypted else { throw fail("encrypted entries are not supported") }
        guard entry.method == 0 || entry.method == 8 else { throw fail("compression method \(entry.method) not supported (only stored and deflate)") }
        return try withBytes(data) { b in
            let lh = entry.localHeaderOffset
            guard lh + 30 <= b.count, b.le32(lh) == 0x0403_4B50 else { throw fail("local header missing or damaged") }
            let start = lh + 30 + b.le16(lh + 26) + b.le16(lh + 28)
            guard start + entry.compressedSize <= b.count else { throw fail("data runs past the end of the archive") }
            let body = UnsafeRawBufferPointer(rebasing: b[start..<(start + entry.compressedSize)])
            let out: Data
            if entry.method == 0 {
                guard entry.compressedSize == entry.uncompressedSize else { throw fail("stored entry with differing sizes") }
                out = Data(body)
            } else {
                guard entry.compressedSize > 0 else { throw fail("empty deflate data") }
                let (buf, used) = try inflateRaw(body, name: name, limit: entry.uncompressedSize, sizeHint: entry.uncompressedSize)
                out = buf.takeData()
                guard used <= entry.compressedSize else { throw fail("deflate data overruns its compressed size") }
                guard out.count == entry.uncompressedSize else {
                    throw fail("inflated to \(out.count) bytes, header says \(entry.uncompressedSize)")
                }
            }
            let crc = CRC32.checksum(out)
            guard crc == entry.crc32 else { throw fail("CRC-32 mismatch (stored \(hex(entry.crc32)), computed \(hex(crc)))") }
            return out
        }
    }

    /// The uncompressed contents of the entry called `entryName`; throws if there is none.
    public func extract(named entryName: String) throws -> Data {
        guard let e = entry(named: entryName) else { throw CodecError(name: name, message: "no entry named \(entryName)") }
        return try extract(e)
    }

    private static func centralDirectory(_ b: UnsafeRawBufferPointer, _ name: String) throws -> [ZipEntry] {
        func fail(_ m: String) -> CodecError { CodecError(name: name, message: m) }
        let zip64 = "ZIP64 archives are not supported (more than 65535 entries or 4 GiB)"
        guard b.count >= 22 else { throw fail("not a zip archive (too short for an end-of-central-directory record)") }
        var eocd = -1
        var i = b.count - 22
        while i >= max(0, b.count - 22 - 65535) {
            if b.le32(i) == 0x0605_4B50 && i + 22 + b.le16(i + 20) <= b.count { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw fail("not a zip archive (no end-of-central-directory record)") }
        if eocd >= 20 && b.le32(eocd - 20) == 0x0706_4B50 { throw fail(zip64) }
        let count = b.le16(eocd + 10), size = b.le32(eocd + 12), offset = b.le32(eocd + 16)
        if count == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF { throw fail(zip64) }
        guard b.le16(eocd + 4) == 0, b.le16(eocd + 6) == 0, b.le16(eocd + 8) == count else {
            throw fail("multi-disk archives are not supported")
        }
        guard offset + size <= eocd else { throw fail("central directory (offset \(offset), \(size) bytes) outside the archive") }
        var entries = [ZipEntry]()
        entries.reserveCapacity(count)
        var p = offset
        for k in 0..<count {
            guard p + 46 <= offset + size, b.le32(p) == 0x0201_4B50 else { throw fail("central directory entry \(k) damaged") }
            let n = b.le16(p + 28), extra = b.le16(p + 30), comment = b.le16(p + 32)
            guard p + 46 + n + extra + comment <= offset + size else { throw fail("central directory entry \(k) truncated") }
            let flags = b.le16(p + 8)
            let csize = b.le32(p + 20), usize = b.le32(p + 24), local = b.le32(p + 42)
            if csize == 0xFFFF_FFFF || usize == 0xFFFF_FFFF || local == 0xFFFF_FFFF { throw fail(zip64) }
            let raw = Array(b[(p + 46)..<(p + 46 + n)])
            // UTF-8 when flagged (or valid); otherwise code page 437, approximated by Latin-1.
            let entryName = String(bytes: raw, encoding: .utf8) ?? String(raw.map { Character(Unicode.Scalar($0)) })
            entries.append(ZipEntry(name: entryName, method: b.le16(p + 10), crc32: UInt32(b.le32(p + 16)),
                                    compressedSize: csize, uncompressedSize: usize, isEncrypted: flags & 1 != 0,
                                    localHeaderOffset: local))
            p += 46 + n + extra + comment
        }
        return entries
    }
}
