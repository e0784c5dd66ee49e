// CLIP's pre-tokenization pattern, matched by hand on Unicode scalars with their general categories:
//     <literals>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
// (open_clip/tokenizer.py SimpleTokenizer.pat, whose literals are its special tokens; transformers
// CLIPTokenizer's Split pre-tokenizer, whose literals are <|startoftext|> and <|endoftext|>). Like
// regex.findall, it tries the alternatives in order at each position, skips whitespace that none matches,
// and checks the literals only where a match starts (a punctuation run swallows a '<' that would begin one).

enum CLIPPreTokenizer {
    enum Piece: Equatable {
        /// A pre-token for byte-level BPE.
        case text([Unicode.Scalar])
        /// One of the literals.
        case literal(String)
    }

    enum Kind { case letter, number, space, other }

    @inline(__always) static func kind(_ s: Unicode.Scalar) -> Kind {
        if s.isASCII {
            let v = s.value
            if (0x61...0x7A).contains(v) || (0x41...0x5A).contains(v) { return .letter }
            if (0x30...0x39).contains(v) { return .number }
            if v == 0x20 || (0x09...0x0D).contains(v) { return .space }
            return .other
        }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return s.properties.isWhitespace ? .space : .other
        }
    }

    static let contractions: [[Unicode.Scalar]] = ["s", "t", "re", "ve", "m", "ll", "d"].map { Array($0.unicodeScalars) }

    /// Splits `text` (already cleaned) into pieces. `literals` are tried first at each match start.
    static func split(_ text: String, literals: [String]) -> [Piece] {
        let u = Array(text.unicodeScalars)
        let lits = literals.map { (string: $0, scalars: Array($0.unicodeScalars)) }
        var pieces: [Piece] = []
        var i = 0
        func hasPrefix(_ p: [Unicode.Scalar], at i: Int) -> Bool {
            i + p.count <= u.count && (0..<p.count).allSatisfy { u[i + $0] == p[$0] }
        }
        scan: while i < u.count {
            for lit in lits where !lit.scalars.isEmpty && hasPrefix(lit.scalars, at: i) {
                pieces.append(.literal(lit.string)); i += lit.scalars.count
                continue scan
            }
            if u[i] == "'" {
                for c in contractions where hasPrefix(c, at: i + 1) {
                    pieces.append(.text(Array(u[i...(i + c.count)]))); i += c.count + 1
                    continue scan
                }
            }
            let k = kind(u[i])
            switch k {
            case .space: i += 1
            case .number: pieces.append(.text([u[i]])); i += 1
            case .letter, .other:
                var j = i + 1
                while j < u.count && kind(u[j]) == k { j += 1 }
                pieces.append(.text(Array(u[i..<j]))); i = j
            }
        }
        return pieces
    }

    /// tokenizers' ByteLevel pre-tokenizer regex (GPT-2's `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+|
    /// ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`) applied to a piece without whitespace: runs of letters, of numbers
    /// and of other scalars. It changes only the literals ("<|endoftext|>" -> "<|", "endoftext", "|>"):
    /// every other CLIP piece is already one such run.
    static func byteLevelRuns(_ s: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var out: [[Unicode.Scalar]] = []
        var i = 0
        while i < s.count {
            if s[i] == "'", let c = contractions.first(where: { c in i + c.count < s.count && (0..<c.count).allSatisfy { s[i + 1 + $0] == c[$0] } }) {
                out.append(Array(s[i...(i + c.count)])); i += c.count + 1
                continue
            }
            let k = kind(s[i])
            var j = i + 1
            while j < s.count && kind(s[j]) == k && k != .space { j += 1 }
            if k != .space { out.append(Array(s[i..<j])) }
            i = j
        }
        return out
    }
}
