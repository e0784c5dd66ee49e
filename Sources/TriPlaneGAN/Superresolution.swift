// superresolution.py SuperresolutionHybrid2X / SuperresolutionHybrid4X / SuperresolutionHybrid8XDC (spec §9):
// two StyleGAN2 blocks that turn the 32-channel neural-rendered feature image into the final image,
// modulated by the last w only, clamped at ±256, without noise in EG3D.
import TensorCore

/// EG3D's `superresolution` module. State keys: `block0.*`, `block1.*`, and `resample_filter` for 2X/4X.
public final class Superresolution: Module {
    public let kind: SuperresolutionKind
    /// Feature-image channels (32).
    public let channels: Int
    public let wDim: Int
    /// The feature image is resized to this size first (128; 64 for 2X).
    public let inputResolution: Int
    /// antialias flag of that resize (rendering_kwargs['sr_antialias']).
    public let antialias: Bool
    /// 8XDC: SynthesisBlock(32 → c0, 256); 2X/4X: SynthesisBlockNoUp(32 → c0, at the input resolution).
    public let block0: SynthesisBlock
    /// SynthesisBlock(c0 → c1, output resolution), the last block.
    public let block1: SynthesisBlock
    /// Unused FIR buffer that the 2X and 4X modules register (kept for their state dicts).
    public let resampleFilter: Tensor?

    /// - Parameters:
    ///   - blockChannels: output widths of block0 and block1 (8XDC: 256, 128; 2X/4X: 128, 64).
    ///   - convClamp: every layer's clamp (256 when sr_num_fp16_res > 0, as in EG3D, even in fp32).
    public init(kind: SuperresolutionKind, channels: Int = 32, blockChannels: [Int]? = nil, wDim: Int = 512,
                convClamp: Float? = 256, antialias: Bool = true, rng: RandomGenerator) {
        let widths = blockChannels ?? kind.defaultChannels
        require(widths.count == 2, "Superresolution: blockChannels must hold two widths, got \(widths)")
        self.kind = kind; self.channels = channels; self.wDim = wDim; self.antialias = antialias
        inputResolution = kind.inputResolution
        let out = kind.outputResolution
        block0 = SynthesisBlock(channels, widths[0], wDim: wDim, resolution: kind.block0Upsamples ? out / 2 : inputResolution,
                                imgChannels: 3, isLast: false, upsamples: kind.block0Upsamples, convClamp: convClamp, rng: rng)
        block1 = SynthesisBlock(widths[0], widths[1], wDim: wDim, resolution: out, imgChannels: 3, isLast: true,
                                convClamp: convClamp, rng: rng)
        resampleFilter = kind == .hybrid8XDC ? nil : setupFilter([1, 3, 3, 1])
        super.init()
        registerModule("block0", block0)
        registerModule("block1", block1)
        if let resampleFilter { registerBuffer("resample_filter", resampleFilter) }
    }

    /// The super-resolution of a configuration (its module, sr_channels, w_dim, clamp, antialias).
    public convenience init(config: TriPlaneConfig, rng: RandomGenerator) {
        self.init(kind: config.superresolution, channels: config.decoderOutputDim, blockChannels: config.srChannels,
                  wDim: config.wDim, convClamp: config.srConvClamp, antialias: config.rendering.srAntialias, rng: rng)
    }

    /// Sets fused/unfused modulation on every layer.
    public func setExecution(_ e: ModulationExecution) { block0.setExecution(e); block1.setExecution(e) }

    /// - Parameters:
    ///   - rgb: image_raw = features[:, :3], (N, 3, R, R).
    ///   - x: the feature image (N, channels, R, R).
    ///   - ws: (N, num_ws, w_dim); only the last row is used, by all six layers.
    ///   - noiseMode: rendering_kwargs['superresolution_noise_mode'] (none in EG3D).
    /// - Returns: (N, 3, out, out).
    public func callAsFunction(_ rgb: Tensor, _ x: Tensor, _ ws: Tensor, noiseMode: NoiseMode = .none,
                               rng: RandomGenerator? = nil) -> Tensor {
        require(x.rank == 4 && x.shape[1] == channels && x.shape[2] == x.shape[3],
                "Superresolution: features must be (N, \(channels), R, R), got \(x.shape)")
        let n = x.shape[0]
        require(rgb.shape == [n, 3, x.shape[2], x.shape[3]], "Superresolution: rgb must be (\(n), 3, \(x.shape[2]), \(x.shape[3])), got \(rgb.shape)")
        require(ws.rank == 3 && ws.shape[0] == n && ws.shape[1] >= 1 && ws.shape[2] == wDim,
                "Superresolution: ws must be (\(n), num_ws, \(wDim)), got \(ws.shape)")
        let w = ws.slice(axis: 1, start: ws.shape[1] - 1, end: ws.shape[1]).squeeze(1)
        var (x, img) = (x, rgb)
        let r = x.shape[3]
        // 4X resizes only smaller inputs; 2X and 8XDC any other size.
        if kind == .hybrid4X ? r < inputResolution : r != inputResolution {
            let size = (inputResolution, inputResolution)
            x = interpolate(x, size: size, mode: .bilinear, alignCorners: false, antialias: antialias)
            img = interpolate(img, size: size, mode: .bilinear, alignCorners: false, antialias: antialias)
        }
        let b0 = block0(x, img, [w, w, w], noiseMode: noiseMode, rng: rng)
        return block1(b0.x, b0.img, [w, w, w], noiseMode: noiseMode, rng: rng).img
    }
}
