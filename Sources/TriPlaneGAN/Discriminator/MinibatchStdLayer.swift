// MinibatchStdLayer: StyleGAN2 / EG3D's minibatch standard deviation (training/networks_stylegan2.py
// MinibatchStdLayer; spec §11.3 step 1), the first step of D's epilogue.
import Foundation
import TensorCore

/// Appends F feature maps holding the batch's standard deviation, computed within groups of G samples.
/// Groups are strided: with n = N / G groups, sample i belongs to group i mod n (N = 8, G = 4: {0,2,4,6}, {1,3,5,7}).
/// Per group and per channel block c = C / F: std over the group (biased, +1e-8 inside the sqrt), averaged
/// over the block's channels and all pixels. No state.
public final class MinibatchStdLayer: Module {
    /// G before clamping to the batch size; nil = the whole batch.
    public let groupSize: Int?
    /// F.
    public let numChannels: Int

    public init(groupSize: Int?, numChannels: Int = 1) {
        require(groupSize.map { $0 >= 1 } ?? true, "MinibatchStdLayer: group size must be positive, got \(groupSize!)")
        require(numChannels >= 1, "MinibatchStdLayer: num_channels must be positive, got \(numChannels)")
        self.groupSize = groupSize
        self.numChannels = numChannels
        super.init()
    }

    /// x: (N, C, H, W) -> (N, C + F, H, W).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        require(x.rank == 4, "MinibatchStdLayer: input must be (N, C, H, W), got \(x.shape)")
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let g = Swift.min(groupSize ?? n, n), f = numChannels
        require(g >= 1 && n % g == 0,
                "MinibatchStdLayer: batch size \(n) must be a multiple of the group size \(g) (min(mbstd_group_size \(groupSize.map(String.init) ?? "nil"), N))")
        require(c % f == 0, "MinibatchStdLayer: \(c) channels do not divide into \(f) stddev features")
        let groups = n / g
        var y = x.reshape([g, groups, f, c / f, h, w])          // sample i = member·groups + group
        y = y - y.mean(axis: 0, keepDims: true)
        y = (y * y).mean(axis: 0)                                // (groups, F, c, H, W) variance
        y = (y + 1e-8).sqrt().mean(axes: [2, 3, 4])              // (groups, F)
        let s = y.reshape([1, groups, f, 1, 1]).expand([g, groups, f, h, w]).reshape([n, f, h, w])
        return Tensor.concat([x, s], axis: 1)
    }
}
