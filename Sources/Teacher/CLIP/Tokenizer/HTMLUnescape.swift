// Python's html.unescape (CPython Lib/html/__init__.py), which CLIP's text cleaning applies twice
// (open_clip/tokenizer.py basic_clean), and ftfy's stricter unescape_html (ftfy/fixes.py), which only decodes
// complete references ending in ';' and also all-caps names. Both work on Unicode scalars, as Python's str.

enum HTMLUnescape {
    /// `html.unescape(s)`: replaces every match of
    /// `&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)` by its character reference's value.
    static func unescape(_ s: String) -> String {
        guard s.unicodeScalars.contains("&") else { return s }
        let u = Array(s.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < u.count {
            guard u[i] == "&", let (end, value) = pythonCharref(u, i + 1) else { out.append(u[i]); i += 1; continue }
            out.append(contentsOf: value.unicodeScalars)
            i = end
        }
        return String(out)
    }

    /// The reference starting after an '&' at `start`: (index past the match, replacement), or nil when
    /// the pattern does not match there.
    static func pythonCharref(_ u: [Unicode.Scalar], _ start: Int) -> (Int, String)? {
        var j = start
        if j < u.count && u[j] == "#" {
            j += 1
            let hex = j < u.count && (u[j] == "x" || u[j] == "X")
            if hex { j += 1 }
            let digitsStart = j
            while j < u.count && (hex ? u[j].isASCIIHexDigit : u[j].isASCIIDigit) { j += 1 }
            guard j > digitsStart else { return nil }
            // int(...) saturated: anything above 0x10FFFF is replaced the same way.
            var num = 0
            for d in u[digitsStart..<j] { num = Swift.min(num * (hex ? 16 : 10) + d.hexValue, 0x11_0000) }
            if j < u.count && u[j] == ";" { j += 1 }
            return (j, numericCharref(num))
        }
        let excluded: Set<Unicode.Scalar> = ["\t", "\n", "\u{0C}", " ", "<", "&", "#", ";"]
        while j < u.count && j - start < 32 && !excluded.contains(u[j]) { j += 1 }
        guard j > start else { return nil }
        if j < u.count && u[j] == ";" { j += 1 }
        let name = Array(u[start..<j])
        if let v = TextTables.html5Entities[String(String.UnicodeScalarView(name))] { return (j, v) }
        // The longest prefix (of at least two scalars) that is an entity, as the standard says.
        var x = name.count - 1
        while x > 1 {
            if let v = TextTables.html5Entities[String(String.UnicodeScalarView(name[..<x]))] {
                return (j, v + String(String.UnicodeScalarView(name[x...])))
            }
            x -= 1
        }
        return (j, "&" + String(String.UnicodeScalarView(name)))
    }

    /// The value of `&#num;` as html.unescape gives it.
    static func numericCharref(_ num: Int) -> String {
        if let v = invalidCharrefs[num] { return String(Unicode.Scalar(v)!) }
        if (0xD800...0xDFFF).contains(num) || num > 0x10FFFF { return "\u{FFFD}" }
        if isInvalidCodepoint(num) { return "" }
        return String(Unicode.Scalar(UInt32(num))!)
    }

    /// html._invalid_charrefs: 0x00, 0x0D and the C1 range read as Windows-1252 (the five bytes it leaves
    /// undefined map to themselves, as ftfy's "sloppy-windows-1252" also decodes them).
    static let invalidCharrefs: [Int: UInt32] = [
        0x00: 0xFFFD, 0x0D: 0x0D, 0x80: 0x20AC, 0x81: 0x81, 0x82: 0x201A, 0x83: 0x0192, 0x84: 0x201E,
        0x85: 0x2026, 0x86: 0x2020, 0x87: 0x2021, 0x88: 0x02C6, 0x89: 0x2030, 0x8A: 0x0160, 0x8B: 0x2039,
        0x8C: 0x0152, 0x8D: 0x8D, 0x8E: 0x017D, 0x8F: 0x8F, 0x90: 0x90, 0x91: 0x2018, 0x92: 0x2019,
        0x93: 0x201C, 0x94: 0x201D, 0x95: 0x2022, 0x96: 0x2013, 0x97: 0x2014, 0x98: 0x02DC, 0x99: 0x2122,
        0x9A: 0x0161, 0x9B: 0x203A, 0x9C: 0x0153, 0x9D: 0x9D, 0x9E: 0x017E, 0x9F: 0x0178,
    ]

    /// html._invalid_codepoints: references to these decode to nothing.
    static func isInvalidCodepoint(_ n: Int) -> Bool {
        (0x1...0x8).contains(n) || (0xE...0x1F).contains(n) || (0x7F...0x9F).contains(n)
            || (0xFDD0...0xFDEF).contains(n) || n == 0xB || (n & 0xFFFE) == 0xFFFE
    }

    // MARK: ftfy's unescape_html

    /// ftfy.fixes.unescape_html: every match of `&#?[0-9A-Za-z]{1,24};` that names an HTML5 entity (or an
    /// all-caps form of a lowercase one, such as &EACUTE;) or is a numeric reference html.unescape decodes
    /// completely is replaced; anything else is left alone.
    static func ftfyUnescape(_ s: String) -> String {
        guard s.unicodeScalars.contains("&") else { return s }
        let u = Array(s.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < u.count {
            guard u[i] == "&", let end = ftfyEntityEnd(u, i) else { out.append(u[i]); i += 1; continue }
            let text = String(String.UnicodeScalarView(u[i..<end]))
            if let v = ftfyEntities[text] {
                out.append(contentsOf: v.unicodeScalars)
            } else if u[i + 1] == "#" {
                let decoded = unescape(text)
                out.append(contentsOf: (decoded.unicodeScalars.contains(";") ? text : decoded).unicodeScalars)
            } else {
                out.append(contentsOf: text.unicodeScalars)
            }
            i = end
        }
        return String(out)
    }

    /// End of a match of `&#?[0-9A-Za-z]{1,24};` at `i` (an '&'), or nil.
    static func ftfyEntityEnd(_ u: [Unicode.Scalar], _ i: Int) -> Int? {
        func run(from j: Int) -> Int? {
            var k = j
            while k < u.count && u[k].isASCIIAlphanumeric { k += 1 }
            return k > j && k - j <= 24 && k < u.count && u[k] == ";" ? k + 1 : nil
        }
        if i + 1 < u.count && u[i + 1] == "#", let e = run(from: i + 2) { return e }
        return run(from: i + 1)
    }

    /// ftfy.chardata.HTML_ENTITIES: "&name;" for every html5 name ending in ';', plus the all-caps form of
    /// each lowercase name that html.unescape leaves alone, decoding to the uppercased character.
    static let ftfyEntities: [String: String] = {
        var out: [String: String] = [:]
        for (name, value) in TextTables.html5Entities where name.hasSuffix(";") {
            out["&" + name] = value
            let upper = name.uppercased()
            if name == name.lowercased() && upper != name && unescape("&" + upper) == "&" + upper {
                out["&" + upper] = String(String.UnicodeScalarView(value.unicodeScalars.flatMap { $0.properties.uppercaseMapping.unicodeScalars }))
            }
        }
        return out
    }()
}

fileprivate extension Unicode.Scalar {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
    var isASCIIHexDigit: Bool { isASCIIDigit || ("a"..."f").contains(self) || ("A"..."F").contains(self) }
    var isASCIIAlphanumeric: Bool { isASCIIDigit || ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
    /// The value of an ASCII hex digit (callers check isASCIIHexDigit).
    var hexValue: Int {
        let v = Int(value)
        return v <= 0x39 ? v - 0x30 : (v | 0x20) - 0x61 + 10
    }
}
