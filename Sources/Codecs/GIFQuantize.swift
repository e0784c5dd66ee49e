// Colour quantisation for the GIF encoder: median cut (Heckbert 1982) over a 5-bit-per-channel histogram,
// each box's colour being the mean of its pixels; images with few distinct colours keep them exactly.
// Mapping is to the nearest palette colour (squared RGB distance) through a direct-mapped cache, with
// optional ordered (8x8 Bayer) dithering, which unlike error diffusion does not shimmer between video frames.
import Foundation

/// A palette of RGB colours and a pixel -> palette-index mapper.
struct Quantiser {
    /// RGB triples, at most 256 colours.
    let palette: [UInt8]
    private var cache: [UInt32]  // direct-mapped by colour hash: colour (24 bits) | index << 24, or all ones

    var count: Int { palette.count / 3 }

    init(palette: [UInt8]) {
        self.palette = palette
        cache = [UInt32](repeating: UInt32.max, count: 1 << 16)
    }

    /// A palette of at most `colours` entries for the 8-bit RGB `images`.
    init(images: [Image], colours: Int) {
        self.init(palette: Quantiser.medianCut(images, max(2, min(256, colours))))
    }

    static func medianCut(_ images: [Image], _ colours: Int) -> [UInt8] {
        // Exact palette when the images have few distinct colours.
        var exact = Set<UInt32>()
        scan: for img in images {
            for i in 0..<img.pixelCount {
                exact.insert(UInt32(img.samples[3 * i]) << 16 | UInt32(img.samples[3 * i + 1]) << 8 | UInt32(img.samples[3 * i + 2]))
                if exact.count > colours { break scan }
            }
        }
        if exact.count <= colours {
            return exact.sorted().flatMap { [UInt8($0 >> 16), UInt8(($0 >> 8) & 255), UInt8($0 & 255)] }
        }
        // Histogram of 5-bit colours with the sums of the exact values, over at most ~2M sampled pixels.
        var count = [Int](repeating: 0, count: 1 << 15)
        var sums = [Int](repeating: 0, count: 3 << 15)
        let total = images.reduce(0) { $0 + $1.pixelCount }
        let stride = max(1, total / (1 << 21))
        for img in images {
            img.samples.withUnsafeBufferPointer { s in
                var i = 0
                while i < img.pixelCount {
                    let r = Int(s[3 * i]), g = Int(s[3 * i + 1]), b = Int(s[3 * i + 2])
                    let bin = (r >> 3) << 10 | (g >> 3) << 5 | b >> 3
                    count[bin] += 1
                    sums[3 * bin] += r; sums[3 * bin + 1] += g; sums[3 * bin + 2] += b
                    i += stride
                }
            }
        }
        var bins = (0..<(1 << 15)).filter { count[$0] > 0 }
        // Boxes are ranges of `bins`; split the one with the largest pixels x extent at its pixel median.
        struct Box { var lo: Int; var hi: Int; var pixels: Int; var axis: Int; var extent: Int }
        func makeBox(_ lo: Int, _ hi: Int) -> Box {
            var r0 = 31, r1 = 0, g0 = 31, g1 = 0, b0 = 31, b1 = 0, pixels = 0
            for k in lo..<hi {
                let bin = bins[k], r = bin >> 10, g = (bin >> 5) & 31, b = bin & 31
                r0 = min(r0, r); r1 = max(r1, r); g0 = min(g0, g); g1 = max(g1, g); b0 = min(b0, b); b1 = max(b1, b)
                pixels += count[bin]
            }
            let er = r1 - r0, eg = g1 - g0, eb = b1 - b0
            let axis = eg >= er && eg >= eb ? 1 : er >= eb ? 0 : 2
            return Box(lo: lo, hi: hi, pixels: pixels, axis: axis, extent: [er, eg, eb][axis])
        }
        var boxes = [makeBox(0, bins.count)]
        while boxes.count < colours {
            guard let pick = boxes.indices.filter({ boxes[$0].extent > 0 })
                .max(by: { boxes[$0].pixels * boxes[$0].extent < boxes[$1].pixels * boxes[$1].extent }) else { break }
            let box = boxes[pick]
            let shift = [10, 5, 0][box.axis]
            bins[box.lo..<box.hi].sort { ($0 >> shift) & 31 < ($1 >> shift) & 31 }
            var acc = 0, cut = box.lo + 1
            for k in box.lo..<box.hi {
                acc += count[bins[k]]
                if acc * 2 >= box.pixels { cut = k + 1; break }
            }
            // Keep both halves non-empty and never cut between bins of equal coordinate.
            cut = min(max(cut, box.lo + 1), box.hi - 1)
            let v = (bins[cut - 1] >> shift) & 31
            var c = cut
            while c < box.hi && (bins[c] >> shift) & 31 == v { c += 1 }
            if c == box.hi { c = cut; while c > box.lo + 1 && (bins[c - 1] >> shift) & 31 == (bins[c] >> shift) & 31 { c -= 1 } }
            boxes[pick] = makeBox(box.lo, c)
            boxes.append(makeBox(c, box.hi))
        }
        var palette = [UInt8]()
        for box in boxes {
            var s = [0, 0, 0]
            for k in box.lo..<box.hi { for a in 0..<3 { s[a] += sums[3 * bins[k] + a] } }
            for a in 0..<3 { palette.append(UInt8((s[a] + box.pixels / 2) / box.pixels)) }
        }
        return palette
    }

    /// The palette index nearest to (r, g, b).
    @inline(__always) mutating func map(_ r: Int, _ g: Int, _ b: Int) -> UInt8 {
        let colour = UInt32(r << 16 | g << 8 | b)
        let slot = Int((colour &* 2_654_435_761) >> 16)
        let hit = cache[slot]
        if hit != UInt32.max && hit & 0xFF_FFFF == colour { return UInt8(hit >> 24) }
        var best = 0, bestD = Int.max
        palette.withUnsafeBufferPointer { p in
            for i in 0..<(p.count / 3) {
                let dr = Int(p[3 * i]) - r, dg = Int(p[3 * i + 1]) - g, db = Int(p[3 * i + 2]) - b
                let d = dr * dr + dg * dg + db * db
                if d < bestD { bestD = d; best = i }
            }
        }
        cache[slot] = colour | UInt32(best) << 24
        return UInt8(best)
    }

    /// 8x8 Bayer thresholds 0...63.
    static let bayer: [Int] = {
        var m = [0]
        var n = 1
        while n < 8 {
            var next = [Int](repeating: 0, count: 4 * n * n)
            for y in 0..<n { for x in 0..<n {
                let v = 4 * m[y * n + x]
                next[y * 2 * n + x] = v; next[y * 2 * n + x + n] = v + 2
                next[(y + n) * 2 * n + x] = v + 3; next[(y + n) * 2 * n + x + n] = v + 1
            } }
            m = next
            n *= 2
        }
        return m
    }()

    /// Palette indices for an 8-bit RGB image, optionally with ordered dithering.
    mutating func indices(_ img: Image, dither: Bool) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: img.pixelCount)
        let spread = 256 / max(2, Int(Double(count).squareRoot()))  // about one palette step
        let w = img.width
        img.samples.withUnsafeBufferPointer { s in
            for i in 0..<img.pixelCount {
                var r = Int(s[3 * i]), g = Int(s[3 * i + 1]), b = Int(s[3 * i + 2])
                if dither {
                    let t = (Quantiser.bayer[(i / w & 7) * 8 + (i % w & 7)] * 2 - 63) * spread / 128
                    r = min(255, max(0, r + t)); g = min(255, max(0, g + t)); b = min(255, max(0, b + t))
                }
                out[i] = map(r, g, b)
            }
        }
        return out
    }
}
