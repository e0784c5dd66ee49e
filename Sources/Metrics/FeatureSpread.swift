// The spread of a set of image features, for the mode-collapse check (issue 12 §3: the judge-feature spread over
// 8 seeds of one prompt against the spread of real world images that fit the same caption): the mean over pairs
// i < j of the cosine distance 1 − cos(f_i, f_j). 0 when every image gives the same feature (collapse); it grows
// with diversity. Float64 accumulation.
import TensorCore

public enum FeatureSpread {
    /// features (N, D), N ≥ 2 → mean pairwise cosine distance.
    public static func meanPairwiseCosineDistance(_ features: Tensor) -> Double {
        require(features.rank == 2 && features.shape[0] >= 2, "FeatureSpread: features must be (N ≥ 2, D), got \(features.shape)")
        let (n, d) = (features.shape[0], features.shape[1])
        let v = features.toArray().map(Double.init)
        let norms = (0..<n).map { i in (0..<d).reduce(0.0) { $0 + v[i * d + $1] * v[i * d + $1] }.squareRoot() }
        var sum = 0.0
        for i in 0..<n { for j in (i + 1)..<n {
            let dot = (0..<d).reduce(0.0) { $0 + v[i * d + $1] * v[j * d + $1] }
            sum += 1 - dot / Swift.max(norms[i] * norms[j], 1e-12)
        } }
        return sum / Double(n * (n - 1) / 2)
    }
}
