// The patch-adversarial term of Stable Diffusion's autoencoder loss (taming-transformers'
// LPIPSWithDiscriminator, without LPIPS: no pre-trained VGG reaches this machine). A PatchGAN discriminator
// (pix2pix's NLayerDiscriminator, keys `main.<i>.*` as taming's) scores overlapping patches of an image as real
// or reconstructed; hinge losses for D, −mean(D(x̂)) for the decoder, weighted adaptively against the
// reconstruction loss. Ours where taming differs: GroupNorm instead of BatchNorm (a batch of 8 gives BatchNorm
// noisy statistics and it is not deterministic per sample), and the adaptive weight is the ratio of the two
// losses' gradient norms at the decoder's *output* instead of at its last layer's weight, so measuring it walks
// no further back than the decoder's output (`AdversarialTerm.lambda`).
import Teacher
import TensorCore

/// PatchGAN with `layers` stride-2 stages: 64² images give a 14² grid of logits, each seeing 34² pixels (layers 2).
///   x (N, 3, H, W) -> conv 4×4/2 (ndf) lrelu -> [conv 4×4/2 (ndf·2^i) GN lrelu]×(layers-1)
///     -> conv 4×4/1 (ndf·2^layers) GN lrelu -> conv 4×4/1 (1)  -> logits (N, 1, H/2^layers - 2, W/2^layers - 2)
public final class PatchDiscriminator: Module {
    public let main: ModuleList<Module>

    public init(inChannels: Int = 3, ndf: Int = 32, layers: Int = 2, groups: Int = 8, rng: RandomGenerator) {
        require(layers >= 1, "PatchDiscriminator: layers must be at least 1, got \(layers)")
        var mods: [Module] = [Conv2d(inChannels, ndf, kernelSize: 4, stride: 2, padding: 1, rng: rng), LeakyReLU()]
        var ch = ndf
        for i in 1...layers {
            let next = ndf * (1 << Swift.min(i, 3))
            mods += [Conv2d(ch, next, kernelSize: 4, stride: i < layers ? 2 : 1, padding: 1, bias: false, rng: rng),
                     GroupNorm(groups: Swift.min(groups, next), channels: next), LeakyReLU()]
            ch = next
        }
        mods.append(Conv2d(ch, 1, kernelSize: 4, stride: 1, padding: 1, rng: rng))
        main = ModuleList(mods)
        super.init()
        registerModule("main", main)
    }

    /// x (N, C, H, W) in [-1, 1] -> patch logits (N, 1, h, w).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        for m in main.items {
            switch m {
            case let c as Conv2d: h = c(h)
            case let n as GroupNorm: h = n(h)
            default: h = h.leakyRelu(0.2)
            }
        }
        return h
    }
}

/// nn.LeakyReLU(0.2) as a parameterless entry of `main`, so the indices of the conv and norm keys match taming's.
public final class LeakyReLU: Module {}

/// The adversarial term's losses and its adaptive weight.
public enum AdversarialTerm {
    /// D's hinge loss: ½(mean relu(1 − D(x)) + mean relu(1 + D(x̂))).
    public static func discriminatorLoss(real: Tensor, fake: Tensor) -> Tensor {
        ((1 - real).relu().mean() + (1 + fake).relu().mean()) * 0.5
    }

    /// The generator's (decoder's) loss: −mean D(x̂).
    public static func generatorLoss(_ fake: Tensor) -> Tensor { -fake.mean() }

    /// The adaptive weight λ = weight · ‖∂rec/∂x̂‖ / (‖∂adv/∂x̂‖ + 1e-4), the norm ratio clamped to [0, 1e4]
    /// (taming's calculate_adaptive_weight, taken at the decoder's output `recon`, so both walks stop there and
    /// cost one pass through D). A constant of the step, as taming detaches it; the graph is kept for the backward.
    public static func lambda(recon: Tensor, reconstructionLoss: Tensor, adversarialLoss: Tensor, weight: Float) -> Float {
        let gRec = gradients(of: reconstructionLoss, wrt: [recon], retainGraph: true)[0]
        let gAdv = gradients(of: adversarialLoss, wrt: [recon], retainGraph: true)[0]
        let nRec = (gRec * gRec).sum().item().squareRoot(), nAdv = (gAdv * gAdv).sum().item().squareRoot()
        return Swift.min(Swift.max(nRec / (nAdv + 1e-4), 0), 1e4) * weight
    }
}
