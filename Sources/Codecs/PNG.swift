// PNG encoder (PNG specification, 2nd edition / ISO 15948): signature (§5.2), chunk layout and CRC (§5.3),
// IHDR/IDAT/IEND (§11.2), filtering (§9) with the adaptive per-row choice of the filter whose output has the
// smallest sum of absolute values taken as signed bytes (§12.8), zlib-compressed image data (§10).
// Decoding is in PNGDecode.swift.
import Foundation

/// PNG files: `PNG.encode` / `PNG.write` and `PNG.decode` / `PNG.read`.
public enum PNG {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// The default cap on `width * height` accepted by the decoder: 2^26 pixels (8192 x 8192).
    public static let defaultMaxPixels = 1 << 26

    /// Encodes `image` as a non-interlaced PNG: 1/2/3/4 channels become colour types grey, grey+alpha, RGB,
    /// RGBA at the image's bit depth (8 or 16). `level` is the deflate level (0...9; 0 also skips filtering).
    public static func encode(_ image: Image, level: Int = 6) -> Data {
        let raw = filteredScanlineBuffer(image, adaptive: level > 0)
        var z = ByteBuffer(capacity: raw.count / 3 + 1024)
        zlibCompress(UnsafeRawBufferPointer(raw.bytes), level: level, into: &z)
        raw.release()
        var out = ByteBuffer(capacity: z.count + 128)
        out.append(signature)
        let colourType: UInt8 = [0, 4, 2, 6][image.channels - 1]
        var ihdr = ByteBuffer(capacity: 13)
        ihdr.appendBE32(UInt32(image.width))
        ihdr.appendBE32(UInt32(image.height))
        ihdr.append([UInt8(image.bitDepth), colourType, 0, 0, 0])
        appendChunk("IHDR", UnsafeRawBufferPointer(ihdr.bytes), to: &out)
        ihdr.release()
        let idat = UnsafeRawBufferPointer(z.bytes)
        var start = 0
        let maxChunk = 1 << 20
        repeat {
            let end = min(idat.count, start + maxChunk)
            appendChunk("IDAT", UnsafeRawBufferPointer(rebasing: idat[start..<end]), to: &out)
            start = end
        } while start < idat.count
        z.release()
        appendChunk("IEND", UnsafeRawBufferPointer(start: nil, count: 0), to: &out)
        return out.takeData()
    }

    /// Encodes `image` and writes it to `path` atomically. Throws a `CodecError` naming `path`.
    public static func write(_ image: Image, to path: String, level: Int = 6) throws {
        try writeCodecFile(encode(image, level: level), to: path)
    }

    static func appendChunk(_ type: String, _ body: UnsafeRawBufferPointer, to out: inout ByteBuffer) {
        out.appendBE32(UInt32(body.count))
        let t = Array(type.utf8)
        out.append(t)
        out.append(body)
        let crc = t.withUnsafeBytes { CRC32.update(CRC32.update(0, $0), body) }
        out.appendBE32(crc)
    }

    /// The filtered scanlines (filter-type byte + filtered row, per row) that go into IDAT; for tests.
    static func filteredScanlines(_ image: Image) -> Data { filteredScanlineBuffer(image, adaptive: true).takeData() }

    static func filteredScanlineBuffer(_ image: Image, adaptive: Bool) -> ByteBuffer {
        let bps = image.bitDepth / 8, ch = image.channels
        let bpp = ch * bps, rowBytes = image.width * bpp, h = image.height, w = image.width
        var out = ByteBuffer(capacity: (rowBytes + 1) * h)
        let rows = UnsafeMutablePointer<UInt8>.allocate(capacity: rowBytes * 7)
        defer { rows.deallocate() }
        var cur = rows, prior = rows + rowBytes
        prior.initialize(repeating: 0, count: rowBytes)
        let cand = rows + 2 * rowBytes  // five candidate rows, one per filter type
        image.samples.withUnsafeBufferPointer { s in
            for y in 0..<h {
                let src = s.baseAddress! + y * w * ch
                if bps == 1 {
                    for i in 0..<rowBytes { cur[i] = UInt8(truncatingIfNeeded: src[i]) }
                } else {
                    for i in 0..<(w * ch) { cur[2 * i] = UInt8(src[i] >> 8); cur[2 * i + 1] = UInt8(truncatingIfNeeded: src[i]) }
                }
                var best = 0
                if adaptive {
                    best = chooseFilter(cur, prior, cand, rowBytes, bpp)
                    out.append(UInt8(best))
                    out.append(UnsafeRawBufferPointer(start: cand + best * rowBytes, count: rowBytes))
                } else {
                    out.append(0)
                    out.append(UnsafeRawBufferPointer(start: cur, count: rowBytes))
                }
                swap(&cur, &prior)
            }
        }
        return out
    }

    /// Writes the five filtered versions of `cur` into `cand` and returns the filter type whose output has
    /// the smallest sum of |signed byte|. Branch-free, wrapping arithmetic so the compiler can vectorise it.
    @inline(__always)
    static func chooseFilter(_ cur: UnsafeMutablePointer<UInt8>, _ prior: UnsafeMutablePointer<UInt8>,
                             _ cand: UnsafeMutablePointer<UInt8>, _ n: Int, _ bpp: Int) -> Int {
        let none = cand, sub = cand + n, up = cand + 2 * n, avg = cand + 3 * n, paeth = cand + 4 * n
        @inline(__always) func cost(_ v: UInt8) -> UInt32 {
            let t = Int32(Int8(bitPattern: v))
            let s = t &>> 31
            return UInt32(truncatingIfNeeded: (t ^ s) &- s)
        }
        @inline(__always) func absDiff(_ x: Int32, _ y: Int32) -> Int32 {
            let d = x &- y, s = d &>> 31
            return (d ^ s) &- s
        }
        var s0: UInt32 = 0, s1: UInt32 = 0, s2: UInt32 = 0, s3: UInt32 = 0, s4: UInt32 = 0
        let head = min(bpp, n)
        for i in 0..<head {  // no left neighbour: Sub = None, Paeth = Up
            let x = cur[i], b = prior[i]
            none[i] = x; sub[i] = x; up[i] = x &- b; avg[i] = x &- (b &>> 1); paeth[i] = x &- b
            s0 &+= cost(x); s1 &+= cost(x); s2 &+= cost(up[i]); s3 &+= cost(avg[i]); s4 &+= cost(paeth[i])
        }
        for i in head..<max(head, n) {
            let x = cur[i], a = cur[i &- bpp], b = prior[i], c = prior[i &- bpp]
            let v1 = x &- a, v2 = x &- b
            let v3 = x &- UInt8(truncatingIfNeeded: (UInt16(a) &+ UInt16(b)) &>> 1)
            let ia = Int32(a), ib = Int32(b), ic = Int32(c)
            let pa = absDiff(ib, ic), pb = absDiff(ia, ic), pc = absDiff(ia &+ ib, ic &+ ic)
            let pred = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c)
            let v4 = x &- pred
            none[i] = x; sub[i] = v1; up[i] = v2; avg[i] = v3; paeth[i] = v4
            s0 &+= cost(x); s1 &+= cost(v1); s2 &+= cost(v2); s3 &+= cost(v3); s4 &+= cost(v4)
        }
        var best = 0, bestSum = s0
        if s1 < bestSum { best = 1; bestSum = s1 }
        if s2 < bestSum { best = 2; bestSum = s2 }
        if s3 < bestSum { best = 3; bestSum = s3 }
        if s4 < bestSum { best = 4 }
        return best
    }

    /// The Paeth predictor (§9.4): whichever of left, above, upper-left is closest to left + above - upper-left.
    @inline(__always) static func paethPredictor(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
        let p = Int(a) + Int(b) - Int(c)
        let pa = abs(p - Int(a)), pb = abs(p - Int(b)), pc = abs(p - Int(c))
        if pa <= pb && pa <= pc { return a }
        return pb <= pc ? b : c
    }
}
