// networks_stylegan2.py SynthesisBlock ('skip' architecture; spec §4) and superresolution.py
// SynthesisBlockNoUp (spec §9), which is the same block without the ×2 upsampling.
import TensorCore

/// One resolution of a skip-architecture synthesis network: [const |] conv0 (up ×2, or not for NoUp),
/// conv1, and a ToRGB whose output is added to the (upsampled) running image.
/// State keys: `resample_filter`, `const` (first block only), `conv0.*` (not in the first block), `conv1.*`, `torgb.*`.
public final class SynthesisBlock: Module {
    /// Input channels, 0 for the first block (which starts from `const`).
    public let inChannels: Int
    public let outChannels: Int, wDim: Int, resolution: Int, imgChannels: Int
    public let isLast: Bool
    /// false: superresolution.py's SynthesisBlockNoUp (conv0 at the block resolution, image not upsampled).
    public let upsamples: Bool
    /// The (4, 4) FIR filter of the image upsampling (a buffer).
    public let resampleFilter: Tensor
    /// (out, res, res), first block only.
    public let const: Tensor?
    public let conv0: SynthesisLayer?
    public let conv1: SynthesisLayer
    public let torgb: ToRGBLayer
    /// Convolutions (1 or 2) and ToRGB layers (1): the block consumes numConv + numToRGB rows of ws.
    public var numConv: Int { conv0 == nil ? 1 : 2 }
    public let numToRGB = 1

    public init(_ inChannels: Int, _ outChannels: Int, wDim: Int, resolution: Int, imgChannels: Int, isLast: Bool,
                upsamples: Bool = true, convClamp: Float? = nil, useNoise: Bool = true, rng: RandomGenerator) {
        require(inChannels >= 0 && outChannels > 0, "SynthesisBlock at \(resolution): channels \(inChannels) -> \(outChannels) are invalid")
        self.inChannels = inChannels; self.outChannels = outChannels; self.wDim = wDim
        self.resolution = resolution; self.imgChannels = imgChannels; self.isLast = isLast; self.upsamples = upsamples
        resampleFilter = setupFilter([1, 3, 3, 1])
        const = inChannels == 0 ? rng.normal([outChannels, resolution, resolution]) : nil
        conv0 = inChannels == 0 ? nil
            : SynthesisLayer(inChannels, outChannels, wDim: wDim, resolution: resolution, up: upsamples ? 2 : 1,
                             useNoise: useNoise, convClamp: convClamp, rng: rng)
        conv1 = SynthesisLayer(outChannels, outChannels, wDim: wDim, resolution: resolution, useNoise: useNoise,
                               convClamp: convClamp, rng: rng)
        torgb = ToRGBLayer(outChannels, imgChannels, wDim: wDim, convClamp: convClamp, rng: rng)
        super.init()
        registerBuffer("resample_filter", resampleFilter)
        if let const { registerParameter("const", const) }
        if let conv0 { registerModule("conv0", conv0) }
        registerModule("conv1", conv1)
        registerModule("torgb", torgb)
    }

    /// Sets fused/unfused modulation on every layer of the block.
    public func setExecution(_ e: ModulationExecution) {
        conv0?.execution = e; conv1.execution = e; torgb.execution = e
    }

    /// - Parameters:
    ///   - x: (N, in, r, r) with r = res/2 (res for NoUp); nil for the first block.
    ///   - img: the running image (N, img_channels, r, r), or nil (first block).
    ///   - ws: numConv + numToRGB latents, each (N, w_dim): conv0, conv1, torgb in order.
    ///   - adapt: applied to the output of the convolutions (N, out, res, res) before anything reads it; its result
    ///     feeds this block's ToRGB and is the returned x (DreamPortrait's adapters, method doc §4; see
    ///     AdapterPlacement). Not part of the official block: nil leaves it unchanged.
    /// - Returns: x (N, out, res, res) and img (N, img_channels, res, res).
    public func callAsFunction(_ x: Tensor?, _ img: Tensor?, _ ws: [Tensor], noiseMode: NoiseMode,
                               rng: RandomGenerator? = nil, adapt: ((Tensor) -> Tensor)? = nil) -> (x: Tensor, img: Tensor) {
        require(ws.count == numConv + numToRGB, "SynthesisBlock at \(resolution): needs \(numConv + numToRGB) ws, got \(ws.count)")
        let n = ws[0].shape[0]
        for w in ws { require(w.shape == [n, wDim], "SynthesisBlock at \(resolution): each w must be (\(n), \(wDim)), got \(w.shape)") }
        let inRes = upsamples ? resolution / 2 : resolution
        var h: Tensor
        if let const {
            h = const.unsqueeze(0).expand([n, outChannels, resolution, resolution])
            h = conv1(h, ws[0], noiseMode: noiseMode, rng: rng)
        } else {
            guard let x, let conv0 else { preconditionFailure("SynthesisBlock at \(resolution): input x is required after the first block") }
            require(x.shape == [n, inChannels, inRes, inRes],
                    "SynthesisBlock at \(resolution): x must be (\(n), \(inChannels), \(inRes), \(inRes)), got \(x.shape)")
            h = conv0(x, ws[0], noiseMode: noiseMode, rng: rng)
            h = conv1(h, ws[1], noiseMode: noiseMode, rng: rng)
        }
        if let adapt {
            h = adapt(h)
            require(h.shape == [n, outChannels, resolution, resolution],
                    "SynthesisBlock at \(resolution): adapt must keep x's shape (\(n), \(outChannels), \(resolution), \(resolution)), got \(h.shape)")
        }
        let y = torgb(h, ws[numConv])
        guard var out = img else { return (h, y) }
        require(out.shape == [n, imgChannels, inRes, inRes],
                "SynthesisBlock at \(resolution): img must be (\(n), \(imgChannels), \(inRes), \(inRes)), got \(out.shape)")
        if upsamples { out = upsample2d(out, resampleFilter) }
        return (h, out + y)
    }
}
