// Public compression entry points: raw deflate (RFC 1951), the zlib wrapper (RFC 1950: CMF/FLG header,
// Adler-32 trailer) and gzip (RFC 1952: members with optional FEXTRA/FNAME/FCOMMENT/FHCRC, CRC-32 and
// ISIZE trailer; concatenated members are decoded in turn).
import Foundation

/// Raw deflate streams (RFC 1951), no wrapper.
public enum Deflate {
    /// The default cap on decompressed sizes when the caller does not know better: 1 GiB.
    public static let defaultMaxOutput = 1 << 30

    /// Compresses `data`. `level` 0 stores, 1 is fastest, 9 smallest, 6 the usual balance.
    public static func compress(_ data: Data, level: Int = 6) -> Data {
        var out = ByteBuffer(capacity: data.count / 2 + 64)
        withBytes(data) { deflateRaw($0, level: level, into: &out) }
        return out.takeData()
    }

    /// Decompresses a raw deflate stream. Throws a `CodecError` naming `name` if the stream is malformed,
    /// truncated, or would inflate to more than `maxOutput` bytes. Bytes after the stream are ignored.
    public static func decompress(_ data: Data, name: String, maxOutput: Int = defaultMaxOutput) throws -> Data {
        try withBytes(data) { try inflateRaw($0, name: name, limit: maxOutput).0.takeData() }
    }
}

/// zlib streams (RFC 1950): a 2-byte header, a deflate stream and the Adler-32 of the uncompressed data.
public enum Zlib {
    /// Compresses `data` into a zlib stream (no preset dictionary).
    public static func compress(_ data: Data, level: Int = 6) -> Data {
        var out = ByteBuffer(capacity: data.count / 2 + 64)
        withBytes(data) { zlibCompress($0, level: level, into: &out) }
        return out.takeData()
    }

    /// Decompresses a zlib stream, checking the header and the Adler-32. Throws a `CodecError` naming `name`.
    public static func decompress(_ data: Data, name: String, maxOutput: Int = Deflate.defaultMaxOutput) throws -> Data {
        try withBytes(data) { try zlibDecompress($0, name: name, limit: maxOutput).takeData() }
    }
}

/// Appends a zlib stream for `input` to `out`.
func zlibCompress(_ input: UnsafeRawBufferPointer, level: Int, into out: inout ByteBuffer) {
    let flevel = level <= 1 ? 0 : level <= 5 ? 1 : level == 6 ? 2 : 3
    let cmf = 0x78, flg0 = flevel << 6
    out.append(UInt8(cmf))
    out.append(UInt8(flg0 + (31 - (cmf << 8 | flg0) % 31)))
    deflateRaw(input, level: level, into: &out)
    out.appendBE32(Adler32.update(1, input))
}

/// Decompresses the zlib stream at the start of `input` (trailing bytes are ignored). `limit` caps the output;
/// `sizeHint` is the expected output size.
func zlibDecompress(_ input: UnsafeRawBufferPointer, name: String, limit: Int, sizeHint: Int = 0,
                    what: String = "zlib stream") throws -> ByteBuffer {
    guard input.count >= 2 else { throw CodecError(name: name, message: "\(what) truncated (no header)") }
    let cmf = Int(input[0]), flg = Int(input[1])
    guard cmf & 15 == 8 else { throw CodecError(name: name, message: "\(what): compression method \(cmf & 15), expected 8 (deflate)") }
    guard cmf >> 4 <= 7 else { throw CodecError(name: name, message: "\(what): window size 2^\((cmf >> 4) + 8) too large") }
    guard (cmf << 8 | flg) % 31 == 0 else { throw CodecError(name: name, message: "\(what): header check bits wrong") }
    guard flg & 0x20 == 0 else { throw CodecError(name: name, message: "\(what): preset dictionaries are not supported") }
    let body = UnsafeRawBufferPointer(rebasing: input[2...])
    let (out, used) = try inflateRaw(body, name: name, limit: limit, sizeHint: sizeHint)
    let end = 2 + used
    guard end + 4 <= input.count else {
        out.release()
        throw CodecError(name: name, message: "\(what) truncated (no Adler-32 checksum)")
    }
    let expected = UInt32(input.be32(end))
    let actual = Adler32.update(1, UnsafeRawBufferPointer(out.bytes))
    guard expected == actual else {
        out.release()
        throw CodecError(name: name, message: "\(what): Adler-32 mismatch (stored \(hex(expected)), computed \(hex(actual)))")
    }
    return out
}

func hex(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
}

/// gzip files (RFC 1952).
public enum Gzip {
    /// Compresses `data` into a one-member gzip file; `fileName` goes into the FNAME field when given.
    /// The modification time is left 0 so output is reproducible.
    public static func compress(_ data: Data, level: Int = 6, fileName: String? = nil) -> Data {
        var out = ByteBuffer(capacity: data.count / 2 + 64)
        out.append([0x1F, 0x8B, 8, fileName == nil ? 0 : 8, 0, 0, 0, 0, level >= 9 ? 2 : level <= 1 ? 4 : 0, 255])
        if let fileName {
            out.append(Array(fileName.utf8).filter { $0 != 0 })
            out.append(0)
        }
        withBytes(data) { raw in
            deflateRaw(raw, level: level, into: &out)
            out.appendLE32(CRC32.update(0, raw))
        }
        out.appendLE32(UInt32(truncatingIfNeeded: data.count))
        return out.takeData()
    }

    /// Decompresses every member of a gzip file, checking each CRC-32 and length. Throws a `CodecError`
    /// naming `name` for a bad header, corrupt data, checksum mismatch, trailing garbage or output beyond `maxOutput`.
    public static func decompress(_ data: Data, name: String, maxOutput: Int = Deflate.defaultMaxOutput) throws -> Data {
        try withBytes(data) { try gunzip($0, name: name, limit: maxOutput) }
    }

    /// Reads and decompresses the gzip file at `path`.
    public static func decompress(path: String, maxOutput: Int = Deflate.defaultMaxOutput) throws -> Data {
        try decompress(try readCodecFile(path), name: path, maxOutput: maxOutput)
    }

    private static func gunzip(_ input: UnsafeRawBufferPointer, name: String, limit: Int) throws -> Data {
        func fail(_ m: String) -> CodecError { CodecError(name: name, message: "gzip: " + m) }
        var result = Data()
        var pos = 0
        var member = 0
        repeat {
            guard pos + 10 <= input.count else { throw fail("truncated header") }
            guard input[pos] == 0x1F && input[pos + 1] == 0x8B else {
                throw fail(member == 0 ? "not a gzip file (bad magic bytes)" : "trailing garbage after member \(member)")
            }
            guard input[pos + 2] == 8 else { throw fail("compression method \(input[pos + 2]), expected 8 (deflate)") }
            let flags = Int(input[pos + 3])
            guard flags & 0xE0 == 0 else { throw fail("reserved header flags set") }
            let start = pos
            var p = pos + 10
            if flags & 4 != 0 {  // FEXTRA
                guard p + 2 <= input.count else { throw fail("truncated extra field") }
                p += 2 + input.le16(p)
            }
            for bit in [8, 16] where flags & bit != 0 {  // FNAME, FCOMMENT: zero-terminated
                while p < input.count && input[p] != 0 { p += 1 }
                p += 1
            }
            if flags & 2 != 0 {  // FHCRC
                guard p + 2 <= input.count else { throw fail("truncated header") }
                let crc = CRC32.update(0, UnsafeRawBufferPointer(rebasing: input[start..<p])) & 0xFFFF
                guard Int(crc) == input.le16(p) else { throw fail("header CRC mismatch") }
                p += 2
            }
            guard p < input.count else { throw fail("truncated header") }
            let (out, used) = try inflateRaw(UnsafeRawBufferPointer(rebasing: input[p...]), name: name,
                                             limit: limit - result.count)
            p += used
            let data = out.takeData()
            guard p + 8 <= input.count else { throw fail("truncated (no CRC-32 and length trailer)") }
            let crc = CRC32.checksum(data)
            guard UInt32(input.le32(p)) == crc else {
                throw fail("CRC-32 mismatch (stored \(hex(UInt32(input.le32(p)))), computed \(hex(crc)))")
            }
            guard input.le32(p + 4) == data.count & 0xFFFF_FFFF else {
                throw fail("length mismatch (stored \(input.le32(p + 4)), decompressed \(data.count))")
            }
            result.append(data)
            pos = p + 8
            member += 1
            // Zero padding after the last member (as tape archivers leave) is ignored.
            if input[pos...].allSatisfy({ $0 == 0 }) { break }
        } while pos < input.count
        return result
    }
}
