// Byte-level BPE with CLIP's end-of-word suffix, as open_clip's SimpleTokenizer.bpe (open_clip/tokenizer.py,
// from OpenAI CLIP) and tokenizers' BPE model with end_of_word_suffix "</w>": each UTF-8 byte of a pre-token
// is one symbol (GPT-2's bytes_to_unicode alphabet), the last one carries "</w>", and the adjacent pair with
// the lowest merge rank is merged everywhere, left to right, until no pair has a rank. Symbols are vocabulary
// ids throughout; results are cached per pre-token (open_clip's `self.cache`), behind a lock.
import Foundation

final class ByteLevelBPE: @unchecked Sendable {
    /// GPT-2's reversible byte -> printable scalar map (open_clip's bytes_to_unicode): the printable Latin-1
    /// bytes map to themselves, the other 68 bytes to U+0100 onward in byte order.
    static let byteToScalar: [Unicode.Scalar] = {
        var printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        var scalars = printable
        var n = 0
        for b in 0..<256 where !printable.contains(b) {
            printable.append(b); scalars.append(256 + n); n += 1
        }
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        for (b, s) in zip(printable, scalars) { table[b] = Unicode.Scalar(UInt32(s))! }
        return table
    }()

    static let scalarToByte: [UInt32: UInt8] = {
        var out: [UInt32: UInt8] = [:]
        for (b, s) in byteToScalar.enumerated() { out[s.value] = UInt8(b) }
        return out
    }()

    /// The symbol string of each byte, and with "</w>".
    static func symbol(_ byte: UInt8, endOfWord: Bool) -> String {
        String(byteToScalar[Int(byte)]) + (endOfWord ? "</w>" : "")
    }

    struct Merge { let rank: Int32; let id: Int32 }

    /// Vocabulary id of each byte's symbol, without and with "</w>".
    let byteIDs: [Int], byteEndIDs: [Int]
    /// (left id << 32 | right id) -> rank and id of the merged symbol.
    let merges: [UInt64: Merge]
    private var cache: [[UInt8]: [Int]] = [:]
    private let lock = NSLock()
    /// Pre-tokens remembered; the cache is emptied when it grows past this.
    let cacheLimit = 100_000

    /// `merges` are (left, right) symbol pairs in rank order; `vocab` maps every symbol and every merged
    /// pair to its id. Throws a description of the first pair or byte symbol the vocabulary lacks.
    init(vocab: [String: Int], merges pairs: [(String, String)], describe: (Int) -> String) throws {
        var ids: [Int] = [], endIDs: [Int] = []
        for b in 0..<256 {
            for end in [false, true] {
                let s = ByteLevelBPE.symbol(UInt8(b), endOfWord: end)
                guard let id = vocab[s] else { throw BPEError(message: "the vocabulary has no symbol \"\(s)\" for byte \(b)") }
                if end { endIDs.append(id) } else { ids.append(id) }
            }
        }
        var table: [UInt64: Merge] = [:]
        table.reserveCapacity(pairs.count)
        for (rank, (a, b)) in pairs.enumerated() {
            guard let ia = vocab[a], let ib = vocab[b], let m = vocab[a + b] else {
                throw BPEError(message: "\(describe(rank)): merge \"\(a) \(b)\" uses a symbol the vocabulary lacks")
            }
            let key = UInt64(ia) << 32 | UInt64(ib)
            table[key] = Merge(rank: Int32(rank), id: Int32(m)) // a repeated pair keeps its last rank, as both references do
        }
        byteIDs = ids; byteEndIDs = endIDs; merges = table
    }

    struct BPEError: Error { let message: String }

    /// The ids of one pre-token given as UTF-8 bytes.
    func encode(_ bytes: [UInt8]) -> [Int] {
        guard !bytes.isEmpty else { return [] }
        lock.lock()
        if let hit = cache[bytes] { lock.unlock(); return hit }
        lock.unlock()
        let ids = merge(bytes)
        lock.lock()
        if cache.count >= cacheLimit { cache.removeAll(keepingCapacity: true) }
        cache[bytes] = ids
        lock.unlock()
        return ids
    }

    /// The merge loop of SimpleTokenizer.bpe on ids.
    func merge(_ bytes: [UInt8]) -> [Int] {
        var word = bytes.indices.map { i in i == bytes.count - 1 ? byteEndIDs[Int(bytes[i])] : byteIDs[Int(bytes[i])] }
        while word.count > 1 {
            var best: Merge? = nil, bestKey: UInt64 = 0
            for i in 0..<(word.count - 1) {
                let key = UInt64(word[i]) << 32 | UInt64(word[i + 1])
                if let m = merges[key], best == nil || m.rank < best!.rank { best = m; bestKey = key }
            }
            guard let m = best else { break }
            let first = Int(bestKey >> 32), second = Int(bestKey & 0xFFFF_FFFF)
            var next: [Int] = []
            next.reserveCapacity(word.count)
            var i = 0
            while i < word.count {
                if i < word.count - 1 && word[i] == first && word[i + 1] == second {
                    next.append(Int(m.id)); i += 2
                } else {
                    next.append(word[i]); i += 1
                }
            }
            word = next
        }
        return word
    }

    /// Number of cached pre-tokens (for tests).
    var cachedCount: Int { lock.lock(); defer { lock.unlock() }; return cache.count }
}
