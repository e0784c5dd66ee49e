// The renderer's random numbers (spec §8.1, §8.3, §17.1): the stratified depth jitter `rand_like` of shape
// (N, M, S, 1) and sample_pdf's `torch.rand(N·M, Si)`, requested in that order once per render. They are
// random even at inference in EG3D; injecting the source lets tests replay the official draws exactly.
import TensorCore

/// Supplies the renderer's uniform [0, 1) draws, in the official shapes and order.
public protocol RendererRandomSource: AnyObject {
    /// The stratified jitter U, shape (N, M, S, 1); requested first.
    func stratifiedUniforms(shape: [Int]) -> Tensor
    /// The importance sampler's uniforms, shape (N·M, Si); requested second (only when Si > 0).
    func importanceUniforms(shape: [Int]) -> Tensor
}

/// Draws from a counter-based `RandomGenerator` (same seed, same numbers, whatever the thread count or chunking).
public final class GeneratorRandomSource: RendererRandomSource {
    public let generator: RandomGenerator
    public init(_ generator: RandomGenerator) { self.generator = generator }
    public convenience init(seed: UInt64) { self.init(RandomGenerator(seed: seed)) }

    public func stratifiedUniforms(shape: [Int]) -> Tensor { generator.uniform(shape) }
    public func importanceUniforms(shape: [Int]) -> Tensor { generator.uniform(shape) }
}

/// Replays given draws (for example the fixture's `rand.stratified` and `rand.importance`, recorded from the
/// official code). Each request must match the stored shape; the same tensors are returned on every render.
public final class ReplayRandomSource: RendererRandomSource {
    public let stratified: Tensor
    public let importance: Tensor?

    /// - Parameters:
    ///   - stratified: (N, M, S, 1).
    ///   - importance: (N·M, Si), or nil when the renderer has no fine pass.
    public init(stratified: Tensor, importance: Tensor?) {
        self.stratified = stratified
        self.importance = importance
    }

    public func stratifiedUniforms(shape: [Int]) -> Tensor {
        require(stratified.shape == shape,
                "ReplayRandomSource: the renderer asks for stratified draws of shape \(shape), but \(stratified.shape) were given")
        return stratified
    }

    public func importanceUniforms(shape: [Int]) -> Tensor {
        guard let importance else { fatalError("ReplayRandomSource: the renderer asks for importance draws \(shape), but none were given") }
        require(importance.shape == shape,
                "ReplayRandomSource: the renderer asks for importance draws of shape \(shape), but \(importance.shape) were given")
        return importance
    }
}
