// `--whiten-eot` (ours, EOTWhitening.swift): the fitted map whitens the rows it was fitted on; a stage-1 task with
// it still starts exactly at the stage-0 checkpoint, fits the map on its training captions, and saves it (buffers
// `eot_mean`, `eot_whitening` and `whiten_eot` in the conditioning JSON) so that a loaded model reads t_EOT as
// training did; models without it keep their keys and JSON.
import Distill
import Foundation
import TensorCore
import Teacher
import TestSupport
import Training
import TriPlaneGAN
import XCTest

final class EOTWhiteningTests: XCTestCase {
    /// Rows x = L·g + m (g standard normal, L lower-triangular with a 40:1 spread of scales): (x − μ)·A has the
    /// identity covariance and zero mean over the same rows; a direction with no variance stays finite and flat.
    func testFitWhitensItsRows() throws {
        let (n, d) = (3000, 6)
        let g = RandomGenerator(seed: 11).normal([n, d]).toArray()
        var l = [[Float]](repeating: [Float](repeating: 0, count: d), count: d)
        for r in 0..<d {
            l[r][r] = Float(40 - 7 * r)
            for c in 0..<r { l[r][c] = 0.9 * Float(r - c) }
        }
        var rows = [Float](repeating: 0, count: n * d)
        for i in 0..<n {
            for r in 0..<d {
                var v = 3 + Float(r)
                for c in 0..<d { v += l[r][c] * g[i * d + c] }
                rows[i * d + r] = v
            }
        }
        let (mean, a) = try EOTWhitening.fit(rows, count: n, dim: d)
        let x = Tensor(rows, shape: [n, d]), z = ((x - Tensor(mean, shape: [1, d])).matmul(Tensor(a, shape: [d, d]))).toArray()
        for c in 0..<d {
            XCTAssertEqual((0..<n).reduce(0.0) { $0 + Double(z[$1 * d + c]) } / Double(n), 0, accuracy: 1e-4, "mean of column \(c)")
            for c2 in 0..<d {
                let cov = (0..<n).reduce(0.0) { $0 + Double(z[$1 * d + c]) * Double(z[$1 * d + c2]) } / Double(n)
                XCTAssertEqual(cov, c == c2 ? 1 : 0, accuracy: 2e-4, "covariance (\(c), \(c2))")
            }
        }
        // ZCA is symmetric.
        for r in 0..<d { for c in 0..<d { XCTAssertEqual(a[r * d + c], a[c * d + r], accuracy: 1e-6 * abs(a[r * d + r])) } }
        // A constant column: its variance is below the floor, so it is scaled by 1/√(floor·λ_max), not 1/0.
        var flat = rows
        for i in 0..<n { flat[i * d + 2] = 5 }
        let (m2, a2) = try EOTWhitening.fit(flat, count: n, dim: d)
        XCTAssertTrue(a2.allSatisfy(\.isFinite))
        XCTAssertEqual(m2[2], 5, accuracy: 1e-5)
        XCTAssertThrowsError(try EOTWhitening.fit([Float](repeating: 1, count: 4 * d), count: 4, dim: d)) { e in
            XCTAssertTrue("\(e)".contains("--whiten-eot"), "\(e)")
        }
    }

    func testStageOneWithWhitenedEOTStartsAtTheCheckpointAndSavesTheMap() throws {
        let run = try temporaryFolder("s1-whiten")
        defer { try? FileManager.default.removeItem(atPath: run) }
        let teacher = fixturePath("teacher/tiny-sd-pipeline")
        var settings = TextStageSettings(stage: 1)
        settings.adapters = 2
        settings.whitenEOT = true
        let task = try TextStages.makeTask(data: tinyWorld, training: microConfig.training, seed: 1, initPath: TextStageTests.stageZero,
                                           teacher: teacher, settings: settings)
        let mapping = task.trainer.generator.conditioning.semanticsMapping
        XCTAssertTrue(task.trainer.generator.conditioningConfig.whitenEOT)
        let mean = try XCTUnwrap(mapping.eotMean).toArray(), matrix = try XCTUnwrap(mapping.eotWhitening).toArray()
        // The map is the one fitted on the training captions (the same draws), and G_ema holds it too.
        let text = try CLIPTextEncoding(tokenizerFolder: teacher + "/tokenizer", textEncoderFolder: teacher + "/text_encoder")
        let bank = try PortraitWorldSplit.bank(path: tinyWorld, resolution: 16, limit: nil, progress: false)
        let refit = try TextStages.fitWhitening(text: text, captions: bank.captions, seed: 1)
        XCTAssertEqual(mean, refit.mean)
        XCTAssertEqual(matrix, refit.matrix)
        XCTAssertGreaterThan(mean.map(abs).max() ?? 0, 1e-3, "fitted, not the identity it starts as")
        XCTAssertEqual(task.trainer.generatorEMA.conditioning.semanticsMapping.eotWhitening?.toArray(), matrix)
        // Still the identity on the images: the fusion layer starts at zero.
        let plainG = try TriPlaneGenerator.load(path: (TextStageTests.stageZero as NSString).appendingPathComponent("G_ema.safetensors"))
        let z = RandomGenerator(seed: 4).normal([2, 16]), c = Tensor.concat([frontalLabel(), frontalLabel()], axis: 0)
        let prompts = task.trainer.samplePrompts!(2)
        let a = withNoGrad { plainG(z: z, cCond: c, noiseMode: .const, resolution: 16, random: GeneratorRandomSource(seed: 9)) }
        let b = withNoGrad { task.trainer.generatorEMA(z: z, cCond: c, text: prompts, noiseMode: .const, resolution: 16, random: GeneratorRandomSource(seed: 9)) }
        XCTAssertEqual(a.image.toArray(), b.image.toArray(), "a whitened stage 1 must start exactly at the stage-0 generator")
        var s = LoopSettings(steps: 1)
        s.quiet = true
        try TrainingLoop.run(task, in: try RunFolder(path: run), settings: s, resume: false)
        let saved = try TextConditionedGenerator.load(path: "\(run)/checkpoints/000000001/G_ema.safetensors")
        XCTAssertTrue(saved.conditioningConfig.whitenEOT)
        XCTAssertTrue(try saved.conditioningConfig.jsonString().contains("\"whiten_eot\":true"))
        XCTAssertEqual(saved.conditioning.semanticsMapping.eotWhitening?.toArray(), matrix)
        XCTAssertEqual(saved.conditioning.semanticsMapping.eotMean?.toArray(), mean)
        // A model without it has neither the buffers nor the key.
        var plain = settings
        plain.whitenEOT = false
        let other = try TextStages.makeTask(data: tinyWorld, training: microConfig.training, seed: 1, initPath: TextStageTests.stageZero,
                                            teacher: teacher, settings: plain)
        let keys = other.trainer.generator.conditioning.stateDict().keys
        XCTAssertFalse(keys.contains { $0.contains("eot_") }, "\(keys.sorted())")
        XCTAssertFalse(try other.trainer.generator.conditioningConfig.jsonString().contains("whiten_eot"))
        // Continuing the whitened run without --whiten-eot is refused by name.
        XCTAssertThrowsError(try TextStages.makeTask(data: tinyWorld, training: microConfig.training, seed: 2, initPath: run,
                                                     teacher: teacher, settings: plain)) { e in
            XCTAssertTrue("\(e)".contains("--whiten-eot"), "\(e)")
        }
    }
}
