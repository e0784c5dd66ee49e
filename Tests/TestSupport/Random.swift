// Seeded test data: fixed pseudo-random tensors and a tiny generator for byte-level fuzzers. Same seed, same
// values, on every platform.
import TensorCore

/// A fixed pseudo-random tensor, uniform in [low, high), from TensorCore's RandomGenerator.
public func testTensor(_ shape: [Int], seed: UInt64, low: Float = -1, high: Float = 1, requiresGrad: Bool = false) -> Tensor {
    let t = RandomGenerator(seed: seed).uniform(shape, low: low, high: high)
    t.requiresGrad = requiresGrad
    return t
}

/// SplitMix64: a tiny, fast, seeded generator for tests and fuzzers (reproducible across runs and platforms).
public struct SeededRandom: RandomNumberGenerator {
    public var state: UInt64
    public init(_ seed: UInt64) { state = seed }
    public init(state: UInt64) { self.state = state }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// In 0..<max(n, 1); always draws once.
    public mutating func int(_ n: Int) -> Int { Int(next() % UInt64(Swift.max(n, 1))) }
    /// In 0..<n; 0 without drawing when n <= 0.
    public mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
    /// An element of a non-empty array.
    public mutating func pick<T>(_ xs: [T]) -> T { xs[below(xs.count)] }
    public mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
    /// In [0, 1), 53 random bits.
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    public mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in byte() } }
}
