// TriPlaneConfig: the settings of an EG3D generator, its renderer and its discriminator in one Codable
// value. Mirrors train.py's G_kwargs (TriPlaneGenerator init_kwargs: z_dim, channel_base, mapping_kwargs,
// sr_num_fp16_res, rendering_kwargs, ...) and D_kwargs, and makes EG3D's hard-coded constants (tri-plane
// resolution 256, 32 channels per plane, decoder width 64, super-resolution widths) explicit so that
// scaled-down models can be built. JSON keys are EG3D's names where EG3D has one (spec §1).
import Foundation

/// The super-resolution module, named by its official class path (rendering_kwargs['superresolution_module']).
public enum SuperresolutionKind: String, Codable, Sendable, CaseIterable {
    /// 64² → 128² (SynthesisBlockNoUp at 64, SynthesisBlock at 128).
    case hybrid2X = "training.superresolution.SuperresolutionHybrid2X"
    /// 128² → 256² (SynthesisBlockNoUp at 128, SynthesisBlock at 256).
    case hybrid4X = "training.superresolution.SuperresolutionHybrid4X"
    /// 128² → 512² (two SynthesisBlocks, at 256 and 512): the FFHQ-512 module.
    case hybrid8XDC = "training.superresolution.SuperresolutionHybrid8XDC"

    /// The module train.py picks for an output resolution, or nil if it has none.
    public init?(imageResolution: Int) {
        switch imageResolution {
        case 128: self = .hybrid2X
        case 256: self = .hybrid4X
        case 512: self = .hybrid8XDC
        default: return nil
        }
    }

    /// Final image size.
    public var outputResolution: Int {
        switch self { case .hybrid2X: 128; case .hybrid4X: 256; case .hybrid8XDC: 512 }
    }
    /// The size the feature image is resized to before block0.
    public var inputResolution: Int { self == .hybrid2X ? 64 : 128 }
    /// Whether block0 upsamples (SynthesisBlock) or not (SynthesisBlockNoUp).
    public var block0Upsamples: Bool { self == .hybrid8XDC }
    /// The official output widths of block0 and block1.
    public var defaultChannels: [Int] { self == .hybrid8XDC ? [256, 128] : [128, 64] }
}

/// Where the StyleGAN2 layers get their per-pixel noise (SynthesisLayer's noise_mode).
public enum NoiseMode: String, Codable, Sendable {
    /// Fresh N(0, 1) noise per call, [N, 1, res, res], times noise_strength (EG3D's default).
    case random
    /// The stored noise_const buffer times noise_strength (deterministic).
    case const
    /// No noise.
    case none
}

/// Everything that sizes an EG3D generator (TriPlaneGenerator) and its DualDiscriminator.
public struct TriPlaneConfig: Codable, Sendable, Equatable {
    // TriPlaneGenerator init_kwargs.
    /// Latent size (`z_dim`).
    public var zDim: Int
    /// Intermediate latent size (`w_dim`); every affine layer, the super-resolution's included, reads w.
    public var wDim: Int
    /// Camera label size (`c_dim`): 16 cam2world + 9 intrinsics.
    public var cDim: Int
    /// Final image size (`img_resolution`): 128, 256 or 512, matching the super-resolution module.
    public var imgResolution: Int
    /// Final image channels (`img_channels`).
    public var imgChannels: Int
    /// Backbone channels at resolution r: min(channel_base / r, channel_max).
    public var channelBase: Int
    public var channelMax: Int
    /// Fully connected layers of the mapping network (`mapping_kwargs.num_layers`, train.py --map-depth).
    public var mappingLayers: Int
    /// Backbone conv_clamp (`conv_clamp`; None in EG3D, whose backbone runs in fp32).
    public var convClamp: Float?
    /// `sr_num_fp16_res`: above 0 the super-resolution layers clamp at ±256, in fp32 too.
    public var srNumFp16Res: Int

    // EG3D's hard-coded constants, made explicit.
    /// Tri-plane side (the backbone's img_resolution, 256 in EG3D).
    public var planeResolution: Int
    /// Channels per plane (32); the backbone outputs 3 · planeChannels.
    public var planeChannels: Int
    /// OSGDecoder hidden width (64).
    public var decoderHiddenDim: Int
    /// OSGDecoder feature outputs besides density (`decoder_output_dim`, 32): the feature image's channels.
    public var decoderOutputDim: Int
    /// Output widths of the super-resolution's block0 and block1.
    public var srChannels: [Int]
    /// The neural rendering resolution R (G.neural_rendering_resolution).
    public var neuralRenderingResolution: Int
    /// EG3D's rendering_kwargs.
    public var rendering: RenderingOptions

    // DualDiscriminator (D_kwargs).
    public var dChannelBase: Int
    public var dChannelMax: Int
    /// D's conv_clamp (256 when d_num_fp16_res > 0, as in EG3D).
    public var dConvClamp: Float?
    /// Minibatch-stddev group size and channels (epilogue_kwargs).
    public var mbstdGroupSize: Int
    public var mbstdNumChannels: Int
    /// Layers of D's camera mapping network (MappingNetwork's default, 8).
    public var dMappingLayers: Int
    /// Width of D's mapped camera label; nil = channels at 4×4, min(d_channel_base / 4, d_channel_max).
    public var cmapDim: Int?
    /// Std of the noise added to D's camera label (`disc_c_noise`).
    public var discCNoise: Float

    enum CodingKeys: String, CodingKey {
        case zDim = "z_dim", wDim = "w_dim", cDim = "c_dim", imgResolution = "img_resolution", imgChannels = "img_channels"
        case channelBase = "channel_base", channelMax = "channel_max", mappingKwargs = "mapping_kwargs"
        case convClamp = "conv_clamp", srNumFp16Res = "sr_num_fp16_res", planeResolution = "plane_resolution"
        case planeChannels = "plane_channels", decoderHiddenDim = "decoder_hidden_dim", decoderOutputDim = "decoder_output_dim"
        case srChannels = "sr_channels", neuralRenderingResolution = "neural_rendering_resolution"
        case rendering = "rendering_kwargs", dChannelBase = "d_channel_base", dChannelMax = "d_channel_max"
        case dConvClamp = "d_conv_clamp", mbstdGroupSize = "mbstd_group_size", mbstdNumChannels = "mbstd_num_channels"
        case dMappingLayers = "d_mapping_layers", cmapDim = "cmap_dim", discCNoise = "disc_c_noise"
    }
    enum MappingKeys: String, CodingKey { case numLayers = "num_layers" }

    public init(zDim: Int, wDim: Int, cDim: Int, imgResolution: Int, imgChannels: Int = 3, channelBase: Int, channelMax: Int,
                mappingLayers: Int, convClamp: Float? = nil, srNumFp16Res: Int = 4, planeResolution: Int = 256,
                planeChannels: Int = 32, decoderHiddenDim: Int = 64, decoderOutputDim: Int = 32, srChannels: [Int]? = nil,
                neuralRenderingResolution: Int, rendering: RenderingOptions, dChannelBase: Int? = nil, dChannelMax: Int? = nil,
                dConvClamp: Float? = 256, mbstdGroupSize: Int = 4, mbstdNumChannels: Int = 1, dMappingLayers: Int = 8,
                cmapDim: Int? = nil, discCNoise: Float = 0) {
        self.zDim = zDim; self.wDim = wDim; self.cDim = cDim; self.imgResolution = imgResolution
        self.imgChannels = imgChannels; self.channelBase = channelBase; self.channelMax = channelMax
        self.mappingLayers = mappingLayers; self.convClamp = convClamp; self.srNumFp16Res = srNumFp16Res
        self.planeResolution = planeResolution; self.planeChannels = planeChannels
        self.decoderHiddenDim = decoderHiddenDim; self.decoderOutputDim = decoderOutputDim
        self.srChannels = srChannels ?? rendering.superresolutionModule.defaultChannels
        self.neuralRenderingResolution = neuralRenderingResolution; self.rendering = rendering
        self.dChannelBase = dChannelBase ?? channelBase; self.dChannelMax = dChannelMax ?? channelMax
        self.dConvClamp = dConvClamp; self.mbstdGroupSize = mbstdGroupSize; self.mbstdNumChannels = mbstdNumChannels
        self.dMappingLayers = dMappingLayers; self.cmapDim = cmapDim; self.discCNoise = discCNoise
    }

    /// The official FFHQ-512 checkpoints (ffhq512-128, ffhqrebalanced512-128; spec §1). The *-64 models
    /// differ only in neuralRenderingResolution (64).
    public static let ffhq512 = TriPlaneConfig(
        zDim: 512, wDim: 512, cDim: 25, imgResolution: 512, channelBase: 32768, channelMax: 512, mappingLayers: 2,
        neuralRenderingResolution: 128, rendering: .ffhq(.hybrid8XDC))

    /// A generator sized for the synthetic world on two CPU cores (chosen with `bench train`: 1.8 CPU s per
    /// iteration of 4 images on a loaded machine): 128² output (SuperresolutionHybrid2X with widths 32, 16), 64²
    /// tri-planes of 3×32 channels, backbone channels min(4096/r, 128), neural rendering at 32² with 16 + 16 depth
    /// samples, pose conditioning on (gpc_reg_prob 0.5), D channels min(2048/r, 128), mbstd group 4.
    public static let world128 = TriPlaneConfig(
        zDim: 128, wDim: 128, cDim: 25, imgResolution: 128, channelBase: 4096, channelMax: 128, mappingLayers: 2,
        planeResolution: 64, srChannels: [32, 16], neuralRenderingResolution: 32,
        rendering: .ffhq(.hybrid2X, depthResolution: 16, depthResolutionImportance: 16),
        dChannelBase: 2048, dChannelMax: 128, mbstdGroupSize: 4)

    /// The tiny configuration of Tests/Fixtures/eg3d/tiny128.safetensors, which the unmodified official code
    /// accepts (spec §1.4): SuperresolutionHybrid2X, channel_base 2048, channel_max 64, z_dim 64, R = 32,
    /// 12 + 12 depth samples, D mbstd group 2.
    public static let tiny128 = TriPlaneConfig(
        zDim: 64, wDim: 512, cDim: 25, imgResolution: 128, channelBase: 2048, channelMax: 64, mappingLayers: 2,
        neuralRenderingResolution: 32, rendering: .ffhq(.hybrid2X, depthResolution: 12, depthResolutionImportance: 12),
        mbstdGroupSize: 2)

    // Derived sizes.

    /// Backbone block resolutions 4, 8, …, planeResolution.
    public var blockResolutions: [Int] { backboneBlockResolutions(planeResolution) }
    /// Backbone channels at resolution r.
    public func channels(at r: Int) -> Int { Swift.min(channelBase / r, channelMax) }
    /// Rows of ws: one per backbone convolution plus the last ToRGB (14 for 256² planes).
    public var numWs: Int { 2 * blockResolutions.count }
    /// Backbone output channels (3 planes).
    public var backboneChannels: Int { 3 * planeChannels }
    /// The super-resolution module (from rendering_kwargs).
    public var superresolution: SuperresolutionKind { rendering.superresolutionModule }
    /// conv_clamp of every super-resolution layer.
    public var srConvClamp: Float? { srNumFp16Res > 0 ? 256 : nil }
    /// D's channels at resolution r.
    public func dChannels(at r: Int) -> Int { Swift.min(dChannelBase / r, dChannelMax) }
    /// D's mapped camera label width.
    public var resolvedCmapDim: Int { cDim == 0 ? 0 : (cmapDim ?? dChannels(at: 4)) }

    /// Throws a ConfigError naming every inconsistent setting.
    public func validate() throws {
        var problems: [String] = []
        let sr = rendering.superresolutionModule
        if imgResolution != sr.outputResolution {
            problems.append("img_resolution \(imgResolution) does not match superresolution_module \(sr.rawValue) (\(sr.outputResolution))")
        }
        if rendering.imageResolution != imgResolution {
            problems.append("rendering_kwargs.image_resolution \(rendering.imageResolution) differs from img_resolution \(imgResolution)")
        }
        if planeResolution < 4 || planeResolution & (planeResolution - 1) != 0 {
            problems.append("plane_resolution \(planeResolution) must be a power of two >= 4")
        }
        if srChannels.count != 2 || srChannels.contains(where: { $0 <= 0 }) { problems.append("sr_channels \(srChannels) must be two positive widths") }
        if decoderOutputDim < 3 { problems.append("decoder_output_dim \(decoderOutputDim) must be at least 3 (image_raw is its first 3 channels)") }
        for (name, v) in [("z_dim", zDim), ("w_dim", wDim), ("channel_base", channelBase), ("channel_max", channelMax),
                          ("mapping_kwargs.num_layers", mappingLayers), ("plane_channels", planeChannels),
                          ("decoder_hidden_dim", decoderHiddenDim), ("neural_rendering_resolution", neuralRenderingResolution),
                          ("depth_resolution", rendering.depthResolution), ("d_channel_base", dChannelBase),
                          ("d_channel_max", dChannelMax), ("mbstd_group_size", mbstdGroupSize), ("d_mapping_layers", dMappingLayers)]
            where v <= 0 { problems.append("\(name) must be positive, got \(v)") }
        if cDim < 0 { problems.append("c_dim must be non-negative, got \(cDim)") }
        // Sane upper bounds, so that a wrong number in a checkpoint's metadata is named before anything is
        // allocated (EG3D's own sizes are far below each).
        let bounds: [(String, Int, ClosedRange<Int>)] = [
            ("z_dim", zDim, 1...8192), ("w_dim", wDim, 1...8192), ("c_dim", cDim, 0...1024),
            // EG3D's super-resolution writes RGB whatever img_channels says (SuperresolutionHybrid*: img_channels=3).
            ("img_channels", imgChannels, 3...3),
            ("channel_base", channelBase, 1...(1 << 22)), ("channel_max", channelMax, 1...8192),
            ("mapping_kwargs.num_layers", mappingLayers, 1...64), ("plane_resolution", planeResolution, 4...1024),
            ("plane_channels", planeChannels, 1...1024), ("decoder_hidden_dim", decoderHiddenDim, 1...4096),
            ("decoder_output_dim", decoderOutputDim, 3...4096), ("neural_rendering_resolution", neuralRenderingResolution, 1...1024),
            ("depth_resolution", rendering.depthResolution, 2...1024),
            ("depth_resolution_importance", rendering.depthResolutionImportance, 0...1024),
            ("sr_num_fp16_res", srNumFp16Res, 0...64), ("d_channel_base", dChannelBase, 1...(1 << 22)),
            ("d_channel_max", dChannelMax, 1...8192), ("mbstd_group_size", mbstdGroupSize, 1...1024),
            ("mbstd_num_channels", mbstdNumChannels, 0...64), ("d_mapping_layers", dMappingLayers, 1...64),
            ("cmap_dim", cmapDim ?? 1, 1...8192),
        ] + srChannels.enumerated().map { ("sr_channels[\($0.offset)]", $0.element, 1...8192) }
        // (one message per key: a value already reported as not positive is not reported again)
        for (name, v, range) in bounds where !range.contains(v) && !problems.contains(where: { $0.hasPrefix("\(name) ") }) {
            problems.append("\(name) = \(v) must be in \(range.lowerBound)...\(range.upperBound)")
        }
        if rendering.avgCameraPivot.count != 3 || !rendering.avgCameraPivot.allSatisfy(\.isFinite) {
            problems.append("rendering_kwargs.avg_camera_pivot \(rendering.avgCameraPivot) must be three finite numbers")
        }
        for (name, v) in [("avg_camera_radius", rendering.avgCameraRadius), ("c_scale", rendering.cScale),
                          ("decoder_lr_mul", rendering.decoderLrMul), ("disc_c_noise", discCNoise)] where !v.isFinite {
            problems.append("rendering_kwargs.\(name) = \(v) must be finite")
        }
        for (name, v) in [("conv_clamp", convClamp), ("d_conv_clamp", dConvClamp)] {
            if let v, !(v.isFinite && v >= 0) { problems.append("\(name) = \(v) must be a non-negative number or null") }
        }
        if let p = rendering.gpcRegProb, !(p.isFinite && p >= 0 && p <= 1) { problems.append("rendering_kwargs.gpc_reg_prob = \(p) must lie in [0, 1]") }
        if let message = RendererSettings(config: self).validationError { problems.append(message) }
        // What the discriminator (DiscriminatorConfig, built from these keys by training) requires.
        if dChannelBase >= 1, dChannelMax >= 1, imgResolution >= 8, dChannels(at: imgResolution) < 1 {
            problems.append("d_channel_base \(dChannelBase) gives no discriminator channels at \(imgResolution)²")
        }
        if mbstdNumChannels >= 1, dChannelBase >= 4, dChannelMax >= 1, dChannels(at: 4) % mbstdNumChannels != 0 {
            problems.append("mbstd_num_channels \(mbstdNumChannels) does not divide the discriminator's \(dChannels(at: 4)) channels at 4²")
        }
        if !(discCNoise >= 0) { problems.append("disc_c_noise \(discCNoise) must be non-negative") }
        if planeResolution > 0, channelBase / planeResolution < 1 { problems.append("channel_base \(channelBase) gives no channels at \(planeResolution)²") }
        if !problems.isEmpty { throw ConfigError(problems: problems) }
    }

    /// Reads a config written by `jsonString()` (or EG3D's init_kwargs with the extra keys it lacks, which
    /// take the FFHQ values: plane_resolution 256, plane_channels 32, …, D settings from channel_base/max).
    public init(json: String) throws {
        self = try JSONDecoder().decode(TriPlaneConfig.self, from: Data(json.utf8))
        try validate()
    }

    /// The config as JSON with sorted snake_case keys (for safetensors metadata).
    public func jsonString() throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try e.encode(self), as: UTF8.self)
    }

    public init(from decoder: Decoder) throws {
        let k = try decoder.container(keyedBy: CodingKeys.self)
        zDim = try k.decode(Int.self, forKey: .zDim)
        wDim = try k.decode(Int.self, forKey: .wDim)
        cDim = try k.decode(Int.self, forKey: .cDim)
        imgResolution = try k.decode(Int.self, forKey: .imgResolution)
        imgChannels = try k.decodeIfPresent(Int.self, forKey: .imgChannels) ?? 3
        channelBase = try k.decode(Int.self, forKey: .channelBase)
        channelMax = try k.decode(Int.self, forKey: .channelMax)
        if k.contains(.mappingKwargs) {
            let m = try k.nestedContainer(keyedBy: MappingKeys.self, forKey: .mappingKwargs)
            mappingLayers = try m.decodeIfPresent(Int.self, forKey: .numLayers) ?? 8
        } else {
            mappingLayers = 8   // MappingNetwork's default when mapping_kwargs is absent
        }
        convClamp = try k.decodeIfPresent(Float.self, forKey: .convClamp)
        srNumFp16Res = try k.decodeIfPresent(Int.self, forKey: .srNumFp16Res) ?? 0   // TriPlaneGenerator's default
        planeResolution = try k.decodeIfPresent(Int.self, forKey: .planeResolution) ?? 256
        planeChannels = try k.decodeIfPresent(Int.self, forKey: .planeChannels) ?? 32
        decoderHiddenDim = try k.decodeIfPresent(Int.self, forKey: .decoderHiddenDim) ?? 64
        decoderOutputDim = try k.decodeIfPresent(Int.self, forKey: .decoderOutputDim) ?? 32
        rendering = try k.decode(RenderingOptions.self, forKey: .rendering)
        srChannels = try k.decodeIfPresent([Int].self, forKey: .srChannels) ?? rendering.superresolutionModule.defaultChannels
        neuralRenderingResolution = try k.decodeIfPresent(Int.self, forKey: .neuralRenderingResolution) ?? 64
        dChannelBase = try k.decodeIfPresent(Int.self, forKey: .dChannelBase) ?? channelBase
        dChannelMax = try k.decodeIfPresent(Int.self, forKey: .dChannelMax) ?? channelMax
        dConvClamp = k.contains(.dConvClamp) ? try k.decodeIfPresent(Float.self, forKey: .dConvClamp) : 256
        mbstdGroupSize = try k.decodeIfPresent(Int.self, forKey: .mbstdGroupSize) ?? 4
        mbstdNumChannels = try k.decodeIfPresent(Int.self, forKey: .mbstdNumChannels) ?? 1
        dMappingLayers = try k.decodeIfPresent(Int.self, forKey: .dMappingLayers) ?? 8
        cmapDim = try k.decodeIfPresent(Int.self, forKey: .cmapDim)
        discCNoise = try k.decodeIfPresent(Float.self, forKey: .discCNoise) ?? 0
    }

    public func encode(to encoder: Encoder) throws {
        var k = encoder.container(keyedBy: CodingKeys.self)
        try k.encode(zDim, forKey: .zDim)
        try k.encode(wDim, forKey: .wDim)
        try k.encode(cDim, forKey: .cDim)
        try k.encode(imgResolution, forKey: .imgResolution)
        try k.encode(imgChannels, forKey: .imgChannels)
        try k.encode(channelBase, forKey: .channelBase)
        try k.encode(channelMax, forKey: .channelMax)
        var m = k.nestedContainer(keyedBy: MappingKeys.self, forKey: .mappingKwargs)
        try m.encode(mappingLayers, forKey: .numLayers)
        try k.encode(convClamp, forKey: .convClamp)
        try k.encode(srNumFp16Res, forKey: .srNumFp16Res)
        try k.encode(planeResolution, forKey: .planeResolution)
        try k.encode(planeChannels, forKey: .planeChannels)
        try k.encode(decoderHiddenDim, forKey: .decoderHiddenDim)
        try k.encode(decoderOutputDim, forKey: .decoderOutputDim)
        try k.encode(srChannels, forKey: .srChannels)
        try k.encode(neuralRenderingResolution, forKey: .neuralRenderingResolution)
        try k.encode(rendering, forKey: .rendering)
        try k.encode(dChannelBase, forKey: .dChannelBase)
        try k.encode(dChannelMax, forKey: .dChannelMax)
        try k.encode(dConvClamp, forKey: .dConvClamp)
        try k.encode(mbstdGroupSize, forKey: .mbstdGroupSize)
        try k.encode(mbstdNumChannels, forKey: .mbstdNumChannels)
        try k.encode(dMappingLayers, forKey: .dMappingLayers)
        try k.encode(cmapDim, forKey: .cmapDim)
        try k.encode(discCNoise, forKey: .discCNoise)
    }
}

/// Backbone block resolutions 4, 8, …, `resolution` (SynthesisNetwork.block_resolutions).
func backboneBlockResolutions(_ resolution: Int) -> [Int] {
    var out: [Int] = []
    var r = 4
    while r <= resolution { out.append(r); r *= 2 }
    return out
}

/// Inconsistent configuration settings, all listed.
public struct ConfigError: Error, CustomStringConvertible {
    public var problems: [String]
    public var description: String { "invalid TriPlaneConfig: " + problems.joined(separator: "; ") }
}
