// Ray generation (spec §7.2): eg3d/training/volumetric_rendering/ray_sampler.py (RaySampler.forward).
// One ray per pixel centre of an R×R image, ray index m = row·R + col, row 0 at the image top. The float32
// arithmetic follows the official order: pixel coordinates col·(1/R) + 0.5/R, the lift to the z = 1 camera
// plane with skew, the 4×4 transform, and F.normalize (eps 1e-12).
import TensorCore

public enum RaySampler {
    /// Ray origins and unit directions for `cameras` at resolution `resolution`.
    /// - Returns: origins (N, R², 3) (the camera centre repeated) and directions (N, R², 3).
    public static func rays(cameras: [Camera], resolution: Int) -> (origins: Tensor, directions: Tensor) {
        require(!cameras.isEmpty, "RaySampler: no cameras")
        require(resolution >= 1, "RaySampler: resolution must be positive, got \(resolution)")
        let r = resolution, m = r * r, n = cameras.count
        let origins = Tensor(uninitializedShape: [n, m, 3]), directions = Tensor(uninitializedShape: [n, m, 3])
        let po = origins.data, pd = directions.data
        // uv = arange(R)·(1/R) + 0.5/R in float32 (the Python doubles 1/R and 0.5/R are rounded to float).
        let scale = Float(1.0 / Double(r)), shift = Float(0.5 / Double(r))
        let coords = (0..<r).map { Float($0) * scale + shift }
        for (b, cam) in cameras.enumerated() {
            let c = cam.cam2world, k = cam.intrinsics
            let fx = k[0], fy = k[4], cx = k[2], cy = k[5], sk = k[1]
            let loc = SIMD3<Float>(c[3], c[7], c[11])
            let cyskfy = cy * sk / fy
            for row in 0..<r {
                let yCam = coords[row]
                let yLift = (yCam - cy) / fy
                let skyfy = sk * yCam / fy
                for col in 0..<r {
                    let xLift = ((coords[col] - cx) + cyskfy - skyfy) / fx
                    // world = cam2world · (x, y, 1, 1); only the first three rows are used.
                    var d = SIMD3<Float>(repeating: 0)
                    for i in 0..<3 {
                        let w = c[4 * i] * xLift + c[4 * i + 1] * yLift + c[4 * i + 2] + c[4 * i + 3]
                        d[i] = w - loc[i]
                    }
                    let norm = Swift.max((d.x * d.x + d.y * d.y + d.z * d.z).squareRoot(), 1e-12)
                    let idx = ((b * m) + row * r + col) * 3
                    for i in 0..<3 { pd[idx + i] = d[i] / norm; po[idx + i] = loc[i] }
                }
            }
        }
        return (origins, directions)
    }

    /// Rays for an (N, 25) label batch (see `Camera.cameras(labels:)`); a malformed label stops with its error.
    public static func rays(labels: Tensor, resolution: Int) -> (origins: Tensor, directions: Tensor) {
        do { return rays(cameras: try Camera.cameras(labels: labels), resolution: resolution) } catch {
            fatalError("RaySampler: \(error)")
        }
    }
}
