// DiscriminatorBlock: one resolution of EG3D's D, 'resnet' architecture (training/networks_stylegan2.py
// DiscriminatorBlock; spec §11.2). fp16 and freeze_layers are training-speed options and are not ported.
import Foundation
import TensorCore

/// x ← fromrgb(img) (first block only); y = skip(x)·√0.5 (1×1, down 2, no bias, linear, no clamp);
/// x = conv1(conv0(x)) with conv1's gain √0.5 (3×3 down 2: lrelu·1, clamp conv_clamp·√0.5); out = y + x.
/// State: buffer `resample_filter`, children `fromrgb` (first block only), `conv0`, `conv1`, `skip`.
public final class DiscriminatorBlock: Module {
    /// 0 for the first block (which reads the image), else tmpChannels.
    public let inChannels: Int, tmpChannels: Int, outChannels: Int, resolution: Int, imgChannels: Int
    public let fromrgb: Conv2dLayer?
    public let conv0: Conv2dLayer, conv1: Conv2dLayer, skip: Conv2dLayer
    /// (4, 4) FIR filter (saved; used only by the 'skip' architecture's image path).
    public let resampleFilter: Tensor

    public init(inChannels: Int, tmpChannels: Int, outChannels: Int, resolution: Int, imgChannels: Int,
                convClamp: Float?, rng: RandomGenerator) {
        require(inChannels == 0 || inChannels == tmpChannels,
                "DiscriminatorBlock b\(resolution): in_channels must be 0 (first block) or tmp_channels \(tmpChannels), got \(inChannels)")
        self.inChannels = inChannels
        self.tmpChannels = tmpChannels
        self.outChannels = outChannels
        self.resolution = resolution
        self.imgChannels = imgChannels
        resampleFilter = firResampleFilter()
        fromrgb = inChannels == 0
            ? Conv2dLayer(imgChannels, tmpChannels, kernelSize: 1, activation: .lrelu, convClamp: convClamp, rng: rng) : nil
        conv0 = Conv2dLayer(tmpChannels, tmpChannels, kernelSize: 3, activation: .lrelu, convClamp: convClamp, rng: rng)
        conv1 = Conv2dLayer(tmpChannels, outChannels, kernelSize: 3, activation: .lrelu, down: 2, convClamp: convClamp, rng: rng)
        skip = Conv2dLayer(tmpChannels, outChannels, kernelSize: 1, bias: false, down: 2, rng: rng)
        super.init()
        registerBuffer("resample_filter", resampleFilter)
        if let fromrgb { registerModule("fromrgb", fromrgb) }
        registerModule("conv0", conv0)
        registerModule("conv1", conv1)
        registerModule("skip", skip)
    }

    /// First block: img (N, imgChannels, R, R), x nil. Later blocks: x (N, tmpChannels, R, R), img nil.
    /// Returns (N, outChannels, R/2, R/2).
    public func callAsFunction(_ x: Tensor?, img: Tensor?) -> Tensor {
        var h: Tensor
        if let fromrgb {
            guard let img else { fatalError("DiscriminatorBlock b\(resolution): the first block needs the image") }
            require(img.rank == 4 && img.shape[1] == imgChannels && img.shape[2] == resolution && img.shape[3] == resolution,
                    "DiscriminatorBlock b\(resolution): image \(img.shape) must be (N, \(imgChannels), \(resolution), \(resolution))")
            h = fromrgb(img)
            if let x { h = x + h }
        } else {
            guard let x else { fatalError("DiscriminatorBlock b\(resolution): needs the previous block's features") }
            h = x
        }
        require(h.shape[1] == tmpChannels && h.shape[2] == resolution && h.shape[3] == resolution,
                "DiscriminatorBlock b\(resolution): features \(h.shape) must be (N, \(tmpChannels), \(resolution), \(resolution))")
        let gain = 0.5.squareRoot()
        let y = skip(h, gain: gain)
        return y + conv1(conv0(h), gain: gain)
    }
}
