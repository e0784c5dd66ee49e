// Mutation fuzzing of the JSON files we read (issue 15): every number, string and boolean of a document (and
// each element of its arrays) is set in turn to 0, -1, a huge number, a float where an integer may belong, a
// string, null, and deleted; each array is also emptied and replaced by null. `JSONFuzz.run` writes each mutant
// over the file, runs the real loading path (and a tiny forward where loading succeeds), and records whether
// it worked or threw, how long it took and the peak resident memory it reached. A trap ends the test process,
// so the case is printed (stderr) before it runs when FUZZ_VERBOSE=1.
import Foundation
import XCTest

public enum JSONPathPart: CustomStringConvertible, Sendable {
    case key(String), index(Int)
    public var description: String {
        switch self {
        case .key(let k): return k
        case .index(let i): return "[\(i)]"
        }
    }
}

public struct JSONMutation: CustomStringConvertible, Sendable {
    public enum Change: CustomStringConvertible, Sendable {
        case zero, minusOne, huge, fraction, string, null, delete, emptyArray
        /// Campaign only (FUZZ_CAMPAIGN=1): small positive values that pass positivity checks, a large one.
        case one, three, large
        public var description: String {
            switch self {
            case .zero: return "0"
            case .minusOne: return "-1"
            case .huge: return "1e12"
            case .fraction: return "2.5"
            case .string: return "\"x\""
            case .null: return "null"
            case .delete: return "deleted"
            case .emptyArray: return "[]"
            case .one: return "1"
            case .three: return "3"
            case .large: return "4097"
            }
        }
        /// The replacement value (nil for a deletion).
        var value: Any? {
            switch self {
            case .zero: return 0
            case .minusOne: return -1
            case .huge: return 1_000_000_000_000
            case .fraction: return 2.5
            case .string: return "x"
            case .null: return NSNull()
            case .delete: return nil
            case .emptyArray: return [Any]()
            case .one: return 1
            case .three: return 3
            case .large: return 4097
            }
        }
    }
    public let path: [JSONPathPart]
    public let change: Change
    public var description: String {
        let p = path.map { part -> String in if case .index = part { return part.description } else { return "." + part.description } }
            .joined()
        return "\(p.hasPrefix(".") ? String(p.dropFirst()) : p) = \(change)"
    }
}

public enum JSONFuzz {
    /// FUZZ_CAMPAIGN=1 (Scripts/fuzz_campaign.sh): more values per field and every array element and entry,
    /// a longer run than the test suite's budget allows.
    public static let campaign = ProcessInfo.processInfo.environment["FUZZ_CAMPAIGN"] == "1"
    static let leafChanges: [JSONMutation.Change] = [.zero, .minusOne, .huge, .fraction, .string, .null, .delete]
        + (campaign ? [.one, .three, .large] : [])

    /// Every mutation of `json`: each leaf (number, string, bool) under every change, each array emptied,
    /// nulled and deleted. Arrays longer than `maxElements` have only their first `maxElements` elements mutated.
    /// `sampledObjects`: keys of objects that map names to like entries (attributes.json's "images"; "" for the
    /// document itself, as a safetensors header), of which only the first `maxElements` entries (sorted by name)
    /// are mutated, as for arrays.
    public static func mutations(of json: Any, maxElements: Int = 4, skipKeys: Set<String> = [],
                                 sampledObjects: Set<String> = []) -> [JSONMutation] {
        var out: [JSONMutation] = []
        func walk(_ v: Any, _ path: [JSONPathPart]) {
            if let d = v as? [String: Any] {
                var keys = d.keys.sorted()
                let name: String? = path.isEmpty ? "" : { if case .key(let k) = path.last! { return k } else { return nil } }()
                if let name, sampledObjects.contains(name) { keys = Array(keys.prefix(maxElements)) }
                for k in keys where !skipKeys.contains(k) { walk(d[k]!, path + [.key(k)]) }
            } else if let a = v as? [Any] {
                if !path.isEmpty { for c in [JSONMutation.Change.emptyArray, .null, .delete] { out.append(JSONMutation(path: path, change: c)) } }
                for (i, e) in a.prefix(maxElements).enumerated() { walk(e, path + [.index(i)]) }
            } else if !path.isEmpty {
                for c in leafChanges {
                    // Deleting an array element shifts the others; the element's own changes cover it.
                    if c == .delete, case .index = path.last! { continue }
                    out.append(JSONMutation(path: path, change: c))
                }
            }
        }
        walk(json, [])
        return out
    }

    /// `json` with `m` applied.
    public static func apply(_ m: JSONMutation, to json: Any) -> Any {
        func set(_ v: Any, _ path: ArraySlice<JSONPathPart>) -> Any? {
            guard let head = path.first else { return m.change.value }
            switch head {
            case .key(let k):
                var d = v as! [String: Any]
                d[k] = set(d[k]!, path.dropFirst())   // nil removes the key
                return d
            case .index(let i):
                var a = v as! [Any]
                a[i] = set(a[i], path.dropFirst()) ?? NSNull()
                return a
            }
        }
        return set(json, m.path[...]) ?? NSNull()
    }

    public struct Report: CustomStringConvertible {
        public var file = ""
        public var cases = 0, worked = 0, threw = 0
        public var seconds = 0.0, slowest = 0.0
        public var slowestCase = ""
        public var peakMB = 0.0
        public var description: String {
            String(format: "fuzz %@: %d cases, %d worked, %d threw, %.2f s (slowest %.3f s: %@), peak RSS %.0f MB",
                   file, cases, worked, threw, seconds, slowest, slowestCase, peakMB)
        }
    }

    /// Runs `body` once per mutation of the JSON file at `path` (restored afterwards).
    /// Fails the test for a case that takes longer than `maxSeconds`, that raises the process's peak resident
    /// memory above `maxResidentMB`, or that throws an error whose description does not contain `errorNames`
    /// (the file's name by default: every error must say which file is at fault, or a flag for errors about flags).
    @discardableResult
    public static func run(file path: String, maxSeconds: Double = 10, maxResidentMB: Double = 3000,
                           errorNames: [String]? = nil, skipKeys: Set<String> = [], maxElements: Int = 4,
                           sampledObjects: Set<String> = [], sourceFile: StaticString = #filePath, line: UInt = #line,
                           _ body: () throws -> Void) throws -> Report {
        let url = URL(fileURLWithPath: path)
        let original = try Data(contentsOf: url)
        defer { try? original.write(to: url) }
        return try run(json: original, name: url.pathComponents.suffix(2).joined(separator: "/"), maxSeconds: maxSeconds,
                       maxResidentMB: maxResidentMB, errorNames: errorNames ?? [url.lastPathComponent], skipKeys: skipKeys,
                       maxElements: maxElements, sampledObjects: sampledObjects, sourceFile: sourceFile, line: line) { mutant in
            try mutant.write(to: url)
            try body()
        }
    }

    /// Runs `body` on each mutant of the JSON document `original` (which `body` puts where the loader reads it,
    /// e.g. a checkpoint's metadata); as `run(file:)` otherwise. `name` labels the report.
    @discardableResult
    public static func run(json original: Data, name: String, maxSeconds: Double = 10, maxResidentMB: Double = 3000,
                           errorNames: [String], skipKeys: Set<String> = [], maxElements: Int = 4, campaignElements: Int = 64,
                           sampledObjects: Set<String> = [], sourceFile: StaticString = #filePath, line: UInt = #line,
                           _ body: (Data) throws -> Void) throws -> Report {
        let json = try JSONSerialization.jsonObject(with: original, options: [.fragmentsAllowed])
        let names = errorNames
        // FUZZ_VERBOSE=1: each case on standard error before it runs; FUZZ_VERBOSE=FILE: appended to FILE instead,
        // unbuffered (swift test may buffer a test's standard error, so a trap could hide the last lines).
        let verboseSetting = ProcessInfo.processInfo.environment["FUZZ_VERBOSE"] ?? ""
        let verbose = !verboseSetting.isEmpty
        let log: FileHandle? = verboseSetting == "1" || verboseSetting.isEmpty ? FileHandle.standardError : {
            if !FileManager.default.fileExists(atPath: verboseSetting) { FileManager.default.createFile(atPath: verboseSetting, contents: nil) }
            let h = FileHandle(forWritingAtPath: verboseSetting)
            h?.seekToEndOfFile()
            return h
        }()
        var report = Report()
        report.file = name
        let start = Date()
        for m in mutations(of: json, maxElements: campaign ? max(maxElements, campaignElements) : maxElements, skipKeys: skipKeys,
                           sampledObjects: sampledObjects) {
            let mutant = apply(m, to: json)
            let data = try JSONSerialization.data(withJSONObject: mutant, options: [.fragmentsAllowed, .sortedKeys])
            if verbose { log?.write(Data("fuzz \(report.file): \(m)\n".utf8)) }
            ResidentMemory.resetPeak()
            let t0 = Date()
            do {
                try body(data)
                report.worked += 1
            } catch {
                report.threw += 1
                let text = "\(error)"
                if !names.contains(where: { text.contains($0) }) {
                    XCTFail("\(report.file) \(m): the error does not name \(names.joined(separator: " or ")): \(text)", file: sourceFile, line: line)
                }
            }
            let dt = Date().timeIntervalSince(t0)
            report.cases += 1
            if dt > report.slowest { (report.slowest, report.slowestCase) = (dt, m.description) }
            if dt > maxSeconds { XCTFail("\(report.file) \(m): took \(dt) s (limit \(maxSeconds) s)", file: sourceFile, line: line) }
            let peak = ResidentMemory.peakMB()
            report.peakMB = max(report.peakMB, peak)
            if peak > maxResidentMB { XCTFail("\(report.file) \(m): peak resident memory \(Int(peak)) MB (limit \(Int(maxResidentMB)) MB)", file: sourceFile, line: line) }
        }
        report.seconds = Date().timeIntervalSince(start)
        print(report)
        return report
    }
}

/// The process's peak resident memory (VmHWM of /proc/self/status, reset by writing 5 to /proc/self/clear_refs);
/// 0 where /proc is missing.
public enum ResidentMemory {
    public static func resetPeak() {
        if let h = FileHandle(forWritingAtPath: "/proc/self/clear_refs") { h.write(Data("5".utf8)); try? h.close() }
    }

    public static func peakMB() -> Double {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return 0 }
        return kb / 1024
    }
}

/// A safetensors file split into its JSON header and its tensor bytes, so that mutants of the header can be put
/// back before the same bytes (offsets are relative to the end of the header).
public struct SafeTensorsBytes {
    public let header: Data
    public let tensorBytes: Data

    public init(_ file: Data) {
        let n = Int(file.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        header = file.subdata(in: 8..<(8 + n))
        tensorBytes = file.subdata(in: (8 + n)..<file.count)
    }

    /// The file with `header` in place of its own (padded with spaces to a multiple of 8, as writers do).
    public func with(header h: Data) -> Data {
        var json = h
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + tensorBytes.count)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        out.append(tensorBytes)
        return out
    }
}

extension JSONFuzz {
    /// Mutation fuzzing of a safetensors file's header (each tensor's dtype, shape and data_offsets, and the
    /// metadata): each mutant is written over `path` (restored afterwards) and `body` runs. Only the first
    /// `maxTensors` tensors (by name) are mutated.
    @discardableResult
    public static func runSafeTensorsHeader(file path: String, maxTensors: Int = 2, skipKeys: Set<String> = [], maxSeconds: Double = 10,
                                            sourceFile: StaticString = #filePath, line: UInt = #line,
                                            _ body: () throws -> Void) throws -> Report {
        let url = URL(fileURLWithPath: path)
        let original = try Data(contentsOf: url)
        defer { try? original.write(to: url) }
        let split = SafeTensorsBytes(original)
        let hasMetadata = (try? JSONSerialization.jsonObject(with: split.header) as? [String: Any])??["__metadata__"] != nil
        return try run(json: split.header, name: url.lastPathComponent + " header", maxSeconds: maxSeconds,
                       errorNames: [path], skipKeys: skipKeys, maxElements: maxTensors + (hasMetadata ? 1 : 0), campaignElements: 8, sampledObjects: [""], sourceFile: sourceFile, line: line) { mutant in
            try split.with(header: mutant).write(to: url)
            try body()
        }
    }
}
