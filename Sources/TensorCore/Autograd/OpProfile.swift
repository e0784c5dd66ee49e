// Where a training step's time goes, by op name (`TENSORCORE_PROFILE=1`, or `OpProfile.isEnabled = true`;
// `dreamportrait bench … --profile`). Forward: every op calls `recorded` last, so the time since the previous op
// returned (or since `reset`) is that op's, including whatever un-recorded work ran in between (data, setup).
// Backward: each node's closure and the accumulation of its cotangents, timed one by one; the ops that closures
// run are not counted again as forward work. Off by default: one branch per op.
import Foundation

public enum OpProfile {
    nonisolated(unsafe) public static var isEnabled = ["1", "shapes"].contains(ProcessInfo.processInfo.environment["TENSORCORE_PROFILE"] ?? "")
    /// Key the table by op *and* input shapes (`TENSORCORE_PROFILE=shapes`, `--profile-shapes`).
    nonisolated(unsafe) public static var byShape = ProcessInfo.processInfo.environment["TENSORCORE_PROFILE"] == "shapes"

    public struct Entry: Sendable {
        public var forwardSeconds = 0.0, forwardCount = 0
        public var backwardSeconds = 0.0, backwardCount = 0
        public var total: Double { forwardSeconds + backwardSeconds }
    }

    nonisolated(unsafe) public private(set) static var entries: [String: Entry] = [:]
    nonisolated(unsafe) static var mark: UInt64 = 0
    nonisolated(unsafe) static var inBackward = false

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Clears the table and starts the forward clock.
    public static func reset() { entries = [:]; mark = now() }

    /// Called by every op as it returns (Graph.swift `record`).
    static func forward(_ op: String, shapes: @autoclosure () -> [[Int]]) {
        guard isEnabled, !inBackward else { return }
        let t = now()
        if mark == 0 { mark = t }   // switched on by the environment: the clock starts at the first op
        let key = byShape ? name(op, shapes()) : op
        entries[key, default: Entry()].forwardSeconds += Double(t &- mark) / 1e9
        entries[key]!.forwardCount += 1
        mark = now()
    }

    static func backward(_ op: String, shapes: @autoclosure () -> [[Int]], since start: UInt64) {
        let t = now()
        let key = byShape ? name(op, shapes()) : op
        entries[key, default: Entry()].backwardSeconds += Double(t &- start) / 1e9
        entries[key]!.backwardCount += 1
    }

    static func name(_ op: String, _ shapes: [[Int]]) -> String {
        op + " " + shapes.map { $0.map(String.init).joined(separator: "x") }.joined(separator: ",")
    }

    /// The `top` ops by total time, with their share, per-call time and call counts (divided by `steps`).
    public static func report(top: Int = 25, steps: Int = 1) -> String {
        let all = entries.values.reduce(0) { $0 + $1.total }
        guard all > 0 else { return "no ops were profiled" }
        let s = Double(Swift.max(steps, 1))
        let w = Swift.max(22, (entries.keys.map(\.count).max() ?? 0) + 1)
        func pad(_ s: String, _ n: Int) -> String { OpProfile.pad(s, n == 22 ? w : n) }
        var lines = [pad("op", 22) + pad("fwd ms", 10) + pad("bwd ms", 10) + pad("share", 8) + pad("calls f/b", 14)]
        for (name, e) in entries.sorted(by: { $0.value.total > $1.value.total }).prefix(top) {
            lines.append(pad(name, 22) + pad(fmt(e.forwardSeconds * 1e3 / s), 10) + pad(fmt(e.backwardSeconds * 1e3 / s), 10)
                         + pad(fmt(100 * e.total / all) + "%", 8)
                         + pad("\(e.forwardCount / Int(s))/\(e.backwardCount / Int(s))", 14))
        }
        lines.append(pad("all", 22) + pad(fmt(entries.values.reduce(0) { $0 + $1.forwardSeconds } * 1e3 / s), 10)
                     + pad(fmt(entries.values.reduce(0) { $0 + $1.backwardSeconds } * 1e3 / s), 10))
        return lines.joined(separator: "\n")
    }

    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
    static func fmt(_ x: Double) -> String {
        let r = (x * 100).rounded() / 100
        return "\(r)"
    }
}
