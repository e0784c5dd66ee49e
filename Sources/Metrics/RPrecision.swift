// CLIP R-precision, R-P (paper §4.1, after Park et al. 2021 [29]; method doc §7): the fraction of generated
// images whose true caption ranks first, by CLIP cosine similarity to the image, among the true caption and 99
// captions drawn from other images. The paper reports it in percent.
//
// Sampling (reproducible from a seed): the caption pool is every distinct caption string of every image, in
// order of first appearance (image 0's captions, then image 1's, ...). Image i's first caption is its true
// caption; its distractors are drawn WITHOUT replacement from the pool minus every string among image i's own
// captions (a caption shared with another image is never a distractor of either). The draw is a Fisher-Yates
// shuffle of the pool indices, stopped once 99 eligible captions are out (a uniformly random 99-subset of the
// eligible ones), driven by the counter-based RandomGenerator: key = seed, one Philox stream per image
// (`rPrecisionStream + i`), each step j = k + (64 random bits mod (M − k)) (modulo bias below 2⁻⁴⁰ for
// pools under 2²⁴). So an image's distractors depend only on the seed, its index and the pool.
//
// Ranking: rank = 1 + the number of distractors whose cosine is ≥ the true caption's; a tie counts against the
// image (rank > 1, a failure). R-precision = the fraction of images at rank 1. Each distinct caption needed (true
// ones and drawn distractors) is embedded exactly once, in one `textEmbeddings` call.
import Foundation
import TensorCore

/// R-precision of a set of images, with what each image scored.
public struct RPrecisionResult: Codable, Equatable, Sendable {
    /// Each image's true caption rank among its candidates (1 = first; ties count against the true caption).
    public let ranks: [Int]
    /// Candidates per image: the true caption and the distractors (100 in the paper).
    public let candidates: Int
    /// The sampling seed.
    public let seed: UInt64

    /// Whether each image's true caption ranked first.
    public var hits: [Bool] { ranks.map { $0 == 1 } }
    /// The fraction of images whose true caption ranked first (0 for no images).
    public var precision: Double { ranks.isEmpty ? 0 : Double(ranks.filter { $0 == 1 }.count) / Double(ranks.count) }
    /// `precision` in percent, as the paper's tables report R-P.
    public var percent: Double { 100 * precision }
}

/// The Philox stream base of the distractor draws (image i uses stream rPrecisionStream + i).
public let rPrecisionStream: UInt64 = 0x5250_0000_0000_0000

/// Image i's distractor captions: `count` distinct strings drawn without replacement from the captions of the
/// other images, none equal to any of image i's own captions (see the file header for the exact draw).
/// captions[i] lists image i's captions, its true caption first.
/// - Throws: `CLIPMetricError` when an image has no caption, or fewer than `count` eligible distinct captions
///   exist for some image (R-precision over 1 + `count` candidates needs at least 1 + `count` distinct captions).
public func rPrecisionDistractors(captions: [[String]], count: Int = 99, seed: UInt64) throws -> [[String]] {
    guard count > 0 else { throw CLIPMetricError("R-precision: the number of distractors must be positive, got \(count)") }
    if let i = captions.firstIndex(where: \.isEmpty) {
        throw CLIPMetricError("R-precision: image \(i) has no caption (its first caption is the true one)")
    }
    var pool: [String] = [], seen: [String: Int] = [:]
    for list in captions { for c in list where seen[c] == nil { seen[c] = pool.count; pool.append(c) } }
    return try captions.enumerated().map { i, own in
        let ownIndices = Set(own.compactMap { seen[$0] })
        let eligible = pool.count - ownIndices.count
        guard eligible >= count else {
            throw CLIPMetricError("R-precision needs \(count) distractor captions per image (\(count + 1) candidates) but only \(pool.count) distinct captions were given: image \(i) has \(eligible) distinct captions of other images to draw from")
        }
        // Sparse Fisher-Yates over pool indices 0..<M: `moved[k]` is the index now at position k.
        var moved: [Int: Int] = [:], drawn: [String] = [], k = 0, counter: UInt64 = 0
        var words: [UInt64] = []
        let m = pool.count
        while drawn.count < count {
            if words.isEmpty {
                let w = RandomGenerator.block(key: seed, stream: rPrecisionStream &+ UInt64(i), counter: counter)
                counter += 1
                words = [(UInt64(w[2]) << 32) | UInt64(w[3]), (UInt64(w[0]) << 32) | UInt64(w[1])]
            }
            let j = k + Int(words.removeLast() % UInt64(m - k))
            let picked = moved[j] ?? j
            moved[j] = moved[k] ?? k
            k += 1
            if !ownIndices.contains(picked) { drawn.append(pool[picked]) }
        }
        return drawn
    }
}

/// R-precision from precomputed image embeddings (N, D) (e.g. accumulated batch by batch with
/// `CLIPScorer.imageEmbeddings`); captions[i] lists image i's captions, true caption first; `embedder` embeds
/// the captions (only its `textEmbeddings` is used).
/// - Throws: `CLIPMetricError` for mismatched counts, too few distinct captions, or a zero embedding.
public func clipRPrecision(imageEmbeddings: Tensor, captions: [[String]], embedder: CLIPEmbedder, seed: UInt64,
                           distractors: Int = 99) throws -> RPrecisionResult {
    guard imageEmbeddings.rank == 2, imageEmbeddings.shape[0] == captions.count else {
        throw CLIPMetricError("R-precision: image embeddings \(imageEmbeddings.shape) do not match \(captions.count) caption lists (one per image, shape (N, D))")
    }
    let drawn = try rPrecisionDistractors(captions: captions, count: distractors, seed: seed)
    // Every caption needed, once.
    var needed: [String] = [], row: [String: Int] = [:]
    for (own, others) in zip(captions, drawn) {
        for c in [own[0]] + others where row[c] == nil { row[c] = needed.count; needed.append(c) }
    }
    let text = try embedder.textEmbeddings(needed)                                     // (T, D)
    let d = imageEmbeddings.shape[1]
    guard text.rank == 2, text.shape == [needed.count, d] else {
        throw CLIPMetricError("R-precision: the embedder returned \(text.shape) for \(needed.count) captions; image embeddings are \(d) wide")
    }
    let x = imageEmbeddings.toArray(), t = text.toArray()
    let ranks = try captions.indices.map { i -> Int in
        func similarity(_ c: String) throws -> Double {
            guard let s = cosine(x, i * d, t, row[c]! * d, d) else {
                throw CLIPMetricError("R-precision: image \(i) or caption \"\(c)\" has a zero embedding")
            }
            return s
        }
        let truth = try similarity(captions[i][0])
        return try 1 + drawn[i].filter { try similarity($0) >= truth }.count
    }
    return RPrecisionResult(ranks: ranks, candidates: distractors + 1, seed: seed)
}

/// R-precision of images (N, 3, H, W) in [0, 1]; captions[i] lists image i's captions, true caption first.
public func clipRPrecision(images: Tensor, captions: [[String]], embedder: CLIPEmbedder, seed: UInt64,
                           distractors: Int = 99) throws -> RPrecisionResult {
    guard images.rank == 4, images.shape[0] == captions.count else {
        throw CLIPMetricError("R-precision: images \(images.shape) do not match \(captions.count) caption lists (one per image, shape (N, 3, H, W))")
    }
    return try clipRPrecision(imageEmbeddings: embedder.imageEmbeddings(images), captions: captions,
                              embedder: embedder, seed: seed, distractors: distractors)
}

/// R-precision with one caption per image (captions[i] is image i's true caption).
public func clipRPrecision(images: Tensor, captions: [String], embedder: CLIPEmbedder, seed: UInt64,
                           distractors: Int = 99) throws -> RPrecisionResult {
    try clipRPrecision(images: images, captions: captions.map { [$0] }, embedder: embedder, seed: seed, distractors: distractors)
}
