// CRC-32 (ISO 3309 / ITU-T V.42 polynomial 0xEDB88320, reflected; as used by PNG §5.5, gzip RFC 1952 §8
// and zip APPNOTE 4.4.7), table-driven with slicing-by-8, and Adler-32 (RFC 1950 §8.2).
import Foundation

/// CRC-32 as PNG, gzip and zip use it. `CRC32.checksum(Array("123456789".utf8)) == 0xCBF43926`.
public enum CRC32 {
    /// tables[k][b]: CRC of byte b followed by k zero bytes (slicing-by-8).
    static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[n] = c
        }
        for k in 1..<8 {
            for n in 0..<256 {
                let prev = t[(k - 1) * 256 + n]
                t[k * 256 + n] = (prev >> 8) ^ t[Int(prev & 0xFF)]
            }
        }
        return t
    }()

    /// Continues a CRC (start from 0) over `bytes`.
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c = ~crc
        guard var p = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return crc }
        var n = bytes.count
        tables.withUnsafeBufferPointer { tb in
            let t = tb.baseAddress!
            while n >= 8 {
                let lo = UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24
                let hi = UInt32(p[4]) | UInt32(p[5]) << 8 | UInt32(p[6]) << 16 | UInt32(p[7]) << 24
                let x = lo ^ c
                c = t[7 * 256 + Int(x & 0xFF)] ^ t[6 * 256 + Int((x >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((x >> 16) & 0xFF)] ^ t[4 * 256 + Int(x >> 24)]
                    ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
                p += 8
                n -= 8
            }
            while n > 0 {
                c = t[Int((c ^ UInt32(p[0])) & 0xFF)] ^ (c >> 8)
                p += 1
                n -= 1
            }
        }
        return ~c
    }

    /// CRC-32 of `data`.
    public static func checksum(_ data: Data) -> UInt32 { withBytes(data) { update(0, $0) } }
    /// CRC-32 of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBytes { update(0, $0) } }
}

/// Adler-32 as zlib streams end with it. `Adler32.checksum(Array("Wikipedia".utf8)) == 0x11E60398`.
public enum Adler32 {
    /// Continues an Adler-32 (start from 1) over `bytes`.
    public static func update(_ adler: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var a = adler & 0xFFFF, b = adler >> 16
        guard var p = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return adler }
        var n = bytes.count
        while n > 0 {
            // 5552 is the most bytes before b can overflow 32 bits (RFC 1950's NMAX).
            let k = min(n, 5552)
            for i in 0..<k {
                a &+= UInt32(p[i])
                b &+= a
            }
            a %= 65521
            b %= 65521
            p += k
            n -= k
        }
        return b << 16 | a
    }

    /// Adler-32 of `data`.
    public static func checksum(_ data: Data) -> UInt32 { withBytes(data) { update(1, $0) } }
    /// Adler-32 of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBytes { update(1, $0) } }
}
