// PNG decoder (PNG specification, 2nd edition / ISO 15948): chunk parsing with every CRC checked (§5.3),
// IHDR validation (§11.2.2), PLTE and tRNS (§11.2.3, §11.3.2.1), image data spread over any number of IDAT
// chunks (§10), the five filter types (§9.2), Adam7 interlacing (§8.2), bit depths 1/2/4/8/16 for every
// colour type the standard allows. Output: grey(+alpha)/RGB(A) `Image`s (palette expanded to RGB, or RGBA
// when tRNS gives alpha; a grey/RGB tRNS colour key becomes an alpha channel; depths below 8 are scaled to 8).
import Foundation

extension PNG {
    /// Decodes a PNG. Throws a `CodecError` naming `name` for anything malformed: bad signature, chunk CRC,
    /// truncation, invalid IHDR fields, more than `maxPixels` pixels, corrupt or short image data, bad
    /// filter types or palette indices.
    public static func decode(_ data: Data, name: String, maxPixels: Int = defaultMaxPixels) throws -> Image {
        try withBytes(data) { buf in
            var decoder = PNGDecoder(buf: buf, name: name, maxPixels: maxPixels)
            return try decoder.decode()
        }
    }

    /// Reads and decodes the PNG file at `path`.
    public static func read(path: String, maxPixels: Int = defaultMaxPixels) throws -> Image {
        try decode(try readCodecFile(path), name: path, maxPixels: maxPixels)
    }
}

/// Adam7 passes (§8.2): x0, y0, dx, dy.
let adam7Passes: [(Int, Int, Int, Int)] = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4),
                                           (1, 0, 2, 2), (0, 1, 1, 2)]

private struct PNGDecoder {
    let buf: UnsafeRawBufferPointer
    let name: String
    let maxPixels: Int
    var width = 0, height = 0, depth = 0, colourType = 0, interlaced = false
    var palette: [UInt8] = []   // RGB triples
    var paletteAlpha: [UInt8] = []
    var colourKey: [Int]? = nil // tRNS for grey / RGB

    init(buf: UnsafeRawBufferPointer, name: String, maxPixels: Int) {
        self.buf = buf
        self.name = name
        self.maxPixels = min(maxPixels, 1 << 40)  // keeps every size computation far from overflow
    }

    func fail(_ message: String) -> CodecError { CodecError(name: name, message: message) }

    var channelsIn: Int { [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][colourType]! }

    mutating func decode() throws -> Image {
        guard buf.count >= 8, PNG.signature.indices.allSatisfy({ buf[$0] == PNG.signature[$0] }) else {
            throw fail("not a PNG file (bad signature)")
        }
        var pos = 8
        var idat: [Range<Int>] = []
        var sawHeader = false, sawEnd = false
        while pos < buf.count {
            guard pos + 12 <= buf.count else { throw fail("truncated chunk header at offset \(pos)") }
            let length = buf.be32(pos)
            let typeBytes = (0..<4).map { buf[pos + 4 + $0] }
            guard typeBytes.allSatisfy({ (65...90).contains($0) || (97...122).contains($0) }) else {
                throw fail("invalid chunk type at offset \(pos)")
            }
            let type = String(decoding: typeBytes, as: UTF8.self)
            guard length <= 0x7FFF_FFFF, pos + 12 + length <= buf.count else {
                throw fail("chunk \(type) at offset \(pos) truncated (length \(length), \(buf.count - pos - 12) bytes left)")
            }
            let body = (pos + 8)..<(pos + 8 + length)
            let crc = CRC32.update(0, UnsafeRawBufferPointer(rebasing: buf[(pos + 4)..<body.upperBound]))
            guard crc == UInt32(buf.be32(body.upperBound)) else { throw fail("chunk \(type) CRC mismatch") }
            guard sawHeader || type == "IHDR" else { throw fail("first chunk is \(type), expected IHDR") }
            switch type {
            case "IHDR":
                guard !sawHeader else { throw fail("second IHDR chunk") }
                try header(body)
                sawHeader = true
            case "PLTE":
                guard idat.isEmpty else { throw fail("PLTE after IDAT") }
                guard length % 3 == 0, length >= 3, length <= 768 else { throw fail("PLTE length \(length) invalid") }
                palette = Array(buf[body])
            case "tRNS":
                try transparency(body)
            case "IDAT":
                idat.append(body)
            case "IEND":
                sawEnd = true
            default:
                // Bit 5 of the first byte clear means critical (§5.4): one we do not know cannot be skipped.
                guard typeBytes[0] & 0x20 != 0 else { throw fail("unknown critical chunk \(type)") }
            }
            pos = body.upperBound + 4
            if sawEnd { break }
        }
        guard sawHeader else { throw fail("no IHDR chunk") }
        guard sawEnd else { throw fail("no IEND chunk (file truncated?)") }
        guard !idat.isEmpty else { throw fail("no IDAT chunk") }
        if colourType == 3 && palette.isEmpty { throw fail("palette image without PLTE") }
        return try pixels(idat)
    }

    mutating func header(_ r: Range<Int>) throws {
        guard r.count == 13 else { throw fail("IHDR length \(r.count), expected 13") }
        let p = r.lowerBound
        width = buf.be32(p)
        height = buf.be32(p + 4)
        depth = Int(buf[p + 8])
        colourType = Int(buf[p + 9])
        guard width > 0, height > 0, width <= 0x7FFF_FFFF, height <= 0x7FFF_FFFF else {
            throw fail("invalid dimensions \(width)x\(height)")
        }
        guard width * height <= maxPixels else {
            throw fail("dimensions \(width)x\(height) exceed the limit of \(maxPixels) pixels")
        }
        let allowed: [Int: [Int]] = [0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16]]
        guard let depths = allowed[colourType] else { throw fail("invalid colour type \(colourType)") }
        guard depths.contains(depth) else { throw fail("bit depth \(depth) invalid for colour type \(colourType)") }
        guard buf[p + 10] == 0 else { throw fail("unknown compression method \(buf[p + 10])") }
        guard buf[p + 11] == 0 else { throw fail("unknown filter method \(buf[p + 11])") }
        guard buf[p + 12] <= 1 else { throw fail("unknown interlace method \(buf[p + 12])") }
        interlaced = buf[p + 12] == 1
    }

    mutating func transparency(_ r: Range<Int>) throws {
        switch colourType {
        case 3:
            guard !palette.isEmpty else { throw fail("tRNS before PLTE") }
            guard r.count <= palette.count / 3 else { throw fail("tRNS has \(r.count) entries for a \(palette.count / 3)-colour palette") }
            paletteAlpha = Array(buf[r])
        case 0:
            guard r.count == 2 else { throw fail("tRNS length \(r.count), expected 2") }
            colourKey = [buf.be16(r.lowerBound)]
        case 2:
            guard r.count == 6 else { throw fail("tRNS length \(r.count), expected 6") }
            colourKey = (0..<3).map { buf.be16(r.lowerBound + 2 * $0) }
        default:
            break  // not allowed with an alpha channel; ignored
        }
    }

    /// Pass geometry: (x0, y0, dx, dy, columns, rows) for every non-empty pass.
    var passes: [(Int, Int, Int, Int, Int, Int)] {
        let list = interlaced ? adam7Passes : [(0, 0, 1, 1)]
        return list.compactMap { (x0, y0, dx, dy) in
            let w = width > x0 ? (width - x0 + dx - 1) / dx : 0
            let h = height > y0 ? (height - y0 + dy - 1) / dy : 0
            return w > 0 && h > 0 ? (x0, y0, dx, dy, w, h) : nil
        }
    }

    func rowBytes(_ columns: Int) -> Int { (columns * channelsIn * depth + 7) / 8 }

    func pixels(_ idat: [Range<Int>]) throws -> Image {
        let expected = passes.reduce(0) { $0 + $1.5 * (1 + rowBytes($1.4)) }
        var joined: [UInt8] = []
        if idat.count > 1 { joined.reserveCapacity(idat.reduce(0) { $0 + $1.count }); for r in idat { joined += buf[r] } }
        let raw = try joined.withUnsafeBytes { j in
            try zlibDecompress(idat.count > 1 ? j : UnsafeRawBufferPointer(rebasing: buf[idat[0]]), name: name,
                               limit: expected, sizeHint: expected, what: "image data (IDAT)")
        }
        defer { raw.release() }
        guard raw.count == expected else { throw fail("image data truncated: \(raw.count) of \(expected) bytes") }
        let hasAlpha = colourType == 4 || colourType == 6 || (colourType == 3 && !paletteAlpha.isEmpty) || colourKey != nil
        let chOut = (colourType == 3 || colourType == 2 || colourType == 6 ? 3 : 1) + (hasAlpha ? 1 : 0)
        let outDepth = depth == 16 ? 16 : 8
        var samples = [UInt16](repeating: 0, count: width * height * chOut)
        let bpp = max(1, channelsIn * depth / 8)
        var offset = 0
        try samples.withUnsafeMutableBufferPointer { out in
            for (x0, y0, dx, dy, pw, ph) in passes {
                let rb = rowBytes(pw)
                try unfilter(raw.base + offset, rb, ph, bpp)
                for r in 0..<ph {
                    let line = UnsafePointer(raw.base + offset + r * (rb + 1) + 1)
                    let dst = out.baseAddress! + ((y0 + r * dy) * width + x0) * chOut
                    try unpack(line, pw, dst, dx * chOut, chOut)
                }
                offset += ph * (rb + 1)
            }
        }
        return Image(width: width, height: height, channels: chOut, bitDepth: outDepth, samples: samples)
    }

    /// Reverses the filters of `rows` scanlines (each a filter-type byte then `n` bytes) in place (§9.2).
    func unfilter(_ base: UnsafeMutablePointer<UInt8>, _ n: Int, _ rows: Int, _ bpp: Int) throws {
        var prior: UnsafeMutablePointer<UInt8>? = nil
        for r in 0..<rows {
            let f = base[r * (n + 1)]
            let line = base + r * (n + 1) + 1
            switch (f, prior) {
            case (0, _), (2, nil): break
            case (1, _), (4, nil):  // Paeth with no row above is Sub
                for i in bpp..<max(bpp, n) { line[i] &+= line[i - bpp] }
            case (2, let b?):
                for i in 0..<n { line[i] &+= b[i] }
            case (3, nil):
                for i in bpp..<max(bpp, n) { line[i] &+= line[i - bpp] >> 1 }
            case (3, let b?):
                for i in 0..<min(bpp, n) { line[i] &+= b[i] >> 1 }
                for i in bpp..<max(bpp, n) { line[i] &+= UInt8((Int(line[i - bpp]) + Int(b[i])) >> 1) }
            case (4, let b?):
                for i in 0..<min(bpp, n) { line[i] &+= b[i] }
                for i in bpp..<max(bpp, n) { line[i] &+= PNG.paethPredictor(line[i - bpp], b[i], b[i - bpp]) }
            default:
                throw fail("invalid filter type \(f) in scanline \(r)")
            }
            prior = line
        }
    }

    /// Converts one unfiltered scanline of `count` pixels into output samples, `step` samples apart.
    func unpack(_ line: UnsafePointer<UInt8>, _ count: Int, _ dst: UnsafeMutablePointer<UInt16>, _ step: Int, _ chOut: Int) throws {
        let chIn = channelsIn, d = depth
        if d == 8 && colourType != 3 && colourKey == nil {
            for i in 0..<count { for c in 0..<chIn { dst[i * step + c] = UInt16(line[i * chIn + c]) } }
            return
        }
        @inline(__always) func raw(_ k: Int) -> Int {
            switch d {
            case 8: return Int(line[k])
            case 16: return Int(line[2 * k]) << 8 | Int(line[2 * k + 1])
            default:
                let bit = k * d
                return Int(line[bit >> 3] >> UInt8(8 - d - (bit & 7))) & ((1 << d) - 1)
            }
        }
        if colourType == 3 {
            let n = palette.count / 3, na = paletteAlpha.count
            for i in 0..<count {
                let idx = raw(i)
                guard idx < n else { throw fail("palette index \(idx) out of range (\(n) colours)") }
                let o = dst + i * step
                o[0] = UInt16(palette[3 * idx]); o[1] = UInt16(palette[3 * idx + 1]); o[2] = UInt16(palette[3 * idx + 2])
                if chOut == 4 { o[3] = idx < na ? UInt16(paletteAlpha[idx]) : 255 }
            }
            return
        }
        let scale = d < 8 ? 255 / ((1 << d) - 1) : 1
        let maxV = UInt16(d == 16 ? 65535 : 255)
        for i in 0..<count {
            let o = dst + i * step
            var matches = colourKey != nil
            for c in 0..<chIn {
                let v = raw(i * chIn + c)
                o[c] = UInt16(v * scale)
                if let key = colourKey, key[c] != v { matches = false }
            }
            if colourKey != nil { o[chIn] = matches ? 0 : maxV }
        }
    }
}
