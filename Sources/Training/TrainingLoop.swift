// The step loop every trainer shares (teacher parts, EG3D stages): resume from the run folder's newest
// checkpoint, run steps, log every step to JSONL, show progress with an ETA, checkpoint atomically every few
// minutes / N steps / at the end / on Ctrl-C, redraw the loss plot and a sample grid at each checkpoint, and
// stop on a non-finite value naming the last good checkpoint. The task owns the models and the maths.
import Codecs
import Foundation
import TensorCore

/// What a trainer implements. `step(_:)` must draw its randomness from StepRandom keyed by the step, so
/// that a resumed run repeats a straight run bit for bit.
public protocol TrainingTask: AnyObject {
    /// Shown in the progress line ("teacher unet", "stage 0").
    var title: String { get }
    /// Training images consumed per step (for the rate).
    var itemsPerStep: Int { get }
    /// Runs step `step` (0-based). Returns the values to log: "loss/<name>", "lr/<name>", "time/<phase>"...
    /// Throws NonFiniteError (via checkFinite) instead of stepping an optimiser on a bad value.
    func step(_ step: Int) throws -> [String: Double]
    /// Everything needed to continue: tensors per file and a JSON-able state (random positions are the step).
    func checkpoint() throws -> (files: [String: [String: Tensor]], state: [String: Any])
    /// Restores `checkpoint()`'s output.
    func restore(_ checkpoint: Checkpoint) throws
    /// A grid of samples from fixed seeds/prompts, or nil.
    func samples() throws -> Image?
    /// Extra safetensors metadata per checkpoint file (default none), e.g. a generator's "config".
    func checkpointMetadata() -> [String: [String: String]]
}

extension TrainingTask {
    public func checkpointMetadata() -> [String: [String: String]] { [:] }
}

public struct LoopSettings {
    public var steps: Int
    /// Checkpoint when this much wall time has passed since the last one...
    public var checkpointSeconds: Double = 300
    /// ...or every this many steps (0: only by time, at the end and on interrupt).
    public var checkpointSteps: Int = 0
    /// A sample grid every this many steps (0: only at checkpoints written at the end).
    public var sampleSteps: Int = 0
    /// Print nothing (tests).
    public var quiet = false
    /// Progress line: which logged keys to show (prefixes).
    public var shown: [String] = ["loss/"]
    public init(steps: Int) { self.steps = steps }
}

public enum TrainingLoop {
    public struct Outcome {
        public let startStep: Int, endStep: Int
        public let interrupted: Bool
        public let checkpoint: String?
    }

    /// Runs `task` in `run` up to `settings.steps`, resuming from the newest checkpoint there when `resume`.
    @discardableResult
    public static func run(_ task: TrainingTask, in run: RunFolder, settings: LoopSettings, resume: Bool) throws -> Outcome {
        var start = 0
        var lastCheckpoint: String? = nil
        if resume, let c = try run.loadLatest() {
            try task.restore(c)
            start = c.step
            lastCheckpoint = run.latestCheckpointPath()
            if !settings.quiet { FileHandle.standardError.write(Data("resuming \(task.title) from step \(start) (\(lastCheckpoint!))\n".utf8)) }
        }
        let log = try TrainingLog(path: run.file("log.jsonl"), resumeStep: start)
        let progress = TrainingProgress(title: task.title, totalSteps: settings.steps, startStep: start,
                                        itemsPerStep: task.itemsPerStep, shown: settings.shown)
        var lastSave = Date()
        var step = start
        func save() throws {
            let (files, state) = try task.checkpoint()
            try run.save(Checkpoint(step: step, files: files, state: state, metadata: task.checkpointMetadata()))
            lastCheckpoint = run.latestCheckpointPath()
            try? LossPlot.write(log: run.file("log.jsonl"), to: run.file("loss.png"))
            lastSave = Date()
        }
        func sample() throws {
            guard let img = try task.samples() else { return }
            let dir = run.file("samples")
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try PNG.write(img, to: (dir as NSString).appendingPathComponent(String(format: "step-%09d.png", step)))
        }
        var interrupted = false
        while step < settings.steps {
            if Interrupt.requested { interrupted = true; break }
            let t0 = Date()
            var values: [String: Double]
            do { values = try task.step(step) } catch var e as NonFiniteError {
                e.lastCheckpoint = lastCheckpoint
                if !settings.quiet { progress.finish() }
                throw e
            }
            values["time/step"] = Date().timeIntervalSince(t0)
            step += 1
            log.append(step: step, values)
            if !settings.quiet { progress.update(step: step, values: values) }
            let due = Date().timeIntervalSince(lastSave) >= settings.checkpointSeconds
                || (settings.checkpointSteps > 0 && step % settings.checkpointSteps == 0)
            if settings.sampleSteps > 0 && step % settings.sampleSteps == 0 { try sample() }
            if due && step < settings.steps { try save() }
        }
        if step > start || lastCheckpoint == nil { try save() }
        if !interrupted && settings.sampleSteps == 0 { try sample() }
        if !settings.quiet {
            progress.update(step: step, values: [:], force: true)
            progress.finish()
            FileHandle.standardError.write(Data("\(interrupted ? "interrupted" : "finished") at step \(step); checkpoint \(lastCheckpoint ?? "none")\n".utf8))
        }
        return Outcome(startStep: start, endStep: step, interrupted: interrupted, checkpoint: lastCheckpoint)
    }
}
