// The 3D asset `sds` and `refine` optimise: a pyramid tri-grid (TriGrid) and EG3D's OSG decoder, rendered by the
// generator's own volume renderer (ImportanceRenderer: EG3D's ray sampler, stratified + importance samples, the
// MipNeRF ray marcher) without the super-resolution network (which needs a style code and is not 3D-consistent):
// the image is the raw render's first three feature channels at resolution R, in [-1, 1] like EG3D's image_raw.
// Saved as field.safetensors: the levels ("grid.level_<r>"), the decoder ("decoder.net.*") and `field` (FieldConfig
// JSON) in the metadata, so a field file alone renders.
import Foundation
import TensorCore
import TriPlaneGAN

/// The sizes and renderer settings of a field (snake_case JSON in field.safetensors and the manifests).
public struct FieldConfig: Codable, Equatable, Sendable {
    /// Pyramid level sides, ascending; the last is the plane resolution.
    public var levels: [Int]
    /// Channels per plane (EG3D's 32) and the decoder's widths (hidden 64, 32 colour features).
    public var planeChannels: Int
    public var decoderHidden: Int
    public var decoderOutput: Int
    public var decoderLrMul: Float = 1
    /// Renderer: coarse and importance samples per ray, the ray range, the cube side.
    public var depthResolution: Int
    public var depthResolutionImportance: Int
    public var rayStart: Double
    public var rayEnd: Double
    public var boxWarp: Double

    enum CodingKeys: String, CodingKey {
        case levels, planeChannels = "plane_channels", decoderHidden = "decoder_hidden", decoderOutput = "decoder_output"
        case decoderLrMul = "decoder_lr_mul", depthResolution = "depth_resolution"
        case depthResolutionImportance = "depth_resolution_importance", rayStart = "ray_start", rayEnd = "ray_end", boxWarp = "box_warp"
    }

    /// A field shaped like a generator's tri-plane and decoder, rendered with its settings.
    public init(levels: [Int], generator c: TriPlaneConfig) {
        let r = RendererSettings(config: c)
        self.init(levels: levels, planeChannels: c.planeChannels, decoderHidden: c.decoderHiddenDim, decoderOutput: c.decoderOutputDim,
                  decoderLrMul: r.decoderLRMultiplier, renderer: r)
    }

    public init(levels: [Int], planeChannels: Int = 32, decoderHidden: Int = 64, decoderOutput: Int = 32, decoderLrMul: Float = 1,
                renderer: RendererSettings = .ffhq) {
        self.levels = levels; self.planeChannels = planeChannels; self.decoderHidden = decoderHidden
        self.decoderOutput = decoderOutput; self.decoderLrMul = decoderLrMul
        depthResolution = renderer.depthResolution; depthResolutionImportance = renderer.depthResolutionImportance
        rayStart = renderer.rayStart; rayEnd = renderer.rayEnd; boxWarp = renderer.boxWarp
    }

    /// The renderer's settings (EG3D's defaults for everything not stored here).
    public var renderer: RendererSettings {
        var s = RendererSettings()
        s.depthResolution = depthResolution; s.depthResolutionImportance = depthResolutionImportance
        s.rayStart = rayStart; s.rayEnd = rayEnd; s.boxWarp = boxWarp
        s.planeChannels = planeChannels; s.decoderHidden = decoderHidden; s.decoderOutput = decoderOutput
        s.decoderLRMultiplier = decoderLrMul
        return s
    }

    /// Why this cannot be a field, or nil.
    public var problem: String? {
        if levels.isEmpty || levels.contains(where: { $0 < 1 || $0 > 4096 }) { return "levels \(levels) must be in 1...4096" }
        if zip(levels, levels.dropFirst()).contains(where: { $0 >= $1 }) { return "levels \(levels) must ascend strictly" }
        if !(1...1024).contains(planeChannels) || !(1...4096).contains(decoderHidden) || !(3...1024).contains(decoderOutput) {
            return "plane_channels \(planeChannels), decoder_hidden \(decoderHidden), decoder_output \(decoderOutput) out of range"
        }
        return renderer.validationError
    }

    public func jsonString() throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try e.encode(self), as: UTF8.self)
    }
}

public final class PortraitField: Module {
    public let config: FieldConfig
    public let grid: TriGrid
    public let decoder: OSGDecoder
    public let settings: RendererSettings

    /// A field from its parts (the grid's levels and the decoder's sizes must fit `config`).
    public init(config: FieldConfig, grid: TriGrid, decoder: OSGDecoder) {
        require(grid.resolutions == config.levels && grid.channels == 3 * config.planeChannels,
                "PortraitField: grid \(grid.resolutions) × \(grid.channels) does not fit \(config.levels) × 3·\(config.planeChannels)")
        require(decoder.inputFeatures == config.planeChannels && decoder.outputFeatures == config.decoderOutput,
                "PortraitField: decoder \(decoder.inputFeatures)→\(decoder.outputFeatures) does not fit the config")
        self.config = config
        self.grid = grid
        self.decoder = decoder
        settings = config.renderer
        super.init()
        registerModule("grid", grid)
        registerModule("decoder", decoder)
    }

    /// A random start ("from nothing"): levels N(0, std²) and EG3D's decoder initialisation, both from `rng`.
    public convenience init(config: FieldConfig, rng: RandomGenerator, std: Float = 0.1) {
        let grid = TriGrid(resolutions: config.levels, channels: 3 * config.planeChannels, rng: rng, std: std)
        let decoder = OSGDecoder(inputFeatures: config.planeChannels, hiddenFeatures: config.decoderHidden,
                                 outputFeatures: config.decoderOutput, lrMultiplier: config.decoderLrMul, rng: rng)
        self.init(config: config, grid: grid, decoder: decoder)
    }

    /// The composed tri-plane (1, 3·C, R, R).
    public func planes() -> Tensor { grid.planes() }

    /// Renders `cameras` (N, 25) at R × R: image (N, 3, R, R) in about [-1, 1], depth (N, 1, R, R) along the unit ray,
    /// accumulated weight (N, 1, R, R). Differentiable in the levels and the decoder while recording (else the fused
    /// inference path). `planes` (1, 3·C, R, R) reuses a composed tri-plane.
    public func render(cameras: Tensor, resolution r: Int, random: RendererRandomSource, planes given: Tensor? = nil)
        -> (image: Tensor, depth: Tensor, weight: Tensor) {
        let n = cameras.shape[0], c = config.planeChannels
        let p = given ?? planes()
        let one = p.reshape([1, 3, c, p.shape[2], p.shape[3]])
        let planes5 = n == 1 ? one : one.expand([n, 3, c, p.shape[2], p.shape[3]]).contiguous()
        let (origins, directions) = RaySampler.rays(labels: cameras, resolution: r)
        let out = ImportanceRenderer.render(planes: planes5, decoder: decoder, origins: origins, directions: directions,
                                            options: settings, random: random)
        let (features, depth) = ImportanceRenderer.images(features: out.features, depth: out.depth, resolution: r)
        return (features.slice(axis: 1, start: 0, end: 3), depth, out.weightSum.permute([0, 2, 1]).reshape([n, 1, r, r]))
    }

    // MARK: field.safetensors

    /// The tensors and metadata of field.safetensors.
    public func fileContents(metadata extra: [String: String] = [:]) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        (stateDict(), extra.merging(["field": try config.jsonString(), "format": "dreamportrait-field"]) { _, own in own })
    }

    /// Loads field.safetensors (strict: every missing, unexpected or mis-shaped key is named with the file).
    public static func load(path: String) throws -> PortraitField {
        let file = try SafeTensorsFile(path: path)
        guard let json = file.metadata["field"] else {
            throw FileError(path: path, message: "no \"field\" in the metadata: not a field written by `dreamportrait sds` or `refine`")
        }
        let config: FieldConfig
        do { config = try JSONDecoder().decode(FieldConfig.self, from: Data(json.utf8)) } catch {
            throw FileError(path: path, message: "its \"field\" metadata is not a field configuration: \(error)")
        }
        if let p = config.problem { throw FileError(path: path, message: "field metadata: \(p)") }
        let field = PortraitField(config: config, rng: RandomGenerator(seed: 0))
        var tensors: [String: Tensor] = [:]
        for k in file.keys { tensors[k] = try file.tensor(k) }
        do { try field.load(tensors, strict: true) } catch { throw FileError(path: path, message: "\(error)") }
        return field
    }
}
