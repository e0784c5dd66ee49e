// Inception-v3's convolution unit, torchvision.models.inception.BasicConv2d as pytorch-fid uses it:
//   Conv2d(bias=False) -> BatchNorm2d(eps=0.001, inference: running statistics) -> ReLU,
// with the checkpoint keys `conv.weight` and `bn.{weight, bias, running_mean, running_var}`. For speed the
// batch norm is folded into the convolution once after loading (`folded()`):
//   w' = w · γ/√(σ² + ε),   b' = β − μ · γ/√(σ² + ε),
// so inference is one convolution with bias and an in-place ReLU.
import Foundation
import TensorCore

/// The parameters of torch.nn.Conv2d(bias=False): `weight` (out, in, kH, kW).
public final class Conv2dWeight: Module {
    public let weight: Tensor

    public init(_ inChannels: Int, _ outChannels: Int, kernel: (Int, Int)) {
        weight = Tensor.zeros([outChannels, inChannels, kernel.0, kernel.1])
        super.init()
        registerParameter("weight", weight)
    }
}

/// torch.nn.BatchNorm2d's saved state: affine `weight` (γ) and `bias` (β), buffers `running_mean` (μ) and
/// `running_var` (σ²), each of shape (channels). Initialised as torch does (γ 1, β 0, μ 0, σ² 1).
/// (`num_batches_tracked` is a training counter; Scripts/convert_inception.py drops it.)
public final class BatchNorm2dParameters: Module {
    public let weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor
    public let eps: Float

    public init(_ channels: Int, eps: Float) {
        weight = Tensor.ones([channels])
        bias = Tensor.zeros([channels])
        runningMean = Tensor.zeros([channels])
        runningVar = Tensor.ones([channels])
        self.eps = eps
        super.init()
        registerParameter("weight", weight)
        registerParameter("bias", bias)
        registerBuffer("running_mean", runningMean)
        registerBuffer("running_var", runningVar)
    }
}

/// A convolution with its batch norm folded in: y = relu(conv(x, weight) + bias). Constant tensors (no grad).
public struct FoldedConv {
    /// (out, in, kH, kW)
    public let weight: Tensor
    /// (out)
    public let bias: Tensor
    public let stride: (Int, Int)
    public let padding: (Int, Int)

    public var outChannels: Int { weight.shape[0] }

    /// x: (N, in, H, W) -> (N, out, Ho, Wo), ReLU applied in place.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        reluInPlace(conv2d(x, weight, bias: bias, stride: stride, padding: padding))
    }

    /// The convolution with bias, ReLU applied in place to the channels `relu` only.
    /// x: (N, in, H, W) -> (N, out, Ho, Wo)
    public func callAsFunction(_ x: Tensor, reluChannels relu: Range<Int>) -> Tensor {
        reluInPlace(conv2d(x, weight, bias: bias, stride: stride, padding: padding), channels: relu)
    }

    /// The same convolution with a zero bias (for a branch whose bias is added later).
    public func withoutBias() -> FoldedConv {
        FoldedConv(weight: weight, bias: Tensor.zeros(bias.shape), stride: stride, padding: padding)
    }

    /// Several convolutions of the same input, kernel, stride and padding as one (their weights stacked along
    /// the output channels): one GEMM instead of several narrow ones. Split the result with `outChannels`.
    public static func stacked(_ parts: [FoldedConv]) -> FoldedConv {
        require(!parts.isEmpty, "FoldedConv.stacked: no convolutions")
        let first = parts[0]
        for p in parts {
            require(p.weight.shape.dropFirst() == first.weight.shape.dropFirst() && p.stride == first.stride && p.padding == first.padding,
                    "FoldedConv.stacked: convolutions \(parts.map(\.weight.shape)) do not share input, kernel, stride and padding")
        }
        return FoldedConv(weight: Tensor.concat(parts.map(\.weight), axis: 0), bias: Tensor.concat(parts.map(\.bias), axis: 0),
                          stride: first.stride, padding: first.padding)
    }
}

/// torchvision's BasicConv2d: keys `conv.weight`, `bn.weight`, `bn.bias`, `bn.running_mean`, `bn.running_var`.
public final class BasicConv2d: Module {
    public let conv: Conv2dWeight
    public let bn: BatchNorm2dParameters
    public let stride: (Int, Int)
    public let padding: (Int, Int)

    /// Conv2d(in, out, kernel, stride, padding, bias=False) + BatchNorm2d(out, eps=0.001).
    public init(_ inChannels: Int, _ outChannels: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1),
                padding: (Int, Int) = (0, 0)) {
        conv = Conv2dWeight(inChannels, outChannels, kernel: kernel)
        bn = BatchNorm2dParameters(outChannels, eps: 0.001)
        self.stride = stride
        self.padding = padding
        super.init()
        registerModule("conv", conv)
        registerModule("bn", bn)
    }

    /// Square kernel shorthand.
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0) {
        self.init(inChannels, outChannels, kernel: (kernel, kernel), stride: (stride, stride), padding: (padding, padding))
    }

    /// The batch norm folded into the convolution (scale and shift computed in Float64, rounded once).
    public func folded() -> FoldedConv {
        let w = conv.weight.contiguous().toArray()
        let gamma = bn.weight.toArray(), beta = bn.bias.toArray()
        let mean = bn.runningMean.toArray(), variance = bn.runningVar.toArray()
        let o = conv.weight.shape[0], per = w.count / o
        var fw = [Float](repeating: 0, count: w.count), fb = [Float](repeating: 0, count: o)
        for c in 0..<o {
            let scale = Double(gamma[c]) / (Double(variance[c]) + Double(bn.eps)).squareRoot()
            for i in 0..<per { fw[c * per + i] = Float(Double(w[c * per + i]) * scale) }
            fb[c] = Float(Double(beta[c]) - Double(mean[c]) * scale)
        }
        return FoldedConv(weight: Tensor(fw, shape: conv.weight.shape), bias: Tensor(fb, shape: [o]),
                          stride: stride, padding: padding)
    }

    /// The unfolded reference path (conv, batch norm with running statistics, ReLU), for tests.
    /// x: (N, in, H, W) -> (N, out, Ho, Wo)
    public func reference(_ x: Tensor) -> Tensor {
        let y = conv2d(x, conv.weight, stride: stride, padding: padding)
        let c = bn.weight.shape[0]
        let invStd = (bn.runningVar + bn.eps).rsqrt()
        let shaped = { (t: Tensor) in t.reshape([1, c, 1, 1]) }
        return ((y - shaped(bn.runningMean)) * shaped(invStd * bn.weight) + shaped(bn.bias)).relu()
    }
}

/// max(x, 0) over the channels `channels` of a dense (N, C, H, W) x, in place. Returns x.
@discardableResult
func reluInPlace(_ x: Tensor, channels: Range<Int>) -> Tensor {
    require(x.rank == 4 && x.isContiguous && x.node == nil && channels.upperBound <= x.shape[1],
            "reluInPlace: needs a dense (N, C, H, W) tensor outside any autograd graph, got \(x.shape) for channels \(channels)")
    let plane = x.shape[2] * x.shape[3], c = x.shape[1]
    for item in 0..<x.shape[0] {
        reluInPlace(x.data + (item * c + channels.lowerBound) * plane, count: channels.count * plane)
    }
    return x
}

/// max(x, 0) written over x's own storage (x must be a fresh, dense result nobody else holds). Returns x.
@discardableResult
func reluInPlace(_ x: Tensor) -> Tensor {
    require(x.isContiguous && x.node == nil, "reluInPlace: needs a dense tensor outside any autograd graph")
    reluInPlace(x.data, count: x.count)
    return x
}

/// max(p[i], 0) for i in 0..<n, in place (NaN stays NaN, as torch.relu).
func reluInPlace(_ p: UnsafeMutablePointer<Float>, count n: Int) {
    parallelRanges((n + 15) / 16, grain: 4096) { blocks in
        var i = blocks.lowerBound * 16
        let end = Swift.min(n, blocks.upperBound * 16)
        let zero = SIMD16<Float>(repeating: 0)
        while i + 16 <= end {
            let v = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(p + i).storeBytes(of: v.replacing(with: zero, where: v .< zero), as: SIMD16<Float>.self)
            i += 16
        }
        while i < end { if p[i] < 0 { p[i] = 0 }; i += 1 }
    }
}
