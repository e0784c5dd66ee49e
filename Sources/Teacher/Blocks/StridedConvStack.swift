// The small image readers of the project (the attribute classifier, stage 0's encoder): a stack of
// [conv 3×3 stride 2 (padding 1) + GroupNorm(8) + SiLU] blocks, each halving the side. The layers are registered on
// the owning module as conv0, norm0, conv1, norm1, … (the checkpoint keys of both readers).
import TensorCore

public struct StridedConvStack {
    public let convs: [Conv2d], norms: [GroupNorm]
    /// Channels of the last block.
    public let outChannels: Int

    public init(inChannels: Int, widths: [Int], rng: RandomGenerator) {
        var c: [Conv2d] = [], n: [GroupNorm] = []
        var inC = inChannels
        for w in widths {
            c.append(Conv2d(inC, w, kernelSize: 3, stride: 2, padding: 1, rng: rng))
            n.append(GroupNorm(groups: 8, channels: w))
            inC = w
        }
        convs = c; norms = n; outChannels = inC
    }

    /// Registers the layers on `owner` as conv<i> / norm<i>.
    public func register(in owner: Module) {
        for i in convs.indices { owner.registerModule("conv\(i)", convs[i]); owner.registerModule("norm\(i)", norms[i]) }
    }

    /// x (N, C, S, S) → (N, outChannels, S / 2^blocks, S / 2^blocks).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var x = x
        for (c, n) in zip(convs, norms) { x = n(c(x)).silu() }
        return x
    }
}
