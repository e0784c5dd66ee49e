// Terminal progress bar with rate and ETA (stderr). Ctrl-C handling is Training's `Interrupt`.
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A one-line progress bar on standard error, redrawn at most 10 times a second (every 5 s when not a terminal).
final class ProgressBar {
    let total: Int, start: Int, unit: String
    let t0 = Date()
    var last = Date.distantPast
    let tty = isatty(2) != 0

    init(total: Int, start: Int, unit: String) { self.total = total; self.start = start; self.unit = unit }

    func update(_ done: Int, force: Bool = false) {
        let now = Date()
        guard force || done == total || now.timeIntervalSince(last) >= (tty ? 0.1 : 5) else { return }
        last = now
        let elapsed = now.timeIntervalSince(t0)
        let rate = elapsed > 0 ? Double(done - start) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let width = 30
        let filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let etaText = done >= total ? ProgressBar.clock(0) : rate > 0 ? ProgressBar.clock(eta) : "--"
        let line = "[\(bar)] \(done)/\(total) \(String(format: "%.1f", rate)) \(unit)/s ETA \(etaText)"
        FileHandle.standardError.write(Data(((tty ? "\r" : "") + line + (tty ? "" : "\n")).utf8))
    }

    func finish() {
        if tty { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    /// Seconds since the bar was made.
    var elapsed: Double { Date().timeIntervalSince(t0) }

    static func clock(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%dh%02dm%02ds", t / 3600, t / 60 % 60, t % 60) : String(format: "%dm%02ds", t / 60, t % 60)
    }
}
