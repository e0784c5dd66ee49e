// Scalar random draws for the synthetic world, from counter-based Philox streams keyed by (seed, image index,
// purpose). Image i's identity, camera and captions therefore depend only on the seed and i: never on the thread
// count, the order images are made in, or where an interrupted run was resumed.
import Foundation
import TensorCore

/// What a stream is used for. Separate purposes keep, e.g., camera draws from shifting when caption code changes.
public enum RandomPurpose: UInt64, Sendable {
    case identity = 0, camera = 1, captions = 2, split = 3, lighting = 4, captionsOOD = 5
}

/// A stream of uniform and derived draws: block `counter` of Philox under key `seed`, stream (index, purpose).
public struct WorldRandom: Sendable {
    public let seed: UInt64
    public let stream: UInt64
    private var counter: UInt64 = 0
    private var block = SIMD4<UInt32>(repeating: 0)
    private var used = 4

    /// The stream for image `index` (any non-negative integer below 2^56) and `purpose`.
    public init(seed: UInt64, index: Int, purpose: RandomPurpose) {
        precondition(index >= 0 && index < 1 << 56, "WorldRandom: image index \(index) out of range")
        self.seed = seed
        self.stream = UInt64(index) << 8 | purpose.rawValue
    }

    /// 32 random bits.
    public mutating func next() -> UInt32 {
        if used == 4 {
            block = RandomGenerator.block(key: seed, stream: stream, counter: counter)
            counter += 1
            used = 0
        }
        defer { used += 1 }
        return block[used]
    }

    /// Uniform in (0, 1), never exactly 0 or 1.
    public mutating func uniform() -> Double { (Double(next() >> 8) + 0.5) * 0x1p-24 }

    /// Uniform in [lo, hi).
    public mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * uniform() }

    /// Standard normal (Box-Muller; one of the pair is discarded so every call uses exactly two words).
    public mutating func normal() -> Double {
        let u1 = uniform(), u2 = uniform()
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }

    /// True with probability p.
    public mutating func bernoulli(_ p: Double) -> Bool { uniform() < p }

    /// An index drawn with probability proportional to `weights` (non-negative, not all zero).
    public mutating func choice(_ weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        precondition(total > 0, "WorldRandom.choice: weights sum to zero")
        var x = uniform() * total
        for (i, w) in weights.enumerated() {
            if x < w { return i }
            x -= w
        }
        return weights.lastIndex(where: { $0 > 0 })!
    }

    /// An integer in 0..<n.
    public mutating func integer(below n: Int) -> Int {
        precondition(n > 0)
        return Int((UInt64(next()) << 32 | UInt64(next())) % UInt64(n))
    }

    /// A random element of a non-empty array.
    public mutating func pick<T>(_ items: [T]) -> T { items[integer(below: items.count)] }

    /// The array in random order (Fisher-Yates).
    public mutating func shuffled<T>(_ items: [T]) -> [T] {
        var a = items
        if a.count < 2 { return a }
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, integer(below: i + 1)) }
        return a
    }
}
