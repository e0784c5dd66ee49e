// What the world knows about each training image beyond its pixels (written by `data synth --aux` into
// aux/<name>_depth.npy and aux/<name>_mask.npy at the image's resolution), reduced to the generator's neural
// rendering resolution R for the world-supervised stage 0:
//   depth    (N, R, R) Float: mean ray distance of the cell, where the head covers the whole cell (else 0)
//   coverage (N, R, R) UInt8: the head's coverage of the cell, 0…255 (255: every pixel fully covered)
// Held in memory and cached in the dataset's `.bank/` folder (keyed by resolution and the image list) like the
// images. A missing or malformed aux file is an error naming it.
import Foundation
import TensorCore

public final class WorldGeometryBank: @unchecked Sendable {
    public let resolution: Int
    public let count: Int
    public let depth: [Float]
    public let coverage: [UInt8]

    /// Loads the geometry of `names` (the order of the matching WorldImageBank) at `resolution`.
    public init(dataset path: String, names: [String], resolution r: Int, progress: Bool = false) throws {
        guard r >= 1, r <= 1024 else { throw FileError(path: path, message: "geometry resolution \(r) is outside 1...1024") }
        resolution = r
        count = names.count
        let cell = r * r
        let cacheDir = (path as NSString).appendingPathComponent(".bank")
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in names.joined(separator: "\n").utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        let cachePath = (cacheDir as NSString).appendingPathComponent("geometry-\(r)-\(names.count)-\(String(h, radix: 16)).bin")
        if let cached = FileManager.default.contents(atPath: cachePath), cached.count == names.count * cell * 5 {
            let bytes = [UInt8](cached)
            depth = bytes.withUnsafeBytes { raw in
                (0..<(names.count * cell)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
            }
            coverage = Array(bytes[(names.count * cell * 4)...])
            return
        }
        var d = [Float](repeating: 0, count: names.count * cell)
        var c = [UInt8](repeating: 0, count: names.count * cell)
        final class Shared: @unchecked Sendable { let lock = NSLock(); var failure: Error?; var done = 0 }
        let shared = Shared(), workers = ProcessInfo.processInfo.activeProcessorCount
        d.withUnsafeMutableBufferPointer { dBuf in
            c.withUnsafeMutableBufferPointer { cBuf in
                nonisolated(unsafe) let dBase = dBuf.baseAddress!, cBase = cBuf.baseAddress!
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    var i = worker
                    while i < names.count {
                        do {
                            let stem = (path as NSString).appendingPathComponent("aux/" + (names[i] as NSString).deletingPathExtension)
                            try WorldGeometryBank.reduce(depth: try NPYArray.read(path: stem + "_depth.npy"), depthPath: stem + "_depth.npy",
                                                         mask: try NPYArray.read(path: stem + "_mask.npy"), maskPath: stem + "_mask.npy",
                                                         to: r, depth: dBase + i * cell, coverage: cBase + i * cell)
                        } catch { shared.lock.lock(); shared.failure = shared.failure ?? error; shared.lock.unlock(); return }
                        shared.lock.lock(); shared.done += 1
                        if progress && shared.done % 5000 == 0 { FileHandle.standardError.write(Data("  read depth and masks of \(shared.done)/\(names.count) images\n".utf8)) }
                        shared.lock.unlock()
                        i += workers
                    }
                }
            }
        }
        if let f = shared.failure { throw f }
        depth = d
        coverage = c
        var out = Data(capacity: names.count * cell * 5)
        d.withUnsafeBytes { out.append(contentsOf: $0) }
        out.append(contentsOf: c)
        try? FileManager.default.createDirectory(atPath: cacheDir, withIntermediateDirectories: true)
        try? writeAtomically(out, to: URL(fileURLWithPath: cachePath))
    }

    /// Box-reduces one image's depth (S, S) Float and mask (S, S) bytes to r×r cells (S a multiple of r).
    static func reduce(depth: NPYArray, depthPath: String, mask: NPYArray, maskPath: String, to r: Int,
                       depth out: UnsafeMutablePointer<Float>, coverage cov: UnsafeMutablePointer<UInt8>) throws {
        guard depth.shape.count == 2, depth.shape[0] == depth.shape[1], depth.shape[0] % r == 0, case .float32(let dv) = depth.values else {
            throw FileError(path: depthPath, message: "shape \(depth.shape): expected a square float32 map whose side is a multiple of \(r)")
        }
        guard mask.shape == depth.shape, case .uint8(let mv) = mask.values else {
            throw FileError(path: maskPath, message: "shape \(mask.shape): expected a uint8 map of the depth's shape \(depth.shape)")
        }
        let s = depth.shape[0], f = s / r
        for y in 0..<r {
            for x in 0..<r {
                var sum = 0.0, m = 0, full = true
                for dy in 0..<f {
                    for dx in 0..<f {
                        let k = (y * f + dy) * s + x * f + dx
                        m += Int(mv[k])
                        if mv[k] == 255 && dv[k].isFinite { sum += Double(dv[k]) } else { full = false }
                    }
                }
                out[y * r + x] = full ? Float(sum / Double(f * f)) : 0
                cov[y * r + x] = UInt8((m + f * f / 2) / (f * f))
            }
        }
    }

    /// Depth (B, 1, R, R), the mask of fully covered cells where depth is defined (B, 1, R, R) in {0, 1}, and
    /// coverage (B, 1, R, R) in [0, 1] of `indices`.
    public func batch(_ indices: [Int]) -> (depth: Tensor, valid: Tensor, coverage: Tensor) {
        let cell = resolution * resolution
        var d = [Float](), v = [Float](), c = [Float]()
        d.reserveCapacity(indices.count * cell); v.reserveCapacity(indices.count * cell); c.reserveCapacity(indices.count * cell)
        for i in indices {
            require(i >= 0 && i < count, "WorldGeometryBank.batch: index \(i) outside 0..<\(count)")
            for k in 0..<cell {
                let cv = coverage[i * cell + k]
                d.append(depth[i * cell + k])
                v.append(cv == 255 && depth[i * cell + k] > 0 ? 1 : 0)
                c.append(Float(cv) / 255)
            }
        }
        let shape = [indices.count, 1, resolution, resolution]
        return (Tensor(d, shape: shape), Tensor(v, shape: shape), Tensor(c, shape: shape))
    }
}
