// The shared training machinery: checkpoint folders survive a crash mid-write, the log is cut back on resume,
// the data order is a permutation per epoch, the loss plot draws, the non-finite guard stops before a bad
// step reaches a checkpoint, and a resumed toy run equals a straight one bit for bit.
import Codecs
import Foundation
import TensorCore
import TestSupport
import Training
import XCTest

/// A toy task: fit y = 3x - 1 with Adam on batches drawn from StepRandom.
final class LineFit: TrainingTask {
    let title = "line fit"
    let itemsPerStep = 8
    let w = Tensor([0.1, 0.2], shape: [2])
    let adam: Adam
    let random = StepRandom(seed: 5)
    var poisonAt: Int? = nil
    init() { w.requiresGrad = true; adam = Adam([("w", w)], lr: 0.05) }

    func step(_ step: Int) throws -> [String: Double] {
        let x = random.generator("x", step: step).uniform([8], low: -1, high: 1)
        let y = x * 3 - 1
        let pred = x * w.slice(axis: 0, start: 0, end: 1) + w.slice(axis: 0, start: 1, end: 2)
        var loss = ((pred - y) * (pred - y)).mean()
        if step == poisonAt { loss = loss * Float.nan }
        let v = Double(loss.item())
        try checkFinite("loss/fit", v, step: step)
        adam.zeroGrad(); loss.backward(); adam.step()
        return ["loss/fit": v]
    }
    func checkpoint() throws -> (files: [String: [String: Tensor]], state: [String: Any]) {
        (["model": ["w": w], "adam": adam.stateDict()], ["note": "toy"])
    }
    func restore(_ c: Checkpoint) throws {
        withNoGrad { w.copyIn(c.files["model"]!["w"]!) }
        try adam.loadStateDict(c.files["adam"]!)
    }
    func samples() throws -> Image? { nil }
}

final class RunMachineryTests: XCTestCase {
    func quiet(_ steps: Int) -> LoopSettings { var s = LoopSettings(steps: steps); s.quiet = true; s.checkpointSeconds = 1e9; return s }

    /// Run settings are checked on resume as JSON reads them back: a Bool, a number and a string that are equal
    /// pass; a changed one is named with both values.
    func testRunSettingsCheckedOnResume() throws {
        let dir = try temporaryFolder("run-config")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try RunFolder(path: dir)
        let settings: [String: Any] = ["flag": true, "batch": 8, "data": "/x", "off": false]
        try run.writeOrCheckConfig(settings, mustMatch: ["flag", "batch", "data", "off"])
        try run.writeOrCheckConfig(settings, mustMatch: ["flag", "batch", "data", "off"])
        var changed = settings
        changed["flag"] = false
        XCTAssertThrowsError(try run.writeOrCheckConfig(changed, mustMatch: ["flag"])) { e in
            XCTAssertTrue("\(e)".contains("flag") && "\(e)".contains("config.json"), "\(e)")
        }
    }

    func testResumedRunEqualsStraightRun() throws {
        let a = try RunFolder(path: try temporaryFolder("loop-a")), b = try RunFolder(path: try temporaryFolder("loop-b"))
        let straight = LineFit()
        try TrainingLoop.run(straight, in: a, settings: quiet(12), resume: true)
        try TrainingLoop.run(LineFit(), in: b, settings: quiet(5), resume: true)
        let resumed = LineFit()
        let outcome = try TrainingLoop.run(resumed, in: b, settings: quiet(12), resume: true)
        XCTAssertEqual(outcome.startStep, 5)
        XCTAssertEqual(straight.w.toArray(), resumed.w.toArray(), "parameters differ after resume")
        XCTAssertEqual(straight.adam.stateDict()["w.exp_avg_sq"]!.toArray(), resumed.adam.stateDict()["w.exp_avg_sq"]!.toArray())
        // The fit converges at all (the toy is a real optimisation).
        XCTAssertLessThan(Swift.abs(straight.w.toArray()[0] - 0.1), 10)
        let logA = TrainingLog.read(path: a.file("log.jsonl")).map { $0.values["loss/fit"]! }
        let logB = TrainingLog.read(path: b.file("log.jsonl")).map { $0.values["loss/fit"]! }
        XCTAssertEqual(logA, logB, "the resumed log must read as the straight one")
        XCTAssertEqual(logA.count, 12)
        XCTAssertTrue(FileManager.default.fileExists(atPath: a.file("loss.png")))
    }

    func testCheckpointSurvivesACrashMidWrite() throws {
        let run = try RunFolder(path: try temporaryFolder("ckpt"))
        XCTAssertNil(try run.loadLatest())
        for step in [3, 6, 9] { try run.save(Checkpoint(step: step, files: ["m": ["x": Tensor([Float(step)], shape: [1])]], state: [:])) }
        let folders = try FileManager.default.contentsOfDirectory(atPath: run.file("checkpoints")).filter { Int($0) != nil }.sorted()
        XCTAssertEqual(folders, ["000000006", "000000009"], "keeps the newest two")
        // A writer killed half-way: a temporary folder with a partial file, and a `latest` naming a folder that
        // never completed.
        let tmp = run.file("checkpoints/.tmp-000000012")
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: tmp + "/m.safetensors"))
        try Data("000000012".utf8).write(to: URL(fileURLWithPath: run.file("checkpoints/latest")))
        let c = try XCTUnwrap(try run.loadLatest())
        XCTAssertEqual(c.step, 9)
        XCTAssertEqual(c.files["m"]!["x"]!.toArray(), [9])
        // The next save replaces the leftovers.
        try run.save(Checkpoint(step: 12, files: ["m": ["x": Tensor([12], shape: [1])]], state: ["k": 1]))
        XCTAssertEqual(try run.loadLatest()?.step, 12)
        XCTAssertEqual(try run.loadLatest()?.state["k"] as? Int, 1)
    }

    func testNonFiniteLossStopsBeforeTheCheckpoint() throws {
        let run = try RunFolder(path: try temporaryFolder("nan"))
        var s = quiet(10); s.checkpointSteps = 2
        let task = LineFit(); task.poisonAt = 5
        XCTAssertThrowsError(try TrainingLoop.run(task, in: run, settings: s, resume: true)) { error in
            let e = error as? NonFiniteError
            XCTAssertEqual(e?.step, 5)
            XCTAssertEqual(e?.name, "loss/fit")
            XCTAssertTrue(e?.description.contains("000000004") ?? false, "names the last good checkpoint: \(error)")
        }
        XCTAssertEqual(try run.loadLatest()?.step, 4)
        XCTAssertTrue(try run.loadLatest()!.files["model"]!["w"]!.toArray().allSatisfy { $0.isFinite })
    }

    func testLogIsCutBackOnResume() throws {
        let path = try temporaryFolder("log") + "/log.jsonl"
        do {
            let log = try TrainingLog(path: path, resumeStep: nil)
            for s in 1...6 { log.append(step: s, ["loss/a": Double(s), "bad": .nan]) }
        }
        _ = try TrainingLog(path: path, resumeStep: 4)
        let records = TrainingLog.read(path: path)
        XCTAssertEqual(records.map(\.step), [1, 2, 3, 4])
        XCTAssertEqual(records.last?.values["loss/a"], 4)
    }

    func testDataOrderIsAPermutationPerEpochAndDeterministic() {
        var a = DataOrder(random: StepRandom(seed: 3), count: 10), b = DataOrder(random: StepRandom(seed: 3), count: 10)
        let epoch0 = (0..<5).flatMap { a.batch(step: $0, size: 2) }
        XCTAssertEqual(epoch0.sorted(), Array(0..<10))
        XCTAssertNotEqual(epoch0, Array(0..<10))
        XCTAssertEqual(b.batch(step: 7, size: 3), a.batch(step: 7, size: 3))
        var c = DataOrder(random: StepRandom(seed: 4), count: 10)
        XCTAssertNotEqual((0..<5).flatMap { c.batch(step: $0, size: 2) }, epoch0)
    }

    func testLossPlotDrawsEachSeries() {
        let img = LossPlot.draw([("loss/a", (0..<100).map { ($0, 1 / Double($0 + 1)) }), ("loss/b", [(0, .nan)])])
        XCTAssertEqual(img.height, 220)
        var red = 0
        for i in stride(from: 0, to: img.samples.count, by: 3) where img.samples[i] == 200 && img.samples[i + 1] == 40 { red += 1 }
        XCTAssertGreaterThan(red, 100, "the running mean of loss/a is drawn")
    }
}
