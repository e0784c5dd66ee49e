// The fake score (ours, beside the paper's D-SDS; `train --fake-score-lr LR`): a copy of the teacher's U-Net that
// is trained online, by ε-prediction, on the generator's own renders (their VAE latents, detached) with the prompts
// they were drawn for, so that ε_φ(x_t, t, y) tracks the score of what the generator draws for y. This is the
// second score of variational score distillation (ProlificDreamer, Wang et al. 2023) and of distribution matching
// distillation (DMD, Yin et al. 2024). D-SDS given a fake score compares the teacher's guided prediction with
// ε_φ instead of the injected noise (DSDS.evaluate):
//
//     g = w(t) (ε̂_teacher(x_t, y) − ε_φ(x_t, y))   instead of   g = w(t) (ε̂_teacher(x_t, y) − ε),
//
// the difference of two scores, which vanishes where the generator's distribution for a prompt already matches
// the teacher's, where SDS's ε̂ − ε pulls every sample toward the teacher's mode for the prompt (the collapse that
// mode seeking holds off). At initialisation ε_φ equals the teacher's conditional ε, so at guidance 1 the gradient
// starts at zero and grows as the two scores part.
//
// The loss is taken on ε implied by the U-Net's output (NoiseSchedule.epsilon), so ε-, v- and sample-prediction
// teachers all train in the same space. One Adam step per call, gradients clipped to norm 1 (as the teacher's own
// training); the network and its Adam moments are checkpointed with the run (`F`, `F_opt`).
import Foundation
import TensorCore
import Teacher

public final class FakeScore {
    public let unet: UNet2DConditionModel
    public let optimizer: Adam
    public let schedule: NoiseSchedule

    /// A trainable copy of `teacher` (its weights, its configuration) with AdamW (β 0.9, 0.999, no weight decay)
    /// at `lr`. The teacher itself stays frozen.
    public init(teacher: UNet2DConditionModel, schedule: NoiseSchedule, lr: Double) throws {
        let copy = try UNet2DConditionModel(config: teacher.config, rng: RandomGenerator(seed: 0))
        try withNoGrad { try copy.load(teacher.stateDict(), strict: true) }
        for p in copy.parameters() { p.requiresGrad = true }
        unet = copy
        self.schedule = schedule
        optimizer = Adam.adamW(copy.namedParameters(), lr: lr, betas: (0.9, 0.999), weightDecay: 0)
    }

    /// ε_φ(x_t, t, y) for noisy latents x_t (N, C, h, w), one timestep per sample and text states y (N, L, D); no gradient.
    public func epsilon(_ xt: Tensor, timesteps: [Int], states: Tensor) -> Tensor {
        withNoGrad {
            let out = unet(xt, timestep: Tensor(timesteps.map(Float.init), shape: [timesteps.count]), encoderHiddenStates: states)
            return schedule.epsilon(fromModelOutput: out, sample: xt, timesteps: timesteps)
        }
    }

    /// The denoising loss mean |ε_φ(x_t, t, y) − ε|² on `latents` (N, C, h, w) at the given timesteps and noise.
    public func loss(latents: Tensor, states: Tensor, timesteps: [Int], noise: Tensor) -> Tensor {
        let xt = schedule.addNoise(latents.detach(), noise: noise, timesteps: timesteps)
        let out = unet(xt, timestep: Tensor(timesteps.map(Float.init), shape: [timesteps.count]), encoderHiddenStates: states.detach())
        let d = schedule.epsilon(fromModelOutput: out, sample: xt, timesteps: timesteps) - noise
        return (d * d).mean()
    }

    /// One Adam step of `loss` on the generator's latents (detached) for their prompts' states, at timesteps drawn
    /// uniformly from the whole schedule and fresh noise, both from `random`. Returns the loss before the step. A
    /// non-finite loss or gradient is not stepped on: the result is then NaN, which the trainer's guard reports by
    /// name (`loss/G/fake_score`) and stops the run on.
    @discardableResult
    public func update(latents: Tensor, states: Tensor, random: RandomGenerator) -> Double {
        let n = latents.shape[0], total = schedule.trainTimesteps
        let t = (0..<n).map { _ in random.integer(below: total) }
        let noise = random.normal(latents.shape)
        let l = loss(latents: latents, states: states, timesteps: t, noise: noise)
        let value = Double(l.item())
        optimizer.zeroGrad()
        defer { optimizer.zeroGrad() }
        guard value.isFinite else { return .nan }
        l.backward()
        guard clipGradNorm(unet.parameters(), maxNorm: 1).isFinite else { return .nan }   // the norm before clipping
        optimizer.step()
        return value
    }
}
