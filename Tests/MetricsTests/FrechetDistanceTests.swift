// FID's statistics and Fréchet distance against pytorch-fid (Scripts/make_metric_fixtures.py frechet):
// streaming Float64 mean/covariance against np.mean/np.cov, and the distance against scipy-sqrtm-based
// calculate_frechet_distance, including a rank-deficient case (fewer samples than dimensions).
import Foundation
import XCTest
@testable import Metrics
@testable import TensorCore

let metricFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/metrics")

func maxRelative(_ a: [Double], _ b: [Double]) -> Double {
    var num = 0.0, den = 0.0
    for i in 0..<a.count { num = max(num, abs(a[i] - b[i])); den = max(den, abs(b[i])) }
    return den == 0 ? num : num / den
}

final class FrechetDistanceTests: XCTestCase {
    func testStatisticsAndDistanceMatchPytorchFID() throws {
        let f = try SafeTensorsFile(path: metricFixtures.appendingPathComponent("frechet.safetensors").path)
        for name in ["wellconditioned_64", "rankdeficient_256", "moderate_256"] {
            var gaussians: [GaussianStatistics] = []
            for tag in ["a", "b"] {
                let features = try f.tensor("\(name).\(tag).features")
                let (n, d) = (features.shape[0], features.shape[1])
                var stats = FeatureStatistics(dimension: d)
                // Uneven batches: the streaming sums must not depend on how the rows arrive.
                var start = 0, size = 7
                while start < n { let end = min(n, start + size); stats.add(features.slice(axis: 0, start: start, end: end)); start = end; size = size * 2 + 3 }
                XCTAssertEqual(stats.count, n)
                XCTAssertLessThan(maxRelative(stats.mean, try f.doubles("\(name).\(tag).mu")), 1e-12, "\(name) \(tag) mean")
                XCTAssertLessThan(maxRelative(stats.covariance, try f.doubles("\(name).\(tag).sigma")), 1e-10, "\(name) \(tag) covariance")
                gaussians.append(GaussianStatistics(stats))
            }
            let fid = try frechetDistance(gaussians[0], gaussians[1])
            let expected = try f.doubles("\(name).fid")[0]
            XCTAssertLessThan(abs(fid - expected) / abs(expected), 1e-6, "\(name): FID \(fid) vs pytorch-fid \(expected)")
            // From pytorch-fid's own statistics too.
            let fromRef = try frechetDistance(
                GaussianStatistics(mean: try f.doubles("\(name).a.mu"), covariance: try f.doubles("\(name).a.sigma")),
                GaussianStatistics(mean: try f.doubles("\(name).b.mu"), covariance: try f.doubles("\(name).b.sigma")))
            XCTAssertLessThan(abs(fromRef - expected) / abs(expected), 1e-6, "\(name): FID from reference statistics")
        }
    }

    func testEigenDecompositionReconstructs() throws {
        let n = 37
        var a = [Double](repeating: 0, count: n * n)
        var state: UInt64 = 3
        for i in 0..<n { for j in 0...i {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let v = Double(state >> 11) / Double(1 << 53) - 0.5
            a[i * n + j] = v; a[j * n + i] = v
        } }
        let (values, vectors) = try symmetricEigen(a, n: n, vectors: true)
        let v = vectors!
        var worst = 0.0
        for i in 0..<n { for j in 0..<n {
            var s = 0.0
            for k in 0..<n { s += v[k * n + i] * values[k] * v[k * n + j] }
            worst = max(worst, abs(s - a[i * n + j]))
            var o = 0.0
            for k in 0..<n { o += v[i * n + k] * v[j * n + k] }
            worst = max(worst, abs(o - (i == j ? 1 : 0)))
        } }
        XCTAssertLessThan(worst, 1e-12, "V diag(λ) Vᵀ = A and V Vᵀ = I")
        let (valuesOnly, _) = try symmetricEigen(a, n: n, vectors: false)
        XCTAssertLessThan(maxRelative(valuesOnly.sorted(), values.sorted()), 1e-12)
        // Trace check.
        XCTAssertEqual(values.reduce(0, +), (0..<n).map { a[$0 * n + $0] }.reduce(0, +), accuracy: 1e-12)
    }

    func testStatisticsFileRoundTrip() throws {
        var s = FeatureStatistics(dimension: 5)
        s.add(RandomGenerator(seed: 1).normal([40, 5]))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("stats-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try s.save(to: path)
        let g = try GaussianStatistics(path: path)
        XCTAssertEqual(g.mean, s.mean)
        XCTAssertEqual(g.covariance, s.covariance)
        XCTAssertEqual(try frechetDistance(g, GaussianStatistics(s)), 0, accuracy: 1e-9)
        try saveSafeTensors(["x": Tensor.zeros([2])], to: path)
        XCTAssertThrowsError(try GaussianStatistics(path: path)) { XCTAssertTrue("\($0)".contains("not a statistics file"), "\($0)") }
    }
}

/// The row-oriented parallel eigensolver against the original serial tred2/tql2 port (EigenReference.swift).
final class SymmetricEigenTests: XCTestCase {
    func randomSymmetric(_ n: Int, rank: Int? = nil, seed: UInt64) -> [Double] {
        var state = seed
        func next() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53) - 0.5
        }
        guard let rank else {
            var a = [Double](repeating: 0, count: n * n)
            for i in 0..<n { for j in 0...i { let v = next(); a[i * n + j] = v; a[j * n + i] = v } }
            return a
        }
        // B Bᵀ with B n x rank: positive semi-definite, rank-deficient.
        let b = (0..<(n * rank)).map { _ in next() }
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { for r in 0..<rank { a[i * n + j] += b[i * rank + r] * b[j * rank + r] } } }
        return a
    }

    func testMatchesTheSerialReference() throws {
        for (n, rank, seed) in [(1, nil, 1), (2, nil, 2), (9, nil, 3), (130, nil, 4), (300, 40, 5), (517, nil, 6)] as [(Int, Int?, UInt64)] {
            let a = randomSymmetric(n, rank: rank, seed: seed)
            for vectors in [false, true] {
                let fast = try symmetricEigen(a, n: n, vectors: vectors)
                let slow = try referenceSymmetricEigen(a, n: n, vectors: vectors)
                XCTAssertLessThan(maxRelative(fast.values.sorted(), slow.values.sorted()), 1e-12, "n \(n) rank \(rank ?? n) values")
                if vectors {
                    // V diag(λ) Vᵀ reconstructs A as well as the reference does.
                    let v = fast.vectors!
                    var worst = 0.0, scale = 0.0
                    for i in 0..<n { for j in 0..<n {
                        var s = 0.0
                        for k in 0..<n { s += v[k * n + i] * fast.values[k] * v[k * n + j] }
                        worst = max(worst, abs(s - a[i * n + j])); scale = max(scale, abs(a[i * n + j]))
                    } }
                    XCTAssertLessThan(worst / scale, 1e-12, "n \(n) reconstruction")
                }
            }
        }
    }
}

final class Float64MatrixTests: XCTestCase {
    func testBlockedProductMatchesNaive() {
        var state: UInt64 = 11
        func next() -> Double { state = state &* 6364136223846793005 &+ 1442695040888963407; return Double(state >> 11) / Double(1 << 53) - 0.5 }
        for (m, k, p) in [(1, 1, 1), (3, 5, 7), (4, 8, 8), (13, 300, 29), (130, 517, 263)] {
            let a = (0..<(m * k)).map { _ in next() }, b = (0..<(k * p)).map { _ in next() }
            let c = multiply(a, b, m: m, k: k, p: p)
            var worst = 0.0
            for i in 0..<m { for j in 0..<p {
                var s = 0.0
                for kk in 0..<k { s += a[i * k + kk] * b[kk * p + j] }
                worst = max(worst, abs(s - c[i * p + j]))
            } }
            XCTAssertLessThan(worst, 1e-12, "\(m)x\(k) · \(k)x\(p)")
            XCTAssertEqual(transposed(transposed(a, rows: m, columns: k), rows: k, columns: m), a)
        }
        // S Σ Sᵀ against the product written out.
        let s = (0..<(6 * 10)).map { _ in next() }, sigma = (0..<100).map { _ in next() }
        let direct = multiply(multiply(s, sigma, m: 6, k: 10, p: 10), transposed(s, rows: 6, columns: 10), m: 6, k: 10, p: 6)
        XCTAssertEqual(congruence(s, sigma, rows: 6, n: 10), direct)
    }
}
