// networks_stylegan2.py SynthesisNetwork (spec §4): the tri-plane backbone, skip StyleGAN2 blocks from 4²
// to img_resolution, channels min(channel_base / res, channel_max), ws windows that overlap by one.
import TensorCore

/// The synthesis half of the StyleGAN2 backbone. State keys: `b4.*`, `b8.*`, …, `b{img_resolution}.*`.
public final class SynthesisNetwork: Module {
    public let wDim: Int, imgResolution: Int, imgChannels: Int
    /// 4, 8, …, imgResolution.
    public let blockResolutions: [Int]
    public let blocks: [SynthesisBlock]
    /// Rows of ws consumed: every convolution plus the last ToRGB (14 at 256²).
    public let numWs: Int

    /// - Parameter convClamp: every layer's conv_clamp (None in EG3D's backbone).
    public init(wDim: Int, imgResolution: Int, imgChannels: Int, channelBase: Int = 32768, channelMax: Int = 512,
                convClamp: Float? = nil, rng: RandomGenerator) {
        require(imgResolution >= 4 && imgResolution & (imgResolution - 1) == 0,
                "SynthesisNetwork: img_resolution \(imgResolution) must be a power of two >= 4")
        self.wDim = wDim; self.imgResolution = imgResolution; self.imgChannels = imgChannels
        blockResolutions = backboneBlockResolutions(imgResolution)
        func channels(_ r: Int) -> Int { Swift.min(channelBase / r, channelMax) }
        var blocks: [SynthesisBlock] = []
        var numWs = 0
        for r in blockResolutions {
            require(channels(r) > 0, "SynthesisNetwork: channel_base \(channelBase) gives no channels at \(r)²")
            let block = SynthesisBlock(r > 4 ? channels(r / 2) : 0, channels(r), wDim: wDim, resolution: r,
                                       imgChannels: imgChannels, isLast: r == imgResolution, convClamp: convClamp, rng: rng)
            numWs += block.numConv
            if r == imgResolution { numWs += block.numToRGB }
            blocks.append(block)
        }
        self.blocks = blocks
        self.numWs = numWs
        super.init()
        for (r, b) in zip(blockResolutions, blocks) { registerModule("b\(r)", b) }
    }

    /// Sets fused/unfused modulation on every layer.
    public func setExecution(_ e: ModulationExecution) { for b in blocks { b.setExecution(e) } }

    /// Block b reads ws[start ..< start + numConv + 1] and start advances by numConv, so each block's ToRGB w
    /// is the next block's conv0 w. Random noise is drawn in layer order (b4.conv1, b8.conv0, b8.conv1, …).
    // ws: (N, num_ws, w_dim) -> img: (N, img_channels, img_resolution, img_resolution)
    /// - Parameter afterBlock: called with each block's resolution and output features x (after its convolutions,
    ///   before its ToRGB); its result replaces x for that block's ToRGB and for the next block (DreamPortrait's
    ///   adapters, placed as AdapterPlacement describes: at the last block x feeds only the ToRGB that makes the
    ///   tri-plane, so it must run before it). The image (skip) path itself carries no adapter.
    public func callAsFunction(_ ws: Tensor, noiseMode: NoiseMode, rng: RandomGenerator? = nil,
                               afterBlock: ((_ resolution: Int, _ x: Tensor) -> Tensor)? = nil) -> Tensor {
        require(ws.rank == 3 && ws.shape[1] == numWs && ws.shape[2] == wDim,
                "SynthesisNetwork: ws must be (N, \(numWs), \(wDim)), got \(ws.shape)")
        let rows = (0..<numWs).map { ws.slice(axis: 1, start: $0, end: $0 + 1).squeeze(1) }
        var x: Tensor? = nil, img: Tensor? = nil
        var start = 0
        for b in blocks {
            let adapt = afterBlock.map { f in { (features: Tensor) in f(b.resolution, features) } }
            let out = b(x, img, Array(rows[start ..< start + b.numConv + b.numToRGB]), noiseMode: noiseMode, rng: rng,
                        adapt: adapt)
            (x, img) = (out.x, out.img)
            start += b.numConv
        }
        return img!
    }
}
