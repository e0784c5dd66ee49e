// diffusers Timesteps and TimestepEmbedding (models/embeddings.py): the sinusoidal timestep features of
// get_timestep_embedding (flip_sin_to_cos, downscale_freq_shift, Float32 arithmetic in PyTorch's order) and
// the two-layer MLP (linear_1, activation, linear_2) that turns them into the U-Net's time embedding.
import Foundation
import TensorCore

/// diffusers get_timestep_embedding: timesteps (N) -> (N, dim). Frequencies exp(-ln(maxPeriod) · i / (dim/2 -
/// shift)) for i < dim/2; [sin, cos] of t · freq (or [cos, sin] with flipSinToCos); a zero column when dim is odd.
public func timestepEmbedding(_ timesteps: Tensor, dim: Int, flipSinToCos: Bool = false, downscaleFreqShift: Float = 1,
                              scale: Float = 1, maxPeriod: Float = 10000) -> Tensor {
    require(timesteps.rank == 1, "timestepEmbedding: timesteps must be 1-D, got \(timesteps.shape)")
    let half = dim / 2
    // PyTorch: exponent = -log(max_period) * arange(half, float32) / (half - shift); each op rounds to Float32.
    let logPeriod = Float(-Foundation.log(Double(maxPeriod)))
    let denominator = Float(half) - downscaleFreqShift
    let freqs = (0..<half).map { i in Foundation.exp((logPeriod * Float(i)) / denominator) }
    let t = timesteps.toArray(), n = t.count
    var out = [Float](repeating: 0, count: n * dim)
    for r in 0..<n {
        for i in 0..<half {
            let arg = (t[r] * freqs[i]) * scale
            let (s, c) = (Foundation.sin(arg), Foundation.cos(arg))
            out[r * dim + i] = flipSinToCos ? c : s
            out[r * dim + half + i] = flipSinToCos ? s : c
        }
    }
    return Tensor(out, shape: [n, dim])
}

/// diffusers Timesteps: no parameters; timesteps (N) -> (N, numChannels).
public final class Timesteps: Module {
    public let numChannels: Int
    public let flipSinToCos: Bool
    public let downscaleFreqShift: Float
    public let scale: Float

    public init(numChannels: Int, flipSinToCos: Bool, downscaleFreqShift: Float, scale: Float = 1) {
        self.numChannels = numChannels
        self.flipSinToCos = flipSinToCos
        self.downscaleFreqShift = downscaleFreqShift
        self.scale = scale
        super.init()
    }

    public func callAsFunction(_ timesteps: Tensor) -> Tensor {
        timestepEmbedding(timesteps, dim: numChannels, flipSinToCos: flipSinToCos, downscaleFreqShift: downscaleFreqShift, scale: scale)
    }
}

/// diffusers TimestepEmbedding: linear_1 (in -> timeEmbedDim), activation, linear_2 (timeEmbedDim -> out).
public final class TimestepEmbedding: Module {
    public let linear1: Linear
    public let linear2: Linear
    public let act: Activation

    public init(inChannels: Int, timeEmbedDim: Int, act: Activation = .silu, outDim: Int? = nil, rng: RandomGenerator) {
        linear1 = Linear(inChannels, timeEmbedDim, rng: rng)
        linear2 = Linear(timeEmbedDim, outDim ?? timeEmbedDim, rng: rng)
        self.act = act
        super.init()
        registerModule("linear_1", linear1)
        registerModule("linear_2", linear2)
    }

    /// (N, in) -> (N, out).
    public func callAsFunction(_ sample: Tensor) -> Tensor { linear2(act(linear1(sample))) }
}
