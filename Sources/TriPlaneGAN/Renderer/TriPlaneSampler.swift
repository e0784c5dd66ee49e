// Tri-plane feature sampling (spec §5): generate_planes, project_onto_planes and sample_from_planes of
// eg3d/training/volumetric_rendering/renderer.py, built from TensorCore ops so that gradients reach the planes
// (and the points, when they need one). The inference path fuses the same sampling with the mean over planes
// (TriPlaneEvaluator.swift); both follow the projection below.
//
// The official plane matrices make the planes XY, XZ and **ZX** (plane 2 is a transposed XZ plane; no plane
// reads y and z together: NVlabs/eg3d issue #67). The released checkpoints depend on it, so it is kept.
import TensorCore

public enum TriPlane {
    /// Which point coordinates plane k reads as (grid x → column, grid y → row): (x, y), (x, z), (z, x).
    /// This is p · inv(P_k) keeping two components, with the official P_0 = I, P_1 = rows (1,0,0),(0,0,1),(0,1,0),
    /// P_2 = rows (0,0,1),(1,0,0),(0,1,0).
    public static let planeAxes: [(column: Int, row: Int)] = [(0, 1), (0, 2), (2, 0)]

    /// Features of `planes` at `points` (sample_from_planes): bilinear, zeros padding, align_corners = false,
    /// after scaling the points by 2 / boxWarp (the cube [−boxWarp/2, boxWarp/2]³ maps to [−1, 1]³).
    /// - Parameters:
    ///   - planes: (N, 3, C, H, W).
    ///   - points: (N, P, 3) world coordinates.
    /// - Returns: (N, 3, P, C). Points outside the cube read zeros (partial blending at the border).
    public static func sample(planes: Tensor, points: Tensor, boxWarp: Double) -> Tensor {
        require(planes.rank == 5 && planes.shape[1] == 3,
                "TriPlane.sample: planes must be (N, 3, C, H, W), got \(planes.shape)")
        require(points.rank == 3 && points.shape[0] == planes.shape[0] && points.shape[2] == 3,
                "TriPlane.sample: points must be (N, P, 3) with N = \(planes.shape[0]), got \(points.shape)")
        let (n, c, h, w) = (planes.shape[0], planes.shape[2], planes.shape[3], planes.shape[4])
        let p = points.shape[1]
        let grid = projectedGrid(points, boxWarp: boxWarp)                           // (N·3, 1, P, 2)
        let sampled = gridSample(planes.reshape([n * 3, c, h, w]), grid, alignCorners: false)  // (N·3, C, 1, P)
        // gridSample stores channels-last, so this permute is free: (N·3, 1, P, C) -> (N, 3, P, C).
        return sampled.permute([0, 2, 3, 1]).reshape([n, 3, p, c])
    }

    /// The three planes' grid coordinates of `points` (N, P, 3), scaled by 2 / boxWarp: (N·3, 1, P, 2), plane-major
    /// per image, each (column, row) pair taken from `planeAxes`.
    public static func projectedGrid(_ points: Tensor, boxWarp: Double) -> Tensor {
        let (n, p) = (points.shape[0], points.shape[1])
        // The official code multiplies by the Python double 2/box_warp, rounded to float32.
        let scaled = points * Float(2.0 / boxWarp)
        let axes = (0..<3).map { scaled.slice(axis: 2, start: $0, end: $0 + 1) }  // (N, P, 1) each
        let planes = planeAxes.map { Tensor.concat([axes[$0.column], axes[$0.row]], axis: 2) }  // (N, P, 2)
        return Tensor.stack(planes, axis: 1).reshape([n * 3, 1, p, 2])
    }

    /// The mean over the three planes of sampled features (N, 3, P, C) -> (N, P, C), as OSGDecoder's aggregation.
    public static func aggregate(_ features: Tensor) -> Tensor {
        features.mean(axis: 1)
    }
}
