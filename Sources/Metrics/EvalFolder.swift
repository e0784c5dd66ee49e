// An evaluation folder: generated images in our dataset format (PortraitWorld's EG3DDataset: EG3D's
// dataset.json labels + captions.json / captions_ood.json, file name -> captions, true caption first), read as
// an EvalSource. Two layouts, told apart by the cameras:
//
//   views layout (MSC; what generator-driven evaluation writes): one subfolder per sample holding its three
//   MSC views, each image's dataset.json label being one of the three MSC cameras (MSCView.labels: frontal, yaw
//   +15°, yaw -15°; matched to 1e-3 on the cam2world). File names are free; `F.png`, `L15.png`, `R15.png` are
//   the convention (EvalFolderWriter). The sample's captions are its frontal image's; the side views may repeat
//   them (their true caption must then be the same) or be left out of the captions file.
//
//       eval/dataset.json   {"labels": [["00000/F.png", [25 floats]], ["00000/L15.png", [...]], ...]}
//       eval/captions.json  {"00000/F.png": ["a woman with ...", ...], ...}
//       eval/00000/F.png  eval/00000/L15.png  eval/00000/R15.png  eval/00001/...
//
//   single layout: no image at an MSC camera (no labels, or other cameras, e.g. `dreamportrait data synth`
//   output): every image is one sample (frontal only), so FID and R-precision work and MSC says what is missing.
//
// Images are listed as EG3D lists them (every image file below the folder, sorted by code point) and decoded
// like ImageFolder.loadRGB (PNG only; alpha dropped, grey to RGB, bytes / 255).
import Codecs
import Foundation
import PortraitWorld
import TensorCore

public final class EvalFolder: EvalSource {
    /// Which captions file to read: captions.json (in-distribution) or captions_ood.json (out-of-distribution).
    public enum CaptionSet: String, CaseIterable, Sendable {
        case inDistribution = "in", outOfDistribution = "ood"
        public var file: String { self == .inDistribution ? "captions.json" : "captions_ood.json" }
    }

    public let path: String
    public let dataset: EG3DDataset
    public let captionSet: CaptionSet
    public let views: [MSCView]
    /// Per sample, the image file (relative to the folder) of each of `views`, in view order.
    public let files: [[String]]
    /// Per sample, its captions (empty when the captions file is missing).
    private let sampleCaptions: [[String]]
    /// Whether the captions file exists.
    public let hasCaptionsFile: Bool

    public var name: String { path }
    public var count: Int { files.count }
    public var hasCaptions: Bool { hasCaptionsFile }

    /// Reads and validates the folder.
    /// - Throws: `FileError` / `MetricError` naming the file and what is wrong: no images, a label that is not an
    ///   EG3D camera (25 values), a views layout with a sample folder that lacks a view or an image at another
    ///   camera, an image with no caption, side views whose true caption differs from the frontal one.
    public init(path: String, captions captionSet: CaptionSet = .inDistribution) throws {
        self.path = path
        self.captionSet = captionSet
        let data = try EG3DDataset(path: path)
        dataset = data
        let names = data.imageNames
        guard !names.isEmpty else { throw FileError(path: path, message: "holds no images (expected PNGs, e.g. 00000/F.png, with dataset.json and captions.json beside them)") }
        if let bad = names.first(where: { !$0.lowercased().hasSuffix(".png") }) {
            throw FileError(path: "\(path)/\(bad)", message: "only PNG images can be evaluated: convert it to PNG or move it out of the folder")
        }
        let dj = "\(path)/dataset.json"
        var viewOf: [String: MSCView] = [:]
        if let labels = data.labels, let any = labels.values.first {
            guard any.count == 25 else {
                throw FileError(path: dj, message: "labels have \(any.count) values; EG3D camera labels have 25 (a row-major 4x4 cam2world, then 3x3 normalised intrinsics)")
            }
            for n in names { if let v = MSCView.matching(label: labels[n]!) { viewOf[n] = v } }
            if !viewOf.isEmpty, let odd = names.first(where: { viewOf[$0] == nil }) {
                throw FileError(path: dj, message: "\(odd) has a camera at yaw \(EvalFolder.yawDescription(labels[odd]!)), not one of the MSC views (frontal, yaw +15°, yaw -15°: LookAtPoseSampler cameras at radius 2.7 looking at (0, 0, 0.2)); in a views layout every image must be one of them")
            }
        }
        let table = captionSet == .inDistribution ? data.captions : data.captionsOOD
        hasCaptionsFile = table != nil
        func captionsOf(_ n: String) -> [String]? { table?[n] }
        let cf = "\(path)/\(captionSet.file)"
        if viewOf.isEmpty {
            views = [.frontal]
            files = names.map { [$0] }
            sampleCaptions = try names.map { n in
                guard let table else { return [] }
                guard let c = table[n], !c.isEmpty else { throw FileError(path: cf, message: "no caption for image \(n)") }
                return c
            }
        } else {
            views = MSCView.allCases
            var groups: [String: [MSCView: String]] = [:]
            for n in names {
                let folder = (n as NSString).deletingLastPathComponent
                guard !folder.isEmpty else {
                    throw FileError(path: "\(path)/\(n)", message: "lies directly in the folder; in a views layout each sample's three views are in their own subfolder (e.g. 00000/F.png, 00000/L15.png, 00000/R15.png)")
                }
                let v = viewOf[n]!
                if let other = groups[folder]?[v] {
                    throw FileError(path: "\(path)/\(folder)", message: "has two \(v.name) views (\((other as NSString).lastPathComponent) and \((n as NSString).lastPathComponent)); a sample folder holds exactly one image per MSC view")
                }
                groups[folder, default: [:]][v] = n
            }
            let order = groups.keys.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
            files = try order.map { folder in
                let g = groups[folder]!
                let missing = MSCView.allCases.filter { g[$0] == nil }
                guard missing.isEmpty else {
                    throw FileError(path: "\(path)/\(folder)", message: "lacks the \(missing.map(\.name).joined(separator: ", ")) view\(missing.count > 1 ? "s" : "") (by the cameras in dataset.json); MSC needs each sample's frontal, yaw +15° and yaw -15° images")
                }
                return MSCView.allCases.map { g[$0]! }
            }
            sampleCaptions = try files.map { f in
                guard table != nil else { return [] }
                guard let c = captionsOf(f[0]), !c.isEmpty else { throw FileError(path: cf, message: "no caption for image \(f[0]) (the sample's frontal view)") }
                for side in f.dropFirst() { if let s = captionsOf(side), s.first != c[0] {
                    throw FileError(path: cf, message: "\(side)'s true caption \"\(s.first ?? "")\" differs from its frontal view \(f[0])'s \"\(c[0])\"; a sample's views share its captions")
                } }
                return c
            }
        }
    }

    public func captions(_ i: Int) -> [String] { sampleCaptions[i] }

    public func image(_ i: Int, view: MSCView) throws -> Tensor {
        guard let k = views.firstIndex(of: view) else {
            throw MetricError(message: "\(path): sample \(i) has no \(view.name) view (the folder holds one image per sample)")
        }
        return ImageFolder.rgb(try dataset.image(files[i][k]))
    }

    /// The yaw of a label's camera relative to the frontal view, e.g. "+15.0° (radius 2.70)": LookAtPoseSampler's
    /// θ − π/2 from the camera position (x, y, z) = (r sinφ cos(π − θ), r cosφ, r sinφ sin(π − θ)) in the cam2world.
    static func yawDescription(_ label: [Float]) -> String {
        let (x, y, z) = (Double(label[3]), Double(label[7]), Double(label[11]))
        let theta = Double.pi - atan2(z, x)
        return String(format: "%+.1f° (radius %.2f)", (theta - Double.pi / 2) * 180 / Double.pi, (x * x + y * y + z * z).squareRoot())
    }
}

/// Writes an evaluation folder in the views layout: `<sample>/F.png`, `L15.png`, `R15.png` (5-digit sample
/// folders), dataset.json with the MSC camera labels and captions.json (or captions_ood.json) with each image's
/// captions. What generator-driven evaluation (or any renderer) writes for `dreamportrait eval`.
public struct EvalFolderWriter {
    public let path: String
    public let captionSet: EvalFolder.CaptionSet
    private var labels: [String] = []
    private var captions: [String] = []

    public init(path: String, captions: EvalFolder.CaptionSet = .inDistribution) throws {
        self.path = path
        captionSet = captions
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Adds sample `index`: its three views (frontal, left, right; each (3, H, W) in [0, 1]) and its captions.
    public mutating func add(index: Int, views: [Tensor], captions sample: [String]) throws {
        require(views.count == 3, "EvalFolderWriter: a sample has 3 views, got \(views.count)")
        let folder = String(format: "%05d", index)
        try FileManager.default.createDirectory(atPath: "\(path)/\(folder)", withIntermediateDirectories: true)
        for (view, image) in zip(MSCView.allCases, views) {
            let name = "\(folder)/\(view.name).png"
            try? FileManager.default.removeItem(atPath: "\(path)/\(name)")   // PNG.write does not replace on Linux
            try PNG.write(EvalFolderWriter.bytes(image), to: "\(path)/\(name)")
            labels.append(DatasetFormat.labelEntry(name, view.label.map(Double.init)))
            captions.append("\(DatasetFormat.quote(name)): [\(sample.map(DatasetFormat.quote).joined(separator: ", "))]")
        }
    }

    /// Writes dataset.json and the captions file.
    public func finish() throws {
        try writeAtomically(Data("{\"labels\": [\(labels.joined(separator: ", "))]}\n".utf8), to: URL(fileURLWithPath: "\(path)/dataset.json"))
        try writeAtomically(Data("{\(captions.joined(separator: ", "))}\n".utf8), to: URL(fileURLWithPath: "\(path)/\(captionSet.file)"))
    }

    /// (3, H, W) in [0, 1] -> 8-bit RGB (Codecs' rounding and clamping).
    static func bytes(_ image: Tensor) -> Image {
        require(image.rank == 3 && image.shape[0] == 3, "EvalFolderWriter: an image is (3, H, W), got \(image.shape)")
        return Image(width: image.shape[2], height: image.shape[1], channels: 3, planar: image.contiguous().toArray())
    }
}
