// EG3D's camera model (eg3d-spec §7, §13): the 25-float label (cam2world row-major in OpenCV axes, +x right, +y down,
// +z forward; then normalised intrinsics), LookAtPoseSampler with its non-linear pitch mapping, RaySampler's ray
// formula, and this world's FFHQ-like pose distribution.
import Foundation

/// A camera as EG3D labels it. World frame: right-handed, +y up, the face looks toward +z.
public struct Camera: Sendable, Equatable {
    /// 4x4 cam2world, row-major. Columns 0-2 of the rotation are the camera's right, down and forward axes in world
    /// coordinates; column 3 is the camera position.
    public var cam2world: [Double]
    /// 3x3 intrinsics normalised by image size, row-major: [[fx, skew, cx], [0, fy, cy], [0, 0, 1]].
    public var intrinsics: [Double]

    /// FFHQ's normalised focal length (2985.29 / 700).
    public static let ffhqFocal = 4.2647
    public static let ffhqIntrinsics: [Double] = [ffhqFocal, 0, 0.5, 0, ffhqFocal, 0.5, 0, 0, 1]

    public init(cam2world: [Double], intrinsics: [Double] = Camera.ffhqIntrinsics) {
        precondition(cam2world.count == 16 && intrinsics.count == 9, "Camera: needs 16 + 9 values")
        self.cam2world = cam2world
        self.intrinsics = intrinsics
    }

    /// Reads a 25-float EG3D label; nil unless it has 25 finite values with a positive focal length.
    public init?(label: [Double]) {
        guard label.count == 25, label.allSatisfy(\.isFinite), label[16] > 0, label[20] > 0 else { return nil }
        self.init(cam2world: Array(label[0..<16]), intrinsics: Array(label[16..<25]))
    }

    /// The 25-value label: cam2world (16, row-major) then intrinsics (9, row-major).
    public var label: [Double] { cam2world + intrinsics }

    public var origin: SIMD3<Double> { SIMD3(cam2world[3], cam2world[7], cam2world[11]) }
    /// Column `j` of the rotation (0 right, 1 down, 2 forward).
    public func axis(_ j: Int) -> SIMD3<Double> { SIMD3(cam2world[j], cam2world[4 + j], cam2world[8 + j]) }

    /// RaySampler (eg3d-spec §7.2): the unit ray through normalised image coordinates (u right, v down, in [0, 1]).
    /// Pixel (row, col) of an R x R image has u = (col + 0.5) / R, v = (row + 0.5) / R.
    public func ray(u: Double, v: Double) -> (origin: SIMD3<Double>, direction: SIMD3<Double>) {
        let fx = intrinsics[0], sk = intrinsics[1], cx = intrinsics[2], fy = intrinsics[4], cy = intrinsics[5]
        let xc = (u - cx + cy * sk / fy - sk * v / fy) / fx
        let yc = (v - cy) / fy
        let d = axis(0) * xc + axis(1) * yc + axis(2)
        return (origin, d / max((d * d).sum().squareRoot(), 1e-12))
    }

    /// Pinhole projection of a world point to normalised image coordinates (u right, v down); nil behind the camera.
    public func project(_ p: SIMD3<Double>) -> SIMD2<Double>? {
        let q = p - origin
        let x = (q * axis(0)).sum(), y = (q * axis(1)).sum(), z = (q * axis(2)).sum()
        guard z > 1e-9 else { return nil }
        let fx = intrinsics[0], sk = intrinsics[1], cx = intrinsics[2], fy = intrinsics[4], cy = intrinsics[5]
        return SIMD2(fx * x / z + sk * y / z + cx, fy * y / z + cy)
    }

    /// `flip_yaw` (eg3d-spec §13.4): the camera of the horizontally mirrored image.
    public var mirrored: Camera {
        var c = self
        for i in [1, 2, 4, 8, 3] { c.cam2world[i] = -c.cam2world[i] }
        return c
    }
}

/// EG3D's LookAtPoseSampler (eg3d-spec §13.1), deterministic part (h_std = v_std = 0).
public enum LookAtPoseSampler {
    /// - Parameters:
    ///   - horizontal: θ; π/2 is frontal, larger moves the camera toward +x.
    ///   - vertical: v; π/2 is level, smaller moves the camera up. Mapped non-linearly: polar angle φ = arccos(1 − 2v/π).
    ///   - lookat: the point the camera looks at; radius: the distance of the camera from the world origin.
    public static func sample(horizontal: Double, vertical: Double, lookat: SIMD3<Double> = SIMD3(0, 0, 0.2),
                              radius: Double = 2.7, intrinsics: [Double] = Camera.ffhqIntrinsics) -> Camera {
        let theta = horizontal
        let v = min(max(vertical, 1e-5), Double.pi - 1e-5)
        let phi = Foundation.acos(1 - 2 * v / Double.pi)
        let o = SIMD3(radius * Foundation.sin(phi) * Foundation.cos(Double.pi - theta),
                      radius * Foundation.cos(phi),
                      radius * Foundation.sin(phi) * Foundation.sin(Double.pi - theta))
        return Camera(cam2world: cam2worldMatrix(forward: normalize(lookat - o), origin: o), intrinsics: intrinsics)
    }

    /// `create_cam2world_matrix`: up0 = (0,1,0), right = −normalize(up0 × forward), up = normalize(forward × right);
    /// rotation columns (right, up, forward), translation `origin`. Returns 16 values, row-major.
    public static func cam2worldMatrix(forward f: SIMD3<Double>, origin o: SIMD3<Double>) -> [Double] {
        let up0 = SIMD3<Double>(0, 1, 0)
        let right = -normalize(cross(up0, f))
        let up = normalize(cross(f, right))
        return [right.x, up.x, f.x, o.x,
                right.y, up.y, f.y, o.y,
                right.z, up.z, f.z, o.z,
                0, 0, 0, 1]
    }

    static func cross(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> {
        SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
    }
    static func normalize(_ a: SIMD3<Double>) -> SIMD3<Double> { a / max((a * a).sum().squareRoot(), 1e-12) }
}

/// This world's camera distribution, modelled on FFHQ's spread of head poses (EG3D's Deep3DFaceRecon estimates).
///
/// yaw ~ N(0, `yawStd`) clipped to ±`yawClip` and pitch ~ N(0, `pitchStd`) clipped to ±`pitchClip` (radians), passed to
/// LookAtPoseSampler as θ = π/2 + yaw, v = π/2 + pitch (EG3D's convention: positive pitch puts the camera below the
/// face; the arccos mapping makes the true elevation slightly smaller than `pitch` for large values). The camera
/// sits on a sphere of radius 2.7 around the origin, looks at (0, 0, 0.2), focal 4.2647: the framing of EG3D's FFHQ.
/// FFHQ's yaws are heavy-tailed (most faces near frontal, a few profiles); N(0, 0.3) clipped at 0.9 rad (52°) keeps
/// 68% of views within 17° and about 0.3% at the clip.
public struct PoseDistribution: Sendable, Equatable {
    public var yawStd = 0.3, yawClip = 0.9
    public var pitchStd = 0.15, pitchClip = 0.45
    public var radius = 2.7
    public var lookat = SIMD3<Double>(0, 0, 0.2)
    public init() {}

    /// The camera of image `index` under `seed`.
    public func camera(seed: UInt64, index: Int) -> Camera {
        var r = WorldRandom(seed: seed, index: index, purpose: .camera)
        let yaw = max(-yawClip, min(yawClip, r.normal() * yawStd))
        let pitch = max(-pitchClip, min(pitchClip, r.normal() * pitchStd))
        return camera(yaw: yaw, pitch: pitch)
    }

    /// `frames` cameras of one orbit as EG3D's gen_videos.py moves them: yaw = yawRange·sin(2πt),
    /// pitch = pitchRange·cos(2πt), t = frame / frames.
    public func orbit(frames: Int, yawRange: Double = 0.6, pitchRange: Double = 0.12) -> [Camera] {
        (0..<frames).map { f in
            let t = Double(f) / Double(frames)
            return camera(yaw: yawRange * Foundation.sin(2 * .pi * t), pitch: pitchRange * Foundation.cos(2 * .pi * t))
        }
    }

    /// The camera at a given yaw and pitch (radians, EG3D's sign conventions as above).
    public func camera(yaw: Double, pitch: Double) -> Camera {
        LookAtPoseSampler.sample(horizontal: Double.pi / 2 + yaw, vertical: Double.pi / 2 + pitch, lookat: lookat, radius: radius)
    }
}
