// A progress bar on standard error for long loops (denoising steps, training iterations): "label  i/N
// [=====>    ]  45%  0:12 elapsed, ETA 0:15". On a terminal it redraws one line in place; otherwise (a log
// file, a pipe) it prints a line at every 10% so logs stay short.
import Foundation

final class ProgressBar {
    let label: String
    let total: Int
    let isTerminal: Bool
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastDecile = -1
    private var finished = false

    init(_ label: String, total: Int, isTerminal: Bool = isatty(STDERR_FILENO) != 0) {
        precondition(total >= 1, "ProgressBar: total must be positive")
        self.label = label
        self.total = total
        self.isTerminal = isTerminal
    }

    /// Seconds since the bar was created.
    var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    /// Reports `done` of `total` steps finished.
    func update(_ done: Int) {
        let d = Swift.min(Swift.max(done, 0), total)
        let line = ProgressBar.line(label: label, done: d, total: total, elapsed: elapsed)
        if isTerminal {
            FileHandle.standardError.write(Data(("\r" + line + "\u{1B}[K" + (d == total ? "\n" : "")).utf8))
            if d == total { finished = true }
        } else {
            let decile = d * 10 / total
            if decile > lastDecile {
                lastDecile = decile
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
        }
    }

    /// Ends the line on a terminal if the loop stopped early.
    func finish() {
        if isTerminal && !finished { FileHandle.standardError.write(Data("\n".utf8)); finished = true }
    }

    /// The bar's text for `done` of `total` after `elapsed` seconds (ETA from the mean time per step so far).
    static func line(label: String, done: Int, total: Int, elapsed: Double, width: Int = 24) -> String {
        let filled = width * done / total
        let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "") + String(repeating: " ", count: Swift.max(width - filled - 1, 0))
        let pct = String(format: "%3d%%", 100 * done / total)
        let eta = done > 0 ? clock(elapsed / Double(done) * Double(total - done)) : "--:--"
        let steps = "\(done)/\(total)".padding(toLength: 2 * String(total).count + 1, withPad: " ", startingAt: 0)
        return "\(label) \(steps) [\(bar)] \(pct)  \(clock(elapsed)) elapsed, ETA \(done == total ? "0:00" : eta)"
    }

    /// m:ss, or h:mm:ss from an hour.
    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
