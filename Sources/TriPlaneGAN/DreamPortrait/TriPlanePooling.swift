// The 3D-aware feature aggregation of DreamPortrait §3.3 ("3D-aware Feature": for an element of one plane,
// axis-wise pooling of the other two planes gives two lines, expanded back over the plane and concatenated with
// it, [f_(*)x, f_xy, f_y(*)]), as our method doc (docs/dreamportrait-method.md) §4 steps 2-3 fixes it: the pooling
// axes are derived from the actual plane axes, which for EG3D are XY, XZ and ZX (docs/eg3d-spec.md §5.2; the third
// plane is a transposed XZ and there is no YZ plane).
import TensorCore

/// A world axis of the tri-plane volume.
public enum WorldAxis: Int, Sendable, CaseIterable, CustomStringConvertible {
    case x = 0, y = 1, z = 2
    public var description: String { ["x", "y", "z"][rawValue] }
}

/// Which world axis each plane's grid columns and rows index (grid gx → column, gy → row).
///
/// A plane tensor (N, d, H, W) has rows along `planes[k].row` (tensor axis 2) and columns along
/// `planes[k].column` (tensor axis 3). Texel (r, c) of plane k covers the 3-D points whose `column` coordinate
/// has index c and whose `row` coordinate has index r; its third ("free") coordinate is unconstrained.
public struct TriPlaneAxes: Sendable, Equatable {
    public struct Plane: Sendable, Equatable, Codable {
        public var column: WorldAxis
        public var row: WorldAxis
        public init(column: WorldAxis, row: WorldAxis) { self.column = column; self.row = row }
    }

    public let planes: [Plane]

    /// - Parameter planes: three planes, each with two different axes.
    public init(_ planes: [Plane]) {
        require(planes.count == 3, "TriPlaneAxes: need 3 planes, got \(planes.count)")
        for (k, p) in planes.enumerated() {
            require(p.column != p.row, "TriPlaneAxes: plane \(k) uses axis \(p.column) for both its columns and rows")
        }
        self.planes = planes
    }

    /// EG3D's layout (eg3d-spec §5.2): plane 0 (col x, row y), plane 1 (col x, row z), plane 2 (col z, row x).
    public static let eg3d = TriPlaneAxes([Plane(column: .x, row: .y), Plane(column: .x, row: .z), Plane(column: .z, row: .x)])
    /// The layout the paper draws (f_xy, f_yz, f_zx): three mutually orthogonal planes. Not EG3D's; for tests and
    /// for generators built with a corrected plane set.
    public static let orthogonal = TriPlaneAxes([Plane(column: .x, row: .y), Plane(column: .y, row: .z), Plane(column: .z, row: .x)])

    /// The world axis plane k does not index (the direction its texels extend along).
    public func freeAxis(_ k: Int) -> WorldAxis {
        WorldAxis.allCases.first { $0 != planes[k].column && $0 != planes[k].row }!
    }

    /// The world axis indexed by tensor axis 2 (rows) or 3 (columns) of plane k.
    public func worldAxis(plane k: Int, tensorAxis a: Int) -> WorldAxis {
        require(a == 2 || a == 3, "TriPlaneAxes: tensor axis \(a) of a plane (N, d, H, W) is not spatial")
        return a == 2 ? planes[k].row : planes[k].column
    }

    /// The plane indices whose pooled lines are concatenated around plane k, in order: (before, after).
    /// The cyclic neighbours (k+2 mod 3, k+1 mod 3), which for the paper's layout (xy, yz, zx) reproduces its
    /// f_xy^3D = [f_(*)x ← zx, f_xy, f_y(*) ← yz].
    public static func neighbours(of k: Int) -> (before: Int, after: Int) { ((k + 2) % 3, (k + 1) % 3) }
}

/// 3D-aware pooling (method doc §4 step 2): for every texel of plane k, the mean of each other plane over exactly
/// the texels that share a 3-D point with it, broadcast back over plane k's grid; then (step 3) the concatenation
/// [pooled from plane (k+2)%3, f_k, pooled from plane (k+1)%3] → (N, 3d, H, W).
///
/// Derivation, for plane k with free axis a_f and another plane m: the texel (r, c) of k stands for the points
/// {col_k = c, row_k = r, a_f free}. A texel of m shares a point with it iff m's coordinates agree on the axes
/// m shares with k; m's axis equal to a_f (if m has one) is unconstrained. So: mean-pool m along its tensor axis
/// that indexes a_f (if any), then lay m's remaining axes onto k's grid by world axis (row ↔ row_k,
/// column ↔ col_k), transposing when m orders them the other way, and expand over the axis of k that m lacks.
/// For EG3D: plane 0 (x,y) pools planes 1 and 2 over z (two lines in x, broadcast along rows); plane 1 (x,z)
/// pools plane 0 over y (a line in x) and takes plane 2 as it is, transposed ((z, x) → (x, z)): plane 2 shares
/// both its axes, so exactly one texel matches; plane 2 (z,x) takes plane 1 transposed and plane 0 pooled over y.
public struct TriPlanePooling: Sendable {
    public let axes: TriPlaneAxes

    public init(axes: TriPlaneAxes = .eg3d) { self.axes = axes }

    /// The resolution of each world axis, checked to be the same wherever two planes index the same axis.
    func axisSizes(_ planes: [Tensor]) -> [WorldAxis: Int] {
        var sizes: [WorldAxis: Int] = [:]
        for (k, p) in planes.enumerated() {
            for a in [2, 3] {
                let w = axes.worldAxis(plane: k, tensorAxis: a)
                if let s = sizes[w] {
                    require(s == p.shape[a], "TriPlanePooling: world axis \(w) has \(s) texels in one plane but \(p.shape[a]) in plane \(k) \(p.shape) (planes \(planes.map(\.shape)))")
                }
                sizes[w] = p.shape[a]
            }
        }
        return sizes
    }

    /// Plane m's features gathered onto plane k's grid: (N, d, H_m, W_m) -> (N, d, H_k, W_k), each texel of k
    /// holding the mean of m over the texels of m that share a 3-D point with it (a broadcast view where m is
    /// constant along an axis of k).
    public func gather(_ planes: [Tensor], from m: Int, onto k: Int) -> Tensor {
        require(m != k && (0..<3).contains(m) && (0..<3).contains(k), "TriPlanePooling.gather: planes \(m) onto \(k) must be two different planes of 0, 1, 2")
        let free = axes.freeAxis(k)
        let src = planes[m]                                                  // (N, d, H_m, W_m)
        // Pool the tensor axis of m that indexes k's free axis (at most one does).
        let pooledAxis = [2, 3].first { axes.worldAxis(plane: m, tensorAxis: $0) == free }
        let pooled = pooledAxis.map { src.mean(axis: $0, keepDims: true) } ?? src  // size 1 on pooledAxis
        // For each of k's spatial axes (row, column), the tensor axis of m with the same world axis, or the
        // pooled (size-1) axis, which then broadcasts.
        func source(for target: WorldAxis) -> Int {
            guard let a = [2, 3].first(where: { axes.worldAxis(plane: m, tensorAxis: $0) == target }) ?? pooledAxis else {
                fatalError("TriPlanePooling: plane \(m) indexes neither \(target) nor the free axis \(free) of plane \(k)")
            }
            return a
        }
        let rowSource = source(for: axes.planes[k].row), colSource = source(for: axes.planes[k].column)
        require(rowSource != colSource, "TriPlanePooling: one axis of plane \(m) would feed both axes of plane \(k)")
        let laid = rowSource == 2 ? pooled : pooled.permute([0, 1, 3, 2])    // (N, d, ·, ·) in k's (row, col) order
        let target = planes[k].shape
        return laid.expand([src.shape[0], src.shape[1], target[2], target[3]]) // (N, d, H_k, W_k)
    }

    /// The 3D-aware features of all three planes.
    /// - Parameter planes: three tensors (N, d, H_k, W_k) with the axis meaning of `axes` (every world axis with
    ///   one resolution across the planes that index it; EG3D's planes are square and equal in size).
    /// - Returns: three tensors (N, 3d, H_k, W_k): concat([gather(from (k+2)%3), f_k, gather(from (k+1)%3)]).
    public func callAsFunction(_ planes: [Tensor]) -> [Tensor] {
        require(planes.count == 3, "TriPlanePooling: need 3 planes, got \(planes.count)")
        for p in planes {
            require(p.rank == 4 && p.shape[0] == planes[0].shape[0] && p.shape[1] == planes[0].shape[1],
                    "TriPlanePooling: planes must be (N, d, H, W) with one N and d, got \(planes.map(\.shape))")
        }
        _ = axisSizes(planes)
        return (0..<3).map { k in
            let (before, after) = TriPlaneAxes.neighbours(of: k)
            return Tensor.concat([gather(planes, from: before, onto: k), planes[k], gather(planes, from: after, onto: k)],
                                 axis: 1)                                   // (N, 3d, H_k, W_k)
        }
    }

    /// Splits a (N, 3d, H, W) feature map into its three planes (channels [k·d, (k+1)·d) are plane k, as EG3D's
    /// `view(N, 3, d, H, W)`) and returns the 3D-aware features as one tensor (N, 3, 3d, H, W).
    public func pooled(channels x: Tensor) -> Tensor {
        require(x.rank == 4 && x.shape[1] % 3 == 0, "TriPlanePooling: input must be (N, 3d, H, W), got \(x.shape)")
        let planes = x.chunk(3, axis: 1)                                    // 3 × (N, d, H, W)
        return Tensor.stack(callAsFunction(planes), axis: 1)                // (N, 3, 3d, H, W)
    }
}
