// EG3D's dataset format and its reader. A dataset is a folder or a zip of images plus dataset.json,
// {"labels": [["00000/img00000000.png", [25 floats]], ...]} as EG3D's dataset tool writes it (labels may be
// null). This world adds captions.json and captions_ood.json (file name -> captions), attributes.json (ground
// truth) and split.json ({"train": [...], "test": [...]}). The reader takes EG3D datasets made elsewhere (e.g.
// FFHQ through EG3D's pipeline) with or without those extra files, and lists images as EG3D's ImageFolderDataset
// does: every file with an image extension, sorted by code point.
import Codecs
import Foundation
import TensorCore

public enum DatasetFormat {
    /// EG3D's archive name for image `index`: "00000/img00000000.png" (the 8-digit index; its first 5 digits name the folder).
    public static func imageName(_ index: Int) -> String {
        let s = String(format: "%08d", index)
        return "\(s.prefix(5))/img\(s).png"
    }

    /// Extensions PIL opens, which EG3D's ImageFolderDataset treats as images.
    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "bmp", "gif", "tif", "tiff", "webp", "ppm", "pgm", "pbm"]

    /// A JSON string literal (ASCII, like Python's json.dumps with ensure_ascii).
    public static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value > 0x7E {
                    for unit in String(u).utf16 { out += String(format: "\\u%04x", unit) }
                } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    /// A label value as EG3D's files hold them: the Float32 value printed as Python prints a float (shortest repr).
    public static func number(_ x: Double) -> String {
        let v = Double(Float(x))
        if v.isNaN || v.isInfinite { return v.isNaN ? "NaN" : (v > 0 ? "Infinity" : "-Infinity") }
        return v.description
    }

    /// One dataset.json entry: ["name", [v0, v1, ...]] with Python's default separators.
    public static func labelEntry(_ name: String, _ label: [Double]) -> String {
        "[\(quote(name)), [\(label.map(number).joined(separator: ", "))]]"
    }
}

/// A dataset read from a folder or a zip.
public final class EG3DDataset: @unchecked Sendable {
    public let path: String
    /// Image files relative to the dataset root, in EG3D's order.
    public let imageNames: [String]
    /// Per-image labels from dataset.json; nil when it is missing or holds null.
    public let labels: [String: [Float]]?
    public let captions: [String: [String]]?
    public let captionsOOD: [String: [String]]?
    /// attributes.json's per-image objects (binary attributes as Bool, structured fields as String).
    public let attributes: [String: [String: Any]]?
    public let split: (train: [String], test: [String])?
    private let zip: ZipArchive?

    /// Opens a dataset folder or .zip. Errors name the file and what is wrong with it.
    public init(path: String) throws {
        self.path = path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw FileError(path: path, message: "no such dataset folder or zip")
        }
        var names: [String] = []
        var archive: ZipArchive? = nil
        let root = path
        if isDir.boolValue {
            guard let walker = FileManager.default.enumerator(atPath: path) else { throw FileError(path: path, message: "cannot list") }
            while let rel = walker.nextObject() as? String { names.append(rel) }
        } else {
            do { archive = try ZipArchive(path: path) } catch { throw FileError(path: path, message: "not a readable zip: \(error)") }
            names = archive!.entries.filter { !$0.isDirectory }.map(\.name)
        }
        zip = archive
        let all = Set(names)
        let images = names.filter { DatasetFormat.imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) }
            .sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
        imageNames = images
        func load(_ name: String) throws -> Any? {
            guard all.contains(name) else { return nil }
            let data = try EG3DDataset.read(name, zip: archive, root: root)
            do { return try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) } catch {
                throw FileError(path: "\(root)/\(name)", message: "not valid JSON: \(error.localizedDescription)")
            }
        }
        let where_ = { (n: String) in "\(root)/\(n)" }
        // dataset.json: {"labels": [[name, [floats]], ...] or null}.
        if let obj = try load("dataset.json") {
            guard let top = obj as? [String: Any] else { throw FileError(path: where_("dataset.json"), message: "expected a JSON object") }
            if let raw = top["labels"], !(raw is NSNull) {
                guard let list = raw as? [Any] else { throw FileError(path: where_("dataset.json"), message: "'labels' must be a list or null") }
                var out: [String: [Float]] = [:]
                var dim: Int? = nil
                for (k, e) in list.enumerated() {
                    guard let pair = e as? [Any], pair.count == 2, let name = pair[0] as? String,
                          let values = pair[1] as? [Any], let nums = EG3DDataset.floats(values) else {
                        throw FileError(path: where_("dataset.json"), message: "labels[\(k)] is not [\"file name\", [numbers]]")
                    }
                    if let d = dim, d != nums.count {
                        throw FileError(path: where_("dataset.json"), message: "labels[\(k)] (\(name)) has \(nums.count) values, others \(d)")
                    }
                    dim = nums.count
                    out[name.replacingOccurrences(of: "\\", with: "/")] = nums
                }
                for n in images where out[n] == nil {
                    throw FileError(path: where_("dataset.json"), message: "no label for image \(n)")
                }
                labels = out
            } else { labels = nil }
        } else { labels = nil }
        func captionFile(_ name: String) throws -> [String: [String]]? {
            guard let obj = try load(name) else { return nil }
            guard let d = obj as? [String: Any] else { throw FileError(path: where_(name), message: "expected an object of file name -> captions") }
            var out: [String: [String]] = [:]
            for (k, v) in d {
                guard let caps = v as? [String] else { throw FileError(path: where_(name), message: "captions of \(k) are not a list of strings") }
                out[k] = caps
            }
            return out
        }
        captions = try captionFile("captions.json")
        captionsOOD = try captionFile("captions_ood.json")
        if let obj = try load("attributes.json") {
            guard let d = obj as? [String: Any], let images = d["images"] as? [String: Any] else {
                throw FileError(path: where_("attributes.json"), message: "expected {\"attributes\": [...], \"images\": {...}}")
            }
            let file = where_("attributes.json")
            var binary: [String] = []
            if let list = d["attributes"], !(list is NSNull) {
                guard let names = list as? [String] else { throw FileError(path: file, message: "\"attributes\" must be a list of attribute names") }
                binary = names
            }
            var out: [String: [String: Any]] = [:]
            for (k, v) in images {
                guard let o = v as? [String: Any] else { throw FileError(path: file, message: "entry \(k) is not an object") }
                for name in binary {
                    guard let b = o[name], isJSONBool(b) else {
                        throw FileError(path: file, message: "\(k): attribute \(name) must be true or false, got \(o[name].map { "\($0)" } ?? "nothing")")
                    }
                }
                for (field, value) in o where !isJSONBool(value) && !(value is String) {
                    throw FileError(path: file, message: "\(k): \(field) must be true, false or a name, got \(value)")
                }
                out[k] = o
            }
            attributes = out
        } else { attributes = nil }
        if let obj = try load("split.json") {
            guard let d = obj as? [String: Any], let tr = d["train"] as? [String], let te = d["test"] as? [String] else {
                throw FileError(path: where_("split.json"), message: "expected {\"train\": [names], \"test\": [names]}")
            }
            split = (tr, te)
        } else { split = nil }
    }

    public var count: Int { imageNames.count }

    /// The raw bytes of a file in the dataset.
    public func data(_ name: String) throws -> Data { try EG3DDataset.read(name, zip: zip, root: path) }

    /// Decodes image `name` (PNG only).
    public func image(_ name: String) throws -> Image {
        guard name.lowercased().hasSuffix(".png") else { throw FileError(path: "\(path)/\(name)", message: "only PNG images can be decoded") }
        return try PNG.decode(try data(name), name: "\(path)/\(name)")
    }

    /// The EG3D camera of image `name`, when its label has 25 values.
    public func camera(_ name: String) -> Camera? {
        guard let l = labels?[name] else { return nil }
        return Camera(label: l.map(Double.init))
    }

    static func read(_ name: String, zip: ZipArchive?, root: String) throws -> Data {
        if let zip {
            do { return try zip.extract(named: name) } catch { throw FileError(path: "\(root)/\(name)", message: "\(error)") }
        }
        let p = (root as NSString).appendingPathComponent(name)
        guard let d = FileManager.default.contents(atPath: p) else { throw FileError(path: p, message: "cannot read") }
        return d
    }

    static func floats(_ values: [Any]) -> [Float]? {
        var out: [Float] = []
        out.reserveCapacity(values.count)
        for v in values {
            guard let n = v as? NSNumber, !isJSONBool(v) else { return nil }
            out.append(n.floatValue)
        }
        return out
    }
}

/// Whether a JSONSerialization value is a JSON true/false. (`NSNumber(1) is Bool` holds, so test the boxed type:
/// booleans are boxed with Objective-C type "c", JSON numbers never are.)
func isJSONBool(_ v: Any) -> Bool {
    guard let n = v as? NSNumber else { return false }
    return String(cString: n.objCType) == "c"
}
