// What the training loop needs of a generator: EG3D's TriPlaneGenerator (stage 0) and DreamPortrait's
// TextConditionedGenerator (stages 1-2) both provide it. Prompts are nil for the unconditional generator.
import TensorCore
import TriPlaneGAN

public protocol TrainableGenerator: Module {
    var config: TriPlaneConfig { get }
    /// G.neural_rendering_resolution (training sets it each phase; G_ema copies it).
    var neuralRenderingResolution: Int { get set }
    /// ws (N, num_ws, w_dim) from z (N, z_dim), the conditioning camera c (N, 25) and, for text-conditioned
    /// generators, one prompt per sample. `updateEmas` tracks w_avg (Dmain's generator run).
    func trainingMapping(_ z: Tensor, _ c: Tensor, prompts: TextConditioning?, updateEmas: Bool) -> Tensor
    /// Tri-planes (N, 3·C, H, W) with noise_mode random drawn from `noise`.
    func trainingPlanes(_ ws: Tensor, prompts: TextConditioning?, noise: RandomGenerator) -> Tensor
    func render(planes: Tensor, ws: Tensor, cameras: Tensor, resolution: Int?, random: RendererRandomSource) -> GeneratorOutput
    /// Raw σ (N, P, 1) and features at points (N, P, 3) (G.sample_mixed's run_model).
    func sampleDensity(planes: Tensor, points: Tensor) -> (sigma: Tensor, rgb: Tensor)
    /// Tri-planes with noise_mode const (sample grids).
    func samplePlanes(_ ws: Tensor, prompts: TextConditioning?) -> Tensor
    /// The plain EG3D generator inside (for checkpoints `generate` reads).
    var eg3d: TriPlaneGenerator { get }
}

extension TriPlaneGenerator: TrainableGenerator {
    public func trainingMapping(_ z: Tensor, _ c: Tensor, prompts: TextConditioning?, updateEmas: Bool) -> Tensor {
        mapping(z, c, updateEmas: updateEmas)
    }
    public func trainingPlanes(_ ws: Tensor, prompts: TextConditioning?, noise: RandomGenerator) -> Tensor {
        planes(ws, noiseMode: .random, rng: noise)
    }
    public func samplePlanes(_ ws: Tensor, prompts: TextConditioning?) -> Tensor { planes(ws, noiseMode: .const) }
    public var eg3d: TriPlaneGenerator { self }
}

extension TextConditionedGenerator: TrainableGenerator {
    public func trainingMapping(_ z: Tensor, _ c: Tensor, prompts: TextConditioning?, updateEmas: Bool) -> Tensor {
        guard let prompts else { fatalError("TextConditionedGenerator: training needs one prompt per sample") }
        return mapping(z, c, text: prompts, updateEmas: updateEmas)
    }
    public func trainingPlanes(_ ws: Tensor, prompts: TextConditioning?, noise: RandomGenerator) -> Tensor {
        guard let prompts else { fatalError("TextConditionedGenerator: training needs one prompt per sample") }
        return planes(ws: ws, text: prompts, noiseMode: .random, rng: noise)
    }
    public func samplePlanes(_ ws: Tensor, prompts: TextConditioning?) -> Tensor {
        guard let prompts else { fatalError("TextConditionedGenerator: samples need prompts") }
        return planes(ws: ws, text: prompts, noiseMode: .const)
    }
    public func render(planes: Tensor, ws: Tensor, cameras: Tensor, resolution: Int?, random: RendererRandomSource) -> GeneratorOutput {
        generator.render(planes: planes, ws: ws, cameras: cameras, resolution: resolution, random: random)
    }
    public var eg3d: TriPlaneGenerator { generator }
}
