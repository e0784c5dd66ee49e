// RenderingOptions: EG3D's rendering_kwargs (train.py `rendering_options`; spec §1.2) as a Codable value with
// the official keys, read by the renderer, the super-resolution and the training loop.
import Foundation

/// EG3D's rendering_kwargs (train.py `rendering_options`), with the same JSON keys.
public struct RenderingOptions: Codable, Sendable, Equatable {
    /// Final image size (= TriPlaneConfig.imgResolution).
    public var imageResolution: Int
    /// Sample uniformly in inverse depth (ShapeNet) instead of depth (FFHQ: false).
    public var disparitySpaceSampling: Bool
    /// Density activation; only "softplus" exists.
    public var clampMode: String
    public var superresolutionModule: SuperresolutionKind
    /// Zero the camera label given to the mapping network.
    public var cGenConditioningZero: Bool
    /// Generator pose-conditioning swap probability (training; nil when pose conditioning is off).
    public var gpcRegProb: Float?
    /// Multiplier on c before the mapping network.
    public var cScale: Float
    /// Noise mode of the super-resolution layers (FFHQ: none).
    public var superresolutionNoiseMode: NoiseMode
    /// Density regularisation strength, perturbation distance and type (training).
    public var densityReg: Float
    public var densityRegPDist: Float
    public var regType: String
    /// Learning-rate multiplier of the decoder's fully connected layers.
    public var decoderLrMul: Float
    /// antialias flag of the super-resolution input resize.
    public var srAntialias: Bool
    /// Coarse (stratified) and fine (importance) samples per ray.
    public var depthResolution: Int
    public var depthResolutionImportance: Int
    /// Depth range of the samples along each ray (Doubles, as the Python floats of the official kwargs).
    public var rayStart: Double
    public var rayEnd: Double
    /// Side of the tri-plane cube in world units.
    public var boxWarp: Double
    /// Camera orbit radius and look-at pivot used by the scripts and the visualizer.
    public var avgCameraRadius: Float
    public var avgCameraPivot: [Float]
    /// Std of the noise added to raw densities (absent in FFHQ, so 0).
    public var densityNoise: Float
    /// Composite onto white instead of black (absent in FFHQ, so false).
    public var whiteBack: Bool

    enum CodingKeys: String, CodingKey {
        case imageResolution = "image_resolution", disparitySpaceSampling = "disparity_space_sampling"
        case clampMode = "clamp_mode", superresolutionModule = "superresolution_module"
        case cGenConditioningZero = "c_gen_conditioning_zero", gpcRegProb = "gpc_reg_prob", cScale = "c_scale"
        case superresolutionNoiseMode = "superresolution_noise_mode", densityReg = "density_reg"
        case densityRegPDist = "density_reg_p_dist", regType = "reg_type", decoderLrMul = "decoder_lr_mul"
        case srAntialias = "sr_antialias", depthResolution = "depth_resolution"
        case depthResolutionImportance = "depth_resolution_importance", rayStart = "ray_start", rayEnd = "ray_end"
        case boxWarp = "box_warp", avgCameraRadius = "avg_camera_radius", avgCameraPivot = "avg_camera_pivot"
        case densityNoise = "density_noise", whiteBack = "white_back"
    }

    /// FFHQ's rendering_kwargs (spec §1.2) for the given super-resolution module.
    public static func ffhq(_ sr: SuperresolutionKind = .hybrid8XDC, depthResolution: Int = 48,
                            depthResolutionImportance: Int = 48) -> RenderingOptions {
        RenderingOptions(imageResolution: sr.outputResolution, disparitySpaceSampling: false, clampMode: "softplus",
                         superresolutionModule: sr, cGenConditioningZero: false, gpcRegProb: 0.5, cScale: 1,
                         superresolutionNoiseMode: .none, densityReg: 0.25, densityRegPDist: 0.004, regType: "l1",
                         decoderLrMul: 1, srAntialias: true, depthResolution: depthResolution,
                         depthResolutionImportance: depthResolutionImportance, rayStart: 2.25, rayEnd: 3.3, boxWarp: 1,
                         avgCameraRadius: 2.7, avgCameraPivot: [0, 0, 0.2], densityNoise: 0, whiteBack: false)
    }

    public init(imageResolution: Int, disparitySpaceSampling: Bool, clampMode: String, superresolutionModule: SuperresolutionKind,
                cGenConditioningZero: Bool, gpcRegProb: Float?, cScale: Float, superresolutionNoiseMode: NoiseMode,
                densityReg: Float, densityRegPDist: Float, regType: String, decoderLrMul: Float, srAntialias: Bool,
                depthResolution: Int, depthResolutionImportance: Int, rayStart: Double, rayEnd: Double, boxWarp: Double,
                avgCameraRadius: Float, avgCameraPivot: [Float], densityNoise: Float, whiteBack: Bool) {
        self.imageResolution = imageResolution; self.disparitySpaceSampling = disparitySpaceSampling
        self.clampMode = clampMode; self.superresolutionModule = superresolutionModule
        self.cGenConditioningZero = cGenConditioningZero; self.gpcRegProb = gpcRegProb; self.cScale = cScale
        self.superresolutionNoiseMode = superresolutionNoiseMode; self.densityReg = densityReg
        self.densityRegPDist = densityRegPDist; self.regType = regType; self.decoderLrMul = decoderLrMul
        self.srAntialias = srAntialias; self.depthResolution = depthResolution
        self.depthResolutionImportance = depthResolutionImportance; self.rayStart = rayStart; self.rayEnd = rayEnd
        self.boxWarp = boxWarp; self.avgCameraRadius = avgCameraRadius; self.avgCameraPivot = avgCameraPivot
        self.densityNoise = densityNoise; self.whiteBack = whiteBack
    }

    /// Decodes EG3D's rendering_kwargs as pickled: the keys FFHQ omits (density_noise, white_back,
    /// gpc_reg_prob, the training-only ones, the camera averages) take FFHQ's values.
    public init(from decoder: Decoder) throws {
        let k = try decoder.container(keyedBy: CodingKeys.self)
        let d = RenderingOptions.ffhq()
        superresolutionModule = try k.decode(SuperresolutionKind.self, forKey: .superresolutionModule)
        imageResolution = try k.decodeIfPresent(Int.self, forKey: .imageResolution) ?? superresolutionModule.outputResolution
        disparitySpaceSampling = try k.decodeIfPresent(Bool.self, forKey: .disparitySpaceSampling) ?? d.disparitySpaceSampling
        clampMode = try k.decodeIfPresent(String.self, forKey: .clampMode) ?? d.clampMode
        cGenConditioningZero = try k.decodeIfPresent(Bool.self, forKey: .cGenConditioningZero) ?? d.cGenConditioningZero
        gpcRegProb = k.contains(.gpcRegProb) ? try k.decodeIfPresent(Float.self, forKey: .gpcRegProb) : d.gpcRegProb
        cScale = try k.decodeIfPresent(Float.self, forKey: .cScale) ?? d.cScale
        superresolutionNoiseMode = try k.decodeIfPresent(NoiseMode.self, forKey: .superresolutionNoiseMode) ?? d.superresolutionNoiseMode
        densityReg = try k.decodeIfPresent(Float.self, forKey: .densityReg) ?? d.densityReg
        densityRegPDist = try k.decodeIfPresent(Float.self, forKey: .densityRegPDist) ?? d.densityRegPDist
        regType = try k.decodeIfPresent(String.self, forKey: .regType) ?? d.regType
        decoderLrMul = try k.decodeIfPresent(Float.self, forKey: .decoderLrMul) ?? d.decoderLrMul
        srAntialias = try k.decodeIfPresent(Bool.self, forKey: .srAntialias) ?? d.srAntialias
        depthResolution = try k.decode(Int.self, forKey: .depthResolution)
        depthResolutionImportance = try k.decode(Int.self, forKey: .depthResolutionImportance)
        rayStart = try k.decode(Double.self, forKey: .rayStart)
        rayEnd = try k.decode(Double.self, forKey: .rayEnd)
        boxWarp = try k.decode(Double.self, forKey: .boxWarp)
        avgCameraRadius = try k.decodeIfPresent(Float.self, forKey: .avgCameraRadius) ?? d.avgCameraRadius
        avgCameraPivot = try k.decodeIfPresent([Float].self, forKey: .avgCameraPivot) ?? d.avgCameraPivot
        densityNoise = try k.decodeIfPresent(Float.self, forKey: .densityNoise) ?? d.densityNoise
        whiteBack = try k.decodeIfPresent(Bool.self, forKey: .whiteBack) ?? d.whiteBack
    }

    public func encode(to encoder: Encoder) throws {
        var k = encoder.container(keyedBy: CodingKeys.self)
        try k.encode(imageResolution, forKey: .imageResolution)
        try k.encode(disparitySpaceSampling, forKey: .disparitySpaceSampling)
        try k.encode(clampMode, forKey: .clampMode)
        try k.encode(superresolutionModule, forKey: .superresolutionModule)
        try k.encode(cGenConditioningZero, forKey: .cGenConditioningZero)
        try k.encode(gpcRegProb, forKey: .gpcRegProb)   // null when absent, as EG3D's None
        try k.encode(cScale, forKey: .cScale)
        try k.encode(superresolutionNoiseMode, forKey: .superresolutionNoiseMode)
        try k.encode(densityReg, forKey: .densityReg)
        try k.encode(densityRegPDist, forKey: .densityRegPDist)
        try k.encode(regType, forKey: .regType)
        try k.encode(decoderLrMul, forKey: .decoderLrMul)
        try k.encode(srAntialias, forKey: .srAntialias)
        try k.encode(depthResolution, forKey: .depthResolution)
        try k.encode(depthResolutionImportance, forKey: .depthResolutionImportance)
        try k.encode(rayStart, forKey: .rayStart)
        try k.encode(rayEnd, forKey: .rayEnd)
        try k.encode(boxWarp, forKey: .boxWarp)
        try k.encode(avgCameraRadius, forKey: .avgCameraRadius)
        try k.encode(avgCameraPivot, forKey: .avgCameraPivot)
        try k.encode(densityNoise, forKey: .densityNoise)
        try k.encode(whiteBack, forKey: .whiteBack)
    }
}
