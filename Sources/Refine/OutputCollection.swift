// Many `sds` / `refine` outputs as one evaluation folder: `dreamportrait eval --images PARENT`, where PARENT holds
// output folders (each with its eval/ views-layout folder of one sample) rather than a dataset.json of its own,
// evaluates them together: output k (by folder name, code-point order) becomes sample k. The merged folder is a
// temporary copy (dataset.json, captions.json, 0000k/F.png, L15.png, R15.png), so each output stays as written.
import Foundation
import PortraitWorld
import TensorCore

public enum OutputCollection {
    /// The output folders under `parent` that hold eval/dataset.json, sorted; empty when `parent` is itself an
    /// evaluation folder (has dataset.json) or holds none.
    public static func outputs(parent: String) -> [String] {
        let fm = FileManager.default
        if fm.fileExists(atPath: (parent as NSString).appendingPathComponent("dataset.json")) { return [] }
        let names = ((try? fm.contentsOfDirectory(atPath: parent)) ?? []).sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
        return names.map { (parent as NSString).appendingPathComponent($0) }
            .filter { fm.fileExists(atPath: ($0 as NSString).appendingPathComponent("eval/dataset.json")) }
    }

    /// Merges the outputs' eval folders into `into` (created). Returns the number of samples.
    /// - Throws: `FileError` naming an eval folder whose dataset.json or captions.json cannot be read.
    @discardableResult
    public static func merge(outputs: [String], into folder: String) throws -> Int {
        let fm = FileManager.default
        try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var labels: [String] = [], captions: [String] = []
        for (k, output) in outputs.enumerated() {
            let eval = (output as NSString).appendingPathComponent("eval")
            let sample = String(format: "%05d", k)
            let dj = (eval as NSString).appendingPathComponent("dataset.json"), cj = (eval as NSString).appendingPathComponent("captions.json")
            guard let d = fm.contents(atPath: dj), let object = (try? JSONSerialization.jsonObject(with: d)) as? [String: Any],
                  let entries = object["labels"] as? [[Any]] else {
                throw FileError(path: dj, message: "is not an evaluation folder's dataset.json ({\"labels\": [[name, [25 numbers]], ...]})")
            }
            let table = fm.contents(atPath: cj).flatMap { (try? JSONSerialization.jsonObject(with: $0)) as? [String: [String]] } ?? [:]
            try fm.createDirectory(atPath: (folder as NSString).appendingPathComponent(sample), withIntermediateDirectories: true)
            for entry in entries {
                guard entry.count == 2, let name = entry[0] as? String, let label = (entry[1] as? [NSNumber])?.map(\.doubleValue) else {
                    throw FileError(path: dj, message: "has a label entry that is not [name, [numbers]]")
                }
                let renamed = "\(sample)/\((name as NSString).lastPathComponent)"
                let target = (folder as NSString).appendingPathComponent(renamed)
                try? fm.removeItem(atPath: target)
                try fm.copyItem(atPath: (eval as NSString).appendingPathComponent(name), toPath: target)
                labels.append(DatasetFormat.labelEntry(renamed, label))
                if let c = table[name] { captions.append("\(DatasetFormat.quote(renamed)): [\(c.map(DatasetFormat.quote).joined(separator: ", "))]") }
            }
        }
        try writeAtomically(Data("{\"labels\": [\(labels.joined(separator: ", "))]}\n".utf8), to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent("dataset.json")))
        try writeAtomically(Data("{\(captions.joined(separator: ", "))}\n".utf8), to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent("captions.json")))
        return outputs.count
    }
}
