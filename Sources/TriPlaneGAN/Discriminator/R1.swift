// R1 regularisation of EG3D's dual discriminator (training/loss.py StyleGAN2Loss.accumulate_gradients,
// phase 'Dreg' with dual_discrimination; spec §12.3): the squared norm of D's input gradient on real images,
// taken with respect to both the image and the raw image, with the graph kept for the double backward.
import Foundation
import TensorCore

/// The quantities of one R1 evaluation on a batch of N real samples.
public struct R1Result {
    /// D(real), (N, 1); differentiable (the 'Dboth' phase reuses it for the real-image loss).
    public let logits: Tensor
    /// ∂ Σ logits / ∂ image, (N, C, R, R), and ∂ Σ logits / ∂ image_raw, (N, C, h, w); differentiable.
    public let gradImage: Tensor, gradImageRaw: Tensor
    /// ‖gradImage_n‖² + ‖gradImageRaw_n‖², (N).
    public let penalty: Tensor
    /// penalty · γ/2, (N): EG3D's loss_Dr1. `(loss.mean() · reg_interval).backward()` gives D's parameter
    /// gradients by double backward.
    public let loss: Tensor
}

/// Runs D on (image, imageRaw, c) and returns the R1 penalty and loss term with γ = `gamma`.
/// The inputs are detached first, so gradients reach D's parameters only. Like the official
/// conv2d_gradfix.no_weight_gradients, the first (input) gradient computes no parameter gradients: the
/// backward walk skips every branch that does not lead to the inputs.
public func r1Regularization(_ d: DualDiscriminator, image: Tensor, imageRaw: Tensor, c: Tensor?, gamma: Float,
                             rng: RandomGenerator? = nil) -> R1Result {
    let img = image.detach(), raw = imageRaw.detach()
    img.requiresGrad = true
    raw.requiresGrad = true
    let logits = d(image: img, imageRaw: raw, c: c, rng: rng)
    let g = gradients(of: logits.sum(), wrt: [img, raw], createGraph: true)
    let penalty = (g[0] * g[0]).sum(axes: [1, 2, 3]) + (g[1] * g[1]).sum(axes: [1, 2, 3])
    return R1Result(logits: logits, gradImage: g[0], gradImageRaw: g[1], penalty: penalty, loss: penalty * (gamma / 2))
}
