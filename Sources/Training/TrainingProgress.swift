// The progress line of a training run on standard error: what runs, how far (step and items), speed, ETA and
// the latest values (smoothed), redrawn in place on a terminal (at most 5 times a second) and printed as a new
// line every 30 s otherwise (logs of background runs).
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public final class TrainingProgress {
    public let title: String
    public let totalSteps: Int
    public let itemsPerStep: Int
    let startStep: Int
    let t0 = Date()
    var last = Date.distantPast
    let tty = isatty(2) != 0
    /// Exponential moving averages of the logged values (what the line shows).
    public private(set) var smoothed: [String: Double] = [:]
    /// Which values to show, in order (prefix match on the log keys); the rest stay in the JSONL log.
    public var shown: [String]

    public init(title: String, totalSteps: Int, startStep: Int, itemsPerStep: Int, shown: [String] = ["loss/"]) {
        self.title = title; self.totalSteps = totalSteps; self.startStep = startStep
        self.itemsPerStep = itemsPerStep; self.shown = shown
    }

    public func update(step done: Int, values: [String: Double], force: Bool = false) {
        for (k, v) in values where v.isFinite { smoothed[k] = smoothed[k].map { 0.9 * $0 + 0.1 * v } ?? v }
        let now = Date()
        guard force || now.timeIntervalSince(last) >= (tty ? 0.2 : 30) else { return }
        last = now
        FileHandle.standardError.write(Data(((tty ? "\r\u{1B}[K" : "") + line(done: done, now: now) + (tty ? "" : "\n")).utf8))
    }

    public func line(done: Int, now: Date = Date()) -> String {
        let elapsed = now.timeIntervalSince(t0)
        let stepsPerSecond = elapsed > 0 ? Double(done - startStep) / elapsed : 0
        let eta = stepsPerSecond > 0 ? Double(totalSteps - done) / stepsPerSecond : .nan
        var parts = ["\(title) step \(done)/\(totalSteps)",
                     String(format: "%.1f%%", 100 * Double(done) / Double(Swift.max(totalSteps, 1))),
                     String(format: "%.1f img/s", stepsPerSecond * Double(itemsPerStep)),
                     "ETA " + (eta.isFinite ? TrainingProgress.clock(eta) : "--")]
        for prefix in shown {
            for k in smoothed.keys.sorted() where k.hasPrefix(prefix) {
                parts.append("\(k.dropFirst(prefix.hasSuffix("/") ? prefix.count : 0)) " + TrainingProgress.short(smoothed[k]!))
            }
        }
        return parts.joined(separator: " | ")
    }

    public func finish() { if tty { FileHandle.standardError.write(Data("\n".utf8)) } }

    public static func short(_ x: Double) -> String {
        let a = Swift.abs(x)
        return a != 0 && (a < 1e-3 || a >= 1e5) ? String(format: "%.3e", x) : String(format: "%.4f", x)
    }

    public static func clock(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%dh%02dm%02ds", t / 3600, t / 60 % 60, t % 60) : String(format: "%dm%02ds", t / 60, t % 60)
    }
}
