// The one place the world's pixels become files: PNG through the Codecs module, and NumPy .npy arrays for the
// optional per-image depth, mask and part-ID maps (kept out of image extensions so EG3D's dataset reader, which
// takes every image file in the folder as a training image, ignores them).
import Codecs
import Foundation
import TensorCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum ImageOutput {
    /// PNG bytes of an 8-bit image (`channels` interleaved samples per pixel, row 0 at the top).
    public static func png(_ bytes: [UInt8], width: Int, height: Int, channels: Int = 3, level: Int = 6) -> Data {
        PNG.encode(Image(width: width, height: height, channels: channels, bytes: bytes), level: level)
    }

    /// Writes an 8-bit RGB image as PNG (deflate level 3: half the time of level 6 for files about 7% larger),
    /// atomically. Errors name the path.
    public static func writePNG(_ rgb: [UInt8], width: Int, height: Int, path: String) throws {
        try write(png(rgb, width: width, height: height, level: 3), to: path)
    }

    /// Writes `data` through a temporary file in the same folder and rename(2), which replaces an existing file
    /// atomically. (FileManager.replaceItemAt fails on Linux when the destination exists, so it is not used.)
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        do { try data.write(to: tmp) } catch {
            throw FileError(path: path, message: "cannot write: \(error.localizedDescription)")
        }
        guard rename(tmp.path, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: tmp)
            throw FileError(path: path, message: "cannot write: \(reason)")
        }
    }

    /// The rendering's colour image as a Codecs image (for contact sheets and GIF frames).
    public static func image(_ r: Rendering) -> Image {
        Image(width: r.resolution, height: r.resolution, channels: 3, bytes: r.rgb)
    }

    /// An animated GIF of one identity orbiting (`PoseDistribution.orbit`), `delay` centiseconds per frame.
    /// `progress(frame)` runs after each frame.
    public static func turntable(_ id: Identity, frames: Int, resolution: Int, yawRange: Double = 0.6, delay: Int = 6,
                                 progress: (Int) -> Void = { _ in }) -> Data {
        let scene = HeadScene(identity: id)
        var images: [Image] = []
        for (f, cam) in PoseDistribution().orbit(frames: frames, yawRange: yawRange).enumerated() {
            images.append(image(Renderer.render(scene, camera: cam, options: RenderOptions(resolution: resolution))))
            progress(f + 1)
        }
        return GIF.encode(frames: images, delay: delay, options: GIF.Options(dither: true))
    }

    /// A NumPy format 1.0 .npy file: `descr` is "<f4" (Float32 little-endian) or "|u1" (UInt8); C order.
    public static func npy(_ payload: Data, descr: String, shape: [Int]) -> Data {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(dims), }"
        // Magic (6) + version (2) + header length (2) + header + newline is padded to a multiple of 64.
        let total = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var d = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let n = UInt16(header.utf8.count)
        d.append(contentsOf: [UInt8(n & 0xFF), UInt8(n >> 8)])
        d.append(contentsOf: Array(header.utf8))
        d.append(payload)
        return d
    }

    /// Depth (Float32, ray distance, +inf on background), coverage mask (UInt8) and part IDs (UInt8) as .npy files.
    public static func auxiliary(_ r: Rendering) -> (depth: Data, mask: Data, parts: Data) {
        let R = r.resolution
        let depth = r.depth.withUnsafeBufferPointer { p -> Data in
            var le = [UInt32](repeating: 0, count: p.count)
            for i in 0..<p.count { le[i] = p[i].bitPattern.littleEndian }
            return le.withUnsafeBytes { Data($0) }
        }
        return (npy(depth, descr: "<f4", shape: [R, R]), npy(Data(r.mask), descr: "|u1", shape: [R, R]),
                npy(Data(r.parts), descr: "|u1", shape: [R, R]))
    }
}
