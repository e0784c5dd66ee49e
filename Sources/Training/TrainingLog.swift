// The JSONL log of a run: one object per logged step ({"step": n, "loss/G": ..., "lr/G": ..., "time/Gmain": ...}).
// On resume the lines after the checkpoint's step are dropped, so a resumed run's log reads as a straight run's.
import Foundation
import TensorCore

public final class TrainingLog {
    public let path: String
    private let handle: FileHandle

    /// Opens the log for appending; keeps only records with step <= `resumeStep` (all when nil drops none... nil
    /// starts an empty log).
    public init(path: String, resumeStep: Int?) throws {
        self.path = path
        var kept = Data()
        if let step = resumeStep, let old = FileManager.default.contents(atPath: path) {
            for line in old.split(separator: UInt8(ascii: "\n")) {
                guard let o = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any],
                      let s = o["step"] as? Int, s <= step else { continue }
                kept.append(Data(line)); kept.append(UInt8(ascii: "\n"))
            }
        }
        try writeAtomically(kept, to: URL(fileURLWithPath: path))
        guard let h = FileHandle(forWritingAtPath: path) else { throw FileError(path: path, message: "cannot open for appending") }
        h.seekToEndOfFile()
        handle = h
    }

    deinit { try? handle.close() }

    /// Appends one record (numbers only; non-finite values are written as strings so the line stays JSON).
    public func append(step: Int, _ values: [String: Double]) {
        var parts = ["\"step\": \(step)"]
        for (k, v) in values.sorted(by: { $0.key < $1.key }) {
            parts.append("\"\(k)\": " + (v.isFinite ? "\(v)" : "\"\(v)\""))
        }
        handle.write(Data(("{" + parts.joined(separator: ", ") + "}\n").utf8))
    }

    /// Every record of a log file: (step, values), in file order.
    public static func read(path: String) -> [(step: Int, values: [String: Double])] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        var out: [(Int, [String: Double])] = []
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let o = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any], let s = o["step"] as? Int else { continue }
            var v: [String: Double] = [:]
            for (k, x) in o where k != "step" { if let d = (x as? NSNumber)?.doubleValue { v[k] = d } }
            out.append((s, v))
        }
        return out
    }
}
