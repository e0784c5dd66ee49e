// The encoder of the world-supervised stage 0: a small CNN that reads a training image and proposes the latent
// z the generator should reconstruct it from, as the mean and log-variance of a diagonal Gaussian (a VAE's
// posterior; the KL term keeps the codes where z ~ N(0, I) samples them). It exists only during stage 0
// training and is saved in its checkpoints (E.safetensors); nothing at generation time uses it.
//   image (N, 3, S, S) → box filter to 64² → [conv 3×3 s2 + GroupNorm(8) + SiLU] × 4 (32², 16², 8², 4²)
//   → spatial mean (pooling "mean") or the whole 4² map (pooling "flatten") → linear → (N, 2·z_dim) = [μ | log σ²]
import Teacher
import TensorCore

public final class ImageEncoder: Module {
    /// How the last feature map reaches the head: its spatial mean (what is in the image), or every position (also where).
    public enum Pooling: String, Codable, Sendable { case mean, flatten }
    public let zDim: Int
    public let inputSize: Int
    public let pooling: Pooling
    let blocks: StridedConvStack
    public let head: Linear

    public init(zDim: Int, inputSize: Int = 64, widths: [Int] = [32, 64, 128, 256], pooling: Pooling = .mean,
                rng: RandomGenerator) {
        self.zDim = zDim
        self.inputSize = inputSize
        self.pooling = pooling
        blocks = StridedConvStack(inChannels: 3, widths: widths, rng: rng)
        let side = inputSize >> widths.count
        head = Linear(blocks.outChannels * (pooling == .flatten ? side * side : 1), 2 * zDim, rng: rng)
        super.init()
        blocks.register(in: self)
        registerModule("head", head)
        // Start near the prior: small means and unit variances.
        withNoGrad {
            head.weight.copyIn(head.weight * 0.1)
            head.bias?.copyIn(Tensor.zeros([2 * zDim]))
        }
    }

    /// images (N, 3, S, S) in [−1, 1], S a multiple of inputSize → (μ (N, z_dim), log σ² (N, z_dim)).
    public func callAsFunction(_ images: Tensor) -> (mean: Tensor, logVariance: Tensor) {
        var x = images
        let s = x.shape[2]
        require(s % inputSize == 0 && x.shape[3] == s, "ImageEncoder: images \(x.shape) must be square multiples of \(inputSize)")
        if s != inputSize { x = avgPool2d(x, kernel: (s / inputSize, s / inputSize)) }
        let features = blocks(x)
        let out = head(pooling == .mean ? features.mean(axes: [2, 3]) : features.reshape([features.shape[0], -1]))
        return (out.slice(axis: 1, start: 0, end: zDim), out.slice(axis: 1, start: zDim, end: 2 * zDim).clamp(min: -10, max: 4))
    }
}
