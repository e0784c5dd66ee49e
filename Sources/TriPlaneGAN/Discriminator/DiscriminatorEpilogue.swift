// DiscriminatorEpilogue: the 4×4 head `b4` of EG3D's D, 'resnet' architecture (training/networks_stylegan2.py
// DiscriminatorEpilogue; spec §11.3): minibatch stddev, 3×3 conv, fc, out, and projection conditioning.
import Foundation
import TensorCore

/// logit = Σ_j out(fc(flatten(conv(mbstd(x)))))_j · cmap_j / √cmap_dim, or out(…) itself when unconditional.
/// State: children `conv` (C+F → C, 3×3, lrelu, clamp), `fc` (C·r² → C, lrelu), `out` (C → cmap_dim or 1);
/// `mbstd` holds no state.
public final class DiscriminatorEpilogue: Module {
    public let inChannels: Int, cmapDim: Int, resolution: Int
    public let mbstd: MinibatchStdLayer?
    public let conv: Conv2dLayer
    public let fc: FullyConnectedLayer
    public let out: FullyConnectedLayer

    public init(inChannels: Int, cmapDim: Int, resolution: Int = 4, mbstdGroupSize: Int?, mbstdNumChannels: Int,
                convClamp: Float?, rng: RandomGenerator) {
        self.inChannels = inChannels
        self.cmapDim = cmapDim
        self.resolution = resolution
        mbstd = mbstdNumChannels > 0 ? MinibatchStdLayer(groupSize: mbstdGroupSize, numChannels: mbstdNumChannels) : nil
        conv = Conv2dLayer(inChannels + mbstdNumChannels, inChannels, kernelSize: 3, activation: .lrelu, convClamp: convClamp, rng: rng)
        fc = FullyConnectedLayer(inChannels * resolution * resolution, inChannels, activation: .lrelu, rng: rng)
        out = FullyConnectedLayer(inChannels, cmapDim == 0 ? 1 : cmapDim, rng: rng)
        super.init()
        if let mbstd { registerModule("mbstd", mbstd) }
        registerModule("conv", conv)
        registerModule("fc", fc)
        registerModule("out", out)
    }

    /// x: (N, C, r, r), cmap: (N, cmap_dim) (nil when cmap_dim is 0) -> logits (N, 1).
    public func callAsFunction(_ x: Tensor, cmap: Tensor?) -> Tensor {
        require(x.rank == 4 && x.shape[1] == inChannels && x.shape[2] == resolution && x.shape[3] == resolution,
                "DiscriminatorEpilogue: input \(x.shape) must be (N, \(inChannels), \(resolution), \(resolution))")
        var h = mbstd.map { $0(x) } ?? x
        h = conv(h)
        h = out(fc(h.flatten(from: 1)))                                   // (N, cmap_dim)
        guard cmapDim > 0 else { return h }
        guard let cmap else { fatalError("DiscriminatorEpilogue: a conditional D (cmap_dim \(cmapDim)) needs cmap") }
        require(cmap.shape == [x.shape[0], cmapDim], "DiscriminatorEpilogue: cmap \(cmap.shape) must be (\(x.shape[0]), \(cmapDim))")
        return (h * cmap).sum(axis: 1, keepDims: true) * Float(1 / Double(cmapDim).squareRoot())
    }
}
