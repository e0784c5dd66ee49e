// The VAE posterior: diffusers DiagonalGaussianDistribution (models/autoencoders/vae.py). The encoder's
// 2 · latent channels split into mean and log-variance; the log-variance is clamped to [-30, 20].
// Differentiable: D-SDS backpropagates through `sample(noise:)` into the encoder.
import TensorCore

public struct DiagonalGaussianDistribution {
    /// (N, latent, h, w)
    public let mean: Tensor
    /// (N, latent, h, w), clamped to [-30, 20].
    public let logvar: Tensor

    /// parameters: (N, 2 · latent, h, w), mean first (torch.chunk(parameters, 2, dim=1)).
    public init(parameters: Tensor) {
        require(parameters.rank == 4 && parameters.shape[1] % 2 == 0,
                "DiagonalGaussianDistribution: parameters must be (N, 2·C, h, w), got \(parameters.shape)")
        let parts = parameters.chunk(2, axis: 1)
        mean = parts[0]
        logvar = parts[1].clamp(min: -30, max: 20)
    }

    /// exp(logvar / 2)
    public var std: Tensor { (logvar * 0.5).exp() }
    /// exp(logvar)
    public var variance: Tensor { logvar.exp() }

    /// mean + std · noise, with `noise` (N, latent, h, w) supplied by the caller (diffusers draws it from a
    /// torch generator; passing it in makes the draw reproducible on both sides).
    public func sample(noise: Tensor) -> Tensor {
        require(noise.shape == mean.shape, "DiagonalGaussianDistribution.sample: noise \(noise.shape) must match mean \(mean.shape)")
        return mean + std * noise
    }

    /// mean + std · N(0, 1) drawn from `rng`.
    public func sample(rng: RandomGenerator) -> Tensor { sample(noise: rng.normal(mean.shape)) }

    /// The distribution's mode, its mean.
    public func mode() -> Tensor { mean }

    /// KL divergence to N(0, I), summed over (C, h, w): (N).
    public func kl() -> Tensor {
        ((mean * mean + variance - 1 - logvar) * 0.5).sum(axes: [1, 2, 3])
    }
}
