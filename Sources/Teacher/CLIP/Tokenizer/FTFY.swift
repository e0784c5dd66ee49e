// The parts of ftfy.fix_text (ftfy 6, ftfy/__init__.py fix_text and fix_and_explain, ftfy/fixes.py) that
// open_clip's text cleaning runs with the default configuration: unescape_html ("auto": off for a line that
// contains '<', and for every line after it), fix_c1_controls, fix_latin_ligatures, fix_character_width,
// uncurl_quotes, fix_line_breaks, remove_terminal_escapes, remove_control_chars and NFC, repeated until
// nothing changes, line by line.
//
// Not implemented: fix_encoding, ftfy's heuristic mojibake repair ("Ã©" -> "é", "â€œ" -> "“"), which
// re-decodes text it judges to be UTF-8 read as Windows-1252 and similar (a statistical "badness" model over
// several legacy code pages). Text it would repair is tokenized as written; Scripts/make_tokenizer_fixtures.py
// marks such strings and the parity test reports them separately. fix_surrogates has nothing to do: a Swift
// String cannot hold a lone surrogate.
import Foundation

enum FTFY {
    /// ftfy.fix_text(text) with the default configuration, less fix_encoding.
    static func fixText(_ text: String) -> String {
        var out = ""
        var unescapeHTML = true
        // Segments end after each "\n" (of the input, before fix_line_breaks); once a segment contains '<',
        // HTML unescaping stays off for the rest of the text (fix_text keeps the changed config).
        var segment = String.UnicodeScalarView()
        func flush() {
            guard !segment.isEmpty else { return }
            if unescapeHTML && segment.contains("<") { unescapeHTML = false }
            out += fixSegment(String(segment), unescapeHTML: unescapeHTML)
            segment = String.UnicodeScalarView()
        }
        for s in text.unicodeScalars {
            segment.append(s)
            if s == "\n" { flush() }
        }
        flush()
        return out
    }

    /// fix_and_explain's loop for one segment: every fixer in order, until a pass changes nothing.
    static func fixSegment(_ segment: String, unescapeHTML: Bool) -> String {
        var text = segment
        while true {
            let before = text
            if unescapeHTML { text = HTMLUnescape.ftfyUnescape(text) }
            text = fixC1Controls(text)
            text = fixLatinLigatures(text)
            text = fixCharacterWidth(text)
            text = uncurlQuotes(text)
            text = fixLineBreaks(text)
            text = removeTerminalEscapes(text)
            text = removeControlChars(text)
            text = text.precomposedStringWithCanonicalMapping
            // Compare scalars: String's == is canonical equivalence, which would stop one pass early.
            if text.unicodeScalars.elementsEqual(before.unicodeScalars) { return text }
        }
    }

    static func mapScalars(_ text: String, _ f: (Unicode.Scalar, inout String.UnicodeScalarView) -> Void) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars { f(s, &out) }
        return String(out)
    }

    /// U+0080-U+009F read as Windows-1252 (its five undefined bytes stay as they are).
    static func fixC1Controls(_ text: String) -> String {
        mapScalars(text) { s, out in
            if (0x80...0x9F).contains(s.value), let v = HTMLUnescape.invalidCharrefs[Int(s.value)] {
                out.append(Unicode.Scalar(v)!)
            } else { out.append(s) }
        }
    }

    /// ftfy.chardata.LIGATURES: Latin ligatures and digraphs split into their letters.
    static let ligatures: [UInt32: String] = [
        0x0132: "IJ", 0x0133: "ij", 0x0149: "\u{02BC}n", 0x01F1: "DZ", 0x01F2: "Dz", 0x01F3: "dz",
        0x01C4: "D\u{017D}", 0x01C5: "D\u{017E}", 0x01C6: "d\u{017E}", 0x01C7: "LJ", 0x01C8: "Lj", 0x01C9: "lj",
        0x01CA: "NJ", 0x01CB: "Nj", 0x01CC: "nj", 0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl", 0xFB03: "ffi",
        0xFB04: "ffl", 0xFB05: "\u{017F}t", 0xFB06: "st",
    ]

    static func fixLatinLigatures(_ text: String) -> String {
        mapScalars(text) { s, out in
            if let r = ligatures[s.value] { out.append(contentsOf: r.unicodeScalars) } else { out.append(s) }
        }
    }

    /// Fullwidth and halfwidth forms (and U+3000) to their standard-width forms (TextTables.widthMap).
    static func fixCharacterWidth(_ text: String) -> String {
        mapScalars(text) { s, out in
            if s.value == 0x3000 || (0xFF01...0xFFEF).contains(s.value), let r = TextTables.widthMap[s.value] {
                out.append(contentsOf: r.unicodeScalars)
            } else { out.append(s) }
        }
    }

    /// U+02BC and U+2018-U+201B to ', U+201C-U+201F to ".
    static func uncurlQuotes(_ text: String) -> String {
        mapScalars(text) { s, out in
            switch s.value {
            case 0x02BC, 0x2018...0x201B: out.append("'")
            case 0x201C...0x201F: out.append("\"")
            default: out.append(s)
            }
        }
    }

    /// CRLF, CR, U+2028, U+2029 and U+0085 to LF.
    static func fixLineBreaks(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var previousCR = false
        for s in text.unicodeScalars {
            if s == "\n" && previousCR { previousCR = false; continue }
            previousCR = s == "\r"
            switch s.value {
            case 0x0D, 0x2028, 0x2029, 0x85: out.append("\n")
            default: out.append(s)
            }
        }
        return String(out)
    }

    /// Removes ANSI escapes matching `\033\[((?:\d|;)*)([a-zA-Z])` (\d: any Unicode decimal digit).
    static func removeTerminalEscapes(_ text: String) -> String {
        guard text.unicodeScalars.contains("\u{1B}") else { return text }
        let u = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < u.count {
            if u[i] == "\u{1B}" && i + 1 < u.count && u[i + 1] == "[" {
                var j = i + 2
                while j < u.count && (u[j] == ";" || u[j].properties.generalCategory == .decimalNumber) { j += 1 }
                if j < u.count && (("a"..."z").contains(u[j]) || ("A"..."Z").contains(u[j])) { i = j + 1; continue }
            }
            out.append(u[i]); i += 1
        }
        return String(out)
    }

    /// Removes U+0000-U+0008, U+000B, U+000E-U+001F, U+007F, U+206A-U+206F, U+FEFF and U+FFF9-U+FFFC.
    static func removeControlChars(_ text: String) -> String {
        mapScalars(text) { s, out in
            switch s.value {
            case 0x00...0x08, 0x0B, 0x0E...0x1F, 0x7F, 0x206A...0x206F, 0xFEFF, 0xFFF9...0xFFFC: break
            default: out.append(s)
            }
        }
    }
}
