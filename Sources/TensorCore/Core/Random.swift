// Counter-based random numbers (Philox-4x32-10, Salmon et al. 2011): element i of a draw depends only on
// the seed and i, so the same seed gives the same tensor whatever the thread count.
import Foundation

public final class RandomGenerator: @unchecked Sendable {
    public let seed: UInt64
    /// Philox blocks (4 x 32 bits) consumed so far; the next draw starts here.
    public private(set) var counter: UInt64 = 0

    public init(seed: UInt64) { self.seed = seed }

    /// Continues a stream from a saved counter (checkpoint resume).
    public init(seed: UInt64, counter: UInt64) { self.seed = seed; self.counter = counter }

    @inline(__always) static func mulhilo(_ a: UInt32, _ b: UInt32) -> (UInt32, UInt32) {
        let p = UInt64(a) &* UInt64(b)
        return (UInt32(truncatingIfNeeded: p >> 32), UInt32(truncatingIfNeeded: p))
    }

    /// Philox-4x32-10 of counter `c` under key `k`.
    @inline(__always) static func philox(_ c: UInt64, _ stream: UInt64, _ k: UInt64) -> SIMD4<UInt32> {
        var x0 = UInt32(truncatingIfNeeded: c), x1 = UInt32(truncatingIfNeeded: c >> 32)
        var x2 = UInt32(truncatingIfNeeded: stream), x3 = UInt32(truncatingIfNeeded: stream >> 32)
        var k0 = UInt32(truncatingIfNeeded: k), k1 = UInt32(truncatingIfNeeded: k >> 32)
        for _ in 0..<10 {
            let (hi0, lo0) = mulhilo(0xD251_1F53, x0)
            let (hi1, lo1) = mulhilo(0xCD9E_8D57, x2)
            (x0, x1, x2, x3) = (hi1 ^ x1 ^ k0, lo1, hi0 ^ x3 ^ k1, lo0)
            k0 &+= 0x9E37_79B9
            k1 &+= 0xBB67_AE85
        }
        return SIMD4(x0, x1, x2, x3)
    }

    /// Uniform in (0, 1): 24 random bits, never exactly 0 or 1.
    @inline(__always) static func unit(_ u: UInt32) -> Float { (Float(u >> 8) + 0.5) * 0x1p-24 }

    private func reserve(_ n: Int) -> UInt64 {
        let start = counter
        counter += UInt64((n + 3) / 4)
        return start
    }

    /// Uniform draws in [low, high).
    public func uniform(_ shape: [Int], low: Float = 0, high: Float = 1) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        let n = t.count, start = reserve(n), p = t.data, key = seed
        parallelRanges((n + 3) / 4, grain: 4096) { r in
            for b in r {
                let w = RandomGenerator.philox(start + UInt64(b), 0, key)
                for j in 0..<4 where b * 4 + j < n {
                    p[b * 4 + j] = low + (high - low) * RandomGenerator.unit(w[j])
                }
            }
        }
        return t
    }

    /// Normal draws (Box-Muller on pairs of uniforms).
    public func normal(_ shape: [Int], mean: Float = 0, std: Float = 1) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        let n = t.count, start = reserve(n), p = t.data, key = seed
        parallelRanges((n + 3) / 4, grain: 4096) { r in
            for b in r {
                let w = RandomGenerator.philox(start + UInt64(b), 1, key)
                for pair in 0..<2 {
                    let u1 = RandomGenerator.unit(w[2 * pair]), u2 = RandomGenerator.unit(w[2 * pair + 1])
                    let rad = (-2 * Foundation.log(u1)).squareRoot(), th = 2 * Float.pi * u2
                    let i = b * 4 + 2 * pair
                    if i < n { p[i] = mean + std * rad * Foundation.cos(th) }
                    if i + 1 < n { p[i + 1] = mean + std * rad * Foundation.sin(th) }
                }
            }
        }
        return t
    }

    /// One Philox-4x32-10 block: four random 32-bit words that depend only on (key, stream, counter). For
    /// callers that draw scalars from their own counter-based streams (e.g. one stream per dataset image).
    public static func block(key: UInt64, stream: UInt64, counter: UInt64) -> SIMD4<UInt32> {
        philox(counter, stream, key)
    }

    /// A uniformly random integer in 0..<n (for shuffles and prompt sampling).
    public func integer(below n: Int) -> Int {
        require(n > 0, "RandomGenerator.integer: bound must be positive, got \(n)")
        let w = RandomGenerator.philox(reserve(4), 2, seed)
        let x = (UInt64(w[0]) << 32) | UInt64(w[1])
        return Int(x % UInt64(n))
    }
}
