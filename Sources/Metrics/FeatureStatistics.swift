// Streaming mean and covariance of feature vectors in Float64 (pytorch-fid's np.mean / np.cov(rowvar=False)
// over all features at once, computed here without holding the features: memory is constant in the number
// of images). Sums are taken about a fixed shift (the first batch's mean) to avoid cancellation.
import Foundation
import TensorCore

public struct FeatureStatistics {
    public let dimension: Int
    public private(set) var count = 0
    private var shift: [Double] = []
    private var sum: [Double]          // Σ (x - shift)
    private var cross: [Double]        // Σ (x - shift)(x - shift)ᵀ, lower triangle filled, row-major d x d

    public init(dimension: Int) {
        self.dimension = dimension
        sum = [Double](repeating: 0, count: dimension)
        cross = [Double](repeating: 0, count: dimension * dimension)
    }

    /// Adds a batch of feature rows. features: (N, dimension).
    public mutating func add(_ features: Tensor) {
        require(features.rank == 2 && features.shape[1] == dimension,
                "FeatureStatistics.add: features \(features.shape) are not (N, \(dimension))")
        let n = features.shape[0], d = dimension
        if n == 0 { return }
        let x = features.contiguous().toArray().map(Double.init)
        if shift.isEmpty {
            shift = [Double](repeating: 0, count: d)
            for i in 0..<n { for j in 0..<d { shift[j] += x[i * d + j] } }
            for j in 0..<d { shift[j] /= Double(n) }
        }
        var centred = x
        for i in 0..<n { for j in 0..<d { centred[i * d + j] -= shift[j] } }
        for i in 0..<n { for j in 0..<d { sum[j] += centred[i * d + j] } }
        // cross[r][c] += Σ_i centred[i][r] · centred[i][c] for c ≤ r, rows in parallel.
        centred.withUnsafeBufferPointer { cb in
            cross.withUnsafeMutableBufferPointer { sb in
                let c = cb.baseAddress!, s = sb.baseAddress!
                parallelRanges(d, grain: 16) { rows in
                    for r in rows {
                        let out = s + r * d
                        for i in 0..<n {
                            let v = c[i * d + r], row = c + i * d
                            if v == 0 { continue }
                            var k = 0
                            while k + 8 <= r + 1 {
                                let acc = UnsafeRawPointer(out + k).loadUnaligned(as: SIMD8<Double>.self)
                                let xs = UnsafeRawPointer(row + k).loadUnaligned(as: SIMD8<Double>.self)
                                UnsafeMutableRawPointer(out + k).storeBytes(of: acc.addingProduct(xs, SIMD8(repeating: v)), as: SIMD8<Double>.self)
                                k += 8
                            }
                            while k <= r { out[k] += v * row[k]; k += 1 }
                        }
                    }
                }
            }
        }
        count += n
    }

    /// The mean of all rows added.
    public var mean: [Double] {
        guard count > 0 else { return [Double](repeating: .nan, count: dimension) }
        return (0..<dimension).map { shift[$0] + sum[$0] / Double(count) }
    }

    /// The unbiased covariance (divisor N - 1, as np.cov), full symmetric d x d row-major.
    public var covariance: [Double] {
        let d = dimension, n = Double(count)
        var c = [Double](repeating: .nan, count: d * d)
        guard count > 1 else { return c }
        for r in 0..<d {
            for k in 0...r {
                let v = (cross[r * d + k] - sum[r] * sum[k] / n) / (n - 1)
                c[r * d + k] = v
                c[k * d + r] = v
            }
        }
        return c
    }

    /// Saves mean and covariance (Float64) so reference statistics are computed once.
    public func save(to path: String, metadata: [String: String] = [:]) throws {
        require(count > 1, "FeatureStatistics.save: need at least two feature rows, have \(count)")
        var meta = metadata
        meta["count"] = String(count)
        let data = try safeTensorsData(float64: ["mu": (mean, [dimension]), "sigma": (covariance, [dimension, dimension])], metadata: meta)
        try writeAtomically(data, to: URL(fileURLWithPath: path))
    }
}

/// Mean and covariance read from a statistics file written by FeatureStatistics.save (or converted from a
/// pytorch-fid .npz with Scripts/convert_fid_stats.py).
public struct GaussianStatistics {
    public let mean: [Double]
    public let covariance: [Double]
    public var dimension: Int { mean.count }

    public init(mean: [Double], covariance: [Double]) {
        require(covariance.count == mean.count * mean.count, "GaussianStatistics: covariance \(covariance.count) values for dimension \(mean.count)")
        self.mean = mean; self.covariance = covariance
    }
    public init(_ s: FeatureStatistics) { self.init(mean: s.mean, covariance: s.covariance) }

    public init(path: String) throws {
        let f = try SafeTensorsFile(path: path)
        guard let mu = f.entries["mu"], let sigma = f.entries["sigma"] else {
            throw FileError(path: path, message: "not a statistics file: it needs tensors \"mu\" and \"sigma\"")
        }
        let d = mu.shape.reduce(1, *)
        guard mu.shape.count == 1, sigma.shape == [d, d] else {
            throw FileError(path: path, message: "statistics shapes do not match: mu \(mu.shape), sigma \(sigma.shape)")
        }
        let mean = try f.doubles("mu"), covariance = try f.doubles("sigma")
        guard mean.count == d, covariance.count == d * d else {
            throw FileError(path: path, message: "mu has \(mean.count) values and sigma \(covariance.count); expected \(d) and \(d * d)")
        }
        if let bad = (mean + covariance).first(where: { !$0.isFinite }) {
            throw FileError(path: path, message: "statistics hold a non-finite value (\(bad))")
        }
        self.init(mean: mean, covariance: covariance)
    }
}
