// Deflate block writer (RFC 1951 §3.2.3-3.2.7): costs the pending symbols as a stored, fixed-Huffman and
// dynamic-Huffman block and writes the cheapest. Dynamic headers run-length code the code lengths with
// symbols 16/17/18 and send the code-length code in the §3.2.7 permuted order.
import Foundation

/// Fixed-Huffman lengths and bit-reversed codes (§3.2.6), computed once.
private struct FixedCodes: Sendable {
    let litLen: [UInt8], litCode: [UInt16], distLen: [UInt8], distCode: [UInt16]
    static let shared: FixedCodes = {
        let ll = DeflateTables.fixedLiteralLengths
        var lc = [UInt16](repeating: 0, count: 288)
        ll.withUnsafeBufferPointer { l in lc.withUnsafeMutableBufferPointer { HuffmanBuilder.reversedCodes(l.baseAddress!, 288, into: $0.baseAddress!) } }
        let dl = [UInt8](repeating: 5, count: 30)
        var dc = [UInt16](repeating: 0, count: 30)
        dl.withUnsafeBufferPointer { l in dc.withUnsafeMutableBufferPointer { HuffmanBuilder.reversedCodes(l.baseAddress!, 30, into: $0.baseAddress!) } }
        return FixedCodes(litLen: ll, litCode: lc, distLen: dl, distCode: dc)
    }()
}

extension DeflateEncoder {
    /// Writes the pending symbols (plus end-of-block) as one block, or several stored blocks, then resets.
    mutating func flushBlock(final: Bool, forceStored: Bool = false) {
        freq[256] += 1
        // Scratch: lengths (literal/length 0..<288, distance 288..<320), codes, code-length code.
        var lens = [UInt8](repeating: 0, count: 320)
        var codes = [UInt16](repeating: 0, count: 320)
        var clSeq = [UInt16]()   // code-length symbols: symbol | extra-bits value << 5
        var clFreq = [Int](repeating: 0, count: 19)
        var clLens = [UInt8](repeating: 0, count: 19)
        var clCodes = [UInt16](repeating: 0, count: 19)
        let raw = covered - blockStart
        let chunks = max(1, (raw + 65534) / 65535)
        let pad = (8 - ((writer.bits + 3) & 7)) & 7
        let storedBits = chunks * 35 + pad + raw * 8
        var dynamicBits = Int.max, fixedBits = Int.max
        var hlit = 257, hdist = 1, hclen = 4

        if !forceStored {
            lens.withUnsafeMutableBufferPointer { lp in
                HuffmanBuilder.lengths(freq, 286, maxBits: 15, into: lp.baseAddress!)
                HuffmanBuilder.lengths(freq + 288, 30, maxBits: 15, into: lp.baseAddress! + 288)
            }
            hlit = 286
            while hlit > 257 && lens[hlit - 1] == 0 { hlit -= 1 }
            hdist = 30
            while hdist > 1 && lens[288 + hdist - 1] == 0 { hdist -= 1 }
            // Run-length code lengths[0..<hlit] ++ distance lengths[0..<hdist].
            let all = Array(lens[0..<hlit]) + Array(lens[288..<(288 + hdist)])
            var i = 0
            while i < all.count {
                let v = all[i]
                var run = 1
                while i + run < all.count && all[i + run] == v { run += 1 }
                var r = run
                if v == 0 {
                    while r >= 11 { let k = min(r, 138); clSeq.append(18 | UInt16(k - 11) << 5); r -= k }
                    if r >= 3 { clSeq.append(17 | UInt16(r - 3) << 5); r = 0 }
                } else {
                    clSeq.append(UInt16(v))
                    r -= 1
                    while r >= 3 { let k = min(r, 6); clSeq.append(16 | UInt16(k - 3) << 5); r -= k }
                }
                for _ in 0..<r { clSeq.append(UInt16(v)) }
                i += run
            }
            for s in clSeq { clFreq[Int(s & 31)] += 1 }
            clFreq.withUnsafeBufferPointer { f in
                clLens.withUnsafeMutableBufferPointer { HuffmanBuilder.lengths(f.baseAddress!, 19, maxBits: 7, into: $0.baseAddress!) }
            }
            hclen = 19
            while hclen > 4 && clLens[DeflateTables.codeLengthOrder[hclen - 1]] == 0 { hclen -= 1 }
            var header = 3 + 14 + 3 * hclen
            for s in 0..<19 { header += clFreq[s] * Int(clLens[s]) }
            header += clFreq[16] * 2 + clFreq[17] * 3 + clFreq[18] * 7
            var extra = 0
            for c in 0..<29 { extra += freq[257 + c] * Int(DeflateTables.lengthExtra[c]) }
            for c in 0..<30 { extra += freq[288 + c] * Int(DeflateTables.distExtra[c]) }
            var dyn = 0, fix = 0
            let fixed = FixedCodes.shared
            for s in 0..<286 { dyn += freq[s] * Int(lens[s]); fix += freq[s] * Int(fixed.litLen[s]) }
            for s in 0..<30 { dyn += freq[288 + s] * Int(lens[288 + s]); fix += freq[288 + s] * 5 }
            dynamicBits = header + dyn + extra
            fixedBits = 3 + fix + extra
        }

        if forceStored || (storedBits <= dynamicBits && storedBits <= fixedBits) {
            writeStored(final: final, raw: raw)
        } else if fixedBits <= dynamicBits {
            writer.put(final ? 1 : 0, 1)
            writer.put(1, 2)
            let f = FixedCodes.shared
            f.litLen.withUnsafeBufferPointer { ll in f.litCode.withUnsafeBufferPointer { lc in
                f.distLen.withUnsafeBufferPointer { dl in f.distCode.withUnsafeBufferPointer { dc in
                    writeSymbols(ll.baseAddress!, lc.baseAddress!, dl.baseAddress!, dc.baseAddress!)
                } }
            } }
        } else {
            writer.put(final ? 1 : 0, 1)
            writer.put(2, 2)
            writer.put(hlit - 257, 5)
            writer.put(hdist - 1, 5)
            writer.put(hclen - 4, 4)
            clLens.withUnsafeBufferPointer { l in clCodes.withUnsafeMutableBufferPointer { HuffmanBuilder.reversedCodes(l.baseAddress!, 19, into: $0.baseAddress!) } }
            for i in 0..<hclen { writer.put(Int(clLens[DeflateTables.codeLengthOrder[i]]), 3) }
            for s in clSeq {
                let sym = Int(s & 31), ex = Int(s >> 5)
                writer.put(Int(clCodes[sym]), Int(clLens[sym]))
                if sym == 16 { writer.put(ex, 2) } else if sym == 17 { writer.put(ex, 3) } else if sym == 18 { writer.put(ex, 7) }
            }
            lens.withUnsafeBufferPointer { l in codes.withUnsafeMutableBufferPointer { c in
                HuffmanBuilder.reversedCodes(l.baseAddress!, 286, into: c.baseAddress!)
                HuffmanBuilder.reversedCodes(l.baseAddress! + 288, 30, into: c.baseAddress! + 288)
                writeSymbols(l.baseAddress!, c.baseAddress!, l.baseAddress! + 288, c.baseAddress! + 288)
            } }
        }
        nsyms = 0
        blockStart = covered
        freq.update(repeating: 0, count: 320)
    }

    private mutating func writeStored(final: Bool, raw: Int) {
        var start = blockStart
        var left = raw
        repeat {
            let len = min(left, 65535)
            writer.put(final && len == left ? 1 : 0, 1)
            writer.put(0, 2)
            writer.alignToByte()
            writer.out.appendLE16(UInt16(len))
            writer.out.appendLE16(UInt16(len) ^ 0xFFFF)
            writer.out.append(UnsafeRawBufferPointer(start: p + start, count: len))
            start += len
            left -= len
        } while left > 0
    }

    /// Writes the pending symbols and end-of-block with the given code.
    private mutating func writeSymbols(_ litLen: UnsafePointer<UInt8>, _ litCode: UnsafePointer<UInt16>,
                                       _ distLen: UnsafePointer<UInt8>, _ distCode: UnsafePointer<UInt16>) {
        for k in 0..<nsyms {
            let s = syms[k]
            if s >> 16 == 0 {
                writer.put(Int(litCode[Int(s)]), Int(litLen[Int(s)]))
                continue
            }
            let length = Int(s & 0xFFFF), dist = Int(s >> 16)
            let lc = Int(lengthCode[length])
            writer.put(Int(litCode[257 + lc]), Int(litLen[257 + lc]))
            let le = Int(DeflateTables.lengthExtra[lc])
            if le > 0 { writer.put(length - Int(DeflateTables.lengthBase[lc]), le) }
            let dc = self.distCode(dist)
            writer.put(Int(distCode[dc]), Int(distLen[dc]))
            let de = Int(DeflateTables.distExtra[dc])
            if de > 0 { writer.put(dist - Int(DeflateTables.distBase[dc]), de) }
        }
        writer.put(Int(litCode[256]), Int(litLen[256]))
    }
}
