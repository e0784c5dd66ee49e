// Conv2dLayer: StyleGAN2 / EG3D's equalised-lr convolution (training/networks_stylegan2.py Conv2dLayer, with
// torch_utils/ops/conv2d_resample.py for its down-sampling paths; spec §2.6 cases A, C, D and §2.8). D only.
import Foundation
import TensorCore

/// The FIR low-pass filter of every resampling layer: [1,3,3,1] ⊗ [1,3,3,1] / 64, (4, 4) (spec §2.4).
func firResampleFilter() -> Tensor { setupFilter([1, 3, 3, 1]) }

/// y = clamp(act(conv(x, weight/√(Cin·k²)) + bias) · def_gain·g, ±conv_clamp·g), where g is the call's gain.
/// With down > 1 the input is first FIR-filtered (conv2d_resample): a 1×1 kernel sees `downsample2d(x)`
/// (case D); a larger kernel sees `upfirdn2d(x, f, pad = k/2 + 1)` convolved with stride `down` (case C).
/// State: `weight` (Cout, Cin, k, k), `bias` (Cout) unless bias: false, buffer `resample_filter` (4, 4).
public final class Conv2dLayer: Module {
    public let inChannels: Int, outChannels: Int, kernelSize: Int, down: Int
    public let activation: BiasActivation
    public let convClamp: Float?
    /// (Cout, Cin, k, k), initialised N(0, 1).
    public let weight: Tensor
    /// (Cout), initialised 0.
    public let bias: Tensor?
    /// (4, 4) FIR filter used when down > 1.
    public let resampleFilter: Tensor
    /// 1/√(Cin·k²).
    public let weightGain: Float

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, bias: Bool = true,
                activation: BiasActivation = .linear, down: Int = 1, convClamp: Float? = nil, rng: RandomGenerator) {
        require(inChannels >= 1 && outChannels >= 1, "Conv2dLayer: channels must be positive, got \(inChannels) -> \(outChannels)")
        require(kernelSize >= 1 && kernelSize % 2 == 1, "Conv2dLayer: kernel size must be odd and positive, got \(kernelSize)")
        require(down >= 1, "Conv2dLayer: down must be >= 1, got \(down)")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.down = down
        self.activation = activation
        self.convClamp = convClamp
        resampleFilter = firResampleFilter()
        weight = rng.normal([outChannels, inChannels, kernelSize, kernelSize])
        self.bias = bias ? Tensor.zeros([outChannels]) : nil
        weightGain = Float(1 / Double(inChannels * kernelSize * kernelSize).squareRoot())
        super.init()
        registerBuffer("resample_filter", resampleFilter)
        registerParameter("weight", weight)
        if let b = self.bias { registerParameter("bias", b) }
    }

    /// x: (N, Cin, H, W) -> (N, Cout, H/down, W/down). `gain` scales the activation gain and the clamp
    /// (D's resnet blocks pass √0.5 to conv1 and skip).
    public func callAsFunction(_ x: Tensor, gain: Double = 1) -> Tensor {
        require(x.rank == 4 && x.shape[1] == inChannels, "Conv2dLayer: input \(x.shape) must be (N, \(inChannels), H, W)")
        let w = weight * weightGain
        let p = kernelSize / 2
        var y: Tensor
        if down == 1 {
            y = conv2d(x, w, padding: (p, p))                                         // case A
        } else {
            require(x.shape[2] % down == 0 && x.shape[3] % down == 0,
                    "Conv2dLayer: input \(x.shape) is not divisible by down = \(down)")
            let fw = resampleFilter.shape[resampleFilter.rank - 1], fh = resampleFilter.shape[0]
            let pad = (x0: p + (fw - down + 1) / 2, x1: p + (fw - down) / 2, y0: p + (fh - down + 1) / 2, y1: p + (fh - down) / 2)
            if kernelSize == 1 {
                y = conv2d(upfirdn2d(x, resampleFilter, down: (down, down), padding: pad), w)   // case D
            } else {
                y = conv2d(upfirdn2d(x, resampleFilter, padding: pad), w, stride: (down, down)) // case C
            }
        }
        let defaultGain: Double = activation.defaultGain == 1 ? 1 : 2.0.squareRoot()   // in Float64, as Python
        let actGain = Float(defaultGain * gain)
        let clamp = convClamp.map { Float(Double($0) * gain) }
        return biasAct(y, bias, dim: 1, act: activation, gain: actGain, clamp: clamp)
    }
}
