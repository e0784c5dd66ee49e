// 3D consistency: the reprojection error between neighbouring views through the rendered depth (issue 12 §2, a
// column the paper lacks).
//
// Definition. A view is a depth map t (R×R, the distance along each pixel's unit ray, as EG3D's renderer gives
// it), its accumulated weight w (R×R) and its EG3D camera label (row-major cam2world, then the normalised
// intrinsics). Pixel (row i, column j) has the ray of EG3D's ray sampler: u = (j + 0.5)/R, v = (i + 0.5)/R,
// d ∝ cam2world·((u − cx + cy·s/fy − s·v/fy)/fx, (v − cy)/fy, 1, 0), normalised, from the camera centre o.
// A pixel is foreground when w ≥ 0.5.
//
// One way, A → B: every foreground pixel p of A gives the surface point X = o_A + t_A(p)·d_A(p). X is projected
// into B (pinhole, the inverse of the ray formula) at the continuous pixel position q. If q lies inside B and
// the four pixels around it are all foreground, B's depth there, t_B(q) (bilinear), is compared with the
// distance of X from B's centre along that same ray: e(p) = |t_B(q) − ‖X − o_B‖| (world units). The one-way
// error is the mean of e over the pixels that landed; `coverage` is their share of A's foreground pixels.
// For a view pair the symmetric error is the mean of e over both directions' landed pixels together.
//
// A surface seen consistently by both views gives 0 (up to the bilinear interpolation of B's depth); moving
// B's surface by δ along its rays gives δ one way. `dreamportrait eval` reports the symmetric error averaged
// over the neighbouring MSC pairs (F, L15) and (F, R15), and over samples.
import Foundation

/// A rendered view: depth, weight and camera.
public struct DepthView {
    public let resolution: Int
    /// R·R depths along the unit rays, row-major.
    public let depth: [Float]
    /// R·R accumulated weights (foreground where ≥ `ReprojectionConsistency.foregroundWeight`).
    public let weight: [Float]
    /// The 25-float EG3D camera label.
    public let label: [Float]

    public init(resolution: Int, depth: [Float], weight: [Float], label: [Float]) {
        precondition(depth.count == resolution * resolution && weight.count == depth.count && label.count == 25,
                     "DepthView: depth and weight need R·R = \(resolution * resolution) values and the label 25, got \(depth.count), \(weight.count), \(label.count)")
        self.resolution = resolution
        self.depth = depth
        self.weight = weight
        self.label = label
    }

    /// The camera centre (the label's translation column).
    public var origin: SIMD3<Double> { SIMD3(Double(label[3]), Double(label[7]), Double(label[11])) }

    /// cam2world's rotation, column c as a vector.
    func axis(_ c: Int) -> SIMD3<Double> { SIMD3(Double(label[c]), Double(label[4 + c]), Double(label[8 + c])) }

    var intrinsics: (fx: Double, s: Double, cx: Double, fy: Double, cy: Double) {
        (Double(label[16]), Double(label[17]), Double(label[18]), Double(label[20]), Double(label[21]))
    }

    /// The unit ray of pixel (row i, column j), EG3D's ray sampler.
    public func ray(row i: Int, column j: Int) -> SIMD3<Double> {
        let k = intrinsics, r = Double(resolution)
        let u = (Double(j) + 0.5) / r, v = (Double(i) + 0.5) / r
        let x = (u - k.cx + k.cy * k.s / k.fy - k.s * v / k.fy) / k.fx, y = (v - k.cy) / k.fy
        let d = axis(0) * x + axis(1) * y + axis(2)
        return d / (d * d).sum().squareRoot()
    }

    /// The continuous pixel position (row, column) where world point `p` projects, and its camera-space depth z.
    public func project(_ p: SIMD3<Double>) -> (row: Double, column: Double, z: Double) {
        let rel = p - origin
        let xc = (axis(0) * rel).sum(), yc = (axis(1) * rel).sum(), zc = (axis(2) * rel).sum()
        let k = intrinsics, r = Double(resolution)
        let v = k.fy * yc / zc + k.cy
        let u = k.fx * xc / zc + k.cx - k.cy * k.s / k.fy + k.s * v / k.fy
        return (v * r - 0.5, u * r - 0.5, zc)
    }

    /// Bilinear depth at a continuous position, nil outside or where a neighbour is background.
    func depth(row: Double, column: Double) -> Double? {
        let r = resolution
        guard row >= 0, column >= 0, row <= Double(r - 1), column <= Double(r - 1) else { return nil }
        let i0 = Int(row.rounded(.down)), j0 = Int(column.rounded(.down))
        let i1 = Swift.min(i0 + 1, r - 1), j1 = Swift.min(j0 + 1, r - 1)
        let fg = ReprojectionConsistency.foregroundWeight
        for (i, j) in [(i0, j0), (i0, j1), (i1, j0), (i1, j1)] where weight[i * r + j] < fg { return nil }
        let a = row - Double(i0), b = column - Double(j0)
        func t(_ i: Int, _ j: Int) -> Double { Double(depth[i * r + j]) }
        return (1 - a) * ((1 - b) * t(i0, j0) + b * t(i0, j1)) + a * ((1 - b) * t(i1, j0) + b * t(i1, j1))
    }
}

public enum ReprojectionConsistency {
    /// Pixels whose accumulated weight is at least this are foreground.
    public static let foregroundWeight: Float = 0.5

    public struct Result: Equatable {
        /// Sum of e over the pixels that landed (world units).
        public var errorSum: Double
        /// Pixels that landed on B's foreground.
        public var pixels: Int
        /// A's foreground pixels.
        public var foreground: Int
        /// Mean e (world units); NaN when no pixel landed.
        public var meanError: Double { pixels == 0 ? .nan : errorSum / Double(pixels) }
        /// Share of foreground pixels that landed.
        public var coverage: Double { foreground == 0 ? 0 : Double(pixels) / Double(foreground) }

        public init(errorSum: Double, pixels: Int, foreground: Int) {
            self.errorSum = errorSum
            self.pixels = pixels
            self.foreground = foreground
        }

        /// Two results pooled.
        public static func + (x: Result, y: Result) -> Result {
            Result(errorSum: x.errorSum + y.errorSum, pixels: x.pixels + y.pixels, foreground: x.foreground + y.foreground)
        }
    }

    /// The one-way error A → B (see the file's header).
    public static func oneWay(from a: DepthView, to b: DepthView) -> Result {
        var sum = 0.0, landed = 0, fg = 0
        let r = a.resolution, oA = a.origin, oB = b.origin
        for i in 0..<r {
            for j in 0..<r where a.weight[i * r + j] >= foregroundWeight {
                fg += 1
                let x = oA + a.ray(row: i, column: j) * Double(a.depth[i * r + j])
                let q = b.project(x)
                guard q.z > 0, let tB = b.depth(row: q.row, column: q.column) else { continue }
                let rel = x - oB
                sum += abs(tB - (rel * rel).sum().squareRoot())
                landed += 1
            }
        }
        return Result(errorSum: sum, pixels: landed, foreground: fg)
    }

    /// The symmetric error of a pair: both directions' landed pixels together.
    public static func pair(_ a: DepthView, _ b: DepthView) -> Result { oneWay(from: a, to: b) + oneWay(from: b, to: a) }

    /// A sample's 3D consistency over the MSC views: the pairs (F, L15) and (F, R15) pooled.
    /// views: the depth view at each MSC view.
    public static func sample(_ views: [MSCView: DepthView]) -> Result? {
        guard let f = views[.frontal], let l = views[.left], let r = views[.right] else { return nil }
        return pair(f, l) + pair(f, r)
    }
}
