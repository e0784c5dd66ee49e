// Animated GIF encoder (GIF89a specification, CompuServe 1990): header and logical screen descriptor (§17-18),
// global or local colour tables (§19, §21), graphic control extension for per-frame delays (§23), the
// NETSCAPE2.0 application extension for looping, variable-length-code LZW (Appendix F) with code-size growth
// up to 12 bits and a clear code when the table fills, data in sub-blocks of at most 255 bytes (§15).
// Palettes come from median cut (GIFQuantize.swift). Decoding is in GIFDecode.swift.
import Foundation

/// Animated GIFs: `GIF.encode` for orbit videos, `GIF.decode` to read them back.
public enum GIF {
    /// How frames become palette images.
    public struct Options: Sendable {
        /// Times the animation repeats after the first play; 0 loops forever, nil writes no loop extension
        /// (play once).
        public var loopCount: Int? = 0
        /// Palette size, 2...256.
        public var colours: Int = 256
        /// One palette per frame (better colours, larger file) instead of one global palette.
        public var perFramePalette: Bool = false
        /// Ordered (Bayer 8x8) dithering; stable from frame to frame.
        public var dither: Bool = false
        public init(loopCount: Int? = 0, colours: Int = 256, perFramePalette: Bool = false, dither: Bool = false) {
            self.loopCount = loopCount
            self.colours = colours
            self.perFramePalette = perFramePalette
            self.dither = dither
        }
    }

    /// Encodes equally sized frames (grey or RGB, 8- or 16-bit; alpha is ignored) shown `delay` centiseconds each.
    public static func encode(frames: [Image], delay: Int = 4, options: Options = Options()) -> Data {
        encode(frames: frames, delays: [Int](repeating: delay, count: frames.count), options: options)
    }

    /// Encodes frames with one delay (in centiseconds, 0...65535) per frame.
    public static func encode(frames: [Image], delays: [Int], options: Options = Options()) -> Data {
        precondition(!frames.isEmpty, "GIF.encode: no frames")
        precondition(delays.count == frames.count, "GIF.encode: \(delays.count) delays for \(frames.count) frames")
        let w = frames[0].width, h = frames[0].height
        precondition(frames.allSatisfy { $0.width == w && $0.height == h }, "GIF.encode: frames differ in size")
        precondition(w <= 65535 && h <= 65535, "GIF.encode: \(w)x\(h) exceeds GIF's 65535 limit")
        let rgb = frames.map { $0.converted(bitDepth: 8).converted(channels: 3) }
        var out = ByteBuffer(capacity: w * h * frames.count / 2 + 1024)
        out.append(Array("GIF89a".utf8))
        out.appendLE16(UInt16(w))
        out.appendLE16(UInt16(h))
        var global: Quantiser? = options.perFramePalette ? nil : Quantiser(images: rgb, colours: options.colours)
        if let g = global {
            let bits = tableBits(g.count)
            out.append(0x80 | 0x70 | UInt8(bits - 1))  // global table, 8-bit colour resolution, size
            out.append([0, 0])                         // background index, aspect ratio
            appendTable(g.palette, bits, &out)
        } else {
            out.append([0x70, 0, 0])
        }
        if let loops = options.loopCount {
            out.append([0x21, 0xFF, 11] + Array("NETSCAPE2.0".utf8) + [3, 1])
            out.appendLE16(UInt16(clamping: loops))
            out.append(0)
        }
        for (k, frame) in rgb.enumerated() {
            out.append([0x21, 0xF9, 4, 0x04])  // graphic control: disposal "leave in place", no transparency
            out.appendLE16(UInt16(clamping: max(0, delays[k])))
            out.append([0, 0])
            out.append(0x2C)
            out.append([0, 0, 0, 0])
            out.appendLE16(UInt16(w))
            out.appendLE16(UInt16(h))
            var q: Quantiser
            if let g = global {
                q = g
                out.append(0)
            } else {
                q = Quantiser(images: [frame], colours: options.colours)
                let bits = tableBits(q.count)
                out.append(0x80 | UInt8(bits - 1))
                appendTable(q.palette, bits, &out)
            }
            let indices = q.indices(frame, dither: options.dither)
            if global != nil { global = q }  // keep the warmed mapping cache
            let minCodeSize = max(2, tableBits(q.count))
            out.append(UInt8(minCodeSize))
            let lzw = lzwEncode(indices, minCodeSize: minCodeSize)
            var start = 0
            while start < lzw.count {
                let n = min(255, lzw.count - start)
                out.append(UInt8(n))
                lzw.withUnsafeBytes { out.append(UnsafeRawBufferPointer(rebasing: $0[start..<(start + n)])) }
                start += n
            }
            out.append(0)
        }
        out.append(0x3B)
        return out.takeData()
    }

    /// Encodes and writes atomically to `path`. Throws a `CodecError` naming `path`.
    public static func write(frames: [Image], delay: Int = 4, to path: String, options: Options = Options()) throws {
        try writeCodecFile(encode(frames: frames, delay: delay, options: options), to: path)
    }

    /// Bits for a colour table holding `n` colours (1...8; GIF tables have 2^bits entries).
    static func tableBits(_ n: Int) -> Int {
        var b = 1
        while 1 << b < n { b += 1 }
        return b
    }

    static func appendTable(_ palette: [UInt8], _ bits: Int, _ out: inout ByteBuffer) {
        out.append(palette)
        out.append([UInt8](repeating: 0, count: 3 * (1 << bits) - palette.count))
    }

    /// GIF LZW (Appendix F): codes LSB-first, starting at minCodeSize + 1 bits and growing to 12; a clear
    /// code starts the stream and is sent again whenever the 4096-entry table fills.
    static func lzwEncode(_ indices: [UInt8], minCodeSize: Int) -> [UInt8] {
        let clear = 1 << minCodeSize, eoi = clear + 1
        var out = [UInt8]()
        out.reserveCapacity(indices.count / 2 + 16)
        var buf: UInt32 = 0, bits = 0
        var codeSize = minCodeSize + 1, next = eoi + 1
        // Open-addressed table: key (prefix << 8 | byte) + 1, 0 = empty; value = code.
        let slots = 1 << 13
        var keys = [UInt32](repeating: 0, count: slots)
        var values = [UInt16](repeating: 0, count: slots)
        @inline(__always) func emit(_ code: Int) {
            buf |= UInt32(code) << UInt32(bits)
            bits += codeSize
            while bits >= 8 { out.append(UInt8(truncatingIfNeeded: buf)); buf >>= 8; bits -= 8 }
        }
        emit(clear)
        guard var prefix = indices.first.map(Int.init) else { emit(eoi); if bits > 0 { out.append(UInt8(buf)) }; return out }
        for k in indices.dropFirst() {
            let key = UInt32(prefix << 8 | Int(k)) + 1
            var slot = Int((key &* 2_654_435_761) >> 19)
            while keys[slot] != 0 && keys[slot] != key { slot = (slot + 1) & (slots - 1) }
            if keys[slot] == key { prefix = Int(values[slot]); continue }
            emit(prefix)
            if next < 4096 {
                keys[slot] = key
                values[slot] = UInt16(next)
                next += 1
                if next > 1 << codeSize && codeSize < 12 { codeSize += 1 }
            } else {
                emit(clear)
                for i in 0..<slots { keys[i] = 0 }
                next = eoi + 1
                codeSize = minCodeSize + 1
            }
            prefix = Int(k)
        }
        emit(prefix)
        emit(eoi)
        if bits > 0 { out.append(UInt8(truncatingIfNeeded: buf)) }
        return out
    }
}
