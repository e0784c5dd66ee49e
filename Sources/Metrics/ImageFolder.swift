// A folder of images as pytorch-fid's fid_score.py reads one: the files directly in it (not in subfolders)
// whose names end in one of its IMAGE_EXTENSIONS (matched case-sensitively, as its pathlib glob does), sorted
// (a folder with none directly inside, such as an EG3D dataset's 00000/..., is read recursively instead);
// each opened as PIL's Image.open(path).convert('RGB') followed by torchvision's ToTensor (bytes / 255, CHW).
// Only PNG is decoded here (Codecs): a folder holding any other image type pytorch-fid would read (JPEG,
// BMP, TIFF, WebP, PGM/PPM) is an error naming the file, since skipping it would change the result.
import Codecs
import Foundation
import TensorCore

public struct ImageFolderError: Error, CustomStringConvertible {
    public let path: String
    public let message: String
    public var description: String { "\(path): \(message)" }
}

public struct ImageFolder {
    /// The extensions pytorch-fid collects (fid_score.IMAGE_EXTENSIONS).
    public static let pytorchFIDExtensions: Set<String> = ["bmp", "jpg", "jpeg", "pgm", "png", "ppm", "tif", "tiff", "webp"]

    /// The folder as given.
    public let path: String
    /// The PNG files' full paths, sorted by name.
    public let files: [String]

    /// Lists `path`. Throws if it is not a folder, holds no PNG files, or holds images of another type.
    public init(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ImageFolderError(path: path, message: "no such folder")
        }
        guard isDirectory.boolValue else { throw ImageFolderError(path: path, message: "not a folder") }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            throw ImageFolderError(path: path, message: "cannot list: \(error.localizedDescription)")
        }
        var png: [String] = [], other: [String] = []
        for name in names.sorted() {
            let ext = (name as NSString).pathExtension
            guard ImageFolder.pytorchFIDExtensions.contains(ext) else { continue }
            let full = (path as NSString).appendingPathComponent(name)
            var dir: ObjCBool = false
            if FileManager.default.fileExists(atPath: full, isDirectory: &dir), dir.boolValue { continue }
            if ext == "png" { png.append(full) } else { other.append(name) }
        }
        // A dataset folder (EG3D's 00000/img00000000.png, `dreamportrait data synth`) holds its images in
        // subfolders: with no image directly inside, every image below the folder is read, sorted by relative path.
        if png.isEmpty && other.isEmpty, let walker = FileManager.default.enumerator(atPath: path) {
            var nested: [String] = []
            while let rel = walker.nextObject() as? String {
                if ImageFolder.pytorchFIDExtensions.contains((rel as NSString).pathExtension) { nested.append(rel) }
            }
            for rel in nested.sorted(by: { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }) {
                if (rel as NSString).pathExtension == "png" { png.append((path as NSString).appendingPathComponent(rel)) } else { other.append(rel) }
            }
        }
        if !other.isEmpty {
            throw ImageFolderError(path: path, message: "holds \(other.count) image\(other.count == 1 ? "" : "s") that are not PNG (\(other.prefix(3).joined(separator: ", "))\(other.count > 3 ? ", ..." : "")); only PNG is supported (JPEG is not): convert them to PNG, or move them out of the folder")
        }
        guard !png.isEmpty else {
            throw ImageFolderError(path: path, message: "holds no PNG images (file names are matched as pytorch-fid matches them: *.png, lower case; subfolders are searched only when no image lies directly in the folder)")
        }
        self.path = path
        files = png
    }

    /// One image as pytorch-fid sees it: Image.open(path).convert('RGB') then ToTensor. Grey is copied to
    /// R, G and B; alpha is dropped (not composited), as PIL's convert('RGB') does; a 16-bit image keeps each
    /// sample's high byte (what PIL does to 16-bit colour PNGs). Values are byte / 255 in Float32.
    /// -> (3, H, W) in [0, 1]
    public static func loadRGB(_ file: String) throws -> Tensor {
        let image: Image
        do { image = try PNG.read(path: file) } catch let e as CodecError {
            throw ImageFolderError(path: file, message: "not a readable PNG (\(e.message))")
        }
        return rgb(image)
    }

    /// A decoded image as `loadRGB` converts it -> (3, H, W) in [0, 1].
    public static func rgb(_ image: Image) -> Tensor {
        let plane = image.width * image.height, ch = image.channels
        let shift: UInt16 = image.bitDepth == 16 ? 8 : 0
        let t = Tensor(uninitializedShape: [3, image.height, image.width])
        let p = t.data
        image.samples.withUnsafeBufferPointer { s in
            for i in 0..<plane {
                for c in 0..<3 {
                    let sample = s[i * ch + (ch >= 3 ? c : 0)] >> shift
                    p[c * plane + i] = Float(sample) / 255
                }
            }
        }
        return t
    }

    /// A fingerprint of the folder's listing: every PNG's name, size and modification time. Any added, removed,
    /// renamed or rewritten image changes it.
    public func fingerprint() throws -> UInt64 {
        var h = StableHash()
        for file in files {
            let attributes = try FileManager.default.attributesOfItem(atPath: file)
            h.add(file.hasPrefix(path + "/") ? String(file.dropFirst(path.count + 1)) : (file as NSString).lastPathComponent)
            h.add(UInt64((attributes[.size] as? NSNumber)?.int64Value ?? -1))
            h.add(UInt64(bitPattern: Int64(((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0) * 1e6)))
        }
        return h.value
    }
}

/// FNV-1a, 64-bit: a hash that is the same on every run and platform (Swift's Hasher is seeded per process).
public struct StableHash {
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    public init() {}

    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var h = value
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        value = h
    }
    public mutating func add(_ s: String) {
        var bytes = Array(s.utf8)
        bytes.append(0)   // terminator, so ("ab", "c") and ("a", "bc") differ
        bytes.withUnsafeBytes { add($0) }
    }
    public mutating func add(_ x: UInt64) { withUnsafeBytes(of: x.littleEndian) { add($0) } }

    /// The hash of a whole file's bytes, read in 1 MiB pieces.
    public static func file(_ path: String) throws -> UInt64 {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ImageFolderError(path: path, message: "cannot open for reading")
        }
        defer { try? handle.close() }
        var h = StableHash()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { chunk.withUnsafeBytes { h.add($0) } }
        return h.value
    }
}
