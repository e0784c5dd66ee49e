// Camera poses on a sphere (spec §13.1, §14.2): eg3d/camera_utils.py's LookAtPoseSampler,
// GaussianCameraPoseSampler and create_cam2world_matrix, plus the camera paths of gen_samples.py (yaw
// offsets) and gen_videos.py (the orbit). The arithmetic follows the official float32 tensor code step by
// step (same operation order, Float math), so poses agree with the official ones to a few ulps.
import Foundation
import TensorCore

/// EG3D's look-at pose sampler. Yaw (`horizontal_mean`) is the azimuth around +y, pitch (`vertical_mean`) the
/// polar angle from +y; (π/2, π/2) puts the camera on the +z axis, facing the face.
public enum LookAtPoseSampler {
    /// The row-major 4×4 cam2world of a camera at `radius` from the **world origin**, looking at `lookAt`.
    ///
    /// θ = yaw; v = clamp(pitch, 1e-5, π − 1e-5); φ = arccos(1 − 2v/π) (a non-linear pitch mapping: π/2 − 0.2 gives
    /// an elevation of 0.1277 rad, not 0.2); position o = (r·sinφ·cos(π−θ), r·cosφ, r·sinφ·sin(π−θ)).
    /// Larger yaw moves the camera toward +x, smaller pitch moves it up (+y).
    public static func sample(yaw: Double, pitch: Double, lookAt: SIMD3<Float> = SIMD3(0, 0, 0), radius: Float = 1) -> [Float] {
        let theta = Float(yaw)
        var v = Swift.min(Swift.max(Float(pitch), Float(1e-5)), Float(Double.pi - 1e-5))
        v = v / Float(Double.pi)
        let phi = Foundation.acos(1 - 2 * v)
        let piMinusTheta = Float(Double.pi) - theta
        let rs = radius * Foundation.sin(phi)
        let origin = SIMD3<Float>(rs * Foundation.cos(piMinusTheta), radius * Foundation.cos(phi), rs * Foundation.sin(piMinusTheta))
        return createCam2WorldMatrix(forward: normalized(lookAt - origin), origin: origin)
    }

    /// `sample` with Gaussian jitter: yaw + N(0,1)·yawStddev and pitch + N(0,1)·pitchStddev (two normal draws from
    /// `rng`, yaw first), as the official samplers with non-zero standard deviations.
    public static func sample(yaw: Double, pitch: Double, lookAt: SIMD3<Float>, radius: Float,
                              yawStddev: Double, pitchStddev: Double, rng: RandomGenerator) -> [Float] {
        let z = rng.normal([2]).toArray()
        return sample(yaw: yaw + Double(z[0]) * yawStddev, pitch: pitch + Double(z[1]) * pitchStddev, lookAt: lookAt, radius: radius)
    }

    /// `create_cam2world_matrix(forward, origin)`: up0 = (0, 1, 0), right = −normalize(up0 × forward),
    /// up = normalize(forward × right); rotation columns (right, up, forward), translation `origin`.
    /// For the frontal camera right = (1, 0, 0), up = (0, −1, 0) (image down is world −y), forward = (0, 0, −1).
    public static func createCam2WorldMatrix(forward f0: SIMD3<Float>, origin: SIMD3<Float>) -> [Float] {
        let forward = normalized(f0)
        let right = -normalized(cross(SIMD3(0, 1, 0), forward))
        let up = normalized(cross(forward, right))
        return [right.x, up.x, forward.x, origin.x,
                right.y, up.y, forward.y, origin.y,
                right.z, up.z, forward.z, origin.z,
                0, 0, 0, 1]
    }

    /// torch.cross for 3-vectors.
    static func cross(_ a: SIMD3<Float>, _ b: SIMD3<Float>) -> SIMD3<Float> {
        SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
    }

    /// `normalize_vecs`: v / ‖v‖ (no epsilon, as the official helper).
    static func normalized(_ v: SIMD3<Float>) -> SIMD3<Float> {
        v / (v.x * v.x + v.y * v.y + v.z * v.z).squareRoot()
    }
}

/// The camera paths of the official scripts, as `Camera` lists.
public enum CameraPath {
    /// gen_videos.py's orbit for frame `frame` of `frames`: yaw = 3.14/2 + yawRange·sin(2·3.14·i/T),
    /// pitch = 3.14/2 − 0.05 + pitchRange·cos(2·3.14·i/T) (the script's 3.14, not π), looking at the pivot from radius 2.7.
    public static func orbit(frame: Int, frames: Int, yawRange: Double = 0.35, pitchRange: Double = 0.25,
                             lookAt: SIMD3<Float> = Camera.ffhqPivot, radius: Float = Camera.ffhqRadius,
                             focal: Float = Camera.ffhqFocal) -> Camera {
        require(frames > 0, "CameraPath.orbit: frames must be positive, got \(frames)")
        let phase = 2 * 3.14 * Double(frame) / Double(frames)
        return Camera.lookAt(yaw: 3.14 / 2 + yawRange * Foundation.sin(phase),
                             pitch: 3.14 / 2 - 0.05 + pitchRange * Foundation.cos(phase),
                             lookAt: lookAt, radius: radius, intrinsics: Camera.intrinsics(focal: focal))
    }

    /// `count` cameras with yaw offsets spread evenly over [+maxYaw, −maxYaw] around π/2 (from the viewer's left to
    /// right, as gen_samples.py's (+0.4, 0, −0.4)), at pitch π/2 + pitchOffset (gen_samples: −0.2).
    public static func yawArc(count: Int, maxYaw: Double = 0.4, pitchOffset: Double = -0.2,
                              lookAt: SIMD3<Float> = Camera.ffhqPivot, radius: Float = Camera.ffhqRadius,
                              intrinsics: [Float] = Camera.intrinsics()) -> [Camera] {
        require(count > 0, "CameraPath.yawArc: count must be positive, got \(count)")
        return (0..<count).map { i in
            let offset = count == 1 ? 0 : maxYaw - 2 * maxYaw * Double(i) / Double(count - 1)
            return Camera.lookAt(yaw: Double.pi / 2 + offset, pitch: Double.pi / 2 + pitchOffset,
                                 lookAt: lookAt, radius: radius, intrinsics: intrinsics)
        }
    }
}
