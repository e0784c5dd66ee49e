// One split of an EG3D-format dataset held in memory for training: the images as bytes at the training
// resolution (box-filtered down from the stored size by an integer factor), with their camera labels, both
// caption styles and the world's binary attributes. Decoding thousands of PNGs takes a while, so the bytes
// are cached in the dataset's `.bank/` folder (keyed by split, resolution and the image list) when writable.
import Codecs
import Foundation
import PortraitWorld
import TensorCore

public final class WorldImageBank: @unchecked Sendable {
    public let resolution: Int
    public let names: [String]
    /// N × 3 × R × R bytes (planar RGB per image).
    public let pixels: [UInt8]
    /// 25 floats per image (cam2world row-major, normalised intrinsics); empty when the dataset has none.
    public let labels: [[Float]]
    public let captions: [[String]]
    public let captionsOOD: [[String]]
    /// Attribute.allCases order, 1 or 0 per image; empty when the dataset has no attributes.json.
    public let attributes: [[Float]]
    public var count: Int { names.count }

    public enum Split: String { case train, test, all }

    /// Loads `split` of the dataset at `path` at `resolution`. `limit` keeps the first N images (tests).
    public init(dataset path: String, split: Split, resolution: Int, limit: Int? = nil, progress: Bool = false) throws {
        let ds = try EG3DDataset(path: path)
        var list: [String]
        switch split {
        case .all: list = ds.imageNames
        case .train, .test:
            guard let s = ds.split else { throw FileError(path: "\(path)/split.json", message: "missing: the \(split.rawValue) split is needed (held-out identities)") }
            list = (split == .train ? s.train : s.test).sorted()
        }
        if let limit { list = Array(list.prefix(limit)) }
        guard !list.isEmpty else { throw FileError(path: path, message: "the \(split.rawValue) split has no images") }
        guard resolution >= 4, resolution <= 1024 else { throw FileError(path: path, message: "training resolution \(resolution) is outside 4...1024") }
        names = list
        self.resolution = resolution
        let plane = 3 * resolution * resolution
        let cacheDir = (path as NSString).appendingPathComponent(".bank")
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in list.joined(separator: "\n").utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        let cachePath = (cacheDir as NSString).appendingPathComponent("\(split.rawValue)-\(resolution)-\(list.count)-\(String(h, radix: 16)).u8")
        if let cached = FileManager.default.contents(atPath: cachePath), cached.count == list.count * plane {
            pixels = [UInt8](cached)
        } else {
            var out = [UInt8](repeating: 0, count: list.count * plane)
            final class Shared: @unchecked Sendable { let lock = NSLock(); var failure: Error?; var done = 0 }
            let shared = Shared(), files = list, workers = ProcessInfo.processInfo.activeProcessorCount
            out.withUnsafeMutableBufferPointer { buf in
                nonisolated(unsafe) let base = buf.baseAddress!
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    var i = worker
                    while i < files.count {
                        do {
                            let img = try ds.image(files[i])
                            try WorldImageBank.downsample(img, to: resolution, into: base + i * plane, name: "\(path)/\(files[i])")
                        } catch { shared.lock.lock(); shared.failure = shared.failure ?? error; shared.lock.unlock(); return }
                        shared.lock.lock(); shared.done += 1
                        if progress && shared.done % 2000 == 0 { FileHandle.standardError.write(Data("  decoded \(shared.done)/\(files.count) images\n".utf8)) }
                        shared.lock.unlock()
                        i += workers
                    }
                }
            }
            let failure = shared.failure
            if let failure { throw failure }
            pixels = out
            try? FileManager.default.createDirectory(atPath: cacheDir, withIntermediateDirectories: true)
            try? writeAtomically(Data(out), to: URL(fileURLWithPath: cachePath))
        }
        labels = list.map { ds.labels?[$0] ?? [] }
        captions = list.map { ds.captions?[$0] ?? [] }
        captionsOOD = list.map { ds.captionsOOD?[$0] ?? [] }
        if let attrs = ds.attributes {
            attributes = try list.map { name in
                guard let a = attrs[name] else { throw FileError(path: "\(path)/attributes.json", message: "no entry for \(name)") }
                return Attribute.allCases.map { (a[$0.rawValue] as? Bool ?? false) ? 1 : 0 }
            }
        } else { attributes = [] }
    }

    /// Box-filters an RGB(A) image down to `r`×`r` by an integer factor into planar bytes.
    static func downsample(_ img: Image, to r: Int, into dst: UnsafeMutablePointer<UInt8>, name: String) throws {
        guard img.width == img.height, img.width % r == 0, img.channels >= 3, img.bitDepth == 8 else {
            throw FileError(path: name, message: "is \(img.width)x\(img.height), \(img.channels) channels, \(img.bitDepth)-bit; training at \(r)x\(r) needs a square 8-bit RGB image whose side is a multiple of \(r)")
        }
        let f = img.width / r, area = f * f, ch = img.channels
        for c in 0..<3 {
            for y in 0..<r {
                for x in 0..<r {
                    var s = 0
                    for dy in 0..<f { for dx in 0..<f { s += Int(img.samples[((y * f + dy) * img.width + x * f + dx) * ch + c]) } }
                    dst[(c * r + y) * r + x] = UInt8((s + area / 2) / area)
                }
            }
        }
    }

    /// Images `indices` as a [B, 3, R, R] tensor in [-1, 1] (x / 127.5 - 1, EG3D's mapping).
    public func images(_ indices: [Int]) -> Tensor {
        let plane = 3 * resolution * resolution
        let t = Tensor(uninitializedShape: [indices.count, 3, resolution, resolution])
        let d = t.data
        pixels.withUnsafeBufferPointer { src in
            for (b, i) in indices.enumerated() {
                require(i >= 0 && i < count, "WorldImageBank.images: index \(i) outside 0..<\(count)")
                for k in 0..<plane { d[b * plane + k] = Float(src[i * plane + k]) / 127.5 - 1 }
            }
        }
        return t
    }

    /// Camera labels of `indices` as [B, 25].
    public func labelTensor(_ indices: [Int]) -> Tensor {
        var v: [Float] = []
        for i in indices {
            require(labels[i].count == 25, "WorldImageBank: \(names[i]) has no 25-number camera label")
            v += labels[i]
        }
        return Tensor(v, shape: [indices.count, 25])
    }

    /// Attributes of `indices` as [B, A] in {0, 1}.
    public func attributeTensor(_ indices: [Int]) -> Tensor {
        Tensor(indices.flatMap { attributes[$0] }, shape: [indices.count, Attribute.allCases.count])
    }
}
