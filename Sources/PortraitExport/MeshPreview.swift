// A picture of the extracted mesh (`generate` writes it as mesh.png beside mesh.ply/.obj/.glb), so the geometry can
// be seen without a 3D viewer: the mesh turned by `yaw` about +y (world units, y up, the face toward +z), projected
// orthographically toward −z and fitted to the image, z-buffered, each pixel its triangle's vertex colours
// (interpolated; grey without colours) times two-sided Lambert shading under a light from the upper left front.
import Codecs
import Foundation
import TriPlaneGAN

public enum MeshPreview {
    /// The light direction (toward the light), in the turned frame.
    static let light = SIMD3<Float>(-0.4, 0.5, 1) / (SIMD3<Float>(-0.4, 0.5, 1) * SIMD3<Float>(-0.4, 0.5, 1)).sum().squareRoot()
    static let ambient: Float = 0.3

    /// (size, size) RGB, background white. An empty mesh gives the background alone.
    public static func render(_ mesh: TriangleMesh, size: Int = 256, yaw: Float = 0.5) -> Image {
        precondition(size >= 8, "MeshPreview: size \(size) is too small")
        var pixels = [Float](repeating: 1, count: 3 * size * size)
        var depth = [Float](repeating: -.infinity, count: size * size)
        let c = cos(yaw), s = sin(yaw)
        let turned = mesh.vertices.map { v in SIMD3<Float>(v.x * c + v.z * s, v.y, -v.x * s + v.z * c) }
        guard let first = turned.first else { return image(pixels, size) }
        var lo = first, hi = first
        for v in turned { lo = pointwiseMin(lo, v); hi = pointwiseMax(hi, v) }
        let extent = Swift.max(hi.x - lo.x, hi.y - lo.y, 1e-6)
        let scale = 0.9 * Float(size) / extent
        let cx = (lo.x + hi.x) / 2, cy = (lo.y + hi.y) / 2
        // Screen position (x right, y down, pixel centres at +0.5) and depth (larger is nearer).
        let screen = turned.map { v in SIMD3<Float>((v.x - cx) * scale + Float(size) / 2, (cy - v.y) * scale + Float(size) / 2, v.z) }
        for t in mesh.triangles {
            let ia = Int(t.x), ib = Int(t.y), ic = Int(t.z)
            guard ia >= 0, ib >= 0, ic >= 0, ia < screen.count, ib < screen.count, ic < screen.count else { continue }
            let a = screen[ia], b = screen[ib], p = screen[ic]
            let area = (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x)
            guard abs(area) > 1e-12 else { continue }
            var n = cross(turned[ib] - turned[ia], turned[ic] - turned[ia])
            let len = (n * n).sum().squareRoot()
            guard len > 0 else { continue }
            n /= len
            if n.z < 0 { n = -n }   // two-sided: marching cubes' winding is not relied on
            let shade = ambient + (1 - ambient) * Swift.max(0, (n * light).sum())
            let x0 = Swift.max(0, Int(Swift.min(a.x, b.x, p.x).rounded(.down))), x1 = Swift.min(size - 1, Int(Swift.max(a.x, b.x, p.x).rounded(.up)))
            let y0 = Swift.max(0, Int(Swift.min(a.y, b.y, p.y).rounded(.down))), y1 = Swift.min(size - 1, Int(Swift.max(a.y, b.y, p.y).rounded(.up)))
            guard x0 <= x1, y0 <= y1 else { continue }
            let colours = mesh.colors.map { [$0[ia], $0[ib], $0[ic]] } ?? Array(repeating: SIMD3<Float>(repeating: 0.8), count: 3)
            for y in y0...y1 {
                for x in x0...x1 {
                    let px = Float(x) + 0.5, py = Float(y) + 0.5
                    // Barycentric weights of a, b, p.
                    let wb = ((px - a.x) * (p.y - a.y) - (py - a.y) * (p.x - a.x)) / area
                    let wp = ((b.x - a.x) * (py - a.y) - (b.y - a.y) * (px - a.x)) / area
                    let wa = 1 - wb - wp
                    guard wa >= 0, wb >= 0, wp >= 0 else { continue }
                    let z = wa * a.z + wb * b.z + wp * p.z
                    let k = y * size + x
                    guard z > depth[k] else { continue }
                    depth[k] = z
                    let col = (colours[0] * wa + colours[1] * wb + colours[2] * wp) * shade
                    for ch in 0..<3 { pixels[3 * k + ch] = col[ch] }
                }
            }
        }
        return image(pixels, size)
    }

    static func image(_ rgb: [Float], _ size: Int) -> Image {
        Image(width: size, height: size, channels: 3, bytes: rgb.map { v in v.isFinite ? UInt8(Swift.max(0, Swift.min(255, (v * 255).rounded()))) : 0 })
    }

    static func cross(_ u: SIMD3<Float>, _ v: SIMD3<Float>) -> SIMD3<Float> {
        SIMD3(u.y * v.z - u.z * v.y, u.z * v.x - u.x * v.z, u.x * v.y - u.y * v.x)
    }
}
