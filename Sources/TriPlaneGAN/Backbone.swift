// triplane.py's `backbone`: networks_stylegan2.py Generator (mapping + synthesis) built with
// img_resolution = 256 and img_channels = 3·32, i.e. the tri-plane generator (spec §3, §4).
import TensorCore

/// EG3D's StyleGAN2 backbone. State keys: `mapping.*`, `synthesis.*` (under `backbone.` in the generator).
///
///     let ws = backbone.mapping(z, c, truncationPsi: 0.7)         // (N, num_ws, w_dim)
///     let planes = backbone.synthesis(ws, noiseMode: .const)      // (N, 3·32, 256, 256)
public final class Backbone: Module {
    public let synthesis: SynthesisNetwork
    public let mapping: MappingNetwork

    public init(config: TriPlaneConfig, rng: RandomGenerator) {
        synthesis = SynthesisNetwork(wDim: config.wDim, imgResolution: config.planeResolution,
                                     imgChannels: config.backboneChannels, channelBase: config.channelBase,
                                     channelMax: config.channelMax, convClamp: config.convClamp, rng: rng)
        mapping = MappingNetwork(zDim: config.zDim, cDim: config.cDim, wDim: config.wDim, numWs: synthesis.numWs,
                                 numLayers: config.mappingLayers, rng: rng)
        super.init()
        registerModule("synthesis", synthesis)
        registerModule("mapping", mapping)
    }

    /// Rows of ws.
    public var numWs: Int { synthesis.numWs }
}
