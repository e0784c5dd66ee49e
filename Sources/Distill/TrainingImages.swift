// The training set in memory: the `train` split of an EG3D-format dataset (every image when it has no
// split.json), decoded once into uint8 planar RGB at the training resolution (resized with torch's antialiased
// bilinear filter when the files differ), with each image's 25-value label and, when present, its captions.
// Held-out (test) identities are never read.
import Codecs
import Dispatch
import Foundation
import PortraitWorld
import TensorCore

public final class TrainingImages: @unchecked Sendable {
    public let path: String
    public let names: [String]
    public let resolution: Int
    /// (count, 25) camera labels of the images, in `names` order.
    public let labels: Tensor
    /// Captions per image (nil when the dataset has no captions.json).
    public let captions: [[String]]?
    /// count · 3 · resolution² bytes, planar per image.
    let pixels: [UInt8]

    public var count: Int { names.count }

    /// Reads the dataset. Errors name the dataset file and the problem: no such folder, no labels, a label that is
    /// not 25 numbers, split names that are not images, missing captions (when `needCaptions`), undecodable images.
    public init(path: String, resolution: Int, needCaptions: Bool = false, threads: Int = 2,
                limit: Int? = nil) throws {
        let ds = try EG3DDataset(path: path)
        self.path = path
        self.resolution = resolution
        guard !ds.imageNames.isEmpty else { throw FileError(path: path, message: "the dataset has no images") }
        guard let labelMap = ds.labels else {
            throw FileError(path: "\(path)/dataset.json", message: "no camera labels: EG3D training needs dataset.json with a 25-value label per image")
        }
        var chosen = ds.split?.train ?? ds.imageNames
        let known = Set(ds.imageNames)
        if let bad = chosen.first(where: { !known.contains($0) }) {
            throw FileError(path: "\(path)/split.json", message: "train split names \(bad), which is not an image of the dataset")
        }
        if let limit { chosen = Array(chosen.prefix(limit)) }
        guard !chosen.isEmpty else { throw FileError(path: "\(path)/split.json", message: "the train split is empty") }
        var flat: [Float] = []
        flat.reserveCapacity(chosen.count * 25)
        for n in chosen {
            guard let l = labelMap[n] else { throw FileError(path: "\(path)/dataset.json", message: "no label for \(n)") }
            guard l.count == 25, l.allSatisfy({ $0.isFinite }) else {
                throw FileError(path: "\(path)/dataset.json", message: "the label of \(n) has \(l.count) values; EG3D cameras need 25 finite numbers")
            }
            flat += l
        }
        labels = Tensor(flat, shape: [chosen.count, 25])
        if let caps = ds.captions {
            var out: [[String]] = []
            for n in chosen {
                guard let c = caps[n], !c.isEmpty else {
                    if needCaptions { throw FileError(path: "\(path)/captions.json", message: "no captions for \(n)") }
                    out.append([]); continue
                }
                out.append(c)
            }
            captions = out
        } else if needCaptions {
            throw FileError(path: "\(path)/captions.json", message: "missing: stages 1-2 train on captioned images")
        } else { captions = nil }
        names = chosen

        // Decode in parallel; each worker writes its own images' bytes.
        let sink = DecodeSink(count: chosen.count * 3 * resolution * resolution)
        let list = chosen
        DispatchQueue.concurrentPerform(iterations: Swift.max(1, threads)) { w in
            var i = w
            while i < list.count {
                do { sink.store(try TrainingImages.decode(ds, list[i], resolution: resolution), image: i) } catch {
                    sink.fail(error); return
                }
                i += Swift.max(1, threads)
            }
        }
        if let e = sink.error { throw e }
        let buffer = sink.bytes
        pixels = buffer
    }

    /// One image as planar RGB bytes at `resolution`.
    static func decode(_ ds: EG3DDataset, _ name: String, resolution r: Int) throws -> [UInt8] {
        var img = try ds.image(name)
        if img.bitDepth != 8 { img = img.converted(bitDepth: 8) }
        if img.channels != 3 { img = img.converted(channels: 3) }
        let plane = img.width * img.height
        if img.width == r && img.height == r {
            var out = [UInt8](repeating: 0, count: 3 * plane)
            for i in 0..<plane { for c in 0..<3 { out[c * plane + i] = UInt8(img.samples[i * 3 + c]) } }
            return out
        }
        // Resize as filtered_resizing would (bilinear, antialiased), then round to bytes.
        let x = Tensor(img.planarFloats().map { $0 * 255 }, shape: [1, 3, img.height, img.width])
        let y = withNoGrad { interpolate(x, size: (r, r), mode: .bilinear, alignCorners: false, antialias: true) }.toArray()
        return y.map { UInt8(Swift.min(Swift.max($0.rounded(), 0), 255)) }
    }

    /// Images at `indices` as (N, 3, R, R) float32 in [−1, 1] (x / 127.5 − 1) and their labels (N, 25).
    public func batch(_ indices: [Int]) -> (images: Tensor, labels: Tensor) {
        let per = 3 * resolution * resolution
        let t = Tensor(uninitializedShape: [indices.count, 3, resolution, resolution])
        let p = t.data
        pixels.withUnsafeBufferPointer { src in
            for (k, i) in indices.enumerated() {
                for j in 0..<per { p[k * per + j] = Float(src[i * per + j]) / 127.5 - 1 }
            }
        }
        let l = labels.indexSelect(axis: 0, Tensor(indices.map(Float.init), shape: [indices.count]))
        return (t, l)
    }

    /// The image indices of step `step` (batch `batch`): positions step·batch … in an endless sequence of
    /// epochs, each a permutation keyed by (seed, epoch) (EG3D's InfiniteSampler shuffles with a seed too).
    public func indices(step: Int, batch: Int, seed: UInt64) -> [Int] {
        (0..<batch).map { k in
            let pos = step * batch + k
            return permutation(epoch: pos / count, seed: seed)[pos % count]
        }
    }

    private var cachedEpoch: (seed: UInt64, epoch: Int, order: [Int])? = nil
    private let cacheLock = NSLock()

    /// Fisher-Yates over the images with a Philox stream keyed by (seed, epoch).
    public func permutation(epoch: Int, seed: UInt64) -> [Int] {
        cacheLock.lock(); defer { cacheLock.unlock() }
        if let c = cachedEpoch, c.seed == seed, c.epoch == epoch { return c.order }
        let g = RandomGenerator(seed: StepStreams.key(seed: seed, index: UInt64(epoch), purpose: .dataOrder))
        var order = Array(0..<count)
        if count > 1 { for i in stride(from: count - 1, to: 0, by: -1) { order.swapAt(i, g.integer(below: i + 1)) } }
        cachedEpoch = (seed, epoch, order)
        return order
    }

    /// EG3D's dataset_label_std buffer: the per-entry standard deviation of the labels (np.std, population).
    public func labelStd() -> Tensor {
        let n = count, v = labels.toArray()
        var out = [Float](repeating: 0, count: 25)
        for j in 0..<25 {
            var mean = 0.0
            for i in 0..<n { mean += Double(v[i * 25 + j]) }
            mean /= Double(n)
            var ss = 0.0
            for i in 0..<n { let d = Double(v[i * 25 + j]) - mean; ss += d * d }
            out[j] = Float((ss / Double(n)).squareRoot())
        }
        return Tensor(out, shape: [25])
    }
}

/// The shared output of the parallel decode: a raw buffer (each image's bytes land in their own slice, so the
/// workers never touch the same memory and no Swift array is mutated concurrently).
final class DecodeSink: @unchecked Sendable {
    private let buffer: UnsafeMutablePointer<UInt8>
    private let count: Int
    private(set) var error: Error?
    private let lock = NSLock()
    init(count: Int) {
        self.count = count
        buffer = .allocate(capacity: Swift.max(count, 1))
        buffer.initialize(repeating: 0, count: Swift.max(count, 1))
    }
    deinit { buffer.deallocate() }
    func store(_ image: [UInt8], image i: Int) {
        image.withUnsafeBufferPointer { (buffer + i * image.count).update(from: $0.baseAddress!, count: image.count) }
    }
    func fail(_ e: Error) { lock.lock(); if error == nil { error = e }; lock.unlock() }
    var bytes: [UInt8] { Array(UnsafeBufferPointer(start: buffer, count: count)) }
}
