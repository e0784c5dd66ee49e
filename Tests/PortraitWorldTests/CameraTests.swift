// Cameras: LookAtPoseSampler against the spec's worked values, the pose distribution's spread, and the renderer's
// pixels against EG3D's RaySampler (a marker at a known 3D point lands on the pixel whose EG3D ray passes it).
import Foundation
import XCTest
@testable import PortraitWorld
import Codecs
import TensorCore

/// EG3D's RaySampler, written out here from eg3d-spec §7.2 independently of the library: the ray of pixel
/// (row, col) of an R x R image from a 25-float label.
func eg3dRay(label: [Double], row: Int, col: Int, resolution R: Int) -> (o: SIMD3<Double>, d: SIMD3<Double>) {
    let u = Double(col) * (1 / Double(R)) + 0.5 / Double(R), v = Double(row) * (1 / Double(R)) + 0.5 / Double(R)
    let fx = label[16], sk = label[17], cx = label[18], fy = label[20], cy = label[21]
    let xc = (u - cx + cy * sk / fy - sk * v / fy) / fx, yc = (v - cy) / fy
    let m = Array(label[0..<16])
    let o = SIMD3(m[3], m[7], m[11])
    let p = SIMD3(m[0] * xc + m[1] * yc + m[2] + m[3], m[4] * xc + m[5] * yc + m[6] + m[7], m[8] * xc + m[9] * yc + m[10] + m[11])
    let d = p - o
    return (o, d / max((d * d).sum().squareRoot(), 1e-12))
}

final class CameraTests: XCTestCase {
    func testFrontalCameraMatchesSpec() {
        let c = LookAtPoseSampler.sample(horizontal: .pi / 2, vertical: .pi / 2, lookat: SIMD3(0, 0, 0.2), radius: 2.7)
        let o = c.origin
        XCTAssertEqual(o.x, 0, accuracy: 1e-12); XCTAssertEqual(o.y, 0, accuracy: 1e-12); XCTAssertEqual(o.z, 2.7, accuracy: 1e-12)
        XCTAssertEqual(c.axis(0).x, 1, accuracy: 1e-12, "right = +x")
        XCTAssertEqual(c.axis(1).y, -1, accuracy: 1e-12, "camera y (image down) = world -y")
        XCTAssertEqual(c.axis(2).z, -1, accuracy: 1e-12, "forward = -z")
        // §7.2's check: pixel (0, 0) of the frontal camera looks up and to the left (image right = world +x, image
        // up = world +y, no mirroring). (The spec quotes (−0.087, +0.087, −0.992), which its own formula gives for
        // f ≈ 5.7 rather than 4.2647; at 4.2647 and R = 128 the formula gives (−0.1148, +0.1148, −0.9867).)
        let d = eg3dRay(label: c.label, row: 0, col: 0, resolution: 128).d
        XCTAssertLessThan(d.x, 0); XCTAssertGreaterThan(d.y, 0); XCTAssertEqual(d.x, -d.y, accuracy: 1e-12)
        let x = (0.5 / 128 - 0.5) / 4.2647
        XCTAssertEqual(d.x, x / (1 + 2 * x * x).squareRoot(), accuracy: 1e-12)
        // The library's own ray formula agrees.
        let mine = c.ray(u: 0.5 / 128, v: 0.5 / 128).direction
        XCTAssertEqual(((mine - d) * (mine - d)).sum(), 0, accuracy: 1e-20)
    }

    func testScriptsQuirkAndNonLinearPitch() {
        // 3.14/2 (the scripts' "frontal") puts the camera at (-0.00215, 0.00137, 2.7).
        let q = LookAtPoseSampler.sample(horizontal: 3.14 / 2, vertical: 3.14 / 2).origin
        XCTAssertEqual(q.x, -0.00215, accuracy: 1e-5); XCTAssertEqual(q.y, 0.00137, accuracy: 1e-5); XCTAssertEqual(q.z, 2.7, accuracy: 1e-5)
        // v = π/2 − 0.2 gives polar angle 1.4431, i.e. 0.1277 rad elevation.
        let o = LookAtPoseSampler.sample(horizontal: .pi / 2, vertical: .pi / 2 - 0.2).origin
        XCTAssertEqual(asin(o.y / 2.7), 0.1277, accuracy: 1e-4)
        // Larger θ moves the camera toward +x.
        XCTAssertGreaterThan(LookAtPoseSampler.sample(horizontal: .pi / 2 + 0.3, vertical: .pi / 2).origin.x, 0)
    }

    func testPoseDistributionSpread() {
        let poses = PoseDistribution()
        var yaws: [Double] = []
        for i in 0..<3000 {
            let c = poses.camera(seed: 5, index: i)
            let o = c.origin
            XCTAssertEqual((o * o).sum().squareRoot(), 2.7, accuracy: 1e-9)
            // The forward axis passes through the look-at point (0, 0, 0.2).
            let toLook = SIMD3<Double>(0, 0, 0.2) - o
            let f = c.axis(2)
            let along = (toLook * f).sum()
            let off = toLook - f * along
            XCTAssertLessThan((off * off).sum().squareRoot(), 1e-9)
            yaws.append(atan2(o.x, o.z))
        }
        let mean = yaws.reduce(0, +) / Double(yaws.count)
        let sd = (yaws.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(yaws.count)).squareRoot()
        XCTAssertEqual(mean, 0, accuracy: 0.03)
        XCTAssertEqual(sd, 0.29, accuracy: 0.03, "yaw about N(0, 0.3) clipped at 0.9 (camera yaw about the origin is a little smaller)")
        XCTAssertLessThanOrEqual(yaws.map(abs).max()!, 0.9)
    }

    func testMirroredCameraIsFlipYaw() {
        let c = PoseDistribution().camera(yaw: 0.4, pitch: 0.1)
        let m = c.mirrored
        XCTAssertEqual(m.origin.x, -c.origin.x, accuracy: 1e-12)
        XCTAssertEqual(m.origin.y, c.origin.y, accuracy: 1e-12)
        let p = SIMD3<Double>(0.05, 0.02, 0.1)
        let a = c.project(p)!, b = m.project(SIMD3(-p.x, p.y, p.z))!
        XCTAssertEqual(a.x, 1 - b.x, accuracy: 1e-9, "a mirrored point lands at the mirrored column")
        XCTAssertEqual(a.y, b.y, accuracy: 1e-9)
    }

    /// A small marker at a known point: the pixel whose EG3D ray passes nearest to it shows the marker, and the
    /// marker's pixels are centred there.
    func testMarkerLandsOnEG3DRayPixel() {
        let R = 96
        let points: [SIMD3<Float>] = [SIMD3(0.03, -0.04, 0.22), SIMD3(-0.12, 0.1, 0.05), SIMD3(0.15, 0.15, -0.1), SIMD3(0, 0, 0.2)]
        let poses = PoseDistribution()
        for (k, p) in points.enumerated() {
            for i in 0..<3 {
                let cam = poses.camera(seed: 11, index: 7 * k + i)
                var scene = HeadScene()
                scene.addMarker(at: p, radius: 0.01)      // about 1.6 pixels at this resolution
                let img = Renderer.render(scene, camera: cam, options: RenderOptions(resolution: R))
                // Nearest EG3D ray to p.
                var best = (row: 0, col: 0), bestD = Double.infinity
                let pd = SIMD3<Double>(Double(p.x), Double(p.y), Double(p.z))
                for row in 0..<R { for col in 0..<R {
                    let (o, d) = eg3dRay(label: cam.label, row: row, col: col, resolution: R)
                    let w = pd - o
                    let perp = w - d * (w * d).sum()
                    let dist = (perp * perp).sum()
                    if dist < bestD { bestD = dist; best = (row, col) }
                } }
                XCTAssertEqual(img.parts[best.row * R + best.col], Part.marker.rawValue, "marker \(p), camera \(i): pixel \(best) is not the marker")
                var sr = 0.0, sc = 0.0, n = 0.0
                for row in 0..<R { for col in 0..<R where img.parts[row * R + col] == Part.marker.rawValue {
                    sr += Double(row); sc += Double(col); n += 1
                } }
                XCTAssertGreaterThan(n, 0)
                XCTAssertEqual(sr / n, Double(best.row), accuracy: 0.75)
                XCTAssertEqual(sc / n, Double(best.col), accuracy: 0.75)
                // Depth at that pixel is the distance to the marker's near surface.
                let dist = ((pd - cam.origin) * (pd - cam.origin)).sum().squareRoot()
                XCTAssertEqual(Double(img.depth[best.row * R + best.col]), dist - 0.01, accuracy: 0.006)
            }
        }
    }
}

final class TurntableTests: XCTestCase {
    /// Views of one identity agree in 3D: pixels of one view lifted to world points with their depth and EG3D ray
    /// land, in another view, on pixels of the same part at the same depth wherever they are visible there.
    func testViewsAreGeometricallyConsistent() {
        let id = AttributeSampler().identity(seed: 12, index: 5)
        let scene = HeadScene(identity: id)
        let R = 96
        let cams = PoseDistribution().orbit(frames: 8, yawRange: 0.5)
        let views = cams.map { Renderer.render(scene, camera: $0, options: RenderOptions(resolution: R)) }
        for (a, b) in [(0, 1), (1, 3), (2, 6), (5, 7)] {
            var checked = 0, agree = 0
            for row in stride(from: 0, to: R, by: 3) { for col in stride(from: 0, to: R, by: 3) {
                let k = row * R + col
                guard views[a].parts[k] != 0, views[a].mask[k] == 255 else { continue }
                let (o, d) = eg3dRay(label: cams[a].label, row: row, col: col, resolution: R)
                let p = o + d * Double(views[a].depth[k])
                guard let uv = cams[b].project(p) else { continue }
                let c = Int(uv.x * Double(R)), r = Int(uv.y * Double(R))
                guard (0..<R).contains(c), (0..<R).contains(r) else { continue }
                let kb = r * R + c
                let dist = ((p - cams[b].origin) * (p - cams[b].origin)).sum().squareRoot()
                // Visible in view b: b's surface at that pixel is at the point's distance.
                guard views[b].mask[kb] == 255, abs(Double(views[b].depth[kb]) - dist) < 0.004 else { continue }
                checked += 1
                if views[b].parts[kb] == views[a].parts[k] { agree += 1 }
            } }
            XCTAssertGreaterThan(checked, 150, "views \(a), \(b)")
            XCTAssertGreaterThan(Double(agree) / Double(checked), 0.97, "views \(a), \(b): \(agree) of \(checked)")
        }
    }

    func testTurntableGIF() throws {
        let id = AttributeSampler().identity(seed: 1, index: 2)
        var seen = 0
        let gif = ImageOutput.turntable(id, frames: 6, resolution: 40, delay: 5) { seen = $0 }
        XCTAssertEqual(seen, 6)
        let anim = try GIF.decode(gif, name: "turntable.gif")
        XCTAssertEqual(anim.frames.count, 6)
        XCTAssertEqual(anim.width, 40)
        XCTAssertEqual(anim.frames[0].delay, 5)
        XCTAssertNotEqual(anim.frames[0].indices, anim.frames[1].indices, "the head turns")
    }
}
