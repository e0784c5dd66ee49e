// Tensor: a view (shape, strides, offset) over a shared Storage, plus its place in the autograd graph.
// NCHW at the API, as PyTorch, so references compare directly. Float32 only; ops that return indices
// (argmax, argsort, searchsorted) return them as exact integer-valued floats (exact below 2^24).

public final class Tensor: @unchecked Sendable, CustomStringConvertible {
    public let storage: Storage
    public let shape: [Int]
    /// In elements, not bytes. A broadcast (expanded) axis has stride 0.
    public let strides: [Int]
    public let offset: Int
    /// Row-major and dense: the elements are `storage.base[offset ..< offset + count]` in order.
    public let isContiguous: Bool

    /// Set on a leaf to ask for its gradient; set by ops on results that depend on such a leaf.
    public var requiresGrad: Bool
    /// Accumulated by `backward()` on leaves.
    public var grad: Tensor?
    /// The op that produced this tensor, while the graph is alive.
    public internal(set) var node: Node?

    public init(storage: Storage, shape: [Int], strides: [Int]? = nil, offset: Int = 0, requiresGrad: Bool = false) {
        let st = strides ?? Tensor.contiguousStrides(shape)
        require(st.count == shape.count, "Tensor: \(shape.count) dimensions but \(st.count) strides")
        require(shape.allSatisfy { $0 >= 0 }, "Tensor: negative size in shape \(shape)")
        self.storage = storage
        self.shape = shape
        self.strides = st
        self.offset = offset
        self.requiresGrad = requiresGrad
        self.isContiguous = Tensor.isDense(shape, st)
        #if DEBUG
        if shape.reduce(1, *) > 0 {
            var lo = offset, hi = offset
            for (n, s) in zip(shape, st) { if s > 0 { hi += (n - 1) * s } else { lo += (n - 1) * s } }
            require(lo >= 0 && hi < storage.count, "Tensor: view \(shape) strides \(st) offset \(offset) exceeds storage of \(storage.count)")
        }
        #endif
    }

    /// A new contiguous tensor with uninitialised contents (kernels fill it).
    public convenience init(uninitializedShape shape: [Int]) {
        self.init(storage: Storage(count: shape.reduce(1, *)), shape: shape)
    }

    public convenience init(_ values: [Float], shape: [Int], requiresGrad: Bool = false) {
        let n = shape.reduce(1, *)
        require(values.count == n, "Tensor: \(values.count) values for shape \(shape) (\(n) elements)")
        let s = Storage(count: n)
        values.withUnsafeBufferPointer { s.base.update(from: $0.baseAddress!, count: n) }
        self.init(storage: s, shape: shape, requiresGrad: requiresGrad)
    }

    public convenience init(scalar: Float) { self.init([scalar], shape: []) }

    public static func zeros(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        Tensor(storage: Storage(zeros: shape.reduce(1, *)), shape: shape, requiresGrad: requiresGrad)
    }
    public static func full(_ shape: [Int], _ value: Float) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        t.storage.base.initialize(repeating: value, count: t.count)
        return t
    }
    public static func ones(_ shape: [Int]) -> Tensor { full(shape, 1) }
    public static func arange(_ n: Int) -> Tensor { Tensor((0..<n).map(Float.init), shape: [n]) }

    public var rank: Int { shape.count }
    public var count: Int { shape.reduce(1, *) }
    public var description: String { "Tensor\(shape)" }

    /// Pointer to the first element of a contiguous tensor. Keep the tensor alive while using it.
    public var data: UnsafeMutablePointer<Float> {
        require(isContiguous, "Tensor.data: tensor \(shape) strides \(strides) is not contiguous; call contiguous()")
        return storage.base + offset
    }

    /// Element values in row-major order (copies).
    public func toArray() -> [Float] {
        let c = contiguous()
        return Array(UnsafeBufferPointer(start: c.storage.base + c.offset, count: c.count))
    }

    public func item() -> Float {
        require(count == 1, "item: tensor has shape \(shape), not one element")
        return storage.base[offset]
    }

    /// Resolves a negative axis and checks it.
    @inlinable public func axis(_ a: Int, _ op: String = "axis") -> Int {
        let r = a < 0 ? a + rank : a
        require(r >= 0 && r < Swift.max(rank, 1), "\(op): axis \(a) out of range for shape \(shape)")
        return r
    }

    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) { s[i] = acc; acc *= Swift.max(shape[i], 1) }
        return s
    }

    static func isDense(_ shape: [Int], _ strides: [Int]) -> Bool {
        if shape.contains(0) { return true }  // no element to misplace
        var expected = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) where shape[i] != 1 {
            if strides[i] != expected { return false }
            expected *= shape[i]
        }
        return true
    }
}
