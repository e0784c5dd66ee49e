// EG3D's camera label (spec §7.1, §13.2, §13.4): 16 floats of a row-major 4×4 cam2world matrix (OpenCV
// camera axes: +x right, +y down, +z forward) followed by 9 floats of row-major intrinsics normalised by the
// image size. Mirrors eg3d/camera_utils.py (FOV_to_intrinsics), the intrinsics built inline by
// gen_videos.py, and dataset_preprocessing/mirror_dataset.py's flip_yaw. Pure Swift: no tensors needed
// except for the (N, 25) label batches that the networks take.
import Foundation
import TensorCore

/// A camera as EG3D's 25-float conditioning/rendering label.
public struct Camera: Sendable, Equatable {
    /// Row-major 4×4 cam2world matrix (rotation columns: camera right, down, forward; last column: position).
    public private(set) var cam2world: [Float]
    /// Row-major 3×3 intrinsics normalised by image size: [[fx, skew, cx], [0, fy, cy], [0, 0, 1]].
    public private(set) var intrinsics: [Float]

    /// The focal length (normalised by image size) of the FFHQ data, gen_videos.py and the visualizer.
    public static let ffhqFocal: Float = 4.2647
    /// The look-at point of the FFHQ scripts (`avg_camera_pivot`).
    public static let ffhqPivot = SIMD3<Float>(0, 0, 0.2)
    /// The camera distance from the origin of the FFHQ scripts (`avg_camera_radius`).
    public static let ffhqRadius: Float = 2.7

    /// Validates and stores a pose and intrinsics.
    /// - Throws: `CameraError` when the counts are not 16 and 9, a value is not finite, or fx or fy is 0
    ///   (the ray sampler divides by both).
    public init(cam2world: [Float], intrinsics: [Float]) throws {
        guard cam2world.count == 16 else { throw CameraError("cam2world must have 16 values (4×4, row-major), got \(cam2world.count)") }
        guard intrinsics.count == 9 else { throw CameraError("intrinsics must have 9 values (3×3, row-major), got \(intrinsics.count)") }
        for (i, v) in (cam2world + intrinsics).enumerated() where !v.isFinite {
            throw CameraError("camera label value \(i) is \(v); every value must be finite")
        }
        guard intrinsics[0] != 0 && intrinsics[4] != 0 else {
            throw CameraError("intrinsics fx (\(intrinsics[0])) and fy (\(intrinsics[4])) must be non-zero")
        }
        self.cam2world = cam2world
        self.intrinsics = intrinsics
    }

    /// Parses a 25-float label: cam2world (16, row-major), then intrinsics (9, row-major).
    /// - Throws: `CameraError` for a wrong length or a non-finite value.
    public init(label: [Float]) throws {
        guard label.count == 25 else {
            throw CameraError("a camera label has 25 values (16 cam2world + 9 intrinsics), got \(label.count)")
        }
        try self.init(cam2world: Array(label[0..<16]), intrinsics: Array(label[16..<25]))
    }

    /// The 25-float label (cam2world then intrinsics).
    public var label: [Float] { cam2world + intrinsics }

    /// Camera centre in world coordinates (the translation column).
    public var position: SIMD3<Float> { SIMD3(cam2world[3], cam2world[7], cam2world[11]) }

    /// Intrinsics with focal length `focal` (fx = fy) and the principal point at the image centre, as the
    /// FFHQ labels and gen_videos.py: [[f, 0, 0.5], [0, f, 0.5], [0, 0, 1]].
    public static func intrinsics(focal: Float = ffhqFocal) -> [Float] {
        [focal, 0, 0.5, 0, focal, 0.5, 0, 0, 1]
    }

    /// `FOV_to_intrinsics`: f = 1 / (tan(fov·3.14159/360) · 1.414) from the **diagonal** field of view in degrees,
    /// with the official approximations of π and √2 (fov 18.837 gives 4.26339, not 4.2647). Note that
    /// gen_samples.py's `--fov-deg` is an integer, so its default 18.837 becomes 18 (f = 4.46517).
    public static func intrinsics(fovDegrees: Double) -> [Float] {
        intrinsics(focal: Float(1 / (Foundation.tan(fovDegrees * 3.14159 / 360) * 1.414)))
    }

    /// `LookAtPoseSampler.sample(yaw, pitch, lookAt, radius)` with the given intrinsics (see `LookAtPoseSampler`).
    public static func lookAt(yaw: Double, pitch: Double, lookAt: SIMD3<Float> = ffhqPivot, radius: Float = ffhqRadius,
                              intrinsics: [Float] = Camera.intrinsics()) -> Camera {
        let pose = LookAtPoseSampler.sample(yaw: yaw, pitch: pitch, lookAt: lookAt, radius: radius)
        // A sampled pose is finite and the intrinsics come from the caller: validate those.
        do { return try Camera(cam2world: pose, intrinsics: intrinsics) } catch {
            fatalError("Camera.lookAt: \(error)")
        }
    }

    /// The frontal conditioning camera of the scripts and the parity fixture: LookAt(π/2, π/2) at radius 2.7
    /// looking at the pivot (0, 0, 0.2), focal 4.2647. (gen_videos.py passes 3.14/2 instead of π/2, which
    /// moves the camera by about 2 mm: call `lookAt(yaw: 3.14 / 2, pitch: 3.14 / 2)` to reproduce that.)
    public static func frontal(focal: Float = ffhqFocal) -> Camera {
        lookAt(yaw: Double.pi / 2, pitch: Double.pi / 2, intrinsics: intrinsics(focal: focal))
    }

    /// The mirrored camera for a horizontally flipped image (`flip_yaw`): negates pose entries (0,1), (0,2),
    /// (1,0), (2,0) and (0,3), i.e. S·P·S with S = diag(-1, 1, 1, 1): the world is reflected in x and the
    /// camera's x axis flips. The intrinsics are unchanged.
    public func flippedYaw() -> Camera {
        var c = self
        for i in [1, 2, 4, 8, 3] { c.cam2world[i] = -c.cam2world[i] }
        return c
    }

    /// An (N, 25) label batch.
    public static func labels(_ cameras: [Camera]) -> Tensor {
        require(!cameras.isEmpty, "Camera.labels: no cameras")
        return Tensor(cameras.flatMap(\.label), shape: [cameras.count, 25])
    }

    /// Parses an (N, 25) label batch.
    /// - Throws: `CameraError` for a wrong shape or a non-finite value (naming the row).
    public static func cameras(labels: Tensor) throws -> [Camera] {
        guard labels.rank == 2 && labels.shape[1] == 25 else {
            throw CameraError("camera labels must have shape (N, 25), got \(labels.shape)")
        }
        let v = labels.toArray()
        return try (0..<labels.shape[0]).map { n in
            do { return try Camera(label: Array(v[n * 25 ..< n * 25 + 25])) } catch let e as CameraError {
                throw CameraError("camera \(n): \(e.message)")
            }
        }
    }
}

/// A malformed camera label.
public struct CameraError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "CameraError: \(message)" }
}
