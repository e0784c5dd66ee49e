// Random text conditionings for the adapter and text-conditioned generator tests.
import TensorCore
import TestSupport
@testable import TriPlaneGAN

/// N prompts of `length` word slots with `counts[i]` real words each: random eot and words (the padded slots
/// hold random values too, which the mask must hide).
func randomText(counts: [Int], length: Int, dim: Int, seed: UInt64) -> TextConditioning {
    let n = counts.count
    var mask = [Float](repeating: 0, count: n * length)
    for (i, c) in counts.enumerated() { for j in 0..<c { mask[i * length + j] = 1 } }
    return TextConditioning(eot: testTensor([n, dim], seed: seed, low: -2, high: 2),
                            words: testTensor([n, length, dim], seed: seed + 1, low: -2, high: 2),
                            mask: Tensor(mask, shape: [n, length]))
}

/// `text` with word slot (i, j) replaced by other random values.
func replacingWord(_ text: TextConditioning, sample i: Int, slot j: Int, seed: UInt64) -> TextConditioning {
    var w = text.words.toArray()
    let (l, d) = (text.length, text.dim)
    let fresh = testTensor([d], seed: seed, low: -2, high: 2).toArray()
    for k in 0..<d { w[(i * l + j) * d + k] = fresh[k] }
    return TextConditioning(eot: text.eot, words: Tensor(w, shape: text.words.shape), mask: text.mask)
}
