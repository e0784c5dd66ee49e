// A training run's folder and its checkpoints. Layout:
//   RUN/config.json                 the run's settings (written once; resume checks them)
//   RUN/log.jsonl                   one JSON object per step (TrainingLog)
//   RUN/loss.png, RUN/samples/      loss plot and sample grids
//   RUN/checkpoints/000123/         one safetensors file per network + state.json (step, random positions, ...)
//   RUN/checkpoints/latest          the name of the newest complete checkpoint folder
// A checkpoint folder is written under a temporary name and renamed when complete; `latest` is replaced
// atomically afterwards. A kill at any moment (even -9) leaves the previous checkpoint intact and findable:
// readers take `latest` if it names a complete folder, else the newest complete folder.
import Foundation
import TensorCore

/// One checkpoint: tensors per file (e.g. "G" -> G.safetensors) and a JSON state.
public struct Checkpoint {
    public var step: Int
    public var files: [String: [String: Tensor]]
    public var state: [String: Any]
    /// Extra safetensors metadata per file (e.g. a generator's "config", so `generate --weights` reads it).
    public var metadata: [String: [String: String]]
    public init(step: Int, files: [String: [String: Tensor]], state: [String: Any], metadata: [String: [String: String]] = [:]) {
        self.step = step; self.files = files; self.state = state; self.metadata = metadata
    }
}

public struct RunFolder {
    public let path: String
    /// How many complete checkpoints to keep (the newest ones).
    public var keep = 2

    /// Opens (creating if needed) the run folder.
    public init(path: String) throws {
        self.path = path
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).appendingPathComponent("checkpoints"),
                                                    withIntermediateDirectories: true)
        } catch {
            throw FileError(path: path, message: "cannot create the run folder: \(error.localizedDescription)")
        }
    }

    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
    var checkpointsPath: String { file("checkpoints") }
    static func folderName(_ step: Int) -> String { String(format: "%09d", step) }

    /// Writes the run's settings, or checks them against the ones already there (keys in `mustMatch`).
    public func writeOrCheckConfig(_ config: [String: Any], mustMatch: [String]) throws {
        let p = file("config.json")
        if let data = FileManager.default.contents(atPath: p) {
            guard let old = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw FileError(path: p, message: "is not a JSON object")
            }
            // Compared as JSON reads them back (a Bool written as true reads as the number 1).
            let now = (try? JSONSerialization.jsonObject(with: JSONSerialization.data(withJSONObject: config))) as? [String: Any] ?? config
            for k in mustMatch {
                let a = old[k].map { "\($0)" } ?? "absent", b = now[k].map { "\($0)" } ?? "absent"
                if a != b { throw FileError(path: p, message: "the run was started with \(k) = \(a); this command has \(b)") }
            }
        }
        try writeJSONAtomically(config, to: p)
    }

    /// Saves a checkpoint atomically (see the header) and prunes older ones.
    public func save(_ c: Checkpoint) throws {
        let fm = FileManager.default
        let name = RunFolder.folderName(c.step)
        let tmp = (checkpointsPath as NSString).appendingPathComponent(".tmp-\(name)")
        let final = (checkpointsPath as NSString).appendingPathComponent(name)
        try? fm.removeItem(atPath: tmp)
        try fm.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        for (f, tensors) in c.files {
            try saveSafeTensors(tensors, metadata: (c.metadata[f] ?? [:]).merging(["step": "\(c.step)"]) { $1 }, to: (tmp as NSString).appendingPathComponent("\(f).safetensors"))
        }
        var state = c.state
        state["step"] = c.step
        state["files"] = c.files.keys.sorted()
        try writeJSONAtomically(state, to: (tmp as NSString).appendingPathComponent("state.json"))
        try? fm.removeItem(atPath: final)
        guard rename(tmp, final) == 0 else { throw FileError(path: final, message: "cannot rename the new checkpoint into place") }
        try writeAtomically(Data(name.utf8), to: URL(fileURLWithPath: (checkpointsPath as NSString).appendingPathComponent("latest")))
        let complete = completeFolders()
        for old in complete.dropLast(keep) where old != name { try? fm.removeItem(atPath: (checkpointsPath as NSString).appendingPathComponent(old)) }
    }

    /// Complete checkpoint folders (no temporary prefix, with a state.json), oldest first.
    func completeFolders() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: checkpointsPath)) ?? []
        return names.filter { n in
            !n.hasPrefix(".") && Int(n) != nil
                && FileManager.default.fileExists(atPath: (checkpointsPath as NSString).appendingPathComponent("\(n)/state.json"))
        }.sorted()
    }

    /// The path of the newest complete checkpoint, or nil when the run has none.
    public func latestCheckpointPath() -> String? {
        let complete = completeFolders()
        if let data = FileManager.default.contents(atPath: (checkpointsPath as NSString).appendingPathComponent("latest")),
           let name = String(data: data, encoding: .utf8), complete.contains(name) {
            return (checkpointsPath as NSString).appendingPathComponent(name)
        }
        return complete.last.map { (checkpointsPath as NSString).appendingPathComponent($0) }
    }

    /// Loads the newest complete checkpoint (every file it lists), or nil when there is none.
    public func loadLatest() throws -> Checkpoint? {
        guard let dir = latestCheckpointPath() else { return nil }
        return try RunFolder.loadCheckpoint(folder: dir)
    }

    /// Loads a checkpoint folder (state.json and the safetensors files it lists).
    public static func loadCheckpoint(folder dir: String) throws -> Checkpoint {
        let sp = (dir as NSString).appendingPathComponent("state.json")
        guard let data = FileManager.default.contents(atPath: sp) else { throw FileError(path: sp, message: "missing") }
        guard let state = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let step = state["step"] as? Int, let names = state["files"] as? [String] else {
            throw FileError(path: sp, message: "is not a checkpoint state (needs \"step\" and \"files\")")
        }
        var files: [String: [String: Tensor]] = [:]
        for n in names {
            let p = (dir as NSString).appendingPathComponent("\(n).safetensors")
            files[n] = try SafeTensorsFile(path: p).tensors().mapValues { Tensor($0.toArray(), shape: $0.shape) }
        }
        return Checkpoint(step: step, files: files, state: state)
    }
}

/// Writes a JSON object (sorted keys, pretty) atomically.
public func writeJSONAtomically(_ object: [String: Any], to path: String) throws {
    let data: Data
    do { data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]) }
    catch { throw FileError(path: path, message: "cannot encode JSON: \(error)") }
    try writeAtomically(data, to: URL(fileURLWithPath: path))
}
