// manifest.json of a generate run: what went in (command, flags, seed, checkpoint path, size and SHA-256, the
// generator configuration, the conditioning), what came out (every file with its size, the cameras, the mesh
// statistics) and what it cost (wall time, CPU time and peak resident memory per stage). Keys are snake_case.
import Foundation
import TensorCore
import TriPlaneGAN

public struct GenerateManifest: Codable {
    public struct Checkpoint: Codable {
        public var path: String
        public var bytes: Int
        public var sha256: String
    }

    public struct Conditioning: Codable {
        /// "text" or "unconditional".
        public var mode: String
        public var prompt: String?
        public var note: String
        /// The prompt's word tokens (before truncation to 75), for text-conditioned models.
        public var tokens: Int? = nil
        /// `--mix` and its `--alpha`.
        public var mix: String? = nil
        public var alpha: Float? = nil
    }

    public struct Settings: Codable {
        public var truncationPsi: Float
        public var truncationCutoff: String
        public var noiseMode: String
        public var conditioningCamera: String
        public var views: Int
        public var frames: Int
        public var frameDelayCentiseconds: Int
        public var neuralRenderingResolution: Int
        public var imageResolution: Int
        public var mesh: Bool
        public var meshResolution: Int
        public var meshThreshold: Float
        public var meshPad: Int
        public var cameraLabel: String?
        public var threads: Int
    }

    public struct View: Codable {
        public var image: String
        public var depth: String
        /// LookAtPoseSampler angles (radians) for arc views; nil for the --camera-label view.
        public var yaw: Double?
        public var pitch: Double?
        public var rendererSeed: UInt64
        public var label: [Float]
    }

    public struct Orbit: Codable {
        public var file: String
        public var frames: Int
        public var delayCentiseconds: Int
        public var path: String
    }

    public struct Mesh: Codable, Sendable {
        public var files: [String]
        public var vertices: Int
        public var triangles: Int
        public var resolution: Int
        public var threshold: Float
        public var pad: Int
        public var densityMin: Float
        public var densityMax: Float
        /// The grid's box (x, y, z min then max): ±box_warp / 2.
        public var bounds: [Float]

        public init(files: [String], vertices: Int, triangles: Int, resolution: Int, threshold: Float, pad: Int,
                    densityMin: Float, densityMax: Float, bounds: [Float]) {
            self.files = files; self.vertices = vertices; self.triangles = triangles; self.resolution = resolution
            self.threshold = threshold; self.pad = pad; self.densityMin = densityMin; self.densityMax = densityMax; self.bounds = bounds
        }
    }

    public struct Interpolation: Codable {
        public var file: String
        public var frames: Int
        /// "prompt" (text conditioning interpolated) or "seed" (w interpolated).
        public var between: String
        public var from: String
        public var to: String
        public var method: String
    }

    public struct Output: Codable {
        public var file: String
        public var bytes: Int
    }

    public var tool: String
    public var command: [String]
    /// "complete".
    public var status: String
    public var createdAt: String
    public var seed: UInt64
    public var checkpoint: Checkpoint
    public var config: TriPlaneConfig
    public var conditioning: Conditioning
    public var settings: Settings
    public var randomness: [String: String]
    public var depthEncoding: String
    public var views: [View]
    public var orbit: Orbit?
    public var mesh: Mesh?
    /// Why the mesh was not made (a level without a surface); the other outputs are complete.
    public var meshSkipped: String? = nil
    public var interpolation: Interpolation? = nil
    public var outputs: [Output]
    public var stages: [StageRecord]
    /// The largest stage peak (MiB).
    public var peakRssMib: Double
    public var totalSeconds: Double

    /// Pretty-printed JSON with sorted snake_case keys.
    public func jsonData() throws -> Data { try ManifestJSON.encode(self) }
}
