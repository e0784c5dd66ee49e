// A loss plot drawn by our own code (no plotting library): one panel per logged series whose key starts with
// a chosen prefix, the raw values in light grey and a running mean in colour, the y range and the last value
// written in the panel, step on x. Written as PNG by Codecs.
import Codecs
import Foundation

public enum LossPlot {
    /// Draws `series` (name -> (step, value) points) into an image, one panel per series.
    public static func draw(_ series: [(name: String, points: [(Int, Double)])], width: Int = 720, panelHeight: Int = 110) -> Image {
        let panels = Swift.max(series.count, 1)
        var img = Image(width: width, height: panels * panelHeight, channels: 3, fill: 255)
        let black: [UInt16] = [0, 0, 0], grey: [UInt16] = [200, 200, 200], colour: [UInt16] = [200, 40, 40]
        func put(_ x: Int, _ y: Int, _ c: [UInt16]) {
            guard x >= 0, y >= 0, x < img.width, y < img.height else { return }
            let i = (y * img.width + x) * 3
            img.samples[i] = c[0]; img.samples[i + 1] = c[1]; img.samples[i + 2] = c[2]
        }
        let left = 8, right = width - 8
        for (k, s) in series.enumerated() {
            let top = k * panelHeight + 14, bottom = (k + 1) * panelHeight - 6
            for x in left...right { put(x, bottom, black) }
            for y in top...bottom { put(left, y, black) }
            let pts = s.points.filter { $0.1.isFinite }
            guard let first = pts.first, let lastPoint = pts.last else {
                BitmapFont.draw("\(s.name): no finite values", into: &img, x: left + 4, y: k * panelHeight + 3, colour: black)
                continue
            }
            // Robust range: 1st..99th percentile, so one spike does not flatten the curve.
            let sorted = pts.map { $0.1 }.sorted()
            var lo = sorted[Int(Double(sorted.count - 1) * 0.01)], hi = sorted[Int(Double(sorted.count - 1) * 0.99)]
            if hi <= lo { hi = lo + 1e-12 + Swift.abs(lo) * 1e-3; lo -= 1e-12 }
            let x0 = Double(first.0), x1 = Double(Swift.max(lastPoint.0, first.0 + 1))
            func px(_ step: Int) -> Int { left + 1 + Int(Double(right - left - 2) * (Double(step) - x0) / (x1 - x0)) }
            func py(_ v: Double) -> Int { bottom - 1 - Int(Double(bottom - top - 2) * Swift.min(Swift.max((v - lo) / (hi - lo), 0), 1)) }
            for (st, v) in pts { put(px(st), py(v), grey) }
            let window = Swift.max(pts.count / 50, 1)
            var sum = 0.0, prev: (Int, Int)? = nil
            for (i, (st, v)) in pts.enumerated() {
                sum += v
                if i >= window { sum -= pts[i - window].1 }
                let p = (px(st), py(sum / Double(Swift.min(i + 1, window))))
                if let q = prev { line(q, p, colour, put) } else { put(p.0, p.1, colour) }
                prev = p
            }
            let label = "\(s.name)  last \(TrainingProgress.short(lastPoint.1))  range [\(TrainingProgress.short(lo)), \(TrainingProgress.short(hi))]  steps \(first.0)-\(lastPoint.0)"
            BitmapFont.draw(label, into: &img, x: left + 4, y: k * panelHeight + 3, colour: black)
        }
        return img
    }

    static func line(_ a: (Int, Int), _ b: (Int, Int), _ c: [UInt16], _ put: (Int, Int, [UInt16]) -> Void) {
        let n = Swift.max(Swift.abs(b.0 - a.0), Swift.abs(b.1 - a.1), 1)
        for i in 0...n { put(a.0 + (b.0 - a.0) * i / n, a.1 + (b.1 - a.1) * i / n, c) }
    }

    /// Plots the keys of a JSONL log that start with one of `prefixes` and writes the PNG atomically.
    public static func write(log: String, to path: String, prefixes: [String] = ["loss/"]) throws {
        let records = TrainingLog.read(path: log)
        var names: [String] = []
        var points: [String: [(Int, Double)]] = [:]
        for r in records {
            for (k, v) in r.values where prefixes.contains(where: { k.hasPrefix($0) }) {
                if points[k] == nil { names.append(k) }
                points[k, default: []].append((r.step, v))
            }
        }
        let img = draw(names.sorted().map { ($0, points[$0]!) })
        try PNG.write(img, to: path)
    }
}
