// networks_stylegan2.py ToRGBLayer (spec §2.7): modulated 1×1 convolution without demodulation, styles
// scaled by 1/√(in·k²), bias, clamp. In EG3D's backbone the "RGB" is the 96 tri-plane channels.
import TensorCore

/// Projects features to image channels. State keys: `affine.{weight,bias}`, `weight`, `bias`.
public final class ToRGBLayer: Module {
    public let inChannels: Int, outChannels: Int, wDim: Int
    public let convClamp: Float?
    public let affine: FullyConnectedLayer
    /// (out, in, k, k)
    public let weight: Tensor
    /// (out)
    public let bias: Tensor
    /// 1 / √(in · k²), applied to the styles.
    public let weightGain: Float
    public var execution: ModulationExecution = .automatic

    public init(_ inChannels: Int, _ outChannels: Int, wDim: Int, kernelSize: Int = 1, convClamp: Float? = nil,
                rng: RandomGenerator) {
        self.inChannels = inChannels; self.outChannels = outChannels; self.wDim = wDim; self.convClamp = convClamp
        affine = FullyConnectedLayer(wDim, inChannels, biasInit: 1, rng: rng)
        weight = rng.normal([outChannels, inChannels, kernelSize, kernelSize])
        bias = Tensor.zeros([outChannels])
        weightGain = 1 / Float(inChannels * kernelSize * kernelSize).squareRoot()
        super.init()
        registerModule("affine", affine)
        registerParameter("weight", weight)
        registerParameter("bias", bias)
    }

    // x: (N, in, H, W), w: (N, w_dim) -> (N, out, H, W)
    public func callAsFunction(_ x: Tensor, _ w: Tensor) -> Tensor {
        require(x.rank == 4 && x.shape[1] == inChannels, "ToRGBLayer(\(inChannels) -> \(outChannels)): input must be (N, \(inChannels), H, W), got \(x.shape)")
        let styles = affine(w) * weightGain
        let y = modulatedConv2d(x, weight: weight, styles: styles, demodulate: false, execution: execution)
        return biasAct(y, bias, dim: 1, act: .linear, clamp: convClamp)
    }
}
