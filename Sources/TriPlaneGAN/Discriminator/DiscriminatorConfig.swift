// DiscriminatorConfig: the constructor arguments of EG3D's DualDiscriminator (training/dual_discriminator.py,
// as train.py fills them: spec §1.4, §11) and the channel schedule derived from them.
import Foundation
import TensorCore

/// DualDiscriminator block architecture. EG3D trains 'resnet' only; 'orig' and 'skip' are not ported.
public enum DiscriminatorArchitecture: String, Codable, Sendable {
    case resnet
}

/// Hyper-parameters of the dual discriminator. JSON keys are the official snake_case argument names.
public struct DiscriminatorConfig: Codable, Equatable, Sendable {
    /// Camera label dimensionality (25: 16 cam2world + 9 intrinsics); 0 = unconditional (no mapping, one output).
    public var cDim: Int
    /// Resolution of the super-resolved image (a power of two, at least 8).
    public var imgResolution: Int
    /// Channels of one input image; D sees twice as many (image and upsampled raw image, concatenated).
    public var imgChannels: Int
    /// Channels at resolution r are min(channelBase / r, channelMax).
    public var channelBase: Int
    public var channelMax: Int
    /// Width of the mapped camera label; nil = the channels at 4×4 (the official default).
    public var cmapDim: Int?
    /// Minibatch-stddev group size; nil = the whole batch.
    public var mbstdGroupSize: Int?
    /// Minibatch-stddev feature channels; 0 disables the layer.
    public var mbstdNumChannels: Int
    /// Layers of the camera MappingNetwork (MappingNetwork's default, 8).
    public var mappingLayers: Int
    /// Clamp of every conv output except the skips (±conv_clamp·gain); nil = no clamp.
    public var convClamp: Float?
    public var architecture: DiscriminatorArchitecture
    /// Std-devs of Gaussian noise added to the camera label before the mapping (0 = off, EG3D's default).
    public var discCNoise: Float
    /// Width of the prompt feature of a text-conditioned D (ours: DiscriminatorTextProjection.swift); nil = EG3D's D.
    public var textDim: Int? = nil

    enum CodingKeys: String, CodingKey {
        case cDim = "c_dim", imgResolution = "img_resolution", imgChannels = "img_channels"
        case channelBase = "channel_base", channelMax = "channel_max", cmapDim = "cmap_dim"
        case mbstdGroupSize = "mbstd_group_size", mbstdNumChannels = "mbstd_num_channels"
        case mappingLayers = "mapping_layers", convClamp = "conv_clamp", architecture
        case discCNoise = "disc_c_noise", textDim = "text_dim"
    }

    public init(cDim: Int = 25, imgResolution: Int, imgChannels: Int = 3, channelBase: Int = 32768, channelMax: Int = 512,
                cmapDim: Int? = nil, mbstdGroupSize: Int? = 4, mbstdNumChannels: Int = 1, mappingLayers: Int = 8,
                convClamp: Float? = 256, architecture: DiscriminatorArchitecture = .resnet, discCNoise: Float = 0) {
        self.cDim = cDim
        self.imgResolution = imgResolution
        self.imgChannels = imgChannels
        self.channelBase = channelBase
        self.channelMax = channelMax
        self.cmapDim = cmapDim
        self.mbstdGroupSize = mbstdGroupSize
        self.mbstdNumChannels = mbstdNumChannels
        self.mappingLayers = mappingLayers
        self.convClamp = convClamp
        self.architecture = architecture
        self.discCNoise = discCNoise
    }

    /// The FFHQ-512 checkpoints' D (spec §11): 512², 6 input channels, 64…512 channels, cmap 512, mbstd 4, clamp 256.
    public static let ffhq512 = DiscriminatorConfig(imgResolution: 512)

    /// The tiny parity configuration of Tests/Fixtures/eg3d/tiny128.safetensors: 128², channels 16…64, cmap 64, mbstd 2.
    public static let tiny128 = DiscriminatorConfig(imgResolution: 128, channelBase: 2048, channelMax: 64, mbstdGroupSize: 2)

    /// Block resolutions from the input down to 8 (the 4×4 epilogue is `b4`).
    public var blockResolutions: [Int] { Array(sequence(first: imgResolution) { $0 > 8 ? $0 / 2 : nil }) }

    /// Channels at resolution `res`: min(channelBase / res, channelMax).
    public func channels(at res: Int) -> Int { Swift.min(channelBase / res, channelMax) }

    /// The mapped label width in use: 0 when unconditional, else cmapDim or the channels at 4×4.
    public var resolvedCmapDim: Int { cDim == 0 ? 0 : (cmapDim ?? channels(at: 4)) }

    /// Stops with a message naming the first invalid field.
    public func validate() {
        require(imgResolution >= 8 && imgResolution & (imgResolution - 1) == 0,
                "DiscriminatorConfig: img_resolution must be a power of two >= 8, got \(imgResolution)")
        require(cDim >= 0 && imgChannels >= 1, "DiscriminatorConfig: c_dim \(cDim) must be >= 0 and img_channels \(imgChannels) >= 1")
        require(channelMax >= 1 && channels(at: imgResolution) >= 1,
                "DiscriminatorConfig: channel_base \(channelBase) / channel_max \(channelMax) give no channels at \(imgResolution)")
        require(cmapDim.map { $0 >= 1 } ?? true, "DiscriminatorConfig: cmap_dim must be positive, got \(cmapDim!)")
        require(mbstdGroupSize.map { $0 >= 1 } ?? true, "DiscriminatorConfig: mbstd_group_size must be positive, got \(mbstdGroupSize!)")
        require(mbstdNumChannels >= 0, "DiscriminatorConfig: mbstd_num_channels must be >= 0, got \(mbstdNumChannels)")
        require(mbstdNumChannels == 0 || channels(at: 4) % mbstdNumChannels == 0,
                "DiscriminatorConfig: the \(channels(at: 4)) channels at 4×4 must divide into mbstd_num_channels \(mbstdNumChannels)")
        require(mappingLayers >= 1, "DiscriminatorConfig: mapping_layers must be >= 1, got \(mappingLayers)")
        require(convClamp.map { $0 >= 0 } ?? true, "DiscriminatorConfig: conv_clamp must be >= 0, got \(convClamp!)")
        require(discCNoise >= 0, "DiscriminatorConfig: disc_c_noise must be >= 0, got \(discCNoise)")
        require(textDim.map { $0 >= 1 && cDim > 0 } ?? true,
                "DiscriminatorConfig: text_dim \(textDim ?? 0) needs a positive width and a camera-conditioned D (c_dim > 0, got \(cDim))")
    }
}
