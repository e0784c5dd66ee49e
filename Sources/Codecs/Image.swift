// The raster image type the codecs read and write: interleaved 8- or 16-bit integer samples, with
// conversions to and from Float32 in [0, 1] (interleaved HWC or planar CHW, the layout tensors use).
import Foundation

/// A `width × height` raster with `channels` interleaved samples per pixel — 1 grey, 2 grey + alpha, 3 RGB,
/// 4 RGBA — stored row-major from the top-left pixel. Every sample is an integer in `0...maxValue`, where
/// `maxValue` is 255 for `bitDepth` 8 and 65535 for `bitDepth` 16; the samples are kept in a `[UInt16]`
/// whatever the depth. Sample `c` of pixel `(x, y)` is `samples[(y * width + x) * channels + c]`.
///
/// Float views map `0...maxValue` linearly onto `0...1` (no gamma); storing floats clamps to `[0, 1]` and
/// rounds to the nearest integer level. Alpha, when present, is straight (not premultiplied).
public struct Image: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public let channels: Int
    public let bitDepth: Int
    public var samples: [UInt16]

    /// The largest sample value: 255 or 65535.
    public var maxValue: Int { bitDepth == 16 ? 65535 : 255 }
    /// Whether the last channel is alpha (2 or 4 channels).
    public var hasAlpha: Bool { channels == 2 || channels == 4 }
    /// `width * height`.
    public var pixelCount: Int { width * height }

    /// An image filled with `value` (every sample).
    public init(width: Int, height: Int, channels: Int, bitDepth: Int = 8, fill value: UInt16 = 0) {
        Image.check(width, height, channels, bitDepth)
        self.width = width
        self.height = height
        self.channels = channels
        self.bitDepth = bitDepth
        samples = [UInt16](repeating: value, count: width * height * channels)
    }

    /// An image over existing interleaved samples (`width * height * channels` of them, each <= maxValue).
    public init(width: Int, height: Int, channels: Int, bitDepth: Int = 8, samples: [UInt16]) {
        Image.check(width, height, channels, bitDepth)
        precondition(samples.count == width * height * channels, "Image: \(samples.count) samples for \(width)x\(height)x\(channels)")
        precondition(bitDepth == 16 || samples.allSatisfy { $0 <= 255 }, "Image: 8-bit samples above 255")
        self.width = width
        self.height = height
        self.channels = channels
        self.bitDepth = bitDepth
        self.samples = samples
    }

    /// An 8-bit image over interleaved bytes.
    public init(width: Int, height: Int, channels: Int, bytes: [UInt8]) {
        self.init(width: width, height: height, channels: channels, bitDepth: 8, samples: bytes.map(UInt16.init))
    }

    /// An image from interleaved (HWC) floats in [0, 1], clamped and rounded to `bitDepth` levels. NaN maps to 0.
    public init(width: Int, height: Int, channels: Int, bitDepth: Int = 8, interleaved: [Float]) {
        precondition(interleaved.count == width * height * channels, "Image: \(interleaved.count) floats for \(width)x\(height)x\(channels)")
        self.init(width: width, height: height, channels: channels, bitDepth: bitDepth)
        let scale = Float(maxValue)
        samples.withUnsafeMutableBufferPointer { s in
            for i in 0..<interleaved.count { s[i] = Image.quantise(interleaved[i], scale) }
        }
    }

    /// An image from planar (CHW: all of channel 0, then channel 1, ...) floats in [0, 1].
    public init(width: Int, height: Int, channels: Int, bitDepth: Int = 8, planar: [Float]) {
        precondition(planar.count == width * height * channels, "Image: \(planar.count) floats for \(width)x\(height)x\(channels)")
        self.init(width: width, height: height, channels: channels, bitDepth: bitDepth)
        let scale = Float(maxValue), plane = width * height, ch = channels
        samples.withUnsafeMutableBufferPointer { s in
            for c in 0..<ch { for i in 0..<plane { s[i * ch + c] = Image.quantise(planar[c * plane + i], scale) } }
        }
    }

    @inline(__always) static func quantise(_ v: Float, _ scale: Float) -> UInt16 {
        let x = v * scale + 0.5
        return x >= 1 ? UInt16(min(x, scale)) : 0   // NaN fails `>=` and maps to 0
    }

    static func check(_ w: Int, _ h: Int, _ c: Int, _ d: Int) {
        precondition(w > 0 && h > 0, "Image: size \(w)x\(h) must be positive")
        precondition((1...4).contains(c), "Image: \(c) channels (1...4 supported)")
        precondition(d == 8 || d == 16, "Image: bit depth \(d) (8 or 16 supported)")
        precondition(w.multipliedReportingOverflow(by: h).overflow == false && w * h <= Int(Int32.max) * 4, "Image: \(w)x\(h) too large")
    }

    /// Sample `c` of pixel `(x, y)`.
    @inlinable public subscript(x: Int, y: Int, c: Int) -> UInt16 {
        get { samples[(y * width + x) * channels + c] }
        set { samples[(y * width + x) * channels + c] = newValue }
    }

    /// All samples as floats in [0, 1], interleaved (HWC).
    public func interleavedFloats() -> [Float] {
        let inv = 1 / Float(maxValue)
        return samples.map { Float($0) * inv }
    }

    /// All samples as floats in [0, 1], planar (CHW).
    public func planarFloats() -> [Float] {
        let inv = 1 / Float(maxValue), plane = width * height, ch = channels
        var out = [Float](repeating: 0, count: samples.count)
        samples.withUnsafeBufferPointer { s in
            for i in 0..<plane { for c in 0..<ch { out[c * plane + i] = Float(s[i * ch + c]) * inv } }
        }
        return out
    }

    /// The samples as bytes (8-bit images only).
    public var bytes: [UInt8] {
        precondition(bitDepth == 8, "Image.bytes: a 16-bit image (convert with converted(bitDepth: 8) first)")
        return samples.map { UInt8(truncatingIfNeeded: $0) }
    }

    /// The image at another bit depth: 8 -> 16 multiplies by 257, 16 -> 8 rounds to the nearest level.
    public func converted(bitDepth d: Int) -> Image {
        if d == bitDepth { return self }
        precondition(d == 8 || d == 16, "Image: bit depth \(d) (8 or 16 supported)")
        let s = d == 16 ? samples.map { $0 &* 257 } : samples.map { UInt16((UInt32($0) * 255 + 32767) / 65535) }
        return Image(width: width, height: height, channels: channels, bitDepth: d, samples: s)
    }

    /// The image with another channel count. Grey -> RGB copies; RGB -> grey uses Rec. 601 luma weights;
    /// adding alpha makes it opaque; dropping alpha discards it (composite first if that matters).
    public func converted(channels to: Int) -> Image {
        if to == channels { return self }
        precondition((1...4).contains(to), "Image: \(to) channels (1...4 supported)")
        var out = Image(width: width, height: height, channels: to, bitDepth: bitDepth)
        let fromColour = channels >= 3, toColour = to >= 3, maxV = UInt16(maxValue)
        let ci = channels, co = to
        samples.withUnsafeBufferPointer { s in
            out.samples.withUnsafeMutableBufferPointer { o in
                for i in 0..<(width * height) {
                    let a = s.baseAddress! + i * ci, b = o.baseAddress! + i * co
                    if fromColour == toColour {
                        for k in 0..<(toColour ? 3 : 1) { b[k] = a[k] }
                    } else if toColour {
                        b[0] = a[0]; b[1] = a[0]; b[2] = a[0]
                    } else {
                        let r = 299 * UInt32(a[0]), g = 587 * UInt32(a[1]), bl = 114 * UInt32(a[2])
                        b[0] = UInt16((r + g + bl + 500) / 1000)
                    }
                    if co == 2 || co == 4 { b[co - 1] = (ci == 2 || ci == 4) ? a[ci - 1] : maxV }
                }
            }
        }
        return out
    }
}
