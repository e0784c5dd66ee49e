// Generator tensors as image files: the super-resolved or raw image in [-1, 1] as 8-bit RGB exactly as EG3D's
// scripts quantise it, and the depth image as 16-bit grey with near surfaces bright.
import Codecs
import TensorCore

public enum ImageExport {
    /// An (1, 3, H, W) or (3, H, W) image in [-1, 1] as 8-bit RGB, as gen_samples.py:
    /// `(x · 127.5 + 128).clamp(0, 255).to(uint8)` (truncation toward zero after the clamp; NaN gives 0).
    public static func rgb8(_ image: Tensor) -> Image {
        let t = image.rank == 4 ? image.squeeze(0) : image
        require(t.rank == 3 && t.shape[0] == 3, "ImageExport.rgb8: expected (1, 3, H, W) or (3, H, W), got \(image.shape)")
        let h = t.shape[1], w = t.shape[2], plane = h * w
        let v = t.toArray()
        var samples = [UInt16](repeating: 0, count: 3 * plane)
        for c in 0..<3 {
            for i in 0..<plane {
                let x = v[c * plane + i] * 127.5 + 128
                samples[i * 3 + c] = x >= 255 ? 255 : (x > 0 ? UInt16(x) : 0)   // NaN fails both tests: 0
            }
        }
        return Image(width: w, height: h, channels: 3, bitDepth: 8, samples: samples)
    }

    /// The depth image (1, 1, R, R) or (R, R) as 16-bit grey: depth t along the unit ray maps linearly from
    /// [rayStart, rayEnd] onto [65535, 0] (near is bright, far is dark; values outside are clamped), and rays
    /// whose accumulated weight is below `minWeight` (nothing hit) are 0. Pixel value v gives back
    /// t = rayEnd − v / 65535 · (rayEnd − rayStart).
    public static func depth16(_ depth: Tensor, weights: Tensor, rayStart: Double, rayEnd: Double,
                               minWeight: Float = 1e-3) -> Image {
        require(depth.count == weights.count && depth.shape.count >= 2,
                "ImageExport.depth16: depth \(depth.shape) and weights \(weights.shape) must be the same (…, R, R) size")
        let h = depth.shape[depth.rank - 2], w = depth.shape[depth.rank - 1]
        require(depth.count == h * w, "ImageExport.depth16: expected one depth image, got \(depth.shape)")
        let d = depth.toArray(), wt = weights.toArray()
        let near = Float(rayStart), span = Float(rayEnd - rayStart)
        var samples = [UInt16](repeating: 0, count: h * w)
        for i in 0..<(h * w) where wt[i] >= minWeight && d[i].isFinite {
            let v = Swift.min(Swift.max(1 - (d[i] - near) / span, 0), 1)
            samples[i] = UInt16((v * 65535).rounded())
        }
        return Image(width: w, height: h, channels: 1, bitDepth: 16, samples: samples)
    }
}
