// Counter-based randomness for training: every draw of step s for purpose p comes from a Philox generator
// keyed by (seed, purpose, s), so a run resumed at step s draws exactly what a straight run draws, whatever
// the thread count, with nothing to save but the step. Data order comes from per-epoch permutations keyed the
// same way.
import TensorCore

public struct StepRandom {
    public let seed: UInt64
    public init(seed: UInt64) { self.seed = seed }

    /// SplitMix64 finaliser.
    @inline(__always) public static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static func key(_ s: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325           // FNV-1a
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }

    /// The generator for `purpose` at `step` (a fresh one each call; draws from it are the step's own).
    public func generator(_ purpose: String, step: Int) -> RandomGenerator {
        RandomGenerator(seed: StepRandom.mix(StepRandom.mix(seed ^ StepRandom.key(purpose)) ^ UInt64(step)))
    }

    /// Item `i` of the data order: epochs of `count` items, each a Fisher-Yates permutation keyed by the epoch.
    public func permutation(count: Int, epoch: Int) -> [Int] {
        var order = Array(0..<count)
        let g = generator("data-order", step: epoch)
        if count > 1 {
            for i in stride(from: count - 1, to: 0, by: -1) { order.swapAt(i, g.integer(below: i + 1)) }
        }
        return order
    }
}

/// Batches of indices in the per-epoch order of `StepRandom.permutation`, addressable by step.
public struct DataOrder {
    public let random: StepRandom
    public let count: Int
    private var cache: (epoch: Int, order: [Int])?

    public init(random: StepRandom, count: Int) {
        require(count > 0, "DataOrder: no items")
        self.random = random; self.count = count
    }

    /// The `batch` indices of step `step` (batches run on across epoch boundaries).
    public mutating func batch(step: Int, size: Int) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(size)
        for j in 0..<size {
            let k = step * size + j
            let epoch = k / count
            if cache?.epoch != epoch { cache = (epoch, random.permutation(count: count, epoch: epoch)) }
            out.append(cache!.order[k % count])
        }
        return out
    }
}
