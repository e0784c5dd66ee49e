// Cameras and rays: label parsing, LookAtPoseSampler against the official fp32 poses stored in the tiny128
// fixture, intrinsics helpers, flip_yaw, and RaySampler against the NumPy reference (spec §7, §13).
import Foundation
import XCTest
import TensorCore
@testable import TriPlaneGAN
import TestSupport

final class CameraTests: XCTestCase {
    func testLabelParsingValidates() throws {
        XCTAssertThrowsError(try Camera(label: [Float](repeating: 0, count: 24))) { e in
            XCTAssertTrue("\(e)".contains("25 values"), "\(e)")
        }
        var label = Camera.frontal().label
        label[7] = .nan
        XCTAssertThrowsError(try Camera(label: label)) { e in XCTAssertTrue("\(e)".contains("value 7"), "\(e)") }
        label = Camera.frontal().label
        label[16] = 0
        XCTAssertThrowsError(try Camera(label: label)) { e in XCTAssertTrue("\(e)".contains("fx"), "\(e)") }
        let c = try Camera(label: Camera.frontal().label)
        XCTAssertEqual(c, Camera.frontal())
        XCTAssertThrowsError(try Camera.cameras(labels: Tensor.zeros([2, 24])))
        let batch = Camera.labels([c, c.flippedYaw()])
        XCTAssertEqual(batch.shape, [2, 25])
        XCTAssertEqual(try Camera.cameras(labels: batch), [c, c.flippedYaw()])
    }

    /// The fixture's cameras were made by the official LookAtPoseSampler in fp32: c_cond = LookAt(π/2, π/2, pivot
    /// (0, 0, 0.2), 2.7); c_render[1] = LookAt(π/2 + 0.35, π/2 − 0.12, pivot, 2.7); focal 4.2647.
    func testLookAtMatchesOfficialPoses() throws {
        let f = try fixture("eg3d/tiny128.safetensors")
        let cond = try f.tensor("input.c_cond").toArray(), render = try f.tensor("input.c_render").toArray()
        let frontal = Camera.frontal().label
        let turned = Camera.lookAt(yaw: Double.pi / 2 + 0.35, pitch: Double.pi / 2 - 0.12).label
        for i in 0..<25 {
            XCTAssertEqual(frontal[i], cond[i], accuracy: 1e-6, "frontal camera entry \(i)")
            XCTAssertEqual(frontal[i], render[i], accuracy: 1e-6, "render camera 0 entry \(i)")
            XCTAssertEqual(turned[i], render[25 + i], accuracy: 1e-6, "render camera 1 entry \(i)")
        }
    }

    func testLookAtGeometry() {
        // Frontal: right (1, 0, 0), up (0, −1, 0), forward (0, 0, −1), at (0, 0, r).
        let c = LookAtPoseSampler.sample(yaw: Double.pi / 2, pitch: Double.pi / 2, lookAt: .zero, radius: 2.7)
        let expected: [Float] = [1, 0, 0, 0, 0, -1, 0, 0, 0, 0, -1, 2.7, 0, 0, 0, 1]
        for i in 0..<16 { XCTAssertEqual(c[i], expected[i], accuracy: 2e-7, "entry \(i)") }
        // The non-linear pitch: π/2 − 0.2 gives an elevation of 0.1277 rad, not 0.2.
        let up = LookAtPoseSampler.sample(yaw: Double.pi / 2, pitch: Double.pi / 2 - 0.2, lookAt: .zero, radius: 1)
        XCTAssertEqual(Foundation.asin(Double(up[7])), 0.1277, accuracy: 1e-4)
        // Larger yaw moves the camera toward +x; the scripts' 3.14/2 camera sits at (−0.00215, 0.00137, 2.7).
        XCTAssertGreaterThan(LookAtPoseSampler.sample(yaw: Double.pi / 2 + 0.3, pitch: Double.pi / 2)[3], 0)
        let script = Camera.lookAt(yaw: 3.14 / 2, pitch: 3.14 / 2).position
        XCTAssertEqual(script.x, -0.00215, accuracy: 1e-5)
        XCTAssertEqual(script.y, 0.00137, accuracy: 1e-5)
        XCTAssertEqual(script.z, 2.7, accuracy: 1e-5)
        // Paths: the orbit's first frame and gen_samples' yaw offsets (+0.4, 0, −0.4).
        let orbit = CameraPath.orbit(frame: 0, frames: 240)
        XCTAssertEqual(orbit, Camera.lookAt(yaw: 3.14 / 2, pitch: 3.14 / 2 - 0.05 + 0.25))
        let arc = CameraPath.yawArc(count: 3)
        XCTAssertEqual(arc[1], Camera.lookAt(yaw: Double.pi / 2, pitch: Double.pi / 2 - 0.2))
        XCTAssertGreaterThan(arc[0].position.x, 0.5)
        XCTAssertLessThan(arc[2].position.x, -0.5)
    }

    func testIntrinsicsHelpers() {
        XCTAssertEqual(Camera.intrinsics(fovDegrees: 18.837)[0], 4.26339, accuracy: 1e-5)
        XCTAssertEqual(Camera.intrinsics(fovDegrees: 18)[4], 4.46517, accuracy: 1e-5)
        XCTAssertEqual(Camera.intrinsics(), [4.2647, 0, 0.5, 0, 4.2647, 0.5, 0, 0, 1])
    }

    func testFlipYaw() {
        let c = Camera.lookAt(yaw: Double.pi / 2 + 0.35, pitch: Double.pi / 2 - 0.12)
        let f = c.flippedYaw()
        for i in 0..<16 {
            let negated = [1, 2, 3, 4, 8].contains(i)
            XCTAssertEqual(f.cam2world[i], negated ? -c.cam2world[i] : c.cam2world[i], "entry \(i)")
        }
        XCTAssertEqual(f.flippedYaw(), c)
        // The mirror of a camera at yaw π/2 + a is the camera at yaw π/2 − a.
        let mirror = Camera.lookAt(yaw: Double.pi / 2 - 0.35, pitch: Double.pi / 2 - 0.12, lookAt: SIMD3(0, 0, 0.2))
        for i in 0..<16 { XCTAssertEqual(f.cam2world[i], mirror.cam2world[i], accuracy: 1e-6, "entry \(i)") }
    }

    /// (b) Rays at R = 32 (and 16) for the fixture cameras against the NumPy float64 ray_sampler.
    func testRaysMatchReference() throws {
        let f = try fixture("renderer_parity.safetensors")
        let labels = try f.tensor("cameras")
        for r in [32, 16] {
            let (o, d) = RaySampler.rays(labels: labels, resolution: r)
            assertClose(o, try f.tensor("rays\(r).origins"), tol: 1e-6, "ray origins R=\(r)")
            assertClose(d, try f.tensor("rays\(r).directions"), tol: 1e-6, "ray directions R=\(r)")
        }
    }

    /// (c) The frontal camera's corner rays: image right = world +x, image up = world +y, no mirroring. With the
    /// FFHQ focal 4.2647 at R = 128, pixel (0, 0) looks along normalize(−0.11633, +0.11633, −1).
    func testFrontalRayDirections() {
        let r = 128
        let (o, d) = RaySampler.rays(cameras: [Camera.frontal()], resolution: r)
        let v = d.toArray(), origin = o.toArray()
        XCTAssertEqual(Array(origin[0..<3]).map { Double($0) }, [0, 0, 2.7].map { Double(Float($0)) }, accuracy: 2e-7)
        let lift = (0.5 / Double(r) - 0.5) / 4.2647, norm = (2 * lift * lift + 1).squareRoot()
        let expected = [lift / norm, -lift / norm, -1 / norm]     // (−0.1148, +0.1148, −0.9867)
        for i in 0..<3 { XCTAssertEqual(Double(v[i]), expected[i], accuracy: 2e-6, "pixel (0, 0) component \(i)") }
        let topRight = (r - 1) * 3, bottomLeft = (r - 1) * r * 3
        XCTAssertGreaterThan(v[topRight], 0, "top-right pixel looks toward +x")
        XCTAssertGreaterThan(v[topRight + 1], 0, "top row looks toward +y")
        XCTAssertLessThan(v[bottomLeft], 0, "left column looks toward −x")
        XCTAssertLessThan(v[bottomLeft + 1], 0, "bottom row looks toward −y")
        for m in 0..<(r * r) {
            let n = v[3 * m] * v[3 * m] + v[3 * m + 1] * v[3 * m + 1] + v[3 * m + 2] * v[3 * m + 2]
            XCTAssertEqual(n, 1, accuracy: 1e-6)
        }
    }
}

private func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
