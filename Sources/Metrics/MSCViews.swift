// The three fixed views of the multi-view semantic consistency score (paper §4.1 and Fig. 5: "F is frontal, L is
// left side, R is right side, and 15 is the rotation degrees"; method doc §7): EG3D's frontal camera
// LookAtPoseSampler(yaw π/2, pitch π/2) looking at the FFHQ pivot (0, 0, 0.2) from radius 2.7, and the same
// camera at yaw π/2 ± 15° (±0.2618 rad), with the FFHQ focal length 4.2647.
//
// Labels are EG3D's 25 floats (row-major 4×4 cam2world in OpenCV axes, then the normalised intrinsics). The pose
// arithmetic repeats eg3d/camera_utils.py's LookAtPoseSampler and create_cam2world_matrix step by step in Float,
// as TriPlaneGAN's LookAtPoseSampler does (Metrics does not depend on TriPlaneGAN), so the labels equal
// `Camera.lookAt(yaw:pitch:)`'s to a few ulps.
import Foundation

/// One of MSC's three fixed views. Left is yaw π/2 + 15° (the camera toward +x, the viewer's left in
/// gen_samples.py's ordering), right is yaw π/2 − 15°; MSC averages over all three, so the naming does not
/// change its value.
public enum MSCView: Int, CaseIterable, Codable, Sendable {
    case frontal = 0, left = 1, right = 2

    /// 15° in radians.
    public static let yawOffset = 15 * Double.pi / 180
    /// EG3D's FFHQ look-at point (`avg_camera_pivot`), camera distance and focal length.
    public static let pivot: SIMD3<Float> = SIMD3(0, 0, 0.2)
    public static let radius: Float = 2.7
    public static let focal: Float = 4.2647

    /// The paper's short name: F, L15, R15.
    public var name: String { ["F", "L15", "R15"][rawValue] }

    /// LookAtPoseSampler yaw (azimuth around +y): π/2, π/2 + 15°, π/2 − 15°.
    public var yaw: Double { Double.pi / 2 + [0, MSCView.yawOffset, -MSCView.yawOffset][rawValue] }
    /// LookAtPoseSampler pitch: π/2 (level) for all three.
    public var pitch: Double { Double.pi / 2 }

    /// The 25-float EG3D camera label of this view (cam2world row-major, then [[f, 0, 0.5], [0, f, 0.5], [0, 0, 1]]).
    public var label: [Float] {
        MSCView.lookAtPose(yaw: yaw, pitch: pitch) + [MSCView.focal, 0, 0.5, 0, MSCView.focal, 0.5, 0, 0, 1]
    }

    /// The three labels in view order (frontal, left, right): 3 × 25 floats.
    public static var labels: [[Float]] { allCases.map(\.label) }

    /// The view whose camera pose (the first 16 label values) lies within `tolerance` (max absolute difference)
    /// of `label`'s; intrinsics are not compared. nil for any other camera or a label of the wrong length.
    /// For sorting an image folder's images into MSC views by their dataset.json labels.
    public static func matching(label: [Float], tolerance: Float = 1e-3) -> MSCView? {
        guard label.count == 25 || label.count == 16 else { return nil }
        return allCases.first { v in
            zip(v.label.prefix(16), label.prefix(16)).allSatisfy { Swift.abs($0 - $1) <= tolerance }
        }
    }

    /// eg3d LookAtPoseSampler.sample(yaw, pitch, pivot, radius) -> row-major 4×4 cam2world, float32 steps:
    /// v = clamp(pitch, 1e-5, π − 1e-5) / π, φ = arccos(1 − 2v), origin = (r sinφ cos(π − θ), r cosφ, r sinφ sin(π − θ));
    /// create_cam2world_matrix: forward = normalize(pivot − origin), right = −normalize((0, 1, 0) × forward),
    /// up = normalize(forward × right), columns (right, up, forward), translation origin.
    static func lookAtPose(yaw: Double, pitch: Double) -> [Float] {
        let theta = Float(yaw)
        let v = Swift.min(Swift.max(Float(pitch), Float(1e-5)), Float(Double.pi - 1e-5)) / Float(Double.pi)
        let phi = Foundation.acos(1 - 2 * v)
        let piMinusTheta = Float(Double.pi) - theta
        let rs = radius * Foundation.sin(phi)
        let origin = SIMD3<Float>(rs * Foundation.cos(piMinusTheta), radius * Foundation.cos(phi), rs * Foundation.sin(piMinusTheta))
        func normalized(_ x: SIMD3<Float>) -> SIMD3<Float> { x / (x.x * x.x + x.y * x.y + x.z * x.z).squareRoot() }
        func cross(_ a: SIMD3<Float>, _ b: SIMD3<Float>) -> SIMD3<Float> {
            SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
        }
        let forward = normalized(normalized(pivot - origin))
        let right = -normalized(cross(SIMD3(0, 1, 0), forward))
        let up = normalized(cross(forward, right))
        return [right.x, up.x, forward.x, origin.x,
                right.y, up.y, forward.y, origin.y,
                right.z, up.z, forward.z, origin.z,
                0, 0, 0, 1]
    }
}
