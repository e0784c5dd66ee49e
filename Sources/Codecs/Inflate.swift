// Deflate decoder ("inflate", RFC 1951): stored (§3.2.4), fixed-Huffman (§3.2.6) and dynamic-Huffman
// (§3.2.7) blocks. Table-driven: a 10-bit lookup per alphabet with a canonical bit-by-bit fallback for
// longer codes. Every read is bounds-checked against the input; output is capped at a caller-given limit,
// so corrupt or hostile streams throw a `CodecError` instead of crashing or ballooning memory.
import Foundation

/// Deflate's length (codes 257...285) and distance (codes 0...29) bases and extra-bit counts (§3.2.5).
enum DeflateTables {
    static let lengthBase: [UInt16] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59,
                                       67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra: [UInt16] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4,
                                        5, 5, 5, 5, 0]
    static let distBase: [UInt16] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513,
                                     769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distExtra: [UInt16] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10,
                                      11, 11, 12, 12, 13, 13]
    /// Order in which code-length code lengths are sent (§3.2.7).
    static let codeLengthOrder: [Int] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
    /// Fixed-Huffman code lengths for literal/length symbols 0...287 (§3.2.6).
    static let fixedLiteralLengths: [UInt8] = (0..<288).map { $0 < 144 ? 8 : $0 < 256 ? 9 : $0 < 280 ? 7 : 8 }
}

/// LSB-first bit reader over a bounds-checked buffer. Bytes past the end read as zero, and reading more than
/// 8 of them throws, so a truncated stream ends in an error after a bounded amount of work.
struct BitReader {
    let p: UnsafePointer<UInt8>
    let n: Int
    var pos = 0          // next byte to load into `buf`
    var buf: UInt64 = 0  // bits not yet consumed, next bit lowest
    var bits = 0         // how many bits of `buf` are valid

    init(_ input: UnsafeRawBufferPointer) {
        n = input.count
        p = input.baseAddress!.assumingMemoryBound(to: UInt8.self)
    }

    /// Ensures at least 56 valid bits (zeros past the end of input).
    @inline(__always) mutating func refill(_ name: String) throws {
        if pos + 8 <= n {
            let w = UInt64(littleEndian: UnsafeRawPointer(p + pos).loadUnaligned(as: UInt64.self))
            buf |= w << UInt64(bits)
            pos += (63 - bits) >> 3
            bits |= 56
        } else {
            try refillSlow(name)
        }
    }

    @inline(never) mutating func refillSlow(_ name: String) throws {
        while bits <= 56 {
            if pos > n + 8 { throw CodecError(name: name, message: "deflate stream truncated") }
            let b: UInt64 = pos < n ? UInt64(p[pos]) : 0
            buf |= b << UInt64(bits)
            bits += 8
            pos += 1
        }
    }

    @inline(__always) mutating func take(_ k: Int) -> Int {
        let v = Int(buf & ((1 << UInt64(k)) &- 1))
        buf >>= UInt64(k)
        bits -= k
        return v
    }

    /// Bits consumed so far, past-the-end zeros included.
    var consumedBits: Int { pos * 8 - bits }
}

/// Decoding tables for one canonical Huffman code of at most 15 bits (§3.2.2).
final class HuffmanDecoder {
    static let fastBits = 10
    let fast: UnsafeMutablePointer<UInt16>    // by the next 10 stream bits: symbol << 4 | length, 0 = slow path
    let counts: UnsafeMutablePointer<Int>     // codes per length 0...15
    let symbols: UnsafeMutablePointer<UInt16> // symbols in canonical order

    init() {
        fast = .allocate(capacity: 1 << HuffmanDecoder.fastBits)
        counts = .allocate(capacity: 16)
        symbols = .allocate(capacity: 320)
    }
    deinit { fast.deallocate(); counts.deallocate(); symbols.deallocate() }

    /// Builds the tables from code lengths; an over-subscribed set throws. Incomplete sets are accepted (an
    /// unused code then throws when met), as RFC 1951 allows for a lone distance code.
    func build(_ lengths: UnsafePointer<UInt8>, _ n: Int, name: String, what: String) throws {
        for l in 0..<16 { counts[l] = 0 }
        for s in 0..<n { counts[Int(lengths[s])] += 1 }
        counts[0] = 0
        var left = 1
        for l in 1..<16 {
            left = left << 1 - counts[l]
            if left < 0 { throw CodecError(name: name, message: "deflate stream: over-subscribed \(what) Huffman code") }
        }
        var offsets = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var nextCode = offsets
        withUnsafeMutableBytes(of: &offsets) { ob in
            withUnsafeMutableBytes(of: &nextCode) { cb in
                let off = ob.baseAddress!.assumingMemoryBound(to: Int.self)
                let next = cb.baseAddress!.assumingMemoryBound(to: Int.self)
                var code = 0
                for l in 1..<16 {
                    off[l] = l == 1 ? 0 : off[l - 1] + counts[l - 1]
                    code = (code + (l == 1 ? 0 : counts[l - 1])) << 1
                    next[l] = code
                }
                let size = 1 << HuffmanDecoder.fastBits
                fast.initialize(repeating: 0, count: size)
                for s in 0..<n {
                    let l = Int(lengths[s])
                    if l == 0 { continue }
                    symbols[off[l]] = UInt16(s)
                    off[l] += 1
                    let c = next[l]
                    next[l] += 1
                    if l <= HuffmanDecoder.fastBits {
                        var r = 0
                        for i in 0..<l where c & (1 << i) != 0 { r |= 1 << (l - 1 - i) }
                        let entry = UInt16(s << 4 | l)
                        var k = r
                        while k < size { fast[k] = entry; k += 1 << l }
                    }
                }
            }
        }
    }

    /// Decodes one symbol; the reader must hold at least 15 valid bits.
    @inline(__always) func decode(_ br: inout BitReader, _ name: String) throws -> Int {
        let e = Int(fast[Int(br.buf & UInt64((1 << HuffmanDecoder.fastBits) - 1))])
        if e != 0 {
            br.buf >>= UInt64(e & 15)
            br.bits -= e & 15
            return e >> 4
        }
        return try decodeSlow(&br, name)
    }

    @inline(never) func decodeSlow(_ br: inout BitReader, _ name: String) throws -> Int {
        var code = 0, first = 0, index = 0
        for l in 1..<16 {
            code |= Int((br.buf >> UInt64(l - 1)) & 1)
            let c = counts[l]
            if code - first < c {
                br.buf >>= UInt64(l)
                br.bits -= l
                return Int(symbols[index + code - first])
            }
            index += c
            first = (first + c) << 1
            code <<= 1
        }
        throw CodecError(name: name, message: "deflate stream: invalid Huffman code")
    }
}

/// Decompresses one raw deflate stream starting at the beginning of `input`. Returns the output (at most
/// `limit` bytes, else it throws) and how many input bytes the stream occupied.
func inflateRaw(_ input: UnsafeRawBufferPointer, name: String, limit: Int, sizeHint: Int = 0) throws -> (ByteBuffer, Int) {
    if input.count == 0 { throw CodecError(name: name, message: "deflate stream is empty") }
    // Deflate expands at most ~1032:1, so a hint beyond that is a lie and is not allocated up front.
    let hint = min(sizeHint, input.count * 1040)
    var out = ByteBuffer(capacity: min(limit, max(hint, input.count * 4, 1024)) + 300)
    do {
        let consumed = try Inflater(name: name, limit: limit).run(input, &out)
        return (out, consumed)
    } catch {
        out.release()
        throw error
    }
}

private final class Inflater {
    let name: String
    let limit: Int
    let lit = HuffmanDecoder(), dist = HuffmanDecoder(), codeLengths = HuffmanDecoder()
    let lengths = UnsafeMutablePointer<UInt8>.allocate(capacity: 320)
    let base = UnsafeMutablePointer<Int>.allocate(capacity: 4 * 32)  // length base, extra, distance base, extra

    init(name: String, limit: Int) {
        self.name = name
        self.limit = limit
        for i in 0..<29 { base[i] = Int(DeflateTables.lengthBase[i]); base[32 + i] = Int(DeflateTables.lengthExtra[i]) }
        for i in 0..<30 { base[64 + i] = Int(DeflateTables.distBase[i]); base[96 + i] = Int(DeflateTables.distExtra[i]) }
    }
    deinit { lengths.deallocate(); base.deallocate() }

    func fail(_ message: String) -> CodecError { CodecError(name: name, message: "deflate stream: " + message) }

    func run(_ input: UnsafeRawBufferPointer, _ out: inout ByteBuffer) throws -> Int {
        var br = BitReader(input)
        var final = false
        while !final {
            try br.refill(name)
            final = br.take(1) == 1
            switch br.take(2) {
            case 0: try stored(&br, &out)
            case 1:
                try DeflateTables.fixedLiteralLengths.withUnsafeBufferPointer {
                    try lit.build($0.baseAddress!, 288, name: name, what: "literal/length")
                }
                for i in 0..<30 { lengths[i] = 5 }
                try dist.build(lengths, 30, name: name, what: "distance")
                try codes(&br, &out)
            case 2:
                try dynamicHeader(&br)
                try codes(&br, &out)
            default: throw fail("invalid block type 3")
            }
        }
        if br.consumedBits > input.count * 8 { throw fail("truncated") }
        return (br.consumedBits + 7) / 8
    }

    private func stored(_ br: inout BitReader, _ out: inout ByteBuffer) throws {
        _ = br.take(br.bits & 7)   // skip to a byte boundary
        let start = br.consumedBits / 8
        guard start + 4 <= br.n else { throw fail("truncated stored block header") }
        let len = Int(br.p[start]) | Int(br.p[start + 1]) << 8
        let nlen = Int(br.p[start + 2]) | Int(br.p[start + 3]) << 8
        guard len == nlen ^ 0xFFFF else { throw fail("stored block length \(len) does not match its complement") }
        guard start + 4 + len <= br.n else { throw fail("stored block truncated") }
        guard out.count + len <= limit else { throw limitError() }
        out.append(UnsafeRawBufferPointer(start: br.p + start + 4, count: len))
        br.pos = start + 4 + len
        br.buf = 0
        br.bits = 0
    }

    private func limitError() -> CodecError {
        CodecError(name: name, message: "decompressed data exceeds the expected \(limit) bytes")
    }

    private func dynamicHeader(_ br: inout BitReader) throws {
        let hlit = br.take(5) + 257, hdist = br.take(5) + 1, hclen = br.take(4) + 4
        guard hlit <= 286 else { throw fail("\(hlit) literal/length codes (at most 286)") }
        guard hdist <= 30 else { throw fail("\(hdist) distance codes (at most 30)") }
        for i in 0..<19 { lengths[i] = 0 }
        for i in 0..<hclen {  // up to 57 bits: more than one refill guarantees
            if br.bits < 3 { try br.refill(name) }
            lengths[DeflateTables.codeLengthOrder[i]] = UInt8(br.take(3))
        }
        try codeLengths.build(lengths, 19, name: name, what: "code-length")
        let total = hlit + hdist
        var i = 0
        while i < total {
            if br.bits < 32 { try br.refill(name) }
            let sym = try codeLengths.decode(&br, name)
            if sym < 16 { lengths[i] = UInt8(sym); i += 1; continue }
            var value: UInt8 = 0, rep: Int
            switch sym {
            case 16:
                guard i > 0 else { throw fail("code-length repeat with no previous length") }
                value = lengths[i - 1]
                rep = 3 + br.take(2)
            case 17: rep = 3 + br.take(3)
            default: rep = 11 + br.take(7)
            }
            guard i + rep <= total else { throw fail("code lengths overrun the \(total) codes") }
            for k in 0..<rep { lengths[i + k] = value }
            i += rep
        }
        guard lengths[256] != 0 else { throw fail("no end-of-block code") }
        try lit.build(lengths, hlit, name: name, what: "literal/length")
        try dist.build(lengths + hlit, hdist, name: name, what: "distance")
    }

    /// Decodes literal/length and distance symbols until end-of-block (§3.2.5).
    private func codes(_ br: inout BitReader, _ out: inout ByteBuffer) throws {
        let lim = limit
        var count = out.count
        defer { out.count = count }
        while true {
            if br.bits < 48 { try br.refill(name) }
            if count + 258 > out.capacity { out.count = count; out.grow(count + 258) }
            let o = out.base
            var sym = try lit.decode(&br, name)
            if sym < 256 {
                guard count < lim else { throw limitError() }
                o[count] = UInt8(truncatingIfNeeded: sym)
                count += 1
                continue
            }
            if sym == 256 { return }
            sym -= 257
            guard sym < 29 else { throw fail("invalid length code \(sym + 257)") }
            let length = base[sym] + br.take(base[32 + sym])
            let dsym = try dist.decode(&br, name)
            guard dsym < 30 else { throw fail("invalid distance code \(dsym)") }
            let d = base[64 + dsym] + br.take(base[96 + dsym])
            guard d <= count else { throw fail("distance \(d) too far back (only \(count) bytes written)") }
            guard count + length <= lim else { throw limitError() }
            let dst = o + count
            let src = dst - d
            if d >= length && length >= 16 {
                memcpy(dst, src, length)
            } else if d == 1 {
                memset(dst, Int32(src[0]), length)
            } else {
                for k in 0..<length { dst[k] = src[k] }
            }
            count += length
        }
    }
}
