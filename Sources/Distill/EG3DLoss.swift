// EG3D's StyleGAN2Loss.accumulate_gradients (training/loss.py; eg3d-spec §12.3) for the four phases of a
// lazily regularised step: Gmain (non-saturating logistic loss), Greg (density regularisation, reg_type l1),
// Dmain (logistic loss on fakes and reals), Dreg (R1 on both of D's inputs, by double backward). Each phase
// back-propagates `loss · gain` into the `grad` of the parameters that require gradients (the caller switches
// them per phase, as training_loop.py's requires_grad_) and returns its reported values.
import Foundation
import TensorCore
import TriPlaneGAN

/// A batch of real images as D sees them.
public struct RealBatch {
    /// (N, 3, H, W) in [−1, 1] (x/127.5 − 1), unblurred.
    public var image: Tensor
    /// (N, 3, R, R): filtered_resizing(image, R, 'antialiased'), blurred when the blur is on (blur_raw_target).
    public var imageRaw: Tensor
    /// (N, 25) labels.
    public var c: Tensor
    /// (N, Dt) pooled features (t_EOT) of one caption per image, for a text-conditioned D; nil otherwise.
    public var text: Tensor?

    /// Builds the raw target: antialiased bilinear resize to R, then the blur of σ.
    public init(image: Tensor, c: Tensor, resolution r: Int, blurSigma: Float) {
        self.image = image
        self.c = c
        let raw = interpolate(image, size: (r, r), mode: .bilinear, alignCorners: false, antialias: true)
        imageRaw = DiscriminatorBlur.apply(raw, sigma: blurSigma)
    }

    public init(image: Tensor, imageRaw: Tensor, c: Tensor) { self.image = image; self.imageRaw = imageRaw; self.c = c }
}

/// The step-dependent settings of the loss (all functions of cur_nimg).
public struct LossSchedule {
    public var blurSigma: Float
    public var swapProbability: Double?
    public var neuralRenderingResolution: Int

    public init(options: TrainingOptions, curNimg: Int, gpcRegProb: Float?) {
        blurSigma = options.blurSigma(curNimg: curNimg)
        swapProbability = options.swappingProbability(curNimg: curNimg, gpcRegProb: gpcRegProb)
        neuralRenderingResolution = options.neuralRenderingResolution(curNimg: curNimg)
    }

    public init(blurSigma: Float, swapProbability: Double?, neuralRenderingResolution: Int) {
        self.blurSigma = blurSigma; self.swapProbability = swapProbability; self.neuralRenderingResolution = neuralRenderingResolution
    }
}

public final class EG3DLoss<G: TrainableGenerator> {
    public let generator: G
    public let discriminator: DualDiscriminator
    public var r1Gamma: Float
    /// A text-conditioned D's matching-aware term (GigaGAN's; ours, not the paper's): in Dmain, real images paired
    /// with another image's caption count as fakes, with this weight (0: off). Without it D can ignore the text.
    public var mismatchWeight: Float = 0

    public init(generator: G, discriminator: DualDiscriminator, r1Gamma: Float) {
        self.generator = generator; self.discriminator = discriminator; self.r1Gamma = r1Gamma
    }

    /// run_G: pose conditioning per sample, mapping, synthesis (noise random), rendering at R, super-resolution.
    public func runG(_ d: PhaseDraws, _ s: LossSchedule, updateEmas: Bool = false) -> GeneratorOutput {
        let cCond = PoseConditioning.perSample(d.c, uniforms: d.swapUniforms, swapProbability: s.swapProbability)
        let ws = generator.trainingMapping(d.z, cCond, prompts: d.prompts, updateEmas: updateEmas)
        generator.neuralRenderingResolution = s.neuralRenderingResolution
        let planes = generator.trainingPlanes(ws, prompts: d.prompts, noise: d.noise)
        return generator.render(planes: planes, ws: ws, cameras: d.c, resolution: s.neuralRenderingResolution, random: d.renderer)
    }

    /// run_D: blurs the super-resolved image (not the raw one), then D. `text`: the prompts' t_EOT (a text-conditioned
    /// D only; ignored otherwise).
    public func runD(image: Tensor, imageRaw: Tensor, c: Tensor, text: Tensor? = nil, blurSigma: Float, labelNoise: RandomGenerator? = nil) -> Tensor {
        discriminator(image: DiscriminatorBlur.apply(image, sigma: blurSigma), imageRaw: imageRaw, c: c,
                      text: discriminator.text == nil ? nil : text, rng: labelNoise)
    }

    /// The pooled prompt features of a phase's fakes (stages 1-2), detached.
    func fakeText(_ d: PhaseDraws) -> Tensor? { d.prompts?.eot.detach() }

    /// Gmain: mean(softplus(−D(G(z, c), c)))·gain, back-propagated. Returns the loss and the mean fake logit.
    /// `extra` adds a further generator loss computed from the same fake batch (stage 2's text loss).
    @discardableResult
    public func gMain(_ d: PhaseDraws, _ s: LossSchedule, gain: Float,
                      extra: ((GeneratorOutput, PhaseDraws) -> (loss: Tensor, report: [String: Double]))? = nil) -> [String: Double] {
        let out = runG(d, s)
        let logits = runD(image: out.image, imageRaw: out.imageRaw, c: d.c, text: fakeText(d), blurSigma: s.blurSigma)
        let loss = logits.neg().softplus().mean()
        var report = ["G/loss": Double(loss.item()), "scores/fake": Double(logits.mean().item())]
        var total = loss
        if let extra {
            let (l, r) = extra(out, d)
            total = total + l
            report.merge(r) { $1 }
        }
        (total * gain).backward()
        return report
    }

    /// Greg (reg_type l1): density_reg · mean|σ(x0) − σ(x0 + N·p_dist)| over P points per sample in [−1, 1]³,
    /// times gain, back-propagated.
    @discardableResult
    public func gReg(_ d: PhaseDraws, _ s: LossSchedule, gain: Float) -> [String: Double] {
        let tv = densityRegularization(d, s)
        (tv * gain).backward()
        return ["G/density_reg": Double(tv.item())]
    }

    /// Greg's forward: the density regulariser density_reg · mean|σ(x0) − σ(x1)| (a scalar, with its graph).
    public func densityRegularization(_ d: PhaseDraws, _ s: LossSchedule) -> Tensor {
        let r = generator.config.rendering
        guard let u = d.densityUniforms, let e = d.densityNormals else { fatalError("EG3DLoss.gReg: the draws have no density points") }
        require(r.regType == "l1", "EG3DLoss: reg_type \"\(r.regType)\" is not supported (only \"l1\", EG3D's FFHQ setting)")
        let cCond = PoseConditioning.wholeBatch(d.c, uniform: d.swapUniforms.toArray()[0], swapProbability: s.swapProbability)
        let ws = generator.trainingMapping(d.z, cCond, prompts: d.prompts, updateEmas: false)
        let x0 = u * 2 - 1
        let x1 = x0 + e * r.densityRegPDist
        let planes = generator.trainingPlanes(ws, prompts: d.prompts, noise: d.noise)
        let sigma = generator.sampleDensity(planes: planes, points: Tensor.concat([x0, x1], axis: 1)).sigma
        let p = u.shape[1]
        return (sigma.slice(axis: 1, start: 0, end: p) - sigma.slice(axis: 1, start: p, end: 2 * p)).abs().mean() * r.densityReg
    }

    /// Dmain: mean(softplus(D(G(z, c)))) on a fake batch (the generator run updates w_avg and records no graph),
    /// then mean(softplus(−D(real))), each times gain, back-propagated. A text-conditioned D with mismatchWeight > 0
    /// also sees each real image with the next image's caption as a fake: mismatchWeight·mean(softplus(D(real, t'))).
    @discardableResult
    public func dMain(_ d: PhaseDraws, _ s: LossSchedule, real: RealBatch, gain: Float) -> [String: Double] {
        let fake = withNoGrad { runG(d, s, updateEmas: true) }
        let fakeLogits = runD(image: fake.image.detach(), imageRaw: fake.imageRaw.detach(), c: d.c, text: fakeText(d), blurSigma: s.blurSigma)
        let lossGen = fakeLogits.softplus()
        (lossGen.mean() * gain).backward()
        let realLogits = runD(image: real.image, imageRaw: real.imageRaw, c: real.c, text: real.text, blurSigma: s.blurSigma)
        let lossReal = realLogits.neg().softplus()
        (lossReal.mean() * gain).backward()
        let total = withNoGrad { (lossGen.detach() + lossReal.detach()).mean().item() }
        var report = ["D/loss": Double(total), "scores/fake": Double(fakeLogits.mean().item()), "scores/real": Double(realLogits.mean().item())]
        if discriminator.text != nil, mismatchWeight > 0, let text = real.text, text.shape[0] > 1 {
            let n = text.shape[0]
            let other = text.indexSelect(axis: 0, Tensor((0..<n).map { Float(($0 + 1) % n) }, shape: [n]))
            let mismatched = runD(image: real.image, imageRaw: real.imageRaw, c: real.c, text: other, blurSigma: s.blurSigma)
            let lossMismatch = mismatched.softplus()
            (lossMismatch.mean() * (mismatchWeight * gain)).backward()
            report["D/mismatch"] = Double(lossMismatch.mean().item())
            report["scores/mismatched"] = Double(mismatched.mean().item())
        }
        return report
    }

    /// Dreg: R1 on both inputs, ‖∂ΣD/∂image‖² + ‖∂ΣD/∂image_raw‖² per sample; mean(r1·γ/2)·gain back-propagated
    /// through the input gradients (double backward). As in the official code, the gradient is taken with respect
    /// to the *blurred* image: run_D replaces img['image'] in the dict by its blurred version before
    /// autograd.grad reads the dict, so the leaf is the blur's output (and the raw image, blurred beforehand).
    @discardableResult
    public func dReg(_ s: LossSchedule, real: RealBatch, gain: Float) -> [String: Double] {
        let img = withNoGrad { DiscriminatorBlur.apply(real.image, sigma: s.blurSigma) }.detach(), raw = real.imageRaw.detach()
        img.requiresGrad = true
        raw.requiresGrad = true
        let logits = runD(image: img, imageRaw: raw, c: real.c, text: real.text, blurSigma: 0)
        let g = gradients(of: logits.sum(), wrt: [img, raw], createGraph: true)
        // The penalty's own gradient with respect to the images is not wanted: prune those leaves.
        img.requiresGrad = false
        raw.requiresGrad = false
        let penalty = (g[0] * g[0]).sum(axes: [1, 2, 3]) + (g[1] * g[1]).sum(axes: [1, 2, 3])
        let loss = (penalty * (r1Gamma / 2)).mean()
        (loss * gain).backward()
        return ["r1_penalty": Double(penalty.mean().item()), "D/reg": Double(loss.item()), "scores/real": Double(logits.mean().item())]
    }
}
