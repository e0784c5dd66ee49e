// DreamPortrait's text-to-3D-portrait generator (paper §3.2-3.3, Fig. 2 left; method doc
// docs/dreamportrait-method.md §1, §3, §4, §6 stage 1): a pre-trained EG3D TriPlaneGenerator with the
// Hierarchical Latent Condition added. EG3D's mapping of (z, c) is untouched (and truncated as in EG3D); the
// semantics mapping network turns its ws into w_t, which replaces ws for every synthesis layer and the
// super-resolution (method doc §3); the gated cross-attention adapters transform the outputs of their synthesis
// blocks (method doc §4, through TriPlaneGenerator.planes's `afterBlock`); rendering is EG3D's.
import Foundation
import TensorCore

/// G(z, c, text): EG3D with text conditioning. One forward pass gives a tri-plane portrait for a prompt.
///
///     let ws = g.mapping(z, c, text: text, truncationPsi: 0.7)              // w_t: (N, num_ws, w_dim)
///     let planes = g.planes(ws: ws, text: text, noiseMode: .const)          // (N, 3·32, 256, 256)
///     let out = g.render(planes: planes, ws: ws, cameras: c, random: src)   // image, image_raw, depth, …
///
/// Checkpoint keys: the wrapped generator's, under their official names (`backbone.*`, `superresolution.*`,
/// `decoder.*`, `dataset_label_std`), and `conditioning.semantics_mapping.*`, `conditioning.adapters.<i>.*`.
/// The wrapped generator's tensors are shared, not copied: `generator` is the same network without the text.
///
/// A fresh conditioning is the identity (the zero-initialised Fuse layer and Proj_out, the closed gate γ = 0), so
/// a freshly wrapped pre-trained generator reproduces it bit for bit, for any text (stage 1 starts there).
///
/// `text` holds one prompt per sample, or a single prompt that serves the whole batch.
public final class TextConditionedGenerator: Module {
    /// The EG3D generator (mapping, tri-plane backbone, decoder, super-resolution, renderer settings).
    public let generator: TriPlaneGenerator
    /// The semantics mapping network and the adapters (registered as `conditioning`).
    public let conditioning: DreamPortraitConditioning

    /// The generator's configuration.
    public var config: TriPlaneConfig { generator.config }
    /// The conditioning's configuration.
    public var conditioningConfig: ConditioningConfig { conditioning.config }
    /// The renderer's settings (the wrapped generator's).
    public var settings: RendererSettings {
        get { generator.settings }
        set { generator.settings = newValue }
    }
    /// The neural rendering resolution R used when `render` is given none (the wrapped generator's).
    public var neuralRenderingResolution: Int {
        get { generator.neuralRenderingResolution }
        set { generator.neuralRenderingResolution = newValue }
    }

    /// Wraps `generator` with `conditioning`, which must fit it (w_dim, and a synthesis block with the adapter's
    /// channels at every placement; see `ConditioningConfig.problems(for:)`).
    public init(generator: TriPlaneGenerator, conditioning: DreamPortraitConditioning) {
        let problems = conditioning.config.problems(for: generator.config)
        require(problems.isEmpty, "TextConditionedGenerator: the conditioning does not fit the generator: \(problems.joined(separator: "; "))")
        self.generator = generator
        self.conditioning = conditioning
        super.init()
        // The generator's own state under its own names (the official keys), then the conditioning.
        for (name, m) in generator.children { registerModule(name, m) }
        for (name, t) in generator.localParameters { registerParameter(name, t) }
        for (name, t) in generator.localBuffers { registerBuffer(name, t) }
        registerModule("conditioning", conditioning)
    }

    /// Wraps `generator` with a fresh (identity) conditioning of configuration `conditioning`.
    public convenience init(generator: TriPlaneGenerator, conditioning: ConditioningConfig, rng: RandomGenerator) {
        let problems = conditioning.problems(for: generator.config)
        require(problems.isEmpty, "TextConditionedGenerator: the conditioning does not fit the generator: \(problems.joined(separator: "; "))")
        self.init(generator: generator, conditioning: DreamPortraitConditioning(conditioning, rng: rng))
    }

    /// Wraps a (pre-trained) generator with a fresh conditioning derived from its configuration
    /// (`ConditioningConfig(generator:textDim:adapters:)`: six adapters after the blocks ending at the plane
    /// resolution, or every block of a smaller backbone).
    /// - Parameters:
    ///   - textDim: the text encoder's feature size (1024 for Stable Diffusion 2's OpenCLIP ViT-H/14).
    ///   - adapters: the number of adapters.
    ///   - rng: initialises the conditioning's parameters (the output does not depend on them at first).
    public convenience init(generator: TriPlaneGenerator, textDim: Int = 1024, adapters: Int = 6,
                            rng: RandomGenerator = RandomGenerator(seed: 0)) {
        self.init(generator: generator, conditioning: ConditioningConfig(generator: generator.config, textDim: textDim, adapters: adapters),
                  rng: rng)
    }

    /// A randomly initialised generator and conditioning (load a checkpoint over it, or train it from scratch).
    public convenience init(config: TriPlaneConfig, conditioning: ConditioningConfig, rng: RandomGenerator) {
        self.init(generator: TriPlaneGenerator(config: config, rng: rng), conditioning: conditioning, rng: rng)
    }

    /// The text for a batch of n (one prompt broadcast, or n prompts), with its feature size checked.
    func text(_ text: TextConditioning, batch n: Int) -> TextConditioning {
        require(text.dim == conditioningConfig.textDim,
                "TextConditionedGenerator: the text has \(text.dim) features per token, the conditioning expects \(conditioningConfig.textDim)")
        return text.expanded(toBatch: n)
    }

    /// w_t from latents, conditioning cameras and prompts: EG3D's mapping (its camera conditioning and
    /// truncation unchanged), then the semantics mapping network (method doc §3).
    /// - Parameters: z (N, z_dim); c (N, 25); text: N prompts or one.
    /// - Returns: w_t (N, num_ws, w_dim), for `planes` and for `render` (the super-resolution reads it too).
    public func mapping(_ z: Tensor, _ c: Tensor, text: TextConditioning, truncationPsi: Float = 1,
                        truncationCutoff: Int? = nil, updateEmas: Bool = false) -> Tensor {
        let ws = generator.mapping(z, c, truncationPsi: truncationPsi, truncationCutoff: truncationCutoff,
                                   updateEmas: updateEmas)                       // (N, num_ws, w_dim)
        return conditioning.mapWS(ws, text: self.text(text, batch: ws.shape[0]))  // (N, num_ws, w_dim)
    }

    /// The tri-planes (N, 3·C, H, W) from w_t, with each adapter applied to the output of its synthesis block
    /// (before that block's ToRGB and the next block; method doc §4).
    /// - Parameters: ws: w_t (N, num_ws, w_dim) from `mapping`; text: N prompts or one; noiseMode and rng: the
    ///   synthesis layers' noise (rng for `.random`).
    public func planes(ws: Tensor, text: TextConditioning, noiseMode: NoiseMode = .const, rng: RandomGenerator? = nil) -> Tensor {
        require(ws.rank == 3, "TextConditionedGenerator: ws must be (N, num_ws, w_dim), got \(ws.shape)")
        guard !conditioning.adapters.items.isEmpty else { return generator.planes(ws, noiseMode: noiseMode, rng: rng) }
        let t = self.text(text, batch: ws.shape[0])
        let conditioning = self.conditioning
        return generator.planes(ws, noiseMode: noiseMode, rng: rng) { resolution, x in
            conditioning.adapt(x, afterBlock: resolution, text: t)                 // (N, C, r, r)
        }
    }

    /// Renders tri-planes from cameras and super-resolves: the wrapped generator's `render`, which must be given
    /// w_t (the super-resolution's layers are modulated by its last row).
    /// - Parameters: planes (N, 3·C, H, W); ws: w_t (N, num_ws, w_dim); cameras (N, 25); resolution: R (default
    ///   `neuralRenderingResolution`); random: the renderer's draws.
    public func render(planes: Tensor, ws: Tensor, cameras: Tensor, resolution: Int? = nil,
                       random: RendererRandomSource) -> GeneratorOutput {
        generator.render(planes: planes, ws: ws, cameras: cameras, resolution: resolution, random: random)
    }

    /// G(z, c, text): maps with `cCond`, renders with `cRender` (the same camera when nil).
    public func callAsFunction(z: Tensor, cCond: Tensor, cRender: Tensor? = nil, text: TextConditioning,
                               truncationPsi: Float = 1, truncationCutoff: Int? = nil, noiseMode: NoiseMode = .const,
                               noiseRNG: RandomGenerator? = nil, resolution: Int? = nil,
                               random: RendererRandomSource) -> GeneratorOutput {
        let ws = mapping(z, cCond, text: text, truncationPsi: truncationPsi, truncationCutoff: truncationCutoff)
        return render(planes: planes(ws: ws, text: text, noiseMode: noiseMode, rng: noiseRNG), ws: ws,
                      cameras: cRender ?? cCond, resolution: resolution, random: random)
    }

    /// Raw σ (N, P, 1) and colour features (N, P, 32) at world points, for meshes (the wrapped generator's).
    public func sampleDensity(planes: Tensor, points: Tensor) -> (sigma: Tensor, rgb: Tensor) {
        generator.sampleDensity(planes: planes, points: points)
    }
}
