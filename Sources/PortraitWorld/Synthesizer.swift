// Makes a synthetic dataset on disk, streaming: images are rendered a chunk at a time (in parallel, one image per
// worker), written as PNGs, and their labels, captions, attributes and split are appended to journals in
// .synth/. A state file records how much of each journal is valid, so an interrupted run resumes where it
// stopped (memory stays flat in the image count). When all images exist the journals are assembled into
// dataset.json, captions.json, captions_ood.json, attributes.json and split.json, and optionally a zip.
import Codecs
import Foundation
import TensorCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything that decides a dataset's content. Image i depends only on these and i.
public struct SynthSettings: Sendable, Equatable {
    public var count: Int
    public var resolution: Int
    public var seed: UInt64
    public var sampler = SamplerConfig.standard
    public var poses = PoseDistribution()
    public var testFraction = 0.1
    public var captionsPerImage = 10
    public var antialias = true
    /// Also write depth, mask and part-ID maps as .npy under aux/.
    public var auxiliary = false
    public init(count: Int, resolution: Int, seed: UInt64) { self.count = count; self.resolution = resolution; self.seed = seed }

    /// The settings that must match to resume (all but the count), by name, as stable strings.
    var fingerprint: [String: String] {
        let config = sampler.values.keys.sorted().map { "\($0)=\(self.sampler.values[$0]!.map { String($0) }.joined(separator: ","))" }.joined(separator: ";")
        return ["world": "v1", "resolution": "\(resolution)", "seed": "\(seed)", "test fraction": "\(testFraction)",
                "captions per image": "\(captionsPerImage)", "antialias": "\(antialias)", "aux": "\(auxiliary)",
                "poses": "yaw \(poses.yawStd)/\(poses.yawClip) pitch \(poses.pitchStd)/\(poses.pitchClip) r \(poses.radius) at \(poses.lookat.x),\(poses.lookat.y),\(poses.lookat.z)",
                "sampler config": config]
    }
}

/// What one image contributes to the dataset files.
public struct ImageRecord: Sendable {
    public let index: Int
    public let name: String
    public let identity: Identity
    public let camera: Camera
    public let rendering: Rendering
    public let captions: [String]
    public let captionsOOD: [String]
    public let isTest: Bool
}

public enum World {
    /// Image `index` of the world under `settings`: identity, camera, rendering, captions and split.
    public static func record(_ s: SynthSettings, index: Int) -> ImageRecord {
        let id = AttributeSampler(config: s.sampler).identity(seed: s.seed, index: index)
        let cam = s.poses.camera(seed: s.seed, index: index)
        var opts = RenderOptions(resolution: s.resolution)
        opts.antialias = s.antialias
        let img = Renderer.render(HeadScene(identity: id), camera: cam, options: opts)
        var r = WorldRandom(seed: s.seed, index: index, purpose: .split)
        return ImageRecord(index: index, name: DatasetFormat.imageName(index), identity: id, camera: cam, rendering: img,
                           captions: Captioner(style: .celebAText).captions(for: id, seed: s.seed, index: index, count: s.captionsPerImage),
                           captionsOOD: Captioner(style: .ood).captions(for: id, seed: s.seed, index: index, count: s.captionsPerImage),
                           isTest: r.uniform() < s.testFraction)
    }

    /// attributes.json's object for one identity, as a JSON fragment with sorted keys.
    static func attributesJSON(_ id: Identity) -> String {
        let gt = id.groundTruth
        return "{" + gt.keys.sorted().map { k -> String in
            let v = gt[k]!
            if let b = v as? Bool { return "\(DatasetFormat.quote(k)): \(b)" }
            return "\(DatasetFormat.quote(k)): \(DatasetFormat.quote("\(v)"))"
        }.joined(separator: ", ") + "}"
    }
}

/// Journals under DIR/.synth, one JSON fragment per line, in image order.
enum Journal: String, CaseIterable {
    case labels, captions, captionsOOD = "captions_ood", attributes, split
    var file: String { "\(rawValue).jsonl" }
}

public final class Synthesizer {
    public let settings: SynthSettings
    public let directory: URL
    var stateURL: URL { directory.appendingPathComponent(".synth/state.json") }
    /// Images written so far (a prefix of 0..<count).
    public private(set) var done = 0
    private var journalBytes: [Journal: UInt64] = [:]

    /// Opens (or creates) DIR. Resumes when DIR holds a state file with the same settings; refuses a DIR with
    /// other settings, or a non-empty DIR that is not a synthetic dataset.
    public init(settings: SynthSettings, directory: String) throws {
        self.settings = settings
        guard settings.count >= 0, settings.resolution > 0 else {
            throw FileError(path: directory, message: "count must be non-negative and resolution positive")
        }
        self.directory = URL(fileURLWithPath: directory)
        let fm = FileManager.default
        do { try fm.createDirectory(at: self.directory.appendingPathComponent(".synth"), withIntermediateDirectories: true) } catch {
            throw FileError(path: directory, message: "cannot create the output folder: \(error.localizedDescription)")
        }
        if let data = fm.contents(atPath: stateURL.path) {
            guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let fp = obj["settings"] as? [String: String], let d = obj["done"] as? Int, let bytes = obj["journal_bytes"] as? [String: Int] else {
                throw FileError(path: stateURL.path, message: "corrupt resume state; delete the folder to start again")
            }
            let mine = settings.fingerprint
            let differing = mine.keys.sorted().filter { fp[$0] != mine[$0] }
            guard differing.isEmpty else {
                let what = differing.map { k in k == "sampler config" ? "the sampler config" : "\(k) \(fp[k] ?? "unset") (now \(mine[k]!))" }
                throw FileError(path: directory, message: "was made with other settings: \(what.joined(separator: ", ")); use another --out or the same settings")
            }
            guard d <= settings.count else {
                throw FileError(path: directory, message: "already holds \(d) images; --count must be at least that")
            }
            done = d
            for j in Journal.allCases { journalBytes[j] = UInt64(bytes[j.rawValue] ?? 0) }
        } else {
            let visible = (try? fm.contentsOfDirectory(atPath: directory).filter { !$0.hasPrefix(".") }) ?? []
            guard visible.isEmpty else { throw FileError(path: directory, message: "is not empty and holds no dataset state; choose an empty folder") }
            for j in Journal.allCases { journalBytes[j] = 0 }
        }
        // Drop whatever a crash left after the last saved state.
        for j in Journal.allCases {
            let url = journalURL(j)
            if !fm.fileExists(atPath: url.path) { _ = fm.createFile(atPath: url.path, contents: nil) }
            guard let h = try? FileHandle(forWritingTo: url) else { throw FileError(path: url.path, message: "cannot open for writing") }
            try h.truncate(atOffset: journalBytes[j]!)
            try h.close()
        }
    }

    func journalURL(_ j: Journal) -> URL { directory.appendingPathComponent(".synth/\(j.file)") }

    public var isComplete: Bool { done == settings.count && FileManager.default.fileExists(atPath: directory.appendingPathComponent("dataset.json").path) }

    /// Renders and writes images done..<count in chunks. `progress(done, count)` runs after each chunk;
    /// `shouldStop()` is checked after each chunk, and when it says stop the state is saved and `run` returns false.
    /// Returns true when every image exists and the JSON files are assembled.
    @discardableResult
    public func run(chunk: Int = 0, progress: (Int, Int) -> Void = { _, _ in }, shouldStop: () -> Bool = { false }) throws -> Bool {
        let s = settings
        let chunkSize = chunk > 0 ? chunk : max(8, Parallel.threadCount * 4)
        let handles = try Dictionary(uniqueKeysWithValues: Journal.allCases.map { j -> (Journal, FileHandle) in
            guard let h = try? FileHandle(forWritingTo: journalURL(j)) else { throw FileError(path: journalURL(j).path, message: "cannot open") }
            try h.seekToEnd()
            return (j, h)
        })
        defer { for h in handles.values { try? h.close() } }
        var lastSave = Date()
        progress(done, s.count)
        while done < s.count {
            let lo = done, hi = min(s.count, done + chunkSize)
            var lines = [[Journal: String]?](repeating: nil, count: hi - lo)
            var errors = [Error?](repeating: nil, count: hi - lo)
            lines.withUnsafeMutableBufferPointer { lines in
                errors.withUnsafeMutableBufferPointer { errors in
                    parallelFor(hi - lo) { k in
                        do { lines[k] = try self.produce(index: lo + k) } catch { errors[k] = error }
                    }
                }
            }
            if let e = errors.compactMap({ $0 }).first { throw e }
            for l in lines {
                for (j, text) in l! { handles[j]!.write(Data((text + "\n").utf8)) }
            }
            done = hi
            progress(done, s.count)
            let stop = shouldStop()
            if stop || Date().timeIntervalSince(lastSave) > 1 || done == s.count {
                try saveState(handles)
                lastSave = Date()
            }
            if stop && done < s.count { return false }
        }
        try assemble()
        return true
    }

    /// Renders image `index`, writes its files, and returns its journal lines.
    func produce(index: Int) throws -> [Journal: String] {
        let s = settings
        let rec = World.record(s, index: index)
        let R = s.resolution
        let url = directory.appendingPathComponent(rec.name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try ImageOutput.writePNG(rec.rendering.rgb, width: R, height: R, path: url.path)
        if s.auxiliary {
            let aux = ImageOutput.auxiliary(rec.rendering)
            let base = directory.appendingPathComponent("aux/" + rec.name.dropLast(4))
            try FileManager.default.createDirectory(at: base.deletingLastPathComponent(), withIntermediateDirectories: true)
            try ImageOutput.write(aux.depth, to: base.path + "_depth.npy")
            try ImageOutput.write(aux.mask, to: base.path + "_mask.npy")
            try ImageOutput.write(aux.parts, to: base.path + "_parts.npy")
        }
        let q = DatasetFormat.quote(rec.name)
        return [
            .labels: DatasetFormat.labelEntry(rec.name, rec.camera.label),
            .captions: "\(q): [\(rec.captions.map(DatasetFormat.quote).joined(separator: ", "))]",
            .captionsOOD: "\(q): [\(rec.captionsOOD.map(DatasetFormat.quote).joined(separator: ", "))]",
            .attributes: "\(q): \(World.attributesJSON(rec.identity))",
            .split: "\(rec.isTest ? "test" : "train") \(rec.name)",
        ]
    }

    func saveState(_ handles: [Journal: FileHandle]) throws {
        var bytes: [String: Int] = [:]
        for (j, h) in handles {
            try h.synchronize()
            bytes[j.rawValue] = Int(try h.offset())
        }
        let obj: [String: Any] = ["settings": settings.fingerprint, "done": done, "count": settings.count, "journal_bytes": bytes]
        try ImageOutput.write(try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .prettyPrinted]), to: stateURL.path)
    }

    /// Streams the journals into the dataset's JSON files.
    func assemble() throws {
        try assembleList(.labels, into: "dataset.json", open: "{\"labels\": [", close: "]}")
        try assembleList(.captions, into: "captions.json", open: "{", close: "}")
        try assembleList(.captionsOOD, into: "captions_ood.json", open: "{", close: "}")
        let vocab = Attribute.allCases.map { DatasetFormat.quote($0.rawValue) }.joined(separator: ", ")
        try assembleList(.attributes, into: "attributes.json", open: "{\"attributes\": [\(vocab)], \"images\": {", close: "}}")
        // split.json: two passes over the split journal (train names, then test names).
        let out = directory.appendingPathComponent("split.json")
        let tmp = directory.appendingPathComponent(".synth/split.json.tmp")
        _ = FileManager.default.createFile(atPath: tmp.path, contents: nil)
        let h = try FileHandle(forWritingTo: tmp)
        for (k, which) in ["train", "test"].enumerated() {
            h.write(Data((k == 0 ? "{\"train\": [" : "], \"test\": [").utf8))
            var first = true
            try forEachLine(.split) { line in
                guard line.hasPrefix(which + " ") else { return }
                h.write(Data(((first ? "" : ", ") + DatasetFormat.quote(String(line.dropFirst(which.count + 1)))).utf8))
                first = false
            }
        }
        h.write(Data("]}\n".utf8))
        try h.close()
        try replace(out, with: tmp)
    }

    private func assembleList(_ j: Journal, into name: String, open: String, close: String) throws {
        let tmp = directory.appendingPathComponent(".synth/\(name).tmp")
        _ = FileManager.default.createFile(atPath: tmp.path, contents: nil)
        let h = try FileHandle(forWritingTo: tmp)
        h.write(Data(open.utf8))
        var first = true
        try forEachLine(j) { line in
            h.write(Data(((first ? "" : ", ") + line).utf8))
            first = false
        }
        h.write(Data((close + "\n").utf8))
        try h.close()
        try replace(directory.appendingPathComponent(name), with: tmp)
    }

    private func replace(_ url: URL, with tmp: URL) throws {
        guard rename(tmp.path, url.path) == 0 else {
            throw FileError(path: url.path, message: "cannot write: \(String(cString: strerror(errno)))")
        }
    }

    /// Calls `body` with each line of a journal, reading 1 MiB at a time.
    func forEachLine(_ j: Journal, _ body: (String) -> Void) throws {
        guard let h = try? FileHandle(forReadingFrom: journalURL(j)) else { throw FileError(path: journalURL(j).path, message: "cannot read") }
        defer { try? h.close() }
        var pending = Data()
        while true {
            let chunk = h.readData(ofLength: 1 << 20)
            if chunk.isEmpty { break }
            pending.append(chunk)
            var start = pending.startIndex
            while let nl = pending[start...].firstIndex(of: 0x0A) {
                body(String(decoding: pending[start..<nl], as: UTF8.self))
                start = nl + 1
            }
            pending = Data(pending[start...])
        }
        if !pending.isEmpty { body(String(decoding: pending, as: UTF8.self)) }
    }

    /// Writes DIR's images, aux maps and JSON files into a zip (images stored, JSON deflated). EG3D reads such zips.
    public func writeZip(to path: String) throws {
        let z = try ZipWriter(path: path)
        for name in ["dataset.json", "captions.json", "captions_ood.json", "attributes.json", "split.json"] {
            try z.add(name: name, data: try readCodecFile(directory.appendingPathComponent(name).path))
        }
        for i in 0..<settings.count {
            let name = DatasetFormat.imageName(i)
            try z.add(name: name, data: try readCodecFile(directory.appendingPathComponent(name).path), method: .stored)
            if settings.auxiliary {
                for kind in ["depth", "mask", "parts"] {
                    let aux = "aux/\(name.dropLast(4))_\(kind).npy"
                    try z.add(name: aux, data: try readCodecFile(directory.appendingPathComponent(aux).path))
                }
            }
        }
        try z.finish()
    }
}
