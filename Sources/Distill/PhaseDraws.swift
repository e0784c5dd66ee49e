// The random inputs of one phase of one step (training_loop.py's all_gen_z / all_gen_c, and the draws inside
// loss.py: swap decisions, synthesis noise, renderer jitter, density-regularisation points). They come from the
// step's streams in training, or are replayed from the official code's recording in the parity test.
import TensorCore
import TriPlaneGAN

public struct PhaseDraws {
    /// Latents (N, z_dim) and the generator's cameras gen_c (N, 25), labels of random training images.
    public var z: Tensor
    public var c: Tensor
    /// Pose-conditioning swap uniforms: (N) for run_G (Gmain, Dmain), (1) for the density regulariser.
    public var swapUniforms: Tensor
    /// Synthesis-layer noise and the renderer's draws.
    public var noise: RandomGenerator
    public var renderer: RendererRandomSource
    /// Greg only: U[0, 1) points (N, P, 3) (mapped to [−1, 1]) and N(0, 1) perturbations (N, P, 3).
    public var densityUniforms: Tensor?
    public var densityNormals: Tensor?
    /// Stages 1-2: the generator's prompts (one per sample) and their text encoder states (N, L, D) (D-SDS).
    public var prompts: TextConditioning?
    public var promptStates: Tensor?
    public var promptTexts: [String]?
    /// Stage 2: the stream of the text loss's draws (D-SDS timesteps and noise).
    public var textLossRandom: RandomGenerator?

    public init(z: Tensor, c: Tensor, swapUniforms: Tensor, noise: RandomGenerator, renderer: RendererRandomSource,
                densityUniforms: Tensor? = nil, densityNormals: Tensor? = nil, prompts: TextConditioning? = nil) {
        self.z = z; self.c = c; self.swapUniforms = swapUniforms; self.noise = noise; self.renderer = renderer
        self.densityUniforms = densityUniforms; self.densityNormals = densityNormals; self.prompts = prompts
    }

    /// Draws for phase `phase` (0 Gmain, 1 Greg, 2 Dmain, 3 Dreg) of a step, microbatch `chunk` of `n` samples.
    /// gen_c rows are labels of training images picked uniformly (np.random.randint(len(training_set))).
    public static func draw(streams: StepStreams, phase: Int, chunk: Int, n: Int, zDim: Int, labels: Tensor,
                            densityPoints: Int?) -> PhaseDraws {
        let tag = phase * 16 + chunk
        let z = streams.generator(.latents, phase: tag).normal([n, zDim])
        let pick = streams.generator(.generatorCameras, phase: tag)
        let rows = (0..<n).map { _ in pick.integer(below: labels.shape[0]) }
        let c = labels.indexSelect(axis: 0, Tensor(rows.map(Float.init), shape: [n]))
        let swap = streams.generator(.poseSwap, phase: tag).uniform([densityPoints == nil ? n : 1])
        var d = PhaseDraws(z: z, c: c, swapUniforms: swap, noise: streams.generator(.synthesisNoise, phase: tag),
                           renderer: GeneratorRandomSource(streams.generator(.renderer, phase: tag)))
        d.textLossRandom = streams.generator(.scoreDistillation, phase: tag)
        if let p = densityPoints {
            let g = streams.generator(.densityPoints, phase: tag)
            d.densityUniforms = g.uniform([n, p, 3])
            d.densityNormals = g.normal([n, p, 3])
        }
        return d
    }
}
