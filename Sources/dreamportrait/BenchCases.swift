// Benchmark cases beyond GEMM: convolution, tri-plane sampling, softmax, group norm and cross-attention,
// on the shapes this project runs (the same cases and work counts as Scripts/bench_torch.py).
import Metrics
import TensorCore

enum BenchCases {
    static func normal(_ shape: [Int], _ seed: UInt64) -> Tensor { RandomGenerator(seed: seed).normal(shape) }

    static func conv(_ name: String, n: Int, c: Int, hw: Int, o: Int, k: Int) -> BenchCase {
        BenchCase(name: name, shape: "\(n)x\(c)x\(hw)x\(hw) -> \(o), \(k)x\(k)",
                  work: 2 * Double(n * o * c * k * k * hw * hw), memoryBound: false) {
            let x = normal([n, c, hw, hw], 1), w = normal([o, c, k, k], 2)
            return { _ = conv2d(x, w, padding: (k / 2, k / 2)) }
        }
    }

    static let ops: [BenchCase] = [
        conv("conv3x3_512", n: 1, c: 512, hw: 32, o: 512, k: 3),
        conv("conv3x3_256", n: 1, c: 256, hw: 64, o: 256, k: 3),
        conv("conv3x3_128x4", n: 4, c: 128, hw: 64, o: 128, k: 3),
        conv("conv1x1_256", n: 1, c: 256, hw: 64, o: 256, k: 1),
        // EG3D's tri-plane lookup: 3 planes of 32 channels, 65,536 points each. Bytes: 4 taps x 32 channels
        // read, 32 written, 2 grid coordinates read, per point.
        BenchCase(name: "grid_sample", shape: "3x32x256x256, 3x1x65536 points",
                  work: 4 * Double(3 * 65536 * (32 * 4 + 32 + 2)), memoryBound: true) {
            let planes = normal([3, 32, 256, 256], 1)
            let grid = RandomGenerator(seed: 2).uniform([3, 1, 65536, 2], low: -1, high: 1)
            return { _ = gridSample(planes, grid) }
        },
        BenchCase(name: "softmax", shape: "16384x1024, last axis", work: 2 * 4 * 16384 * 1024, memoryBound: true) {
            let x = normal([16384, 1024], 1)
            return { _ = x.softmax(axis: -1) }
        },
        BenchCase(name: "group_norm", shape: "4x128x64x64, 32 groups", work: 2 * 4 * 4 * 128 * 64 * 64, memoryBound: true) {
            let x = normal([4, 128, 64, 64], 1), w = normal([128], 2), b = normal([128], 3)
            return { _ = groupNorm(x, groups: 32, weight: w, bias: b) }
        },
        // A transposing copy: the adapters' tokens, (N, C, HW) planes read as (N, HW, C). Bytes: read and write.
        BenchCase(name: "transpose", shape: "8x96x4096 -> 8x4096x96", work: 2 * 4 * 8 * 96 * 4096, memoryBound: true) {
            let x = normal([8, 96, 4096], 1)
            return { _ = x.permute([0, 2, 1]).contiguous() }
        },
        BenchCase(name: "attention", shape: "q 1x8x65536x64, kv 77", work: 4 * 8 * 65536 * 77 * 64, memoryBound: false) {
            let q = normal([1, 8, 65536, 64], 1), k = normal([1, 8, 77, 64], 2), v = normal([1, 8, 77, 64], 3)
            return { _ = scaledDotProductAttention(q: q, k: k, v: v) }
        },
        // The adapters' cross-attention in training: 3 x 64² tri-plane tokens of 8 samples, 4 heads of 24, attending
        // to 75 word slots of which the first 32 are kept (the longest caption of a typical batch of 8); forward and
        // backward. Work: 3 x the forward's 4·B·H·Lq·Lk·D over the kept keys.
        BenchCase(name: "adapter_attention", shape: "q 8x4x12288x24, kv 75 (32 kept), fwd+bwd",
                  work: 3 * 4 * 8 * 4 * 12288 * 32 * 24, memoryBound: false) {
            let q = normal([8, 4, 12288, 24], 1), k = normal([8, 4, 75, 24], 2), v = normal([8, 4, 75, 24], 3)
            let g = normal([8, 4, 12288, 24], 4)
            for t in [q, k, v] { t.requiresGrad = true }
            let mask = Tensor((0..<(8 * 75)).map { $0 % 75 < 32 ? 1 : 0 }, shape: [8, 75])
            return { _ = gradients(of: scaledDotProductAttention(q: q, k: k, v: v, keyMask: mask), wrt: [q, k, v], seed: g) }
        },
        // FID's image encoder (pytorch-fid's InceptionV3([3])) on a batch of 8 299x299 images, random weights
        // that keep activations normal. Work: 2 x the convolutions' multiply-adds.
        BenchCase(name: "inception_v3", shape: "8x3x299x299 -> 8x2048, FID Inception",
                  work: 8 * FIDInceptionV3.flopsPerImage, memoryBound: false) {
            let model = FIDInceptionV3.randomized(seed: 1)
            let x = RandomGenerator(seed: 2).uniform([8, 3, 299, 299])
            return { _ = model.features(x) }
        },
    ]
}
