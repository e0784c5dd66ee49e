// Results in the form of the paper's Table 1 (§4.3, "Performance on CelebAText-HQ and FFHQ-Text"; method doc §7):
// one row per method (with its synthesis type, e.g. "3D Forward"), and per dataset a column group FID↓ MSC↑ R-P↑,
// the in-distribution caption set (CelebAText-HQ in the paper) first and the out-of-distribution one (FFHQ-Text)
// after it. Rendered as aligned text (absent values as "—", two decimals as the paper prints) and as JSON.
// Units are the paper's: FID as computed, MSC in CLIP-score units (100 · cos), R-P in percent
// (`RPrecisionResult.percent`). A single dataset gives the one-group form of the ablation tables (Tables 2, 3).
import Foundation

public struct MetricsTable: Codable, Equatable, Sendable {
    /// A column of each dataset group; the raw values are the `eval --metrics` names.
    public enum Metric: String, Codable, CaseIterable, Sendable {
        case fid, msc, rp

        /// Column header with the paper's arrow: FID↓, MSC↑, R-P↑.
        public var header: String { ["FID↓", "MSC↑", "R-P↑"][Metric.allCases.firstIndex(of: self)!] }
        /// Whether larger values are better (MSC, R-P) or smaller (FID).
        public var higherIsBetter: Bool { self != .fid }
    }

    /// Whether a dataset's captions are those the model trained on.
    public enum Distribution: String, Codable, Sendable {
        case inDistribution = "in-distribution", outOfDistribution = "out-of-distribution"
    }

    /// A column group.
    public struct Dataset: Codable, Equatable, Sendable {
        public var name: String
        public var distribution: Distribution
        public init(name: String, distribution: Distribution) { self.name = name; self.distribution = distribution }
    }

    /// One method's values on one dataset; nil = not measured.
    public struct Cell: Codable, Equatable, Sendable {
        public var fid: Double?, msc: Double?, rp: Double?
        public init(fid: Double? = nil, msc: Double? = nil, rp: Double? = nil) { self.fid = fid; self.msc = msc; self.rp = rp }

        public subscript(metric: Metric) -> Double? {
            get { switch metric { case .fid: fid; case .msc: msc; case .rp: rp } }
            set { switch metric { case .fid: fid = newValue; case .msc: msc = newValue; case .rp: rp = newValue } }
        }
    }

    /// One method (a table row).
    public struct Row: Codable, Equatable, Sendable {
        public var method: String
        /// The paper's "Synthesis Type" column (3D Reconstruction, 3D Inversion, 3D Forward).
        public var synthesisType: String?
        /// Values per dataset name.
        public var results: [String: Cell]

        public init(method: String, synthesisType: String? = nil, results: [String: Cell] = [:]) {
            self.method = method; self.synthesisType = synthesisType; self.results = results
        }
        enum CodingKeys: String, CodingKey { case method, synthesisType = "synthesis_type", results }
    }

    /// Table 1's column groups: CelebAText-HQ (in-distribution), FFHQ-Text (out-of-distribution).
    public static let paperDatasets = [Dataset(name: "CelebAText-HQ", distribution: .inDistribution),
                                       Dataset(name: "FFHQ-Text", distribution: .outOfDistribution)]

    /// A line above the table (e.g. "Table 1: Performance on ...").
    public var caption: String?
    /// Column groups, left to right.
    public var datasets: [Dataset]
    /// Columns of each group, left to right.
    public var metrics: [Metric]
    public var rows: [Row]
    /// Free-form provenance (CLIP folder, seed, sample counts, ...), kept in the JSON.
    public var metadata: [String: String]

    public init(datasets: [Dataset] = MetricsTable.paperDatasets, metrics: [Metric] = Metric.allCases,
                caption: String? = nil, rows: [Row] = [], metadata: [String: String] = [:]) {
        self.datasets = datasets; self.metrics = metrics; self.caption = caption; self.rows = rows; self.metadata = metadata
    }

    /// Sets `method`'s `metric` on `dataset` (nil clears it), adding the row at the end if it is new; a non-nil
    /// `synthesisType` replaces the row's.
    /// - Throws: `CLIPMetricError` for a dataset that is not a column group or a non-finite value.
    public mutating func set(_ metric: Metric, _ value: Double?, method: String, dataset: String, synthesisType: String? = nil) throws {
        guard datasets.contains(where: { $0.name == dataset }) else {
            throw CLIPMetricError("MetricsTable: no dataset \"\(dataset)\" (columns: \(datasets.map { "\"\($0.name)\"" }.joined(separator: ", ")))")
        }
        if let value, !value.isFinite {
            throw CLIPMetricError("MetricsTable: \(metric.header) of \"\(method)\" on \"\(dataset)\" is \(value)")
        }
        let r = rows.firstIndex { $0.method == method } ?? { rows.append(Row(method: method)); return rows.count - 1 }()
        if let synthesisType { rows[r].synthesisType = synthesisType }
        rows[r].results[dataset, default: Cell()][metric] = value
    }

    /// `method`'s `metric` on `dataset`, if measured.
    public func value(_ metric: Metric, method: String, dataset: String) -> Double? {
        rows.first { $0.method == method }?.results[dataset]?[metric]
    }

    /// Aligned text: the caption, a dataset header over each group, the metric headers, a rule, then the rows
    /// (methods left-aligned, values right-aligned with `decimals` decimals, "—" where absent), and a line naming
    /// the in- and out-of-distribution datasets. The "Synthesis Type" column appears when some row has one.
    public func text(decimals: Int = 2) -> String {
        let withType = rows.contains { $0.synthesisType != nil }
        let lead = ["Method"] + (withType ? ["Synthesis Type"] : [])
        let body: [[String]] = rows.map { row in
            [row.method] + (withType ? [row.synthesisType ?? "—"] : []) + datasets.flatMap { d in
                metrics.map { m in row.results[d.name]?[m].map { String(format: "%.\(decimals)f", $0) } ?? "—" }
            }
        }
        let header = lead + datasets.flatMap { _ in metrics.map(\.header) }
        var width = header.indices.map { c in ([header] + body).map { $0[c].count }.max()! }
        // Widen a group's last column when its dataset name is wider than the group.
        let gap = "  ", groupGap = "    "
        for (g, d) in datasets.enumerated() where !metrics.isEmpty {
            let cols = (lead.count + g * metrics.count)..<(lead.count + (g + 1) * metrics.count)
            let span = cols.map { width[$0] }.reduce(0, +) + gap.count * (cols.count - 1)
            if d.name.count > span { width[cols.upperBound - 1] += d.name.count - span }
        }
        func pad(_ s: String, _ w: Int, right: Bool) -> String {
            let fill = String(repeating: " ", count: Swift.max(w - s.count, 0))
            return right ? fill + s : s + fill
        }
        func line(_ cells: [String]) -> String {
            var out = ""
            for (c, s) in cells.enumerated() {
                if c > 0 { out += c >= lead.count && (c - lead.count) % Swift.max(metrics.count, 1) == 0 ? groupGap : gap }
                out += pad(s, width[c], right: c >= lead.count)
            }
            return String(out.reversed().drop { $0 == " " }.reversed())
        }
        var groupLine = line(lead.map { _ in "" })
        groupLine = pad(groupLine, lead.indices.map { width[$0] }.reduce(0, +) + gap.count * (lead.count - 1), right: false)
        for (g, d) in datasets.enumerated() where !metrics.isEmpty {
            let cols = (lead.count + g * metrics.count)..<(lead.count + (g + 1) * metrics.count)
            let span = cols.map { width[$0] }.reduce(0, +) + gap.count * (cols.count - 1)
            let left = (span - d.name.count) / 2
            groupLine += groupGap + pad(String(repeating: " ", count: left) + d.name, span, right: false)
        }
        let headerLine = line(header)
        var lines: [String] = []
        if let caption { lines.append(caption) }
        lines.append(String(groupLine.reversed().drop { $0 == " " }.reversed()))
        lines.append(headerLine)
        lines.append(String(repeating: "-", count: headerLine.count))
        lines += body.map(line)
        let kinds = [Distribution.inDistribution, .outOfDistribution].compactMap { k -> String? in
            let names = datasets.filter { $0.distribution == k }.map(\.name)
            return names.isEmpty ? nil : "\(k.rawValue): \(names.joined(separator: ", "))"
        }
        if !kinds.isEmpty { lines.append(kinds.joined(separator: "; ")) }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Pretty-printed JSON with sorted keys; absent values are left out.
    public func json() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try e.encode(self)
    }

    /// Reads `json()`'s output.
    /// - Throws: decoding errors, or `CLIPMetricError` when a row names a dataset that is not a column group.
    public static func decode(json data: Data) throws -> MetricsTable {
        let t = try JSONDecoder().decode(MetricsTable.self, from: data)
        let names = Set(t.datasets.map(\.name))
        for row in t.rows { for d in row.results.keys where !names.contains(d) {
            throw CLIPMetricError("MetricsTable JSON: row \"\(row.method)\" has results for \"\(d)\", which is not among the datasets \(t.datasets.map(\.name))")
        } }
        return t
    }
}
