// Wall time, CPU time and resident memory of this process, for per-stage reports (manifest.json,
// `dreamportrait bench generator`). On Linux the peak is VmHWM from /proc/self/status, and writing "5" to
// /proc/self/clear_refs resets it to the current RSS, so each stage can report its own peak. Elsewhere (or where
// the reset is refused) the peak is the process's peak so far (getrusage ru_maxrss) and says so.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads this process's resource use.
public enum ResourceProbe {
    /// Peak resident set size in bytes: VmHWM on Linux (resettable), else ru_maxrss.
    public static func peakResidentBytes() -> Int {
        if let kb = statusField("VmHWM") { return kb * 1024 }
        return maxRSSBytes()
    }

    /// Current resident set size in bytes (VmRSS), or nil where /proc is unavailable.
    public static func currentResidentBytes() -> Int? { statusField("VmRSS").map { $0 * 1024 } }

    /// Resets the peak (VmHWM) to the current RSS. Returns false where that is not possible; the peak then
    /// stays the process-wide one.
    @discardableResult
    public static func resetPeak() -> Bool {
        #if os(Linux)
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return write(fd, "5", 1) == 1
        #else
        return false
        #endif
    }

    /// User + system CPU seconds of the whole process (all threads).
    public static func cpuSeconds() -> Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) * 1e-6 }
        return s(usage.ru_utime) + s(usage.ru_stime)
    }

    /// Monotonic seconds.
    public static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

    /// The 1, 5 and 15 minute load averages, or nil where unavailable.
    public static func loadAverage() -> [Double]? {
        var l = [Double](repeating: 0, count: 3)
        return getloadavg(&l, 3) == 3 ? l : nil
    }

    /// ru_maxrss in bytes (kilobytes on Linux, bytes on macOS).
    static func maxRSSBytes() -> Int {
        var usage = rusage()
        #if os(Linux)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024
        #else
        getrusage(RUSAGE_SELF, &usage)
        return Int(usage.ru_maxrss)
        #endif
    }

    /// A "Name:   123 kB" line of /proc/self/status, in kB.
    static func statusField(_ name: String) -> Int? {
        #if os(Linux)
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            return Int(line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
        }
        #endif
        return nil
    }
}

/// One measured stage: wall and CPU seconds and the peak resident memory while it ran.
public struct StageRecord: Codable, Equatable, Sendable {
    public var name: String
    public var seconds: Double
    public var cpuSeconds: Double
    /// Peak resident memory in MiB during the stage (`peakScope` "stage"), or of the process so far ("process").
    public var peakRssMiB: Double
    public var peakScope: String

    enum CodingKeys: String, CodingKey {
        case name, seconds, cpuSeconds = "cpu_seconds", peakRssMiB = "peak_rss_mib", peakScope = "peak_scope"
    }
}

/// Times named stages in order and keeps their records.
public final class StageTimer {
    public private(set) var records: [StageRecord] = []

    public init() {}

    /// Runs `body` as stage `name`, recording wall time, CPU time and the stage's peak resident memory.
    public func measure<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        let scoped = ResourceProbe.resetPeak()
        let t0 = ResourceProbe.now(), c0 = ResourceProbe.cpuSeconds()
        let result = try body()
        records.append(StageRecord(name: name, seconds: ResourceProbe.now() - t0, cpuSeconds: ResourceProbe.cpuSeconds() - c0,
                                   peakRssMiB: Double(ResourceProbe.peakResidentBytes()) / 1048576,
                                   peakScope: scoped ? "stage" : "process"))
        return result
    }

    /// Total wall seconds over the recorded stages.
    public var totalSeconds: Double { records.reduce(0) { $0 + $1.seconds } }
}
