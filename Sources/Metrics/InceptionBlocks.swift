// The mixed blocks of Inception-v3 as pytorch-fid's FID Inception builds them (pytorch_fid/inception.py over
// torchvision/models/inception.py): FIDInceptionA (Mixed_5b-d), InceptionB (Mixed_6a), FIDInceptionC
// (Mixed_6b-e), InceptionD (Mixed_7a), FIDInceptionE_1 (Mixed_7b) and FIDInceptionE_2 (Mixed_7c). The FID
// variants differ from torchvision's only in the pool branch: average pooling with count_include_pad=False
// (TensorFlow's), and max pooling in FIDInceptionE_2. Child names are the checkpoint keys ("branch5x5_1").
//
// Inference runs on folded convolutions (BasicConv2d.swift) prepared by `prepare()`; the 1x1 convolutions
// that read the block input are stacked into one GEMM (`head`) and their outputs split by channel. Where the
// pool branch is an average pool followed by a 1x1 convolution (A, C, E_1), the two are swapped, since both
// are linear and averaging (count_include_pad=False) keeps a constant bias: the convolution joins the head
// (without bias and ReLU), and the pool runs on its few output channels, then adds the bias and applies ReLU.
// Every convolution is TensorCore's conv2d, which picks its own execution path (Winograd for the 3x3s at 35²,
// tap GEMMs for the 5x5 at 35² and the 7x1 at 17², the implicit GEMM elsewhere); ReLU runs in place after it.
import TensorCore

/// One of Inception's mixed blocks at inference (after `prepare()`): x (N, C, H, W) -> (N, C', H', W').
protocol MixedBlock {
    func callAsFunction(_ x: Tensor) -> Tensor
}

extension FIDInceptionA: MixedBlock {}
extension InceptionB: MixedBlock {}
extension FIDInceptionC: MixedBlock {}
extension InceptionD: MixedBlock {}
extension FIDInceptionE: MixedBlock {}

/// Splits (N, C, H, W) along the channels into parts of the given sizes (views).
func splitChannels(_ x: Tensor, _ sizes: [Int]) -> [Tensor] { x.split(sizes, axis: 1) }

/// A head whose last `pool.outChannels` channels are the pool branch's 1x1 convolution before its pool:
/// ReLU on the others only. Returns the head output and the pool branch (pool, bias, ReLU).
/// x: (N, in, H, W) -> ((N, heads + pool, H, W), (N, pool, H, W))
func headAndAveragePoolBranch(_ head: FoldedConv, poolBias: Tensor, _ x: Tensor) -> (Tensor, Tensor) {
    let total = head.outChannels, pool = poolBias.shape[0]
    let h = head(x, reluChannels: 0..<(total - pool))
    return (h, averagePool3x3BiasReLU(h, channels: (total - pool)..<total, bias: poolBias))
}

/// A block's folded convolutions, built once by `prepare()`.
struct Prepared<Plan> {
    private(set) var plan: Plan?
    mutating func set(_ p: Plan) { plan = p }
    func get(_ block: String) -> Plan {
        guard let plan else { fatalError("\(block): weights not folded; call FIDInceptionV3.prepare() after loading weights") }
        return plan
    }
}

/// FIDInceptionA (torchvision InceptionA with the count_include_pad=False average pool).
/// x: (N, in, 35, 35) -> (N, 224 + poolFeatures, 35, 35)
public final class FIDInceptionA: Module {
    public let branch1x1, branch5x5_1, branch5x5_2, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3, branch_pool: BasicConv2d
    private struct Plan { let head: FoldedConv; let b5x5_2, dbl_2, dbl_3: FoldedConv; let poolBias: Tensor }
    private var prepared = Prepared<Plan>()

    public init(_ inChannels: Int, poolFeatures: Int) {
        branch1x1 = BasicConv2d(inChannels, 64, kernel: 1)
        branch5x5_1 = BasicConv2d(inChannels, 48, kernel: 1)
        branch5x5_2 = BasicConv2d(48, 64, kernel: 5, padding: 2)
        branch3x3dbl_1 = BasicConv2d(inChannels, 64, kernel: 1)
        branch3x3dbl_2 = BasicConv2d(64, 96, kernel: 3, padding: 1)
        branch3x3dbl_3 = BasicConv2d(96, 96, kernel: 3, padding: 1)
        branch_pool = BasicConv2d(inChannels, poolFeatures, kernel: 1)
        super.init()
        for (name, m) in [("branch1x1", branch1x1), ("branch5x5_1", branch5x5_1), ("branch5x5_2", branch5x5_2),
                          ("branch3x3dbl_1", branch3x3dbl_1), ("branch3x3dbl_2", branch3x3dbl_2),
                          ("branch3x3dbl_3", branch3x3dbl_3), ("branch_pool", branch_pool)] { registerModule(name, m) }
    }

    func prepare() {
        let pool = branch_pool.folded()
        prepared.set(Plan(head: .stacked([branch1x1.folded(), branch5x5_1.folded(), branch3x3dbl_1.folded(), pool.withoutBias()]),
                          b5x5_2: branch5x5_2.folded(), dbl_2: branch3x3dbl_2.folded(),
                          dbl_3: branch3x3dbl_3.folded(), poolBias: pool.bias))
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let p = prepared.get("Mixed_5 (FIDInceptionA)")
        let (head, pool) = headAndAveragePoolBranch(p.head, poolBias: p.poolBias, x)
        let h = splitChannels(head, [64, 48, 64, pool.shape[1]])
        let b5x5 = p.b5x5_2(h[1])
        let dbl = p.dbl_3(p.dbl_2(h[2]))
        return Tensor.concat([h[0], b5x5, dbl, pool], axis: 1)
    }
}

/// InceptionB (unchanged in pytorch-fid). x: (N, in, 35, 35) -> (N, 480 + in, 17, 17)
public final class InceptionB: Module {
    public let branch3x3, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3: BasicConv2d
    private struct Plan { let b3x3, dbl_1, dbl_3: FoldedConv; let dbl_2: FoldedConv }
    private var prepared = Prepared<Plan>()

    public init(_ inChannels: Int) {
        branch3x3 = BasicConv2d(inChannels, 384, kernel: 3, stride: 2)
        branch3x3dbl_1 = BasicConv2d(inChannels, 64, kernel: 1)
        branch3x3dbl_2 = BasicConv2d(64, 96, kernel: 3, padding: 1)
        branch3x3dbl_3 = BasicConv2d(96, 96, kernel: 3, stride: 2)
        super.init()
        for (name, m) in [("branch3x3", branch3x3), ("branch3x3dbl_1", branch3x3dbl_1), ("branch3x3dbl_2", branch3x3dbl_2),
                          ("branch3x3dbl_3", branch3x3dbl_3)] { registerModule(name, m) }
    }

    func prepare() {
        prepared.set(Plan(b3x3: branch3x3.folded(), dbl_1: branch3x3dbl_1.folded(), dbl_3: branch3x3dbl_3.folded(),
                          dbl_2: branch3x3dbl_2.folded()))
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let p = prepared.get("Mixed_6a (InceptionB)")
        let b3x3 = p.b3x3(x)
        let dbl = p.dbl_3(p.dbl_2(p.dbl_1(x)))
        let pool = maxPool3x3(x, stride: 2, padding: 0)
        return Tensor.concat([b3x3, dbl, pool], axis: 1)
    }
}

/// FIDInceptionC (torchvision InceptionC with the count_include_pad=False average pool).
/// x: (N, in, 17, 17) -> (N, 768, 17, 17)
public final class FIDInceptionC: Module {
    public let branch1x1, branch7x7_1, branch7x7_2, branch7x7_3: BasicConv2d
    public let branch7x7dbl_1, branch7x7dbl_2, branch7x7dbl_3, branch7x7dbl_4, branch7x7dbl_5, branch_pool: BasicConv2d
    private let c7: Int
    private struct Plan { let head: FoldedConv; let b7_2, b7_3, dbl_2, dbl_3, dbl_4, dbl_5: FoldedConv; let poolBias: Tensor }
    private var prepared = Prepared<Plan>()

    public init(_ inChannels: Int, channels7x7 c7: Int) {
        self.c7 = c7
        branch1x1 = BasicConv2d(inChannels, 192, kernel: 1)
        branch7x7_1 = BasicConv2d(inChannels, c7, kernel: 1)
        branch7x7_2 = BasicConv2d(c7, c7, kernel: (1, 7), padding: (0, 3))
        branch7x7_3 = BasicConv2d(c7, 192, kernel: (7, 1), padding: (3, 0))
        branch7x7dbl_1 = BasicConv2d(inChannels, c7, kernel: 1)
        branch7x7dbl_2 = BasicConv2d(c7, c7, kernel: (7, 1), padding: (3, 0))
        branch7x7dbl_3 = BasicConv2d(c7, c7, kernel: (1, 7), padding: (0, 3))
        branch7x7dbl_4 = BasicConv2d(c7, c7, kernel: (7, 1), padding: (3, 0))
        branch7x7dbl_5 = BasicConv2d(c7, 192, kernel: (1, 7), padding: (0, 3))
        branch_pool = BasicConv2d(inChannels, 192, kernel: 1)
        super.init()
        for (name, m) in [("branch1x1", branch1x1), ("branch7x7_1", branch7x7_1), ("branch7x7_2", branch7x7_2),
                          ("branch7x7_3", branch7x7_3), ("branch7x7dbl_1", branch7x7dbl_1), ("branch7x7dbl_2", branch7x7dbl_2),
                          ("branch7x7dbl_3", branch7x7dbl_3), ("branch7x7dbl_4", branch7x7dbl_4),
                          ("branch7x7dbl_5", branch7x7dbl_5), ("branch_pool", branch_pool)] { registerModule(name, m) }
    }

    func prepare() {
        let pool = branch_pool.folded()
        prepared.set(Plan(head: .stacked([branch1x1.folded(), branch7x7_1.folded(), branch7x7dbl_1.folded(), pool.withoutBias()]),
                          b7_2: branch7x7_2.folded(), b7_3: branch7x7_3.folded(),
                          dbl_2: branch7x7dbl_2.folded(), dbl_3: branch7x7dbl_3.folded(),
                          dbl_4: branch7x7dbl_4.folded(), dbl_5: branch7x7dbl_5.folded(),
                          poolBias: pool.bias))
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let p = prepared.get("Mixed_6 (FIDInceptionC)")
        let (head, pool) = headAndAveragePoolBranch(p.head, poolBias: p.poolBias, x)
        let h = splitChannels(head, [192, c7, c7, 192])
        let b7 = p.b7_3(p.b7_2(h[1]))
        let dbl = p.dbl_5(p.dbl_4(p.dbl_3(p.dbl_2(h[2]))))
        return Tensor.concat([h[0], b7, dbl, pool], axis: 1)
    }
}

/// InceptionD (unchanged in pytorch-fid). x: (N, in, 17, 17) -> (N, 512 + in, 8, 8)
public final class InceptionD: Module {
    public let branch3x3_1, branch3x3_2, branch7x7x3_1, branch7x7x3_2, branch7x7x3_3, branch7x7x3_4: BasicConv2d
    private struct Plan { let head, b3x3_2, b7_4: FoldedConv; let b7_2, b7_3: FoldedConv }
    private var prepared = Prepared<Plan>()

    public init(_ inChannels: Int) {
        branch3x3_1 = BasicConv2d(inChannels, 192, kernel: 1)
        branch3x3_2 = BasicConv2d(192, 320, kernel: 3, stride: 2)
        branch7x7x3_1 = BasicConv2d(inChannels, 192, kernel: 1)
        branch7x7x3_2 = BasicConv2d(192, 192, kernel: (1, 7), padding: (0, 3))
        branch7x7x3_3 = BasicConv2d(192, 192, kernel: (7, 1), padding: (3, 0))
        branch7x7x3_4 = BasicConv2d(192, 192, kernel: 3, stride: 2)
        super.init()
        for (name, m) in [("branch3x3_1", branch3x3_1), ("branch3x3_2", branch3x3_2), ("branch7x7x3_1", branch7x7x3_1),
                          ("branch7x7x3_2", branch7x7x3_2), ("branch7x7x3_3", branch7x7x3_3),
                          ("branch7x7x3_4", branch7x7x3_4)] { registerModule(name, m) }
    }

    func prepare() {
        prepared.set(Plan(head: .stacked([branch3x3_1.folded(), branch7x7x3_1.folded()]), b3x3_2: branch3x3_2.folded(),
                          b7_4: branch7x7x3_4.folded(), b7_2: branch7x7x3_2.folded(), b7_3: branch7x7x3_3.folded()))
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let p = prepared.get("Mixed_7a (InceptionD)")
        let h = splitChannels(p.head(x), [192, 192])
        let b3x3 = p.b3x3_2(h[0])
        let b7 = p.b7_4(p.b7_3(p.b7_2(h[1])))
        let pool = maxPool3x3(x, stride: 2, padding: 0)
        return Tensor.concat([b3x3, b7, pool], axis: 1)
    }
}

/// FIDInceptionE_1 (`pool: .average`, count_include_pad=False) and FIDInceptionE_2 (`pool: .max`, pytorch-fid's
/// 3x3 stride-1 max pool). x: (N, in, 8, 8) -> (N, 2048, 8, 8)
public final class FIDInceptionE: Module {
    public enum PoolBranch: Sendable { case average, max }
    public let branch1x1, branch3x3_1, branch3x3_2a, branch3x3_2b: BasicConv2d
    public let branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3a, branch3x3dbl_3b, branch_pool: BasicConv2d
    public let pool: PoolBranch
    /// With the average pool, `head` also holds the pool branch's convolution (bias in `poolBias`, `pool` unused).
    private struct Plan { let head: FoldedConv; let b3_2a, b3_2b, dbl_2, dbl_3a, dbl_3b, pool: FoldedConv; let poolBias: Tensor? }
    private var prepared = Prepared<Plan>()

    public init(_ inChannels: Int, pool: PoolBranch) {
        self.pool = pool
        branch1x1 = BasicConv2d(inChannels, 320, kernel: 1)
        branch3x3_1 = BasicConv2d(inChannels, 384, kernel: 1)
        branch3x3_2a = BasicConv2d(384, 384, kernel: (1, 3), padding: (0, 1))
        branch3x3_2b = BasicConv2d(384, 384, kernel: (3, 1), padding: (1, 0))
        branch3x3dbl_1 = BasicConv2d(inChannels, 448, kernel: 1)
        branch3x3dbl_2 = BasicConv2d(448, 384, kernel: 3, padding: 1)
        branch3x3dbl_3a = BasicConv2d(384, 384, kernel: (1, 3), padding: (0, 1))
        branch3x3dbl_3b = BasicConv2d(384, 384, kernel: (3, 1), padding: (1, 0))
        branch_pool = BasicConv2d(inChannels, 192, kernel: 1)
        super.init()
        for (name, m) in [("branch1x1", branch1x1), ("branch3x3_1", branch3x3_1), ("branch3x3_2a", branch3x3_2a),
                          ("branch3x3_2b", branch3x3_2b), ("branch3x3dbl_1", branch3x3dbl_1), ("branch3x3dbl_2", branch3x3dbl_2),
                          ("branch3x3dbl_3a", branch3x3dbl_3a), ("branch3x3dbl_3b", branch3x3dbl_3b),
                          ("branch_pool", branch_pool)] { registerModule(name, m) }
    }

    func prepare() {
        let pool = branch_pool.folded(), average = self.pool == .average
        prepared.set(Plan(head: .stacked([branch1x1.folded(), branch3x3_1.folded(), branch3x3dbl_1.folded()] + (average ? [pool.withoutBias()] : [])),
                          b3_2a: branch3x3_2a.folded(), b3_2b: branch3x3_2b.folded(), dbl_2: branch3x3dbl_2.folded(),
                          dbl_3a: branch3x3dbl_3a.folded(), dbl_3b: branch3x3dbl_3b.folded(), pool: pool,
                          poolBias: average ? pool.bias : nil))
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let p = prepared.get(pool == .average ? "Mixed_7b (FIDInceptionE_1)" : "Mixed_7c (FIDInceptionE_2)")
        let head: Tensor, poolBranch: Tensor
        if let bias = p.poolBias {
            (head, poolBranch) = headAndAveragePoolBranch(p.head, poolBias: bias, x)
        } else {
            head = p.head(x)
            poolBranch = p.pool(maxPool3x3(x, stride: 1, padding: 1))
        }
        let h = splitChannels(head, [320, 384, 448] + (p.poolBias == nil ? [] : [head.shape[1] - 1152]))
        let b3 = h[1].contiguous()
        let dbl = p.dbl_2(h[2])
        return Tensor.concat([h[0], p.b3_2a(b3), p.b3_2b(b3), p.dbl_3a(dbl), p.dbl_3b(dbl), poolBranch], axis: 1)
    }
}
