// The denoising loop of diffusers' StableDiffusionPipeline.__call__ (pipelines/stable_diffusion/
// pipeline_stable_diffusion.py) with classifier-free guidance: the batch is [unconditional; conditional]
// (negative-prompt states first), the model runs once on both, ε̂ = ε_u + s · (ε_c − ε_u), and the DDIM
// scheduler steps. Guidance is off when s ≤ 1 (diffusers' do_classifier_free_guidance).
import TensorCore

/// ε̂ = ε_u + s · (ε_c − ε_u), in diffusers' operation order.
public func classifierFreeGuidance(unconditional: Tensor, conditional: Tensor, scale: Float) -> Tensor {
    require(unconditional.shape == conditional.shape,
            "classifierFreeGuidance: unconditional \(unconditional.shape) and conditional \(conditional.shape) differ")
    return unconditional + (conditional - unconditional) * scale
}

/// Runs `scheduler`'s inference timesteps from `latents`, as diffusers' pipeline loop.
/// - Parameters:
///   - latents: the starting noise (N, C, h, w), already multiplied by the scheduler's init_noise_sigma.
///   - conditional: text states of the prompts (N, L, D).
///   - unconditional: text states of the negative prompts, or of "" when there is none (N, L, D); used
///     only when guidanceScale > 1.
///   - steps: inference steps (the scheduler's timesteps are set to them).
///   - eta: DDIM η; when > 0, `varianceNoise(i)` gives step i's N(0, 1) noise of the latents' shape.
///   - firstStep: the index into the scheduler's timesteps to start at (img2img / SDEdit: `latents` are then the
///     noised image at `timesteps[firstStep]`; diffusers' t_start). 0 runs every step.
///   - progress: called after each step with (steps done, total), counting from `firstStep`.
/// - Returns: the final latents (N, C, h, w).
public func sampleDDIM(latents: Tensor, predictor: NoisePredictor, scheduler: inout DDIMScheduler,
                       conditional: Tensor, unconditional: Tensor?, steps: Int, guidanceScale: Float,
                       eta: Float = 0, varianceNoise: ((Int) -> Tensor)? = nil, firstStep: Int = 0,
                       progress: ((Int, Int) -> Void)? = nil) throws -> Tensor {
    require(latents.rank == 4, "sampleDDIM: latents must be (N, C, h, w), got \(latents.shape)")
    require(conditional.rank == 3 && conditional.shape[0] == latents.shape[0],
            "sampleDDIM: text states \(conditional.shape) must be (N, L, D) with N = \(latents.shape[0])")
    let guided = guidanceScale > 1
    if guided {
        require(unconditional != nil, "sampleDDIM: guidance scale \(guidanceScale) > 1 needs unconditional states")
        require(unconditional!.shape == conditional.shape,
                "sampleDDIM: unconditional states \(unconditional!.shape) must match conditional \(conditional.shape)")
    }
    require(eta == 0 || varianceNoise != nil, "sampleDDIM: eta \(eta) > 0 needs a varianceNoise source")
    try scheduler.setTimesteps(steps)
    require(firstStep >= 0 && firstStep <= scheduler.timesteps.count,
            "sampleDDIM: first step \(firstStep) outside 0...\(scheduler.timesteps.count)")
    return withNoGrad {
        // [uncond; cond], as prompt_embeds = torch.cat([negative_prompt_embeds, prompt_embeds]).
        let states = guided ? Tensor.concat([unconditional!, conditional], axis: 0) : conditional
        var x = latents
        let n = latents.shape[0]
        for (i, t) in scheduler.timesteps.enumerated() where i >= firstStep {
            let input = guided ? Tensor.concat([x, x], axis: 0) : x
            var out = predictor.predictNoise(input, timestep: t, textStates: states)
            require(out.shape == input.shape, "sampleDDIM: the noise predictor returned \(out.shape) for input \(input.shape)")
            if guided {
                out = classifierFreeGuidance(unconditional: out.slice(axis: 0, start: 0, end: n),
                                             conditional: out.slice(axis: 0, start: n, end: 2 * n), scale: guidanceScale)
            }
            x = scheduler.step(modelOutput: out, timestep: t, sample: x, eta: eta,
                               varianceNoise: eta > 0 ? varianceNoise!(i) : nil).prevSample
            progress?(i + 1 - firstStep, scheduler.timesteps.count - firstStep)
        }
        return x
    }
}
