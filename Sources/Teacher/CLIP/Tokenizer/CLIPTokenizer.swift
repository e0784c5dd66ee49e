// CLIP's tokenizer: text cleaning, CLIP's pre-tokenization pattern, byte-level BPE, start/end tokens,
// truncation to the context length (77) with the end token kept, and padding. Mirrors open_clip's
// SimpleTokenizer.__call__ (open_clip/tokenizer.py) for the OpenAI/open_clip BPE file, and transformers'
// CLIPTokenizer (models/clip/tokenization_clip.py on tokenizers' BPE, with padding="max_length",
// truncation=True) for Hugging Face folders, including its added-token splitting. Loading is in
// CLIPTokenizerFiles.swift.
import Foundation
import TensorCore

/// A special token split out of the text before BPE (transformers' AddedToken, open_clip's special tokens).
public struct CLIPSpecialToken: Sendable, Equatable {
    public let content: String
    public let id: Int
    /// Matched in the normalized text (true) or in the raw text (false), as tokenizers' `normalized` flag.
    public let normalized: Bool
}

public final class CLIPTokenizer: @unchecked Sendable {
    /// Which reference's cleaning and special-token handling this tokenizer follows.
    public let cleaning: CLIPTextCleaning
    /// Length of every encoded sequence (77 for CLIP).
    public let contextLength: Int
    public let startTokenID: Int
    public let endTokenID: Int
    /// 0 for open_clip; the id of the folder's pad_token for Hugging Face folders ("!" = 0 in Stable
    /// Diffusion 2, <|endoftext|> in OpenAI's CLIP folders).
    public let padTokenID: Int
    /// The unknown-token id (<|endoftext|> in CLIP folders; the end token for open_clip).
    public let unkTokenID: Int
    /// Tokens split out before BPE, longest first.
    public let specialTokens: [CLIPSpecialToken]
    public let vocabularySize: Int
    /// Receives the warning for a prompt longer than the context; prints to standard error by default.
    public var warningHandler: @Sendable (String) -> Void = { message in
        FileHandle.standardError.write(Data(("warning: " + message + "\n").utf8))
    }

    let bpe: ByteLevelBPE
    let idToToken: [Int: String]
    /// Literal alternatives of the split pattern (open_clip: its special tokens, matched as such;
    /// transformers: <|startoftext|> and <|endoftext|>, which its ByteLevel step splits again).
    let patternLiterals: [String]
    let literalIDs: [String: Int]
    /// Special tokens as scalars, longest first: matched in raw text, and (normalized form) in normalized text.
    let rawSpecials: [([Unicode.Scalar], Int)], normalizedSpecials: [([Unicode.Scalar], Int)]

    init(cleaning: CLIPTextCleaning, vocab: [String: Int], merges: [(String, String)], describeMerge: (Int) -> String,
         contextLength: Int, start: Int, end: Int, pad: Int, specials: [CLIPSpecialToken], patternLiterals: [String],
         literalIDs: [String: Int], unk: Int? = nil) throws {
        require(contextLength >= 2, "CLIPTokenizer: context length \(contextLength) leaves no room for start and end tokens")
        bpe = try ByteLevelBPE(vocab: vocab, merges: merges, describe: describeMerge)
        self.cleaning = cleaning
        self.contextLength = contextLength
        startTokenID = start; endTokenID = end; padTokenID = pad; unkTokenID = unk ?? end
        specialTokens = specials.sorted { $0.content.unicodeScalars.count > $1.content.unicodeScalars.count }
        self.patternLiterals = patternLiterals
        self.literalIDs = literalIDs
        vocabularySize = (vocab.values.max() ?? -1) + 1
        let sorted = specialTokens.filter { !$0.content.isEmpty }
        rawSpecials = sorted.filter { !$0.normalized }.map { (Array($0.content.unicodeScalars), $0.id) }
        normalizedSpecials = sorted.filter { $0.normalized }.map { (Array(TextCleaning.huggingFace($0.content).unicodeScalars), $0.id) }
            .filter { !$0.0.isEmpty }.sorted { $0.0.count > $1.0.count }
        var inverse: [Int: String] = [:]
        for (k, v) in vocab { inverse[v] = k }
        idToToken = inverse
    }

    /// The ids of `text` without start, end or padding (open_clip's `encode`; transformers' ids with
    /// add_special_tokens=False).
    public func tokenize(_ text: String) -> [Int] {
        switch cleaning {
        case .openCLIP:
            return encodePieces(TextCleaning.openCLIP(text))
        case .huggingFace:
            var ids: [Int] = []
            for raw in splitSpecials(text, normalized: false) {
                guard case .text(let t) = raw else { if case .special(let id) = raw { ids.append(id) }; continue }
                for part in splitSpecials(TextCleaning.huggingFace(t), normalized: true) {
                    switch part {
                    case .special(let id): ids.append(id)
                    case .text(let n): ids += encodePieces(n)
                    }
                }
            }
            return ids
        }
    }

    /// `contextLength` ids: start, the text's ids, end, then padding. A text too long for the context is
    /// cut to its first contextLength - 2 ids (the end token is kept) with a warning.
    public func encode(_ text: String) -> [Int] { encodeWithMask(text).ids }

    /// `encode(text)` and its attention mask (1 for start, text and end, 0 for padding).
    public func encodeWithMask(_ text: String) -> (ids: [Int], attentionMask: [Int]) {
        var content = tokenize(text)
        let room = contextLength - 2
        if content.count > room {
            warningHandler("CLIPTokenizer: the prompt is \(content.count) tokens long; only the first \(room) are used (context \(contextLength)): \"\(text.prefix(80))\(text.count > 80 ? "..." : "")\"")
            content.removeLast(content.count - room)
        }
        let ids = [startTokenID] + content + [endTokenID]
        let pad = contextLength - ids.count
        return (ids + [Int](repeating: padTokenID, count: pad), [Int](repeating: 1, count: ids.count) + [Int](repeating: 0, count: pad))
    }

    /// Encodes a batch: ids (B, contextLength) and attention masks (B, contextLength), as integer-valued floats.
    public func encode(batch texts: [String]) -> (ids: Tensor, attentionMask: Tensor) {
        let rows = texts.map(encodeWithMask)
        let shape = [texts.count, contextLength]
        return (Tensor(rows.flatMap { $0.ids.map(Float.init) }, shape: shape),
                Tensor(rows.flatMap { $0.attentionMask.map(Float.init) }, shape: shape))
    }

    /// Text of `ids` (open_clip's decode: symbols joined, "</w>" read as a space, bytes decoded as UTF-8
    /// with invalid sequences replaced). Start, end and pad ids are skipped when `skipSpecial`.
    public func decode(_ ids: [Int], skipSpecial: Bool = true) -> String {
        var bytes: [UInt8] = []
        for id in ids {
            if skipSpecial && (id == startTokenID || id == endTokenID || id == padTokenID) { continue }
            guard let token = idToToken[id] else { continue }
            var t = token
            let endOfWord = t.hasSuffix("</w>")
            if endOfWord { t.removeLast(4) }
            for s in t.unicodeScalars {
                if let b = ByteLevelBPE.scalarToByte[s.value] { bytes.append(b) } else { bytes += Array(String(s).utf8) }
            }
            if endOfWord { bytes.append(0x20) }
        }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }

    // MARK: internals

    enum Part { case text(String), special(Int) }

    /// Splits out the special tokens with the given `normalized` flag, leftmost-longest (tokenizers'
    /// AddedVocabulary). Normalized tokens are matched in their normalized form.
    func splitSpecials(_ text: String, normalized: Bool) -> [Part] {
        let tokens = normalized ? normalizedSpecials : rawSpecials
        guard !tokens.isEmpty, !text.isEmpty else { return text.isEmpty ? [] : [.text(text)] }
        let u = Array(text.unicodeScalars)
        var parts: [Part] = []
        var start = 0, i = 0
        while i < u.count {
            if let (s, id) = tokens.first(where: { t in i + t.0.count <= u.count && (0..<t.0.count).allSatisfy { u[i + $0] == t.0[$0] } }) {
                if i > start { parts.append(.text(String(String.UnicodeScalarView(u[start..<i])))) }
                parts.append(.special(id))
                i += s.count; start = i
            } else { i += 1 }
        }
        if start < u.count { parts.append(.text(String(String.UnicodeScalarView(u[start...])))) }
        return parts
    }

    /// Pre-tokenizes cleaned text and runs BPE on each piece.
    func encodePieces(_ cleaned: String) -> [Int] {
        var ids: [Int] = []
        for piece in CLIPPreTokenizer.split(cleaned, literals: patternLiterals) {
            switch piece {
            case .literal(let s):
                if let id = literalIDs[s] { ids.append(id); continue }
                for run in CLIPPreTokenizer.byteLevelRuns(Array(s.unicodeScalars)) { ids += bpe.encode(utf8(run)) }
            case .text(let scalars):
                ids += bpe.encode(utf8(scalars))
            }
        }
        return ids
    }

    func utf8(_ scalars: [Unicode.Scalar]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(scalars.count)
        for s in scalars {
            if s.isASCII { out.append(UInt8(s.value)) } else { out += Array(String(s).utf8) }
        }
        return out
    }
}
