// networks_stylegan2.py SynthesisLayer (spec §2.7): affine style, modulated 3×3 convolution (optionally
// up = 2), per-pixel noise, bias, lrelu·√2, clamp.
import TensorCore

/// One modulated convolution of the synthesis network. State keys: `resample_filter`, `affine.{weight,bias}`,
/// `weight`, `noise_const`, `noise_strength`, `bias`.
public final class SynthesisLayer: Module {
    public let inChannels: Int, outChannels: Int, wDim: Int
    /// Output resolution (the noise resolution); the input is resolution / up.
    public let resolution: Int
    public let up: Int
    public let kernelSize: Int
    public let useNoise: Bool
    /// Clamp after the activation (±conv_clamp·gain), nil for none.
    public let convClamp: Float?
    /// The (4, 4) FIR filter [1,3,3,1]⊗[1,3,3,1]/64 (a buffer, used when up = 2).
    public let resampleFilter: Tensor
    /// w → styles (N, in), bias_init 1.
    public let affine: FullyConnectedLayer
    /// (out, in, k, k), no fan-in gain (demodulation normalises it).
    public let weight: Tensor
    /// (resolution, resolution) buffer, and the scalar strength; nil without noise.
    public let noiseConst: Tensor?
    public let noiseStrength: Tensor?
    /// (out)
    public let bias: Tensor
    /// Fused or unfused modulation (same function).
    public var execution: ModulationExecution = .automatic
    /// When set, every SynthesisLayer hands it its pre-activation v = conv + noise + bias (N, out, res, res), in the
    /// graph, as it runs (PyTorch's forward hooks serve the same purpose). The layer's output does not depend on it.
    /// For analyses of which side of the leaky ReLU's kink each element took (the training-step parity test).
    nonisolated(unsafe) public static var preActivationObserver: ((SynthesisLayer, Tensor) -> Void)?

    public init(_ inChannels: Int, _ outChannels: Int, wDim: Int, resolution: Int, kernelSize: Int = 3, up: Int = 1,
                useNoise: Bool = true, convClamp: Float? = nil, rng: RandomGenerator) {
        require(inChannels > 0 && outChannels > 0 && resolution % up == 0,
                "SynthesisLayer: channels \(inChannels) -> \(outChannels) must be positive and resolution \(resolution) divisible by up \(up)")
        self.inChannels = inChannels; self.outChannels = outChannels; self.wDim = wDim
        self.resolution = resolution; self.up = up; self.kernelSize = kernelSize
        self.useNoise = useNoise; self.convClamp = convClamp
        resampleFilter = setupFilter([1, 3, 3, 1])
        affine = FullyConnectedLayer(wDim, inChannels, biasInit: 1, rng: rng)
        weight = rng.normal([outChannels, inChannels, kernelSize, kernelSize])
        noiseConst = useNoise ? rng.normal([resolution, resolution]) : nil
        noiseStrength = useNoise ? Tensor.zeros([]) : nil
        bias = Tensor.zeros([outChannels])
        super.init()
        registerBuffer("resample_filter", resampleFilter)
        registerModule("affine", affine)
        registerParameter("weight", weight)
        if let noiseConst, let noiseStrength {
            registerBuffer("noise_const", noiseConst)
            registerParameter("noise_strength", noiseStrength)
        }
        registerParameter("bias", bias)
    }

    /// - Parameters:
    ///   - noiseMode: `.random` draws N(0, 1) noise (N, 1, res, res) from `rng` (a freshly seeded generator
    ///     when nil), `.const` uses noise_const, `.none` adds nothing.
    ///   - gain: scales the activation gain and the clamp (1 in the generator).
    // x: (N, in, res/up, res/up), w: (N, w_dim) -> (N, out, res, res)
    public func callAsFunction(_ x: Tensor, _ w: Tensor, noiseMode: NoiseMode, rng: RandomGenerator? = nil,
                               gain: Float = 1) -> Tensor {
        let inRes = resolution / up
        require(x.rank == 4 && x.shape[1] == inChannels && x.shape[2] == inRes && x.shape[3] == inRes,
                "SynthesisLayer(\(inChannels) -> \(outChannels) at \(resolution)): input must be (N, \(inChannels), \(inRes), \(inRes)), got \(x.shape)")
        let n = x.shape[0]
        let styles = affine(w)
        var noise: Tensor? = nil
        if let noiseConst, let noiseStrength {
            switch noiseMode {
            case .random:
                let g = rng ?? RandomGenerator(seed: UInt64.random(in: 0 ... .max))
                noise = g.normal([n, 1, resolution, resolution]) * noiseStrength
            case .const: noise = noiseConst * noiseStrength
            case .none: break
            }
        }
        let y = modulatedConv2d(x, weight: weight, styles: styles, noise: noise, up: up, resampleFilter: resampleFilter,
                                demodulate: true, execution: execution)
        if let observe = Self.preActivationObserver { observe(self, y + bias.reshape([1, -1, 1, 1])) }
        // y is this layer's fresh output: at inference the activation overwrites it (one activation-sized
        // buffer less at the peak; biasActInPlace is biasAct whenever a graph is recorded).
        return biasActInPlace(y, bias, dim: 1, act: .lrelu, gain: BiasActivation.lrelu.defaultGain * gain,
                              clamp: convClamp.map { $0 * gain })
    }
}
