// manifest.json of `sds` and `refine`: what went in (command, prompt, seed, teacher, every setting, the one-pass
// source for refine), what came out (views, mesh, eval folder, every file with its size) and what it cost: per
// stage the wall time, CPU time and peak resident memory of this invocation (StageTimer, as `generate`), and per
// optimisation loop the totals over the whole run read back from its log (steps, seconds, seconds per step), so a
// resumed run still reports the time from prompt to result; `peak_rss_mib` is the largest stage peak. These are
// the numbers of the efficiency table (paper Fig. 7: time and memory per prompt).
import Foundation
import PortraitExport
import TensorCore
import Training

public struct OptimisationManifest: Codable {
    /// One optimisation loop over the whole run (all invocations).
    public struct Loop: Codable, Equatable {
        public var name: String
        public var steps: Int
        /// Σ time/step of the run's log (every invocation), and per step.
        public var seconds: Double
        public var secondsPerStep: Double
        /// The step this invocation resumed from (0 when it started the loop).
        public var resumedFromStep: Int
        public var runFolder: String

        /// The totals of a run folder's log.jsonl.
        public static func read(name: String, runFolder: String, resumedFrom: Int) -> Loop {
            let log = TrainingLog.read(path: (runFolder as NSString).appendingPathComponent("log.jsonl"))
            let seconds = log.reduce(0) { $0 + ($1.values["time/step"] ?? 0) }
            let steps = log.last?.step ?? 0
            return Loop(name: name, steps: steps, seconds: seconds, secondsPerStep: steps > 0 ? seconds / Double(steps) : 0,
                        resumedFromStep: resumedFrom, runFolder: runFolder)
        }
    }

    public struct Output: Codable {
        public var file: String
        public var bytes: Int
    }

    public struct Teacher: Codable {
        public var path: String
        /// The teacher's image side (what renders are resized to).
        public var resolution: Int
    }

    public var tool: String
    public var command: [String]
    /// "sds" or "refine".
    public var method: String
    public var status = "complete"
    public var createdAt: String
    public var prompt: String
    public var seed: UInt64
    public var teacher: Teacher
    public var field: FieldConfig
    /// The SDS settings (sds; refine's SDS stage).
    public var sds: SDSSettings
    /// refine: SDEdit, the ring and the fit, and the one-pass source.
    public var refine: RefineSettings? = nil
    public var source: [String: String]? = nil
    public var export: FieldExportOptions
    public var randomness: [String: String]
    public var depthEncoding: String
    public var views: [ExportedView]
    public var orbit: String?
    public var mesh: ExportedMesh?
    public var meshSkipped: String? = nil
    /// The `dreamportrait eval` folder (views layout) and how to score it.
    public var evalFolder: String
    public var optimisation: [Loop]
    public var outputs: [Output]
    public var stages: [StageRecord]
    public var peakRssMib: Double
    /// This invocation's wall time over its stages.
    public var totalSeconds: Double

    /// Pretty-printed JSON with sorted snake_case keys (as generate's manifest).
    public func jsonData() throws -> Data { try ManifestJSON.encode(self) }

    static let evalNote = "eval/: dreamportrait eval's views layout (00000/F.png, L15.png, R15.png at the MSC cameras, dataset.json, captions.json with the prompt); score with `dreamportrait eval --images OUT/eval --metrics msc --clip DIR`, or many outputs at once with `dreamportrait eval --images PARENT` over a folder of sds/refine outputs"
}
