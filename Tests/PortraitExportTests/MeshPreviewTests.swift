// mesh.png: the mesh picture is z-buffered, coloured from the vertices, shaded, and fitted to the image.
import XCTest
import Codecs
import TriPlaneGAN
@testable import PortraitExport

final class MeshPreviewTests: XCTestCase {
    func pixel(_ img: Image, _ x: Int, _ y: Int) -> [UInt16] { Array(img.samples[(y * img.width + x) * 3..<(y * img.width + x) * 3 + 3]) }

    func testNearerTriangleHidesTheFartherOneAndShadingFollowsTheNormal() {
        // Two squares facing +z: a red one at z = 0 and a smaller green one in front of it at z = 0.1.
        func square(_ half: Float, z: Float, base: Int32) -> ([SIMD3<Float>], [SIMD3<Int32>]) {
            ([SIMD3(-half, -half, z), SIMD3(half, -half, z), SIMD3(half, half, z), SIMD3(-half, half, z)],
             [SIMD3(base, base + 1, base + 2), SIMD3(base, base + 2, base + 3)])
        }
        let (v0, t0) = square(1, z: 0, base: 0), (v1, t1) = square(0.3, z: 0.1, base: 4)
        let colors = Array(repeating: SIMD3<Float>(1, 0, 0), count: 4) + Array(repeating: SIMD3<Float>(0, 1, 0), count: 4)
        let mesh = TriangleMesh(vertices: v0 + v1, triangles: t0 + t1, colors: colors)
        let img = MeshPreview.render(mesh, size: 64, yaw: 0)
        XCTAssertEqual([img.width, img.height, img.channels], [64, 64, 3])
        // Facing the viewer, the shade is ambient + (1 − ambient)·light.z.
        let shade = MeshPreview.ambient + (1 - MeshPreview.ambient) * MeshPreview.light.z
        let level = UInt16((shade * 255).rounded())
        XCTAssertEqual(pixel(img, 32, 32), [0, level, 0], "the nearer green square covers the centre")
        XCTAssertEqual(pixel(img, 10, 10), [level, 0, 0], "red around it")
        XCTAssertEqual(pixel(img, 1, 1), [255, 255, 255], "the fitted mesh leaves a margin of background")
        // Seen from the side (yaw π/2) the squares are edge-on: nothing but background.
        let side = MeshPreview.render(mesh, size: 64, yaw: .pi / 2)
        XCTAssertEqual(pixel(side, 10, 10), [255, 255, 255])
        // Without colours: grey; an empty mesh or bad indices: background, no crash.
        let grey = MeshPreview.render(TriangleMesh(vertices: v0, triangles: t0, colors: nil), size: 16, yaw: 0)
        XCTAssertEqual(pixel(grey, 8, 8), [1, 1, 1].map { _ in UInt16((0.8 * shade * 255).rounded()) })
        XCTAssertEqual(MeshPreview.render(TriangleMesh(vertices: [], triangles: [], colors: nil), size: 8).samples, Array(repeating: 255, count: 192))
        _ = MeshPreview.render(TriangleMesh(vertices: v0, triangles: [SIMD3(0, 1, 99)], colors: nil), size: 8)
    }
}
