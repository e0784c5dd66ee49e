// triplane.py TriPlaneGenerator (spec §10): mapping → tri-plane backbone → rays → importance renderer with the
// OSG decoder → super-resolution. State keys are the official ones: `backbone.*`, `superresolution.*`,
// `decoder.*` and the `dataset_label_std` buffer (unused at inference, spec §15.1).
import Foundation
import TensorCore

/// What one synthesis returns (triplane.py's dict): the super-resolved image, the volume-rendered image and
/// its depth, plus the full feature image and the tri-planes for callers that export them.
public struct GeneratorOutput {
    /// (N, 3, img_resolution, img_resolution), nominally in [-1, 1].
    public let image: Tensor
    /// (N, 3, R, R): the first three feature channels.
    public let imageRaw: Tensor
    /// (N, 1, R, R): distance along the unit ray.
    public let imageDepth: Tensor
    /// (N, 32, R, R) rendered features; (N, 3·32, H, W) tri-planes.
    public let features: Tensor
    public let planes: Tensor
    /// (N, 1, R, R) accumulated ray weight (opacity).
    public let weightSum: Tensor
}

public final class TriPlaneGenerator: Module {
    public let config: TriPlaneConfig
    public let backbone: Backbone
    public let superresolution: Superresolution
    public let decoder: OSGDecoder
    public let datasetLabelStd: Tensor
    /// The renderer's settings, from the configuration; `raysPerChunk` may be tuned.
    public var settings: RendererSettings
    /// The neural rendering resolution R used when `render` is given none (EG3D's attribute of the same name).
    public var neuralRenderingResolution: Int

    public init(config: TriPlaneConfig, rng: RandomGenerator) {
        self.config = config
        backbone = Backbone(config: config, rng: rng)
        superresolution = Superresolution(config: config, rng: rng)
        settings = RendererSettings(config: config)
        neuralRenderingResolution = config.neuralRenderingResolution
        decoder = OSGDecoder(inputFeatures: config.planeChannels, hiddenFeatures: config.decoderHiddenDim,
                             outputFeatures: config.decoderOutputDim, lrMultiplier: config.rendering.decoderLrMul, rng: rng)
        datasetLabelStd = Tensor.zeros([config.cDim])
        super.init()
        registerModule("backbone", backbone)
        registerModule("superresolution", superresolution)
        registerModule("decoder", decoder)
        registerBuffer("dataset_label_std", datasetLabelStd)
    }

    /// ws from latents and the conditioning camera (c_gen_conditioning_zero and c_scale applied first).
    // z: (N, z_dim), c: (N, 25) -> ws: (N, num_ws, w_dim)
    public func mapping(_ z: Tensor, _ c: Tensor, truncationPsi: Float = 1, truncationCutoff: Int? = nil,
                        updateEmas: Bool = false) -> Tensor {
        let r = config.rendering
        let cc = r.cGenConditioningZero ? Tensor.zeros(c.shape) : (r.cScale == 1 ? c : c * r.cScale)
        return backbone.mapping(z, cc, truncationPsi: truncationPsi, truncationCutoff: truncationCutoff, updateEmas: updateEmas)
    }

    /// The tri-planes (N, 3·C, H, W). `afterBlock(resolution, x)` lets DreamPortrait's adapters modify each
    /// synthesis block's features after its convolutions and before its ToRGB (see SynthesisNetwork).
    public func planes(_ ws: Tensor, noiseMode: NoiseMode, rng: RandomGenerator? = nil,
                       afterBlock: ((Int, Tensor) -> Tensor)? = nil) -> Tensor {
        backbone.synthesis(ws, noiseMode: noiseMode, rng: rng, afterBlock: afterBlock)
    }

    /// Renders tri-planes from cameras and super-resolves (synthesis() after the backbone).
    /// - Parameters: planes (N, 3·C, H, W); ws (N, num_ws, w_dim) (the SR reads the last row); cameras (N, 25);
    ///   resolution: the neural rendering resolution R (default: the configuration's); random: the renderer's draws.
    public func render(planes: Tensor, ws: Tensor, cameras: Tensor, resolution: Int? = nil,
                       random: RendererRandomSource) -> GeneratorOutput {
        let n = planes.shape[0], c = config.planeChannels
        require(cameras.shape == [n, 25], "TriPlaneGenerator: cameras must be (\(n), 25) labels, got \(cameras.shape)")
        let r = resolution ?? neuralRenderingResolution
        let (origins, directions) = RaySampler.rays(labels: cameras, resolution: r)
        let planes5 = planes.reshape([n, 3, c, planes.shape[2], planes.shape[3]])
        let out = ImportanceRenderer.render(planes: planes5, decoder: decoder, origins: origins, directions: directions,
                                            options: settings, random: random)
        let (featureImage, depthImage) = ImportanceRenderer.images(features: out.features, depth: out.depth, resolution: r)
        let rgb = featureImage.slice(axis: 1, start: 0, end: 3)
        let image = superresolution(rgb, featureImage, ws, noiseMode: config.rendering.superresolutionNoiseMode)
        let weights = out.weightSum.permute([0, 2, 1]).reshape([n, 1, r, r])
        return GeneratorOutput(image: image, imageRaw: rgb, imageDepth: depthImage, features: featureImage,
                               planes: planes, weightSum: weights)
    }

    /// G(z, c): maps with `cCond`, renders with `cRender` (the same camera when nil).
    public func callAsFunction(z: Tensor, cCond: Tensor, cRender: Tensor? = nil, truncationPsi: Float = 1,
                               truncationCutoff: Int? = nil, noiseMode: NoiseMode = .const, noiseRNG: RandomGenerator? = nil,
                               resolution: Int? = nil, random: RendererRandomSource) -> GeneratorOutput {
        let ws = mapping(z, cCond, truncationPsi: truncationPsi, truncationCutoff: truncationCutoff)
        return render(planes: planes(ws, noiseMode: noiseMode, rng: noiseRNG), ws: ws, cameras: cRender ?? cCond,
                      resolution: resolution, random: random)
    }

    /// Raw σ (N, P, 1) and colour features (N, P, 32) at world points (G.sample_mixed), for meshes.
    public func sampleDensity(planes: Tensor, points: Tensor) -> (sigma: Tensor, rgb: Tensor) {
        let n = planes.shape[0]
        let planes5 = planes.reshape([n, 3, config.planeChannels, planes.shape[2], planes.shape[3]])
        return ImportanceRenderer.sampleDensity(planes: planes5, decoder: decoder, points: points, boxWarp: settings.boxWarp)
    }
}

extension TriPlaneGenerator {
    /// Loads a generator from a safetensors checkpoint whose metadata holds its configuration: `config` as
    /// written by Scripts/convert_eg3d.py (EG3D's init_kwargs + rendering_kwargs) or by this project. Keys are
    /// the official ones, optionally under a `G.` / `G_ema.` prefix; loading is strict and names every
    /// missing, unexpected or mis-shaped key. `dataset_label_std` (unused at inference) may be absent.
    public static func load(path: String, prefix: String? = nil) throws -> TriPlaneGenerator {
        try load(file: SafeTensorsFile(path: path), prefix: prefix)
    }

    /// As `load(path:)`, from a parsed file (errors name `file.name`).
    public static func load(file: SafeTensorsFile, prefix: String? = nil) throws -> TriPlaneGenerator {
        let path = file.name
        guard let json = file.metadata["config"] else {
            throw FileError(path: path, message: "no \"config\" in the metadata: convert official checkpoints with Scripts/convert_eg3d.py")
        }
        let config: TriPlaneConfig
        do { config = try TriPlaneConfig(checkpointJSON: json) } catch {
            throw FileError(path: path, message: "its config metadata is not a generator configuration: \(error)")
        }
        let g = TriPlaneGenerator(config: config, rng: RandomGenerator(seed: 0))
        var tensors: [String: Tensor] = [:]
        let p = prefix ?? (file.keys.contains { $0.hasPrefix("G_ema.") } ? "G_ema." : (file.keys.contains { $0.hasPrefix("backbone.") } ? "" : "G."))
        for k in file.keys where k.hasPrefix(p) { tensors[String(k.dropFirst(p.count))] = try file.tensor(k) }
        if tensors["dataset_label_std"] == nil { tensors["dataset_label_std"] = Tensor.zeros([config.cDim]) }
        do { try g.load(tensors, strict: true) } catch {
            throw FileError(path: path, message: "\(error)")
        }
        return g
    }
}

extension TriPlaneConfig {
    /// A configuration from checkpoint metadata: this project's `jsonString()`, or Scripts/convert_eg3d.py's
    /// `{"init_kwargs": {...}, "rendering_kwargs": {...}, "neural_rendering_resolution": R}`.
    public init(checkpointJSON json: String) throws {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            throw ConfigError(problems: ["config metadata is not a JSON object"])
        }
        guard var kwargs = object["init_kwargs"] as? [String: Any] else { try self.init(json: json); return }
        if kwargs["rendering_kwargs"] == nil, let r = object["rendering_kwargs"] { kwargs["rendering_kwargs"] = r }
        if let r = object["neural_rendering_resolution"] { kwargs["neural_rendering_resolution"] = r }
        let data = try JSONSerialization.data(withJSONObject: kwargs)
        try self.init(json: String(decoding: data, as: UTF8.self))
    }
}
