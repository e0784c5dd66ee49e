// The text-conditioned discriminator (ours, not DreamPortrait's: the paper keeps EG3D's D, conditioned on the camera
// only). EG3D's D already ends in a projection (Miyato & Koyama's projection discriminator): logit = h(x) · cmap(c) /
// √cmap_dim, with h the epilogue's output. This head maps the prompt's pooled text feature t_EOT to an offset of that
// map, logit = h(x) · (cmap(c) + tmap(t)) / √cmap_dim, so D judges whether an image is a real image *of that
// caption*, and G's adversarial gradient carries the real images' text-image pairing (the world's captions) beside
// D-SDS's teacher prior. The last layer starts at zero: a D with this head gives exactly the camera-only D's logits
// until it trains, so a stage-0 D loads into it unchanged.
import TensorCore

/// tmap = fc1(fc0(normalize_2nd_moment(t_EOT))), (N, Dt) -> (N, cmap_dim).
/// State: `fc0` (Dt → cmap_dim, lrelu), `fc1` (cmap_dim → cmap_dim, linear, zero-initialised weight and bias).
public final class DiscriminatorTextProjection: Module {
    public let textDim: Int, cmapDim: Int
    public let fc0: FullyConnectedLayer
    public let fc1: FullyConnectedLayer

    public init(textDim: Int, cmapDim: Int, rng: RandomGenerator) {
        require(textDim > 0 && cmapDim > 0, "DiscriminatorTextProjection: text_dim \(textDim) and cmap_dim \(cmapDim) must be positive")
        self.textDim = textDim
        self.cmapDim = cmapDim
        fc0 = FullyConnectedLayer(textDim, cmapDim, activation: .lrelu, rng: rng)
        fc1 = FullyConnectedLayer(cmapDim, cmapDim, zeroInit: true, rng: rng)
        super.init()
        registerModule("fc0", fc0)
        registerModule("fc1", fc1)
    }

    // text: (N, Dt) -> (N, cmap_dim)
    public func callAsFunction(_ text: Tensor) -> Tensor {
        require(text.rank == 2 && text.shape[1] == textDim,
                "DiscriminatorTextProjection: text features \(text.shape) must be (N, \(textDim))")
        return fc1(fc0(normalize2ndMoment(text)))
    }
}
