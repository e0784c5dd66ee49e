// CLIP's image preprocessing as transformers' CLIPImageProcessor (models/clip/image_processing_clip.py on the
// torchvision backend): resize the shortest edge to `size` (the other to int(size · long / short)) with
// antialiased bicubic (or bilinear) interpolation, centre crop (top = int((H - crop) / 2)), then normalise with
// CLIP's mean and std. The resize is PyTorch's `interpolate(..., antialias=True)` on floats
// (aten UpSampleKernel.cpp _compute_weights_aa: Keys' cubic with a = -0.5, support widened by the
// downscale factor, weights normalised per output pixel, computed in Float32), applied as two small matrix
// products restricted to the cropped window, so it is differentiable with respect to the image.
//
// Difference from transformers: its processor receives 8-bit images and resizes them as uint8: torch's uint8
// kernel runs the width pass, saturates to 0...255 and rounds, then the height pass, saturating and rounding
// again, with fixed-point weights. This one takes Float images in [0, 1] (what the renderer produces) and, by
// default, saturates after each pass (`clampAfterResize`) but does not round: on 8-bit images it agrees with
// transformers to within one grey level (1/255 before normalisation), with or without `roundToUInt8`, which
// also rounds after each pass (gradients pass straight through the rounding).
import Foundation
import TensorCore

public struct CLIPImageProcessor: Sendable {
    public enum Resample: Int, Sendable {
        /// PIL's code 2.
        case bilinear = 2
        /// PIL's code 3, CLIP's default.
        case bicubic = 3
    }

    /// Target of the shortest edge (preprocessor_config.json `size.shortest_edge`).
    public var shortestEdge = 224
    public var cropHeight = 224, cropWidth = 224
    public var resample = Resample.bicubic
    public var doResize = true, doCenterCrop = true, doNormalize = true
    /// Clamp resized values to [0, 1], as the 8-bit pipeline of transformers' processor saturates bicubic
    /// overshoot (false: torch's float interpolate exactly).
    public var clampAfterResize = true
    /// Round to the 8-bit grid after each resize pass, as transformers' uint8 pipeline does (implies the
    /// clamping; the rounding's gradient is taken as the identity).
    public var roundToUInt8 = false
    /// OPENAI_CLIP_MEAN and OPENAI_CLIP_STD.
    public var imageMean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    public var imageStd: [Float] = [0.26862954, 0.26130258, 0.27577711]

    public init() {}

    /// Reads preprocessor_config.json from a Hugging Face CLIP folder (defaults for absent fields).
    public init(folder: String) throws {
        let path = (folder as NSString).appendingPathComponent("preprocessor_config.json")
        guard FileManager.default.fileExists(atPath: path) else {
            throw FileError(path: path, message: "missing: a CLIP folder's image settings are in preprocessor_config.json")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw FileError(path: path, message: "cannot read: \(error.localizedDescription)")
        }
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FileError(path: path, message: "not a JSON object")
        }
        func int(_ v: Any?) -> Int? { (v as? NSNumber)?.intValue }
        func floats(_ key: String) throws -> [Float]? {
            guard let v = json[key] else { return nil }
            if let n = v as? NSNumber { return [Float](repeating: n.floatValue, count: 3) }
            guard let a = v as? [NSNumber], a.count == 3 else { throw FileError(path: path, message: "\(key) must be a number or three numbers") }
            return a.map(\.floatValue)
        }
        if let s = json["size"] {
            guard let e = int(s) ?? int((s as? [String: Any])?["shortest_edge"]) else {
                throw FileError(path: path, message: "size must be a number or {\"shortest_edge\": n}")
            }
            shortestEdge = e
        }
        if let c = json["crop_size"] {
            if let n = int(c) { cropHeight = n; cropWidth = n } else if let d = c as? [String: Any], let h = int(d["height"]), let w = int(d["width"]) {
                cropHeight = h; cropWidth = w
            } else { throw FileError(path: path, message: "crop_size must be a number or {\"height\": h, \"width\": w}") }
        }
        if let r = int(json["resample"]) {
            guard let m = Resample(rawValue: r) else { throw FileError(path: path, message: "resample \(r) is not supported (2: bilinear, 3: bicubic)") }
            resample = m
        }
        doResize = json["do_resize"] as? Bool ?? true
        doCenterCrop = json["do_center_crop"] as? Bool ?? true
        doNormalize = json["do_normalize"] as? Bool ?? true
        imageMean = try floats("image_mean") ?? imageMean
        imageStd = try floats("image_std") ?? imageStd
        try validate(path: path)
    }

    /// (height, width) after the shortest-edge resize (get_resize_output_image_size, default_to_square=False).
    public func resizedSize(height h: Int, width w: Int) -> (Int, Int) {
        guard doResize else { return (h, w) }
        let (short, long) = w <= h ? (w, h) : (h, w)
        let newLong = Int(Double(shortestEdge * long) / Double(short))
        return w <= h ? (newLong, shortestEdge) : (shortestEdge, newLong)
    }

    /// images (B, C, H, W) with values in [0, 1] -> pixel values (B, C, cropHeight, cropWidth) for the
    /// vision model. Differentiable.
    public func callAsFunction(_ images: Tensor) -> Tensor {
        require(images.rank == 4 && images.shape[1] == imageMean.count,
                "CLIPImageProcessor: images must be (B, \(imageMean.count), H, W), got \(images.shape)")
        let (h, w) = (images.shape[2], images.shape[3])
        let (rh, rw) = resizedSize(height: h, width: w)
        require(!doCenterCrop || (rh >= cropHeight && rw >= cropWidth),
                "CLIPImageProcessor: a \(rh)x\(rw) image is smaller than the \(cropHeight)x\(cropWidth) crop")
        let top = doCenterCrop ? Int(Double(rh - cropHeight) / 2) : 0, left = doCenterCrop ? Int(Double(rw - cropWidth) / 2) : 0
        let oh = doCenterCrop ? cropHeight : rh, ow = doCenterCrop ? cropWidth : rw
        var x = images
        if doResize && (rh != h || rw != w) {
            let fh = CLIPImageProcessor.filterMatrix(inSize: h, outSize: rh, rows: top..<(top + oh), resample)
            let fw = CLIPImageProcessor.filterMatrix(inSize: w, outSize: rw, rows: left..<(left + ow), resample)
            // Width pass, then height pass (torch's order): (oh, H) · ((B, C, H, W) · (W, ow)).
            x = saturate(x.matmul(fw.transpose(0, 1)))
            x = saturate(fh.matmul(x))
        } else if oh != h || ow != w {
            x = x.slice(axis: 2, start: top, end: top + oh).slice(axis: 3, start: left, end: left + ow)
        }
        guard doNormalize else { return x }
        let c = imageMean.count
        return (x - Tensor(imageMean, shape: [1, c, 1, 1])) / Tensor(imageStd, shape: [1, c, 1, 1])
    }

    /// The 8-bit pipeline's saturation (and rounding) after a resize pass.
    func saturate(_ x: Tensor) -> Tensor {
        guard clampAfterResize || roundToUInt8 else { return x }
        let c = x.clamp(min: 0, max: 1)
        guard roundToUInt8 else { return c }
        let rounded = withNoGrad { Tensor(c.toArray().map { ($0 * 255).rounded() / 255 }, shape: c.shape) }
        return c + (rounded - c.detach()) // straight-through
    }

    /// Rows `rows` of the (outSize, inSize) antialiased resize matrix along one axis (Float32 weights).
    static func filterMatrix(inSize: Int, outSize: Int, rows: Range<Int>, _ resample: Resample) -> Tensor {
        let scale = Float(inSize) / Float(outSize)
        let interp: Float = resample == .bicubic ? 4 : 2
        let support: Float = scale >= 1 ? interp * 0.5 * scale : interp * 0.5
        let invScale: Float = scale >= 1 ? 1 / scale : 1
        var m = [Float](repeating: 0, count: rows.count * inSize)
        for (r, i) in rows.enumerated() {
            let center = scale * (Float(i) + 0.5)
            let lo = Swift.max(Int(center - support + 0.5), 0)
            let n = Swift.min(Int(center + support + 0.5), inSize) - lo
            var w = [Float](repeating: 0, count: Swift.max(n, 0))
            var total: Float = 0
            for j in 0..<Swift.max(n, 0) {
                w[j] = filter((Float(j + lo) - center + 0.5) * invScale, resample)
                total += w[j]
            }
            for j in 0..<w.count { m[r * inSize + lo + j] = total != 0 ? w[j] / total : w[j] }
        }
        return Tensor(m, shape: [rows.count, inSize])
    }

    /// Keys' cubic convolution kernel with a = -0.5 (PyTorch's antialiased bicubic), or the triangle.
    static func filter(_ x: Float, _ resample: Resample) -> Float {
        let t = Swift.abs(x)
        switch resample {
        case .bilinear: return t < 1 ? 1 - t : 0
        case .bicubic:
            let a: Float = -0.5
            if t < 1 { return ((a + 2) * t - (a + 3)) * t * t + 1 }
            if t < 2 { return (((t - 5) * t + 8) * t - 4) * a }
            return 0
        }
    }
}
