// Learning a CLIP byte-level BPE vocabulary from a corpus (the world's captions), so our own text encoder has a
// tokenizer in CLIP's exact format (vocab.json + merges.txt that transformers' CLIPTokenizer loads). The text
// is cleaned and pre-tokenized as transformers' CLIPTokenizer does; each pre-token is its UTF-8 byte symbols
// with "</w>" on the last; the most frequent adjacent pair (ties: the lexicographically smallest) is merged
// everywhere, repeatedly (Sennrich et al.'s algorithm over the word-frequency table). Ids follow OpenAI
// CLIP's layout: the 256 byte symbols in bytes_to_unicode order, the same with "</w>", one per merge, then
// <|startoftext|> and <|endoftext|>. Padding is "!" (id 0) as in Stable Diffusion 2's tokenizer.
import Foundation

extension CLIPTokenizer {
    /// Learns at most `maxMerges` merges from `corpus` (pairs seen fewer than `minFrequency` times are not
    /// merged) and returns the tokenizer (context 77).
    public static func train(corpus: [String], maxMerges: Int, minFrequency: Int = 2) throws -> CLIPTokenizer {
        // Word frequencies over pre-tokens, as symbol-id sequences (ids into `symbols`).
        var symbols: [String] = []
        var symbolID: [String: Int] = [:]
        func intern(_ s: String) -> Int {
            if let i = symbolID[s] { return i }
            symbols.append(s); symbolID[s] = symbols.count - 1
            return symbols.count - 1
        }
        var wordCounts: [[Int]: Int] = [:]
        for text in corpus {
            for piece in CLIPPreTokenizer.split(TextCleaning.huggingFace(text), literals: []) {
                guard case .text(let scalars) = piece else { continue }
                let bytes = Array(String(String.UnicodeScalarView(scalars)).utf8)
                guard !bytes.isEmpty else { continue }
                let word = bytes.enumerated().map { intern(ByteLevelBPE.symbol($1, endOfWord: $0 == bytes.count - 1)) }
                wordCounts[word, default: 0] += 1
            }
        }
        var words = wordCounts.map { (symbols: $0.key, count: $0.value) }.sorted { $0.symbols.lexicographicallyPrecedes($1.symbols) }
        var merges: [(String, String)] = []
        while merges.count < maxMerges {
            var pairCounts: [UInt64: Int] = [:]
            for w in words where w.symbols.count > 1 {
                for i in 0..<(w.symbols.count - 1) {
                    pairCounts[UInt64(w.symbols[i]) << 32 | UInt64(w.symbols[i + 1]), default: 0] += w.count
                }
            }
            var best: (key: UInt64, count: Int, text: (String, String))? = nil
            for (key, count) in pairCounts where count >= minFrequency {
                let text = (symbols[Int(key >> 32)], symbols[Int(key & 0xFFFF_FFFF)])
                if let b = best, count < b.count || (count == b.count && (text.0, text.1) >= (b.text.0, b.text.1)) { continue }
                best = (key, count, text)
            }
            guard let b = best else { break }
            let left = Int(b.key >> 32), right = Int(b.key & 0xFFFF_FFFF), merged = intern(b.text.0 + b.text.1)
            merges.append(b.text)
            for k in words.indices where words[k].symbols.count > 1 {
                var s = words[k].symbols, out: [Int] = [], i = 0
                while i < s.count {
                    if i + 1 < s.count && s[i] == left && s[i + 1] == right { out.append(merged); i += 2 } else { out.append(s[i]); i += 1 }
                }
                s = out
                words[k].symbols = s
            }
        }
        var vocab: [String: Int] = [:]
        for end in [false, true] {
            for b in (0..<256).sorted(by: { openCLIPByteOrder($0) < openCLIPByteOrder($1) }) {
                vocab[ByteLevelBPE.symbol(UInt8(b), endOfWord: end)] = vocab.count
            }
        }
        for (a, b) in merges where vocab[a + b] == nil { vocab[a + b] = vocab.count }
        let start = vocab.count, end = vocab.count + 1
        vocab["<|startoftext|>"] = start
        vocab["<|endoftext|>"] = end
        let pad = vocab["!"]!
        return try CLIPTokenizer(cleaning: .huggingFace, vocab: vocab, merges: merges, describeMerge: { "merge \($0 + 1)" },
                                 contextLength: 77, start: start, end: end, pad: pad,
                                 specials: [CLIPSpecialToken(content: "<|startoftext|>", id: start, normalized: false),
                                            CLIPSpecialToken(content: "<|endoftext|>", id: end, normalized: false)],
                                 patternLiterals: ["<|startoftext|>", "<|endoftext|>"], literalIDs: [:], unk: end)
    }
}
