// Shared helpers for the PortraitExport tests: a tiny random-weight checkpoint (TriPlaneConfig.tiny128) written
// once per process, and a pipeline set up for quick runs (scratch paths: TestSupport's temporaryPath).
import Foundation
import XCTest
import TensorCore
import TriPlaneGAN
@testable import PortraitExport
import TestSupport

enum ExportTestSupport {
    /// The tiny generator's state dict and the folder of its checkpoint.
    static let tiny: (state: [String: Tensor], dir: String, path: String) = {
        let dir = temporaryPath("portrait-export-ckpt")
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let g = TriPlaneGenerator(config: .tiny128, rng: RandomGenerator(seed: 7))
        let state = g.stateDict()
        let path = dir + "/tiny.safetensors"
        try! saveSafeTensors(state, metadata: ["config": try! TriPlaneConfig.tiny128.jsonString()], to: path)
        return (state, dir, path)
    }()

    /// Writes a variant of the tiny checkpoint and returns its path.
    static func checkpoint(_ name: String, _ edit: (inout [String: Tensor]) -> Void) throws -> String {
        var s = tiny.state
        edit(&s)
        let path = tiny.dir + "/\(name).safetensors"
        try saveSafeTensors(s, metadata: ["config": try TriPlaneConfig.tiny128.jsonString()], to: path)
        return path
    }

    /// Options for a small run of the tiny checkpoint into `out`.
    static func options(out: String, views: Int = 2, frames: Int = 3, mesh: Bool = true, threshold: Float = 10) -> GenerateOptions {
        var o = GenerateOptions(weights: tiny.path, outputDirectory: out)
        o.views = views
        o.frames = frames
        o.mesh = mesh
        o.meshResolution = 32
        o.meshThreshold = threshold
        o.meshPad = 0
        o.seed = 3
        return o
    }

    /// Files in a folder (empty when it does not exist).
    static func files(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }
}
