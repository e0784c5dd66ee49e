// Length-limited Huffman code construction for the deflate encoder (RFC 1951 §3.2.2 canonical codes):
// optimal lengths by the two-queue method on frequency-sorted leaves, then depths above the limit are
// pushed down with the bit-count rebalancing of ITU T.81 Annex K.3 (which keeps the Kraft sum at 1),
// and lengths are handed back to symbols by frequency.
import Foundation

enum HuffmanBuilder {
    /// Code lengths (0 = unused) for `freqs`, none longer than `maxBits`. At least two symbols get a code
    /// whenever `minCodes` is 2, so the code is complete even when one or no symbol occurs.
    static func lengths(_ freqs: UnsafePointer<Int>, _ n: Int, maxBits: Int, into out: UnsafeMutablePointer<UInt8>) {
        for i in 0..<n { out[i] = 0 }
        var leaves = [Int]()  // symbols, by ascending frequency
        leaves.reserveCapacity(n)
        for i in 0..<n where freqs[i] > 0 { leaves.append(i) }
        if leaves.count < 2 {
            // Zero or one symbol in use: give two symbols a 1-bit code so the code is complete.
            let a = leaves.first ?? 0
            out[a] = 1
            out[a == 0 ? 1 : 0] = 1
            return
        }
        leaves.sort { freqs[$0] != freqs[$1] ? freqs[$0] < freqs[$1] : $0 < $1 }
        let m = leaves.count
        // Nodes 0..<m are leaves (in `leaves` order), m..<2m-1 internal nodes in creation order; internal
        // weights come out non-decreasing, so the two smallest are always at the fronts of the two queues.
        var weight = [Int](repeating: 0, count: 2 * m - 1)
        var parent = [Int](repeating: 0, count: 2 * m - 1)
        for i in 0..<m { weight[i] = freqs[leaves[i]] }
        var leafNext = 0, nodeNext = m, created = m
        func pick() -> Int {
            if leafNext < m && (nodeNext >= created || weight[leafNext] <= weight[nodeNext]) {
                leafNext += 1
                return leafNext - 1
            }
            nodeNext += 1
            return nodeNext - 1
        }
        while created < 2 * m - 1 {
            let a = pick(), b = pick()
            weight[created] = weight[a] + weight[b]
            parent[a] = created
            parent[b] = created
            created += 1
        }
        var depth = [Int](repeating: 0, count: 2 * m - 1)
        var blCount = [Int](repeating: 0, count: max(m, maxBits) + 1)
        var i = 2 * m - 3
        while i >= 0 {
            depth[i] = depth[parent[i]] + 1
            if i < m { blCount[depth[i]] += 1 }
            i -= 1
        }
        // Push leaves deeper than maxBits up (Annex K.3): two siblings at depth d leave, one takes their
        // parent's place, the other splits a leaf at the deepest shallower level j into two at j + 1.
        var d = m
        while d > maxBits {
            while blCount[d] > 0 {
                var j = d - 2
                while j > 0 && blCount[j] == 0 { j -= 1 }
                blCount[d] -= 2
                blCount[d - 1] += 1
                blCount[j + 1] += 2
                blCount[j] -= 1
            }
            d -= 1
        }
        // Least frequent symbols get the longest codes.
        var k = 0
        var len = maxBits
        while len >= 1 {
            for _ in 0..<blCount[len] {
                out[leaves[k]] = UInt8(len)
                k += 1
            }
            len -= 1
        }
    }

    /// Canonical codes for `lengths`, bit-reversed so they can be written LSB-first into the stream.
    static func reversedCodes(_ lengths: UnsafePointer<UInt8>, _ n: Int, into codes: UnsafeMutablePointer<UInt16>) {
        var blCount = [Int](repeating: 0, count: 16)
        for i in 0..<n { blCount[Int(lengths[i])] += 1 }
        blCount[0] = 0
        var next = [Int](repeating: 0, count: 16)
        var code = 0
        for l in 1..<16 {
            code = (code + blCount[l - 1]) << 1
            next[l] = code
        }
        for s in 0..<n {
            let l = Int(lengths[s])
            if l == 0 { codes[s] = 0; continue }
            let c = next[l]
            next[l] += 1
            var r = 0
            for i in 0..<l where c & (1 << i) != 0 { r |= 1 << (l - 1 - i) }
            codes[s] = UInt16(r)
        }
    }
}
