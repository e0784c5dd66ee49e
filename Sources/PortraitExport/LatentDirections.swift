// How far one direction of w moves each attribute of an unconditional generator's portraits: the ceiling of what a
// text path that only shifts w (DreamPortrait's semantics mapping, w_t = w + Δ(w, t_EOT), with G frozen) can steer
// by a shift that is the same for every w. InterFaceGAN-style (Shen et al., CVPR 2020), with the class-mean difference
// in place of a linear SVM:
//
//     fit:   w_i (i < fitCount) from seeds fitSeed + i, verdict_i = classifier(frontal view of w_i)[a] > 0.5
//            d_a = mean(w | verdict) − mean(w | ¬verdict)                (nil when either side has < minimumEachSide)
//     test:  for each α, the share of w_j + α·d_a (j < testCount, seeds testSeed + j, other than the fit's) whose
//            verdict is "present"; α = 0 is the base rate on the test seeds
//
// A direction that takes the share from near 0 to near 1 over the α range is one the semantics mapping could learn;
// one that leaves it flat says the generator does not hold that attribute along any single direction of w (the
// adapters, or G itself, must carry it). w is each sample's truncated w (ψ, as `generate` and `eval` use), the same
// row for every layer; the shift is added after truncation, where the semantics mapping adds its own.
import Foundation
import TensorCore
import TriPlaneGAN
import PortraitWorld

public enum LatentDirections {
    public struct Settings: Sendable {
        public var fitCount = 300, testCount = 60
        /// Multiples of each direction to count at, ascending (the swing reads the first and the last).
        public var alphas: [Float] = [-1.5, -1, 0, 1, 1.5]
        public var truncationPsi: Float = 0.7
        public var minimumEachSide = 5
        public var fitSeed: UInt64 = 1_000, testSeed: UInt64 = 50_000
        public init() {}
    }

    /// One attribute's row: how many fit samples showed it, and the share present at each α on the test samples
    /// (empty when no direction could be fitted).
    public struct Row: Sendable {
        public var attribute: Attribute
        public var presentInFit: Int, fitCount: Int
        public var shifted: [(alpha: Float, present: Int, of: Int)]
        /// Present at the largest α minus present at the smallest, as a share of the test samples: 1 for a direction
        /// that switches the attribute on for every sample, 0 for one that does nothing.
        public var swing: Double? {
            guard let lo = shifted.first, let hi = shifted.last, lo.of > 0 else { return nil }
            return Double(hi.present - lo.present) / Double(lo.of)
        }
    }

    /// d = mean(ws | verdict) − mean(ws | ¬verdict); nil when either side has fewer than `minimumEachSide` rows.
    /// - Parameters: ws: rows of equal length; verdicts: one per row.
    public static func direction(ws: [[Float]], verdicts: [Bool], minimumEachSide: Int) -> [Float]? {
        precondition(ws.count == verdicts.count, "LatentDirections: \(ws.count) rows of w for \(verdicts.count) verdicts")
        let pos = verdicts.indices.filter { verdicts[$0] }, neg = verdicts.indices.filter { !verdicts[$0] }
        guard pos.count >= minimumEachSide, neg.count >= minimumEachSide, let dim = ws.first?.count else { return nil }
        var d = [Double](repeating: 0, count: dim)
        for i in pos { for t in 0..<dim { d[t] += Double(ws[i][t]) / Double(pos.count) } }
        for i in neg { for t in 0..<dim { d[t] -= Double(ws[i][t]) / Double(neg.count) } }
        return d.map { Float($0) }
    }

    /// Fits and tests a direction per attribute.
    /// - Parameters:
    ///   - sampleW: seed -> the truncated w of that seed, any shape (the generator's ws: (1, num_ws, wDim)).
    ///   - probabilities: w (sampleW's shape) and the sample's index -> the classifier's probabilities, `Attribute.allCases` order
    ///     (render the frontal view of the generator at w, classify it).
    ///   - progress: (done, total) renders.
    public static func measure(attributes: [Attribute], settings s: Settings, sampleW: (UInt64) throws -> Tensor,
                               probabilities: (Tensor, Int) throws -> [Float],
                               progress: ((Int, Int) -> Void)? = nil) throws -> [Row] {
        let total = s.fitCount + attributes.count * s.alphas.count * s.testCount
        var done = 0
        func tick() { done += 1; progress?(done, total) }
        var fitW: [[Float]] = [], fitP: [[Float]] = []
        for i in 0..<s.fitCount {
            let w = try sampleW(s.fitSeed &+ UInt64(i))
            fitW.append(w.toArray()); fitP.append(try probabilities(w, i)); tick()
        }
        let testW = try (0..<s.testCount).map { try sampleW(s.testSeed &+ UInt64($0)) }
        let all = Attribute.allCases
        return try attributes.map { a in
            let k = all.firstIndex(of: a)!
            let verdicts = fitP.map { $0[k] > 0.5 }
            var row = Row(attribute: a, presentInFit: verdicts.filter { $0 }.count, fitCount: s.fitCount, shifted: [])
            guard let d = direction(ws: fitW, verdicts: verdicts, minimumEachSide: s.minimumEachSide) else {
                done += s.alphas.count * s.testCount; progress?(done, total)
                return row
            }
            let dt = Tensor(d, shape: testW[0].shape)
            for alpha in s.alphas {
                var present = 0
                for (j, w) in testW.enumerated() {
                    if try probabilities(w + dt * alpha, s.fitCount + j)[k] > 0.5 { present += 1 }
                    tick()
                }
                row.shifted.append((alpha, present, s.testCount))
            }
            return row
        }
    }

    /// An unconditional generator's frontal portrait at ws (1, num_ws, wDim), as `generate` writes it (8-bit values),
    /// in [-1, 1]: (1, 3, S, S). The renderer's draws come from `seed`.
    public static func frontalImage(_ g: TriPlaneGenerator, ws: Tensor, seed: UInt64) -> Tensor {
        withNoGrad {
            let out = g.render(planes: g.planes(ws, noiseMode: .const), ws: ws, cameras: Camera.labels([Camera.frontal()]),
                               random: GeneratorRandomSource(seed: seed))
            let q: [Float] = out.image.toArray().map { v in   // ImageExport.rgb8's rule, back to [-1, 1]
                let x = v * 127.5 + 128
                return (x >= 255 ? 255 : (x > 0 ? x.rounded(.down) : 0)) / 127.5 - 1
            }
            return Tensor(q, shape: out.image.shape)
        }
    }

    /// The truncated ws of `seed` for an unconditional generator: (1, num_ws, wDim), every row the same w (frontal
    /// conditioning camera, no truncation cutoff), as `generate` draws it.
    public static func truncatedW(_ g: TriPlaneGenerator, seed: UInt64, psi: Float) -> Tensor {
        withNoGrad { g.mapping(RandomGenerator(seed: seed).normal([1, g.config.zDim]), Camera.labels([Camera.frontal()]), truncationPsi: psi) }
    }
}
