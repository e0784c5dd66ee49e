// The neural volume renderer (spec §8, §14.3): ImportanceRenderer.forward / run_model of
// eg3d/training/volumetric_rendering/renderer.py, and the density query behind TriPlaneGenerator.sample.
//
// Two implementations of one computation:
// * `renderDifferentiable`: TensorCore ops end to end (gridSample, the decoder module, the ray marcher ops,
//   argsort/gather for unify_samples), so gradients reach the planes and the decoder weights. Importance
//   sampling runs without gradients, as the official no_grad + detach. Used whenever recording is on and
//   the planes or the decoder need gradients.
// * `FusedRenderer`: the inference path, chunked over rays and fused (FusedRenderer.swift). Used otherwise
//   (for example inside `withNoGrad`). Tests hold both to the NumPy reference.
import TensorCore

public enum ImportanceRenderer {
    /// Volume-renders tri-planes along the given rays.
    ///
    /// With recording on (the default) the decoder's parameters need gradients, so the differentiable path runs and
    /// keeps the whole graph (memory grows with N·M·(S + Si)). For inference call it inside `withNoGrad { }`: the
    /// fused path then processes `options.raysPerChunk` rays at a time (tens of MB at R = 128, 48 + 48 samples).
    /// - Parameters:
    ///   - planes: (N, 3, C, H, W) tri-plane features.
    ///   - decoder: the OSGDecoder.
    ///   - origins, directions: (N, M, 3) (directions of unit length, as RaySampler's).
    ///   - options: rendering options (validated; unsupported options stop with their message).
    ///   - random: the stratified jitter (N, M, S, 1) is requested first, then the importance uniforms (N·M, Si).
    /// - Returns: features (N, M, out) in about [−1, 1] (2·Σw·c − 1), depth (N, M, 1) along the unit ray (clamped to
    ///   the batch's sample range) and the total weight Σw (N, M, 1).
    public static func render(planes: Tensor, decoder: OSGDecoder, origins: Tensor, directions: Tensor,
                              options: RendererSettings, random: RendererRandomSource)
        -> (features: Tensor, depth: Tensor, weightSum: Tensor) {
        if let message = options.validationError { fatalError(message) }
        require(planes.rank == 5 && planes.shape[1] == 3, "ImportanceRenderer: planes must be (N, 3, C, H, W), got \(planes.shape)")
        let n = planes.shape[0]
        require(origins.rank == 3 && origins.shape[0] == n && origins.shape[2] == 3 && directions.shape == origins.shape,
                "ImportanceRenderer: origins and directions must both be (N, M, 3) with N = \(n), got \(origins.shape), \(directions.shape)")
        require(planes.shape[2] == decoder.inputFeatures,
                "ImportanceRenderer: planes have \(planes.shape[2]) channels, the decoder takes \(decoder.inputFeatures)")
        if needsGraph(planes, decoder) {
            return renderDifferentiable(planes: planes, decoder: decoder, origins: origins, directions: directions,
                                        options: options, random: random)
        }
        let m = origins.shape[1], s = options.depthResolution, si = options.depthResolutionImportance
        let stratified = random.stratifiedUniforms(shape: [n, m, s, 1])
        let importance = si > 0 ? random.importanceUniforms(shape: [n * m, si]) : nil
        let evaluator = TriPlaneEvaluator(planes: planes, decoder: decoder, boxWarp: options.boxWarp)
        return FusedRenderer.render(evaluator: evaluator, origins: origins, directions: directions, stratified: stratified,
                                    importance: importance, options: options)
    }

    /// Reshapes render outputs for R×R images (ray m = row·R + col): features (N, out, R, R), depth (N, 1, R, R).
    public static func images(features: Tensor, depth: Tensor, resolution: Int) -> (featureImage: Tensor, depthImage: Tensor) {
        let n = features.shape[0], c = features.shape[2]
        require(features.rank == 3 && features.shape[1] == resolution * resolution && depth.shape == [n, resolution * resolution, 1],
                "ImportanceRenderer.images: features (N, R², C) and depth (N, R², 1) for R = \(resolution), got \(features.shape), \(depth.shape)")
        return (features.permute([0, 2, 1]).reshape([n, c, resolution, resolution]).contiguous(),
                depth.permute([0, 2, 1]).reshape([n, 1, resolution, resolution]))
    }

    /// Raw density σ (no activation) and colour features at world points (TriPlaneGenerator.sample → run_model),
    /// for shape extraction (isosurface σ = 10). Without a graph it runs in chunks of `chunk` points.
    /// - Parameters: planes (N, 3, C, H, W); points (N, P, 3).
    /// - Returns: σ (N, P, 1) and rgb (N, P, out).
    public static func sampleDensity(planes: Tensor, decoder: OSGDecoder, points: Tensor, boxWarp: Double = 1,
                                     chunk: Int = 8192) -> (sigma: Tensor, rgb: Tensor) {
        checkPoints(planes, points, chunk)
        if needsGraph(planes, decoder) || points.requiresGrad && GradMode.isEnabled {
            return decoder(TriPlane.sample(planes: planes, points: points, boxWarp: boxWarp))
        }
        let ev = TriPlaneEvaluator(planes: planes, decoder: decoder, boxWarp: boxWarp)
        let r = FusedRenderer.sample(evaluator: ev, points: points, chunk: chunk, withRGB: true)
        return (r.sigma, r.rgb!)
    }

    /// Raw σ (N, P, 1) only: `sampleDensity` without the colour output (a 512³ grid needs 0.5 GB for σ alone).
    public static func sampleSigma(planes: Tensor, decoder: OSGDecoder, points: Tensor, boxWarp: Double = 1,
                                   chunk: Int = 8192) -> Tensor {
        checkPoints(planes, points, chunk)
        if needsGraph(planes, decoder) || points.requiresGrad && GradMode.isEnabled {
            return decoder(TriPlane.sample(planes: planes, points: points, boxWarp: boxWarp)).sigma
        }
        let ev = TriPlaneEvaluator(planes: planes, decoder: decoder, boxWarp: boxWarp)
        return FusedRenderer.sample(evaluator: ev, points: points, chunk: chunk, withRGB: false).sigma
    }

    // MARK: - The differentiable path

    /// `render` built from TensorCore ops (the official structure): gradients flow to the planes and decoder weights.
    static func renderDifferentiable(planes: Tensor, decoder: OSGDecoder, origins: Tensor, directions: Tensor,
                                     options: RendererSettings, random: RendererRandomSource)
        -> (features: Tensor, depth: Tensor, weightSum: Tensor) {
        let (n, m) = (origins.shape[0], origins.shape[1])
        let s = options.depthResolution, si = options.depthResolutionImportance
        // Coarse (stratified) depths (N, M, S, 1): linspace + U·Δ.
        let (lin, delta) = linspace(options)
        let jitter = random.stratifiedUniforms(shape: [n, m, s, 1])
        let depthsCoarse = withNoGrad { Tensor(lin, shape: [1, 1, s, 1]) + jitter * delta }
        let (sigmaC, rgbC) = runModel(planes, decoder, origins, directions, depthsCoarse, options)
        guard si > 0 else {
            let r = RayMarcher.march(colors: rgbC, densities: sigmaC, depths: depthsCoarse, whiteBack: options.whiteBack)
            return (r.feature, r.depth, r.weights.sum(axis: 2))
        }
        // Fine pass: importance depths from the coarse weights (no gradient), evaluated the same way.
        let weights = RayMarcher.march(colors: rgbC, densities: sigmaC, depths: depthsCoarse, whiteBack: options.whiteBack).weights
        let uniforms = random.importanceUniforms(shape: [n * m, si])
        let depthsFine = withNoGrad {
            ImportanceSampler.importanceDepths(depths: depthsCoarse.reshape([n * m, s]), weights: weights.detach().reshape([n * m, s - 1]),
                                               uniforms: uniforms).reshape([n, m, si, 1])
        }
        let (sigmaF, rgbF) = runModel(planes, decoder, origins, directions, depthsFine, options)
        // unify_samples: concatenate along the sample axis and sort by depth.
        let allDepths = Tensor.concat([depthsCoarse, depthsFine], axis: 2)
        let order = allDepths.argsort(axis: 2)                                         // (N, M, S + Si, 1)
        let depths = allDepths.gather(axis: 2, order)
        let sigmas = Tensor.concat([sigmaC, sigmaF], axis: 2).gather(axis: 2, order)
        let colors = Tensor.concat([rgbC, rgbF], axis: 2).gather(axis: 2, order.expand([n, m, s + si, rgbC.shape[3]]))
        let r = RayMarcher.march(colors: colors, densities: sigmas, depths: depths, whiteBack: options.whiteBack)
        return (r.feature, r.depth, r.weights.sum(axis: 2))
    }

    /// run_model at depths (N, M, K, 1) along the rays: σ (N, M, K, 1) raw and rgb (N, M, K, out).
    static func runModel(_ planes: Tensor, _ decoder: OSGDecoder, _ origins: Tensor, _ directions: Tensor, _ depths: Tensor,
                         _ options: RendererSettings) -> (sigma: Tensor, rgb: Tensor) {
        let (n, m, k) = (depths.shape[0], depths.shape[1], depths.shape[2])
        let points = (origins.unsqueeze(2) + depths * directions.unsqueeze(2)).reshape([n, m * k, 3])
        let (sigma, rgb) = decoder(TriPlane.sample(planes: planes, points: points, boxWarp: options.boxWarp))
        return (sigma.reshape([n, m, k, 1]), rgb.reshape([n, m, k, rgb.shape[2]]))
    }

    /// The coarse depth grid `torch.linspace(ray_start, ray_end, S)` in float32 and the jitter step
    /// Δ = (ray_end − ray_start)/(S − 1). (ATen's float linspace can differ from these correctly rounded values by
    /// one ulp in a few entries.)
    static func linspace(_ options: RendererSettings) -> (values: [Float], delta: Float) {
        let s = options.depthResolution
        let start = Double(Float(options.rayStart)), end = Double(Float(options.rayEnd))
        let values = (0..<s).map { Float(start + (end - start) * Double($0) / Double(s - 1)) }
        return (values, Float((options.rayEnd - options.rayStart) / Double(s - 1)))
    }

    static func needsGraph(_ planes: Tensor, _ decoder: OSGDecoder) -> Bool {
        GradMode.isEnabled && (planes.requiresGrad || decoder.parameters().contains { $0.requiresGrad })
    }

    static func checkPoints(_ planes: Tensor, _ points: Tensor, _ chunk: Int) {
        require(planes.rank == 5 && planes.shape[1] == 3, "sampleDensity: planes must be (N, 3, C, H, W), got \(planes.shape)")
        require(points.rank == 3 && points.shape[0] == planes.shape[0] && points.shape[2] == 3,
                "sampleDensity: points must be (N, P, 3) with N = \(planes.shape[0]), got \(points.shape)")
        require(chunk >= 1, "sampleDensity: chunk must be positive, got \(chunk)")
    }
}
