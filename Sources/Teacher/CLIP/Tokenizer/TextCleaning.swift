// CLIP's text cleaning before byte-level BPE, in the two forms the references use:
//  - open_clip / OpenAI CLIP (open_clip/tokenizer.py `_clean_lower`): ftfy.fix_text, html.unescape twice,
//    strip, whitespace runs to one space (Python's str.split), then Python's str.lower (full case mapping
//    with the final-sigma rule).
//  - transformers CLIPTokenizer (models/clip/tokenization_clip.py: tokenizers' NFC, Replace(\s+, " ") and
//    Lowercase normalizers): NFC, runs of Unicode White_Space to one space, then Rust's char::to_lowercase
//    scalar by scalar (full case mapping, no final-sigma rule, so "ΟΔΟΣ" ends in σ there and ς in open_clip).
import Foundation

/// Which reference's text cleaning a CLIPTokenizer follows.
public enum CLIPTextCleaning: Sendable {
    /// open_clip and OpenAI CLIP (the `bpe_simple_vocab_16e6.txt.gz` tokenizers): ftfy, HTML unescaping,
    /// whitespace collapsing, lowercasing. ftfy's mojibake repair (fix_encoding) is not implemented.
    case openCLIP
    /// transformers' CLIPTokenizer (Hugging Face `vocab.json` + `merges.txt` folders): NFC, whitespace
    /// collapsing, lowercasing.
    case huggingFace
}

enum TextCleaning {
    /// open_clip's `whitespace_clean(basic_clean(text)).lower()`.
    static func openCLIP(_ text: String) -> String {
        var t = FTFY.fixText(text)
        t = HTMLUnescape.unescape(HTMLUnescape.unescape(t))
        return pythonLower(collapse(t, isSpace: isPythonWhitespace, keepEnds: false))
    }

    /// tokenizers' Sequence([NFC(), Replace(Regex(r"\s+"), " "), Lowercase()]).
    static func huggingFace(_ text: String) -> String {
        let t = text.precomposedStringWithCanonicalMapping
        return scalarLower(collapse(t, isSpace: { $0.properties.isWhitespace }, keepEnds: true))
    }

    /// Runs of whitespace to one space; without `keepEnds` the leading and trailing runs are dropped
    /// (" ".join(text.split())), with it they become one space each (re.sub(r"\s+", " ", text)).
    static func collapse(_ text: String, isSpace: (Unicode.Scalar) -> Bool, keepEnds: Bool) -> String {
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for s in text.unicodeScalars {
            if isSpace(s) { pendingSpace = true; continue }
            if pendingSpace && (keepEnds || !out.isEmpty) { out.append(" ") }
            pendingSpace = false
            out.append(s)
        }
        if pendingSpace && keepEnds { out.append(" ") }
        return String(out)
    }

    /// Python's str.isspace (what str.split and str.strip split on): Unicode White_Space plus the
    /// information separators U+001C-U+001F (bidirectional class B or S).
    static func isPythonWhitespace(_ s: Unicode.Scalar) -> Bool {
        (0x1C...0x1F).contains(s.value) || s.properties.isWhitespace
    }

    /// Lowercase mapping of each scalar (SpecialCasing's unconditional mappings included: İ -> i̇).
    static func scalarLower(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if s.isASCII { out.append(("A"..."Z").contains(s) ? Unicode.Scalar(s.value + 32)! : s) }
            else { out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars) }
        }
        return String(out)
    }

    /// Python's str.lower: scalarLower, except that Σ (U+03A3) becomes final ς when preceded by a cased
    /// letter and not followed by one, skipping case-ignorable scalars both ways (CPython's
    /// handle_capital_sigma, Unicode's Final_Sigma condition).
    static func pythonLower(_ text: String) -> String {
        guard text.unicodeScalars.contains("\u{03A3}") else { return scalarLower(text) }
        let u = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        for (i, s) in u.enumerated() {
            guard s.value == 0x03A3 else {
                out.append(contentsOf: s.isASCII ? String(s).lowercased().unicodeScalars : s.properties.lowercaseMapping.unicodeScalars)
                continue
            }
            out.append(isFinalSigma(u, i) ? "\u{03C2}" : "\u{03C3}")
        }
        return String(out)
    }

    static func isFinalSigma(_ u: [Unicode.Scalar], _ i: Int) -> Bool {
        var j = i - 1
        while j >= 0 && u[j].properties.isCaseIgnorable { j -= 1 }
        guard j >= 0 && u[j].properties.isCased else { return false }
        j = i + 1
        while j < u.count && u[j].properties.isCaseIgnorable { j += 1 }
        return j == u.count || !u[j].properties.isCased
    }
}
