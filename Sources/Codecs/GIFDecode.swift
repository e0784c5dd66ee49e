// GIF decoder (GIF87a/GIF89a specification): header, logical screen, colour tables, graphic control and
// NETSCAPE2.0 extensions, image descriptors with interlacing (§20, Appendix E), LZW (Appendix F). Used to
// verify what GIF.encode writes; every read is bounds-checked and malformed files throw a `CodecError`.
import Foundation

/// A decoded GIF: the logical screen and each frame's raw palette indices.
public struct GIFAnimation: Sendable {
    public var width: Int
    public var height: Int
    /// The NETSCAPE2.0 loop count (0 = forever), nil without the extension.
    public var loopCount: Int?
    /// The global colour table as RGB triples (empty if none).
    public var globalPalette: [UInt8]
    public var frames: [GIFFrame]
}

/// One image of a GIF, as stored.
public struct GIFFrame: Sendable {
    public var left: Int, top: Int, width: Int, height: Int
    /// The colour table that applies (local, else global) as RGB triples.
    public var palette: [UInt8]
    /// `width * height` palette indices, row-major (already de-interlaced).
    public var indices: [UInt8]
    /// Delay in centiseconds from the graphic control extension (0 if none).
    public var delay: Int
    public var transparentIndex: Int?

    /// The frame as an 8-bit RGB image (indices beyond the palette read as black).
    public func image() -> Image {
        var img = Image(width: width, height: height, channels: 3)
        let n = palette.count / 3
        for i in 0..<indices.count {
            let k = Int(indices[i])
            if k < n { for c in 0..<3 { img.samples[3 * i + c] = UInt16(palette[3 * k + c]) } }
        }
        return img
    }
}

extension GIF {
    /// Decodes a GIF. Throws a `CodecError` naming `name` when it is malformed, a frame has more than
    /// `maxPixels` pixels, or all frames together more than 16 x `maxPixels` (LZW can expand a small file a lot).
    public static func decode(_ data: Data, name: String, maxPixels: Int = PNG.defaultMaxPixels) throws -> GIFAnimation {
        try withBytes(data) { try decode($0, name: name, maxPixels: maxPixels) }
    }

    /// Reads and decodes the GIF file at `path`.
    public static func read(path: String, maxPixels: Int = PNG.defaultMaxPixels) throws -> GIFAnimation {
        try decode(try readCodecFile(path), name: path, maxPixels: maxPixels)
    }

    private static func decode(_ b: UnsafeRawBufferPointer, name: String, maxPixels requested: Int) throws -> GIFAnimation {
        let maxPixels = min(requested, 1 << 40)
        func fail(_ m: String) -> CodecError { CodecError(name: name, message: "GIF: " + m) }
        var pos = 0
        func need(_ n: Int) throws { if pos + n > b.count { throw fail("truncated at offset \(pos)") } }
        func table(_ packed: UInt8) throws -> [UInt8] {
            let n = 3 << (Int(packed & 7) + 1)
            try need(n)
            defer { pos += n }
            return Array(b[pos..<(pos + n)])
        }
        /// Concatenated data sub-blocks up to the zero-length terminator.
        func subBlocks() throws -> [UInt8] {
            var out = [UInt8]()
            while true {
                try need(1)
                let n = Int(b[pos])
                pos += 1
                if n == 0 { return out }
                try need(n)
                out += b[pos..<(pos + n)]
                pos += n
            }
        }
        try need(13)
        let sig = String(decoding: b[0..<6], as: UTF8.self)
        guard sig == "GIF87a" || sig == "GIF89a" else { throw fail("not a GIF file (bad signature)") }
        var anim = GIFAnimation(width: b.le16(6), height: b.le16(8), loopCount: nil, globalPalette: [], frames: [])
        let packed = b[10]
        pos = 13
        if packed & 0x80 != 0 { anim.globalPalette = try table(packed) }
        var delay = 0, totalPixels = 0
        var transparent: Int? = nil
        while true {
            try need(1)
            let tag = b[pos]
            pos += 1
            switch tag {
            case 0x3B:
                return anim
            case 0x21:
                try need(1)
                let label = b[pos]
                pos += 1
                let body = try subBlocks()
                if label == 0xF9 && body.count >= 4 {
                    delay = Int(body[1]) | Int(body[2]) << 8
                    transparent = body[0] & 1 != 0 ? Int(body[3]) : nil
                } else if label == 0xFF && body.count >= 14 && String(decoding: body[0..<11], as: UTF8.self) == "NETSCAPE2.0"
                            && body[11] == 1 {
                    anim.loopCount = Int(body[12]) | Int(body[13]) << 8
                }
            case 0x2C:
                try need(9)
                let left = b.le16(pos), top = b.le16(pos + 2), w = b.le16(pos + 4), h = b.le16(pos + 6)
                let flags = b[pos + 8]
                pos += 9
                guard w > 0, h > 0, w * h <= maxPixels else { throw fail("frame size \(w)x\(h) invalid or too large") }
                totalPixels += w * h
                guard totalPixels <= maxPixels * 16 else { throw fail("frames total more than \(maxPixels * 16) pixels") }
                let palette = flags & 0x80 != 0 ? try table(flags) : anim.globalPalette
                try need(1)
                let minCodeSize = Int(b[pos])
                pos += 1
                guard (1...11).contains(minCodeSize) else { throw fail("LZW minimum code size \(minCodeSize) invalid") }
                let data = try subBlocks()
                var indices = try lzwDecode(data, minCodeSize: minCodeSize, count: w * h, name: name)
                if flags & 0x40 != 0 { indices = deinterlace(indices, w, h) }
                anim.frames.append(GIFFrame(left: left, top: top, width: w, height: h, palette: palette, indices: indices,
                                            delay: delay, transparentIndex: transparent))
                delay = 0
                transparent = nil
            default:
                throw fail("unknown block 0x\(String(tag, radix: 16)) at offset \(pos - 1)")
            }
        }
    }

    /// Rows stored in interlaced order (every 8th from 0, every 8th from 4, every 4th from 2, every 2nd from 1).
    static func deinterlace(_ src: [UInt8], _ w: Int, _ h: Int) -> [UInt8] {
        var out = src
        var r = 0
        for (start, step) in [(0, 8), (4, 8), (2, 4), (1, 2)] {
            var y = start
            while y < h {
                out.replaceSubrange((y * w)..<((y + 1) * w), with: src[(r * w)..<((r + 1) * w)])
                r += 1
                y += step
            }
        }
        return out
    }

    /// Decodes GIF LZW data into exactly `count` indices.
    static func lzwDecode(_ data: [UInt8], minCodeSize: Int, count: Int, name: String) throws -> [UInt8] {
        func fail(_ m: String) -> CodecError { CodecError(name: name, message: "GIF: LZW " + m) }
        let clear = 1 << minCodeSize, eoi = clear + 1
        var prefix = [Int](repeating: 0, count: 4096)
        var suffix = [UInt8](repeating: 0, count: 4096)
        var length = [Int](repeating: 0, count: 4096)
        for i in 0..<clear { suffix[i] = UInt8(truncatingIfNeeded: i); length[i] = 1 }
        var out = [UInt8](repeating: 0, count: count)
        var n = 0
        var codeSize = minCodeSize + 1, next = eoi + 1, prev = -1
        var bitPos = 0
        let totalBits = data.count * 8
        while true {
            guard bitPos + codeSize <= totalBits else {
                if n == count { return out }  // some encoders omit the end code
                throw fail("data truncated (\(n) of \(count) pixels)")
            }
            var code = 0
            for k in 0..<codeSize { code |= Int(data[(bitPos + k) >> 3] >> UInt8((bitPos + k) & 7) & 1) << k }
            bitPos += codeSize
            if code == clear { codeSize = minCodeSize + 1; next = eoi + 1; prev = -1; continue }
            if code == eoi { break }
            var first: UInt8
            if prev < 0 {
                guard code < clear else { throw fail("first code \(code) after a clear is not a literal") }
                first = UInt8(code)
            } else {
                guard code <= next && code < 4096 else { throw fail("code \(code) not yet defined") }
                var c = code == next ? prev : code
                while c >= clear { c = prefix[c] }
                first = suffix[c]
                if next < 4096 {
                    prefix[next] = prev
                    suffix[next] = first
                    length[next] = length[prev] + 1
                    next += 1
                    if next == 1 << codeSize && codeSize < 12 { codeSize += 1 }
                }
            }
            let len = length[code]
            guard n + len <= count else { throw fail("more pixel data than the \(count)-pixel frame") }
            var c = code
            for k in stride(from: len - 1, through: 0, by: -1) {
                out[n + k] = suffix[c]
                c = prefix[c]
            }
            n += len
            prev = code
        }
        guard n == count else { throw fail("data ends after \(n) of \(count) pixels") }
        return out
    }
}
