// A progress bar with rate and ETA on standard error: redrawn in place on a terminal, one line per tenth of
// the work otherwise (logs stay short).
import Foundation

final class ProgressBar {
    let label: String
    let total: Int
    let unit: String
    private let start = DispatchTime.now().uptimeNanoseconds
    private let interactive = isatty(STDERR_FILENO) != 0
    private var lastDecile = -1

    init(label: String, total: Int, unit: String = "images") {
        self.label = label
        self.total = total
        self.unit = unit
    }

    /// Reports `done` of `total`; finishes the line when done == total.
    func update(_ done: Int) {
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        let width = 24, filled = Int(fraction * Double(width))
        let bar = String(repeating: "=", count: filled) + (filled < width ? ">" + String(repeating: " ", count: width - filled - 1) : "")
        let text = "\(label) [\(bar)] \(done)/\(total) \(unit)  \(String(format: "%.1f", rate)) \(unit)/s  "
            + (done < total ? "ETA \(ProgressBar.clock(eta))" : "in \(ProgressBar.clock(elapsed))")
        if interactive {
            FileHandle.standardError.write(("\r" + text + "\u{1B}[K" + (done >= total ? "\n" : "")).data(using: .utf8)!)
        } else {
            let decile = total > 0 ? done * 10 / total : 10
            if decile != lastDecile { lastDecile = decile; printError(text) }
        }
    }

    /// 75 -> "1:15", 3700 -> "1:01:40".
    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
