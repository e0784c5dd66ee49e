// Deflate encoder (RFC 1951): LZ77 over a 32 KiB window with hash chains (3-byte multiplicative hash,
// chain lengths, "good"/"nice" lengths and lazy matching per level, in the manner zlib's levels trade speed
// for size) feeding blocks of up to 16 K symbols; each block is written as whichever of stored (§3.2.4),
// fixed-Huffman (§3.2.6) or dynamic-Huffman (§3.2.7) is smallest. Block writing is in DeflateBlock.swift.
import Foundation

/// LZ77 search settings for one compression level.
struct DeflateLevel {
    let good: Int   // a previous match at least this long quarters the chain search
    let lazy: Int   // lazy levels: no search after a match this long. greedy: insert match positions up to this length
    let nice: Int   // stop searching at a match this long
    let chain: Int  // most chain links followed
    let greedy: Bool

    static func forLevel(_ level: Int) -> DeflateLevel {
        switch level {
        case ...1: return DeflateLevel(good: 4, lazy: 4, nice: 8, chain: 4, greedy: true)
        case 2: return DeflateLevel(good: 4, lazy: 5, nice: 16, chain: 8, greedy: true)
        case 3: return DeflateLevel(good: 4, lazy: 6, nice: 32, chain: 32, greedy: true)
        case 4: return DeflateLevel(good: 4, lazy: 4, nice: 16, chain: 16, greedy: false)
        case 5: return DeflateLevel(good: 8, lazy: 16, nice: 32, chain: 32, greedy: false)
        case 6: return DeflateLevel(good: 8, lazy: 16, nice: 128, chain: 128, greedy: false)
        case 7: return DeflateLevel(good: 8, lazy: 32, nice: 128, chain: 256, greedy: false)
        case 8: return DeflateLevel(good: 32, lazy: 128, nice: 258, chain: 1024, greedy: false)
        default: return DeflateLevel(good: 32, lazy: 258, nice: 258, chain: 4096, greedy: false)
        }
    }
}

/// Compresses `input` into a raw deflate stream appended to `out`. Level 0 stores; 1...9 as in zlib.
func deflateRaw(_ input: UnsafeRawBufferPointer, level: Int, into out: inout ByteBuffer) {
    let n = input.count
    var enc = DeflateEncoder(input: input, writer: BitWriter(out: out))
    if level <= 0 || n == 0 {
        enc.covered = n
        enc.flushBlock(final: true, forceStored: level <= 0 && n > 0)
    } else {
        enc.compress(DeflateLevel.forLevel(level))
    }
    enc.writer.alignToByte()
    out = enc.writer.out
    enc.deallocate()
}

/// Huffman coding only, no LZ77 matches (zlib's Z_HUFFMAN_ONLY), so the literal statistics of `input`
/// decide the codes; used by tests to reach particular code shapes.
func deflateHuffmanOnly(_ input: UnsafeRawBufferPointer, into out: inout ByteBuffer) {
    var enc = DeflateEncoder(input: input, writer: BitWriter(out: out))
    for i in 0..<enc.n { enc.literal(enc.p[i]) }
    enc.flushBlock(final: true)
    enc.writer.alignToByte()
    out = enc.writer.out
    enc.deallocate()
}

/// LSB-first bit writer (§3.1.1) over a `ByteBuffer`.
struct BitWriter {
    var out: ByteBuffer
    var buf: UInt64 = 0
    var bits = 0

    /// Appends the low `n` bits of `v` (n <= 32, v < 2^n).
    @inline(__always) mutating func put(_ v: Int, _ n: Int) {
        buf |= UInt64(truncatingIfNeeded: v) << UInt64(bits)
        bits += n
        if bits >= 32 {
            out.reserve(4)
            UnsafeMutableRawPointer(out.base + out.count).storeBytes(of: UInt32(truncatingIfNeeded: buf).littleEndian, as: UInt32.self)
            out.count += 4
            buf >>= 32
            bits -= 32
        }
    }

    /// Pads with zero bits to a byte boundary and flushes whole bytes.
    mutating func alignToByte() {
        if bits & 7 != 0 { put(0, 8 - bits & 7) }
        while bits > 0 {
            out.append(UInt8(truncatingIfNeeded: buf))
            buf >>= 8
            bits -= 8
        }
    }
}

struct DeflateEncoder {
    static let symbolCapacity = 1 << 14
    static let window = 1 << 15

    let p: UnsafePointer<UInt8>
    let n: Int
    var writer: BitWriter
    let hashBits: Int
    let head: UnsafeMutablePointer<Int32>
    let prev: UnsafeMutablePointer<Int32>
    /// Pending symbols of the current block: a literal byte, or distance << 16 | length.
    let syms: UnsafeMutablePointer<UInt32>
    var nsyms = 0
    /// Frequencies: literal/length 0...285 then distance 0...29 at offset 288.
    let freq: UnsafeMutablePointer<Int>
    /// Length 0...258 -> length code 0...28; distance-1 -> distance code (see distCode).
    let lengthCode: UnsafeMutablePointer<UInt8>
    let distCodeTable: UnsafeMutablePointer<UInt8>
    var blockStart = 0  // first input byte of the current block
    var covered = 0     // input bytes the emitted symbols cover

    init(input: UnsafeRawBufferPointer, writer: BitWriter) {
        n = input.count
        p = n > 0 ? input.baseAddress!.assumingMemoryBound(to: UInt8.self) : UnsafePointer(bitPattern: 1)!
        self.writer = writer
        let width = Int.bitWidth - max(n, 1).leadingZeroBitCount
        hashBits = min(15, max(9, width))
        head = .allocate(capacity: 1 << hashBits)
        head.initialize(repeating: -1, count: 1 << hashBits)
        prev = .allocate(capacity: DeflateEncoder.window)
        syms = .allocate(capacity: DeflateEncoder.symbolCapacity)
        freq = .allocate(capacity: 320)
        freq.initialize(repeating: 0, count: 320)
        lengthCode = .allocate(capacity: 259)
        distCodeTable = .allocate(capacity: 512)
        for c in 0..<29 {
            let b = Int(DeflateTables.lengthBase[c]), e = Int(DeflateTables.lengthExtra[c])
            for l in b..<min(259, b + (1 << e)) { lengthCode[l] = UInt8(c) }
        }
        lengthCode[258] = 28
        for c in 0..<30 {
            let b = Int(DeflateTables.distBase[c]), e = Int(DeflateTables.distExtra[c])
            for d in b..<(b + (1 << e)) {
                if d - 1 < 256 { distCodeTable[d - 1] = UInt8(c) } else { distCodeTable[256 + (d - 1) >> 7] = UInt8(c) }
            }
        }
    }

    func deallocate() {
        head.deallocate(); prev.deallocate(); syms.deallocate(); freq.deallocate()
        lengthCode.deallocate(); distCodeTable.deallocate()
    }

    @inline(__always) func distCode(_ d: Int) -> Int {
        Int(d <= 256 ? distCodeTable[d - 1] : distCodeTable[256 + (d - 1) >> 7])
    }

    @inline(__always) func hash(_ i: Int) -> Int {
        let v = UInt32(p[i]) | UInt32(p[i + 1]) << 8 | UInt32(p[i + 2]) << 16
        return Int((v &* 2_654_435_761) >> UInt32(32 - hashBits))
    }

    /// Links position `i` (with i + 3 <= n) into its hash chain; returns the previous chain head or -1.
    @inline(__always) func insert(_ i: Int) -> Int {
        let h = hash(i)
        let old = head[h]
        prev[i & (DeflateEncoder.window - 1)] = old
        head[h] = Int32(truncatingIfNeeded: i)
        return Int(old)
    }

    @inline(__always) mutating func literal(_ b: UInt8) {
        syms[nsyms] = UInt32(b)
        nsyms += 1
        freq[Int(b)] += 1
        covered += 1
        if nsyms == DeflateEncoder.symbolCapacity { flushBlock(final: false) }
    }

    @inline(__always) mutating func match(_ length: Int, _ dist: Int) {
        syms[nsyms] = UInt32(dist) << 16 | UInt32(length)
        nsyms += 1
        freq[257 + Int(lengthCode[length])] += 1
        freq[288 + distCode(dist)] += 1
        covered += length
        if nsyms == DeflateEncoder.symbolCapacity { flushBlock(final: false) }
    }

    /// Longest match for position `cur` along the chain from `cand` that beats `prevLen`: (length, distance),
    /// or (0, 0). Candidates are screened by two 16-bit compares (the first two bytes, and the two bytes
    /// ending at the current best length) before the 8-bytes-at-a-time comparison.
    @inline(__always) func longestMatch(_ cur: Int, _ cand: Int, _ prevLen: Int, _ lv: DeflateLevel) -> (Int, Int) {
        let maxLen = min(258, n &- cur)
        var best = max(prevLen, 2), bestDist = 0
        if best >= maxLen { return (0, 0) }
        var chain = prevLen >= lv.good ? lv.chain >> 2 : lv.chain
        let nice = min(lv.nice, maxLen)
        let limit = max(cur &- DeflateEncoder.window, 0)
        let scan = UnsafeRawPointer(p + cur)
        let base = UnsafeRawPointer(p)
        let start = scan.loadUnaligned(as: UInt16.self)
        var end = scan.loadUnaligned(fromByteOffset: best &- 1, as: UInt16.self)
        var c = cand
        while c >= limit {
            let m = base + c
            if m.loadUnaligned(fromByteOffset: best &- 1, as: UInt16.self) == end && m.loadUnaligned(as: UInt16.self) == start {
                var l = 2
                var found = false
                while l &+ 8 <= maxLen {
                    let x = scan.loadUnaligned(fromByteOffset: l, as: UInt64.self) ^ m.loadUnaligned(fromByteOffset: l, as: UInt64.self)
                    if x != 0 { l &+= UInt64(littleEndian: x).trailingZeroBitCount >> 3; found = true; break }
                    l &+= 8
                }
                if !found {
                    while l < maxLen && scan.load(fromByteOffset: l, as: UInt8.self) == m.load(fromByteOffset: l, as: UInt8.self) { l &+= 1 }
                }
                if l > best {
                    best = l
                    bestDist = cur &- c
                    if l >= nice { break }
                    end = scan.loadUnaligned(fromByteOffset: best &- 1, as: UInt16.self)
                }
            }
            chain &-= 1
            if chain == 0 { break }
            let next = Int(prev[c & (DeflateEncoder.window &- 1)])
            if next >= c { break }  // a link overwritten by a newer position (or -1 ends the chain)
            c = next
        }
        return bestDist > 0 ? (best, bestDist) : (0, 0)
    }

    mutating func compress(_ lv: DeflateLevel) {
        var i = 0
        if lv.greedy {
            while i < n {
                var len = 0, dist = 0
                if i + 3 <= n {
                    let cand = insert(i)
                    if cand >= 0 { (len, dist) = longestMatch(i, cand, 0, lv) }
                }
                if len >= 3 {
                    match(len, dist)
                    if len <= lv.lazy {
                        for j in (i + 1)..<(i + len) where j + 3 <= n { _ = insert(j) }
                    }
                    i += len
                } else {
                    literal(p[i])
                    i += 1
                }
            }
        } else {
            // Lazy evaluation: a match found at i - 1 is emitted only if position i has no longer one.
            var pending = false            // byte i - 1 not yet emitted
            var prevLen = 0, prevDist = 0  // best match starting at i - 1
            while i < n {
                var len = 0, dist = 0
                if i + 3 <= n {
                    let cand = insert(i)
                    if cand >= 0 && prevLen < lv.lazy {
                        (len, dist) = longestMatch(i, cand, prevLen, lv)
                        if len == 3 && dist > 4096 { len = 0 }  // a far 3-byte match costs more than literals
                    }
                }
                if prevLen >= 3 && len <= prevLen {
                    match(prevLen, prevDist)
                    let end = i - 1 + prevLen
                    var j = i + 1
                    while j < end && j + 3 <= n { _ = insert(j); j += 1 }
                    i = end
                    pending = false
                    prevLen = 0
                } else {
                    if pending { literal(p[i - 1]) }
                    pending = true
                    prevLen = len
                    prevDist = dist
                    i += 1
                }
            }
            if pending { literal(p[n - 1]) }
        }
        flushBlock(final: true)
    }
}
