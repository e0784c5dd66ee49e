// The text input of the conditioned generator: DreamPortrait §3.2 (Hierarchical Latent Condition: t_EOT for the
// global semantics mapping, the word tokens t_word^i for the local adapters) and our method doc
// (docs/dreamportrait-method.md) §2: CLIP last_hidden_state, t_EOT at the argmax of the token ids, words at
// positions 1 … EOT-1, padding masked in every attention that consumes them.
import TensorCore

/// One batch of encoded prompts, as the semantics mapping network and the adapters consume it.
///
/// * `eot`: (N, Dt), the CLIP feature at each prompt's end-of-text position (global injection).
/// * `words`: (N, L, Dt), the features at positions 1 … EOT-1 (the word tokens), zero-padded to L.
/// * `mask`: (N, L), 1 for a real word token, 0 for padding. A prompt may have no words at all (an empty
///   prompt): its row is all zeros and the adapters' attention then contributes nothing for that sample.
///
/// The initialiser checks that the shapes agree and that the mask holds only 0 and 1. `eot` and `words`
/// keep their autograd history (CLIP is frozen in training, but nothing here prevents differentiating).
/// The mask never carries a gradient.
public struct TextConditioning {
    public let eot: Tensor
    public let words: Tensor
    public let mask: Tensor

    /// Validates and stores the three tensors (see the type's documentation for the shapes).
    public init(eot: Tensor, words: Tensor, mask: Tensor) {
        require(eot.rank == 2, "TextConditioning: eot must be (N, Dt), got \(eot.shape)")
        require(words.rank == 3, "TextConditioning: words must be (N, L, Dt), got \(words.shape)")
        require(mask.rank == 2, "TextConditioning: mask must be (N, L), got \(mask.shape)")
        let (n, dt) = (eot.shape[0], eot.shape[1])
        require(n >= 1 && dt >= 1, "TextConditioning: eot \(eot.shape) is empty")
        require(words.shape[0] == n && words.shape[2] == dt,
                "TextConditioning: words \(words.shape) do not match eot \(eot.shape) (need (N, L, Dt) = (\(n), L, \(dt)))")
        require(mask.shape == [n, words.shape[1]],
                "TextConditioning: mask \(mask.shape) must be (N, L) = [\(n), \(words.shape[1])] to match words \(words.shape)")
        let values = mask.toArray()
        if let bad = values.firstIndex(where: { $0 != 0 && $0 != 1 }) {
            let l = Swift.max(words.shape[1], 1)
            fatalError("TextConditioning: mask must hold only 0 (padding) and 1 (word); mask[\(bad / l), \(bad % l)] = \(values[bad])")
        }
        self.eot = eot
        self.words = words
        self.mask = mask.detach()
    }

    /// Batch size N.
    public var batch: Int { eot.shape[0] }
    /// Padded word count L.
    public var length: Int { words.shape[1] }
    /// Token feature size Dt (1024 for Stable Diffusion 2's OpenCLIP ViT-H/14 text encoder).
    public var dim: Int { eot.shape[1] }
    /// The number of real (unmasked) word tokens per prompt.
    public var wordCounts: [Int] {
        let m = mask.toArray(), l = length
        return (0..<batch).map { i in (0..<l).reduce(0) { $0 + (m[i * l + $1] != 0 ? 1 : 0) } }
    }

    /// The conditioning for a batch of `n`: itself when it already has n prompts; one prompt repeated n times
    /// (a broadcast view, differentiable in `eot` and `words`) when it has one. Other sizes are an error.
    public func expanded(toBatch n: Int) -> TextConditioning {
        if batch == n { return self }
        require(batch == 1 && n >= 1, "TextConditioning: \(batch) prompts cannot serve a batch of \(n) (give one prompt or one per sample)")
        return TextConditioning(eot: eot.expand([n, dim]), words: words.expand([n, length, dim]), mask: mask.expand([n, length]))
    }

    /// Builds the conditioning from a CLIP text encoder's output, as method doc §2 describes.
    /// - Parameters:
    ///   - hiddenStates: (N, T, Dt), the encoder's `last_hidden_state` (T = 77 for CLIP).
    ///   - tokenIDs: N rows of T token ids, the encoder's input. The EOT position of a row is the argmax of its
    ///     ids (the first maximum: CLIP's EOT id is the largest in its vocabulary, and tokenisers that pad with
    ///     the EOT id put the real EOT first).
    ///   - maxWords: L, the padded word count; defaults to T - 2 (75 for CLIP: every position but SOT and EOT).
    /// - Returns: eot = hiddenStates[i, EOT_i], words = hiddenStates[i, 1 ..< EOT_i] zero-padded to L, mask 1 on
    ///   the EOT_i - 1 real words. Built from slices, so it is differentiable in `hiddenStates`.
    public static func fromCLIP(hiddenStates: Tensor, tokenIDs: [[Int]], maxWords: Int? = nil) -> TextConditioning {
        require(hiddenStates.rank == 3, "TextConditioning.fromCLIP: hiddenStates must be (N, T, Dt), got \(hiddenStates.shape)")
        let (n, t, dt) = (hiddenStates.shape[0], hiddenStates.shape[1], hiddenStates.shape[2])
        require(tokenIDs.count == n, "TextConditioning.fromCLIP: \(tokenIDs.count) rows of token ids for \(n) hidden states")
        let l = maxWords ?? Swift.max(t - 2, 0)
        require(l >= 0, "TextConditioning.fromCLIP: maxWords must be non-negative, got \(l)")
        var eots: [Tensor] = [], rows: [Tensor] = []
        var maskValues = [Float](repeating: 0, count: n * l)
        for (i, ids) in tokenIDs.enumerated() {
            require(ids.count == t, "TextConditioning.fromCLIP: row \(i) has \(ids.count) token ids for T = \(t) hidden states")
            var e = 0
            for j in 1..<Swift.max(t, 1) where ids[j] > ids[e] { e = j }
            require(e >= 1, "TextConditioning.fromCLIP: row \(i): the largest token id is at position 0 (expected SOT there and EOT after it)")
            let count = e - 1
            require(count <= l, "TextConditioning.fromCLIP: row \(i) has \(count) word tokens, more than maxWords = \(l)")
            let sample = hiddenStates.slice(axis: 0, start: i, end: i + 1)        // (1, T, Dt)
            eots.append(sample.slice(axis: 1, start: e, end: e + 1).reshape([1, dt])) // (1, Dt)
            if count == 0 {
                rows.append(Tensor.zeros([1, l, dt]))                               // (1, L, Dt): no words
            } else {
                let w = sample.slice(axis: 1, start: 1, end: e)                     // (1, count, Dt)
                rows.append(w.pad([(0, 0), (0, l - count), (0, 0)]))                // (1, L, Dt)
            }
            for j in 0..<count { maskValues[i * l + j] = 1 }
        }
        return TextConditioning(eot: Tensor.concat(eots, axis: 0), words: Tensor.concat(rows, axis: 0),
                                mask: Tensor(maskValues, shape: [n, l]))
    }

    /// `fromCLIP` with the token ids as an (N, T) tensor of integer-valued floats (TensorCore's index convention).
    public static func fromCLIP(hiddenStates: Tensor, tokenIDs: Tensor, maxWords: Int? = nil) -> TextConditioning {
        require(tokenIDs.rank == 2, "TextConditioning.fromCLIP: tokenIDs must be (N, T), got \(tokenIDs.shape)")
        let (n, t) = (tokenIDs.shape[0], tokenIDs.shape[1])
        let v = tokenIDs.toArray()
        for x in v { require(x == x.rounded() && x >= 0, "TextConditioning.fromCLIP: token id \(x) is not a non-negative integer") }
        let ids = (0..<n).map { i in (0..<t).map { Int(v[i * t + $0]) } }
        return fromCLIP(hiddenStates: hiddenStates, tokenIDs: ids, maxWords: maxWords)
    }
}
