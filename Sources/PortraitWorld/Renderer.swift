// The sphere-tracing renderer: EG3D rays (RaySampler's formula) per pixel; each ray keeps only the primitives
// whose bounding spheres it crosses, sorted by entry distance, and marches from the first entry evaluating only
// the primitives whose sphere it is inside (a safe step also never passes the next sphere's entry). The hit
// tolerance grows with the pixel footprint. Shading: wrapped Lambert key light, Blinn-Phong specular, a soft fill,
// sky ambient with two-tap ambient occlusion, then gamma. Anti-aliasing is adaptive: 4 extra rotated-grid samples
// only where a pixel's part ID or depth differs from a neighbour's. Outputs colour, depth, coverage mask, part IDs.
import Foundation
import TensorCore

public struct RenderOptions: Sendable {
    /// Output width and height in pixels.
    public var resolution: Int
    /// Adaptive supersampling (5 samples on edges, 1 elsewhere).
    public var antialias = true
    /// Sphere-tracing step limit per ray.
    public var maxSteps = 96
    /// Hit tolerance as a fraction of the pixel footprint at the hit distance.
    public var footprintFraction: Float = 0.35
    public init(resolution: Int) { self.resolution = resolution }
}

/// One rendered view. Row 0 is the image top (EG3D's pixel order); index = row · resolution + col.
public struct Rendering: Sendable {
    public let resolution: Int
    /// sRGB bytes, 3 per pixel.
    public var rgb: [UInt8]
    /// Distance along the unit ray to the surface seen at the pixel centre (EG3D's depth convention); +inf on background.
    public var depth: [Float]
    /// Foreground coverage, 0 (background) to 255 (fully covered).
    public var mask: [UInt8]
    /// `Part` raw value of the surface at each pixel centre (0 = background; iris pixels report `.iris`).
    public var parts: [UInt8]

    /// Number of pixels whose centre shows `part`.
    public func count(_ part: Part) -> Int { parts.reduce(0) { $0 + ($1 == part.rawValue ? 1 : 0) } }
}

public enum Renderer {
    /// Renders `scene` as seen by `camera` (an EG3D camera; intrinsics normalised to the image size).
    public static func render(_ scene: HeadScene, camera: Camera, options: RenderOptions) -> Rendering {
        let R = options.resolution
        precondition(R > 0, "Renderer: resolution must be positive")
        let n = R * R
        var color = [SIMD3<Float>](repeating: .zero, count: n)
        var depth = [Float](repeating: .infinity, count: n)
        var parts = [UInt8](repeating: 0, count: n)
        var cover = [UInt8](repeating: 0, count: n)
        var rgb = [UInt8](repeating: 0, count: n * 3)
        let cam = RayCamera(camera)
        let pixelAngle = 1 / (Float(R) * Float(min(camera.intrinsics[0], camera.intrinsics[4])))
        scene.primitives.withUnsafeBufferPointer { prims in
            let bounds = prims.map { SIMD4($0.boundCenter, $0.boundRadius * $0.boundRadius) }
            let tiles = TileLists(camera: cam, resolution: R, bounds: bounds)
            tiles.items.withUnsafeBufferPointer { tileItems in
            tiles.start.withUnsafeBufferPointer { tileStart in
            bounds.withUnsafeBufferPointer { bounds in
                color.withUnsafeMutableBufferPointer { color in
                depth.withUnsafeMutableBufferPointer { depth in
                parts.withUnsafeMutableBufferPointer { parts in
                cover.withUnsafeMutableBufferPointer { cover in
                rgb.withUnsafeMutableBufferPointer { rgb in
                    let ctx = ShadeContext(scene: scene, prims: prims.baseAddress!, bounds: bounds.baseAddress!, count: prims.count,
                                           camera: cam, pixelAngle: pixelAngle, options: options,
                                           tileItems: tileItems.baseAddress!, tileStart: tileStart.baseAddress!, tilesPerRow: tiles.perRow)
                    // Pass 1: one sample at each pixel centre.
                    parallelRanges(R, grain: 1) { rows in
                        var tracer = Tracer(ctx)
                        defer { tracer.free() }
                        for row in rows {
                            for col in 0..<R {
                                let s = tracer.sample(u: (Float(col) + 0.5) / Float(R), v: (Float(row) + 0.5) / Float(R),
                                                      tile: tiles.tile(row: row, col: col))
                                let i = row * R + col
                                color[i] = s.color; depth[i] = s.t; parts[i] = s.part
                            }
                        }
                    }
                    // Pass 2: extra samples where a neighbour differs in part or depth; then gamma.
                    let offsets: [SIMD2<Float>] = [SIMD2(-0.375, -0.125), SIMD2(0.125, -0.375), SIMD2(0.375, 0.125), SIMD2(-0.125, 0.375)]
                    parallelRanges(R, grain: 1) { rows in
                        var tracer = Tracer(ctx)
                        defer { tracer.free() }
                        for row in rows {
                            for col in 0..<R {
                                let i = row * R + col
                                var c = color[i]
                                var fg: Int = parts[i] != 0 ? 1 : 0
                                var samples = 1
                                if options.antialias && isEdge(i, row, col, R, depth, parts) {
                                    for o in offsets {
                                        let s = tracer.sample(u: (Float(col) + 0.5 + o.x) / Float(R), v: (Float(row) + 0.5 + o.y) / Float(R),
                                                              tile: tiles.tile(row: row, col: col))
                                        c += s.color
                                        if s.part != 0 { fg += 1 }
                                    }
                                    samples = 5
                                }
                                c /= Float(samples)
                                rgb[3 * i] = Gamma.encode(c.x); rgb[3 * i + 1] = Gamma.encode(c.y); rgb[3 * i + 2] = Gamma.encode(c.z)
                                cover[i] = UInt8((fg * 255 + samples / 2) / samples)
                            }
                        }
                    }
                } } } } }
            } } }
        }
        return Rendering(resolution: R, rgb: rgb, depth: depth, mask: cover, parts: parts)
    }

    /// True when a 4-neighbour shows another part or a depth more than 1% away.
    @inline(__always) static func isEdge(_ i: Int, _ row: Int, _ col: Int, _ R: Int,
                                         _ depth: UnsafeMutableBufferPointer<Float>, _ parts: UnsafeMutableBufferPointer<UInt8>) -> Bool {
        let p = parts[i], t = depth[i]
        @inline(__always) func differs(_ j: Int) -> Bool {
            if parts[j] != p { return true }
            if p == 0 { return false }
            return abs(depth[j] - t) > 0.01 * t
        }
        return (col > 0 && differs(i - 1)) || (col + 1 < R && differs(i + 1))
            || (row > 0 && differs(i - R)) || (row + 1 < R && differs(i + R))
    }
}

/// The camera as the tracer uses it: origin, rotation columns and intrinsics in Float.
struct RayCamera {
    let origin: SIMD3<Float>, right: SIMD3<Float>, down: SIMD3<Float>, forward: SIMD3<Float>
    let fx: Float, fy: Float, cx: Float, cy: Float, skew: Float

    init(_ c: Camera) {
        func f(_ v: SIMD3<Double>) -> SIMD3<Float> { SIMD3(Float(v.x), Float(v.y), Float(v.z)) }
        origin = f(c.origin); right = f(c.axis(0)); down = f(c.axis(1)); forward = f(c.axis(2))
        fx = Float(c.intrinsics[0]); skew = Float(c.intrinsics[1]); cx = Float(c.intrinsics[2])
        fy = Float(c.intrinsics[4]); cy = Float(c.intrinsics[5])
    }

    /// RaySampler: x = (u − cx + cy·sk/fy − sk·v/fy)/fx, y = (v − cy)/fy, d = normalize(R·[x, y, 1]).
    @inline(__always) func direction(u: Float, v: Float) -> SIMD3<Float> {
        let x = (u - cx + cy * skew / fy - skew * v / fy) / fx
        let y = (v - cy) / fy
        return normalize3(right * x + down * y + forward)
    }
}

/// For each 8 x 8 pixel tile, the primitives whose bounding sphere meets the cone around the tile's rays (apex at the
/// camera, axis through the tile centre, half-angle reaching the tile's corners), so each ray tests only those.
struct TileLists {
    static let size = 8
    let perRow: Int
    /// Tile t's primitive indices are items[start[t] ..< start[t + 1]].
    var start: [Int32] = [0]
    var items: [Int32] = []

    init(camera cam: RayCamera, resolution R: Int, bounds: [SIMD4<Float>]) {
        let T = TileLists.size
        perRow = (R + T - 1) / T
        let o = cam.origin
        for ty in 0..<perRow {
            for tx in 0..<perRow {
                let u0 = Float(tx * T) / Float(R), u1 = Float(min(R, (tx + 1) * T)) / Float(R)
                let v0 = Float(ty * T) / Float(R), v1 = Float(min(R, (ty + 1) * T)) / Float(R)
                let axis = cam.direction(u: (u0 + u1) / 2, v: (v0 + v1) / 2)
                var cosA: Float = 1
                for (u, v) in [(u0, v0), (u1, v0), (u0, v1), (u1, v1)] { cosA = min(cosA, dot3(axis, cam.direction(u: u, v: v))) }
                cosA = max(-1, cosA - 1e-5)
                let sinA = (1 - cosA * cosA).squareRoot()
                for (i, b) in bounds.enumerated() {
                    let w = SIMD3(b.x, b.y, b.z) - o
                    let a = dot3(w, axis)
                    let perp = (max(0, dot3(w, w) - a * a)).squareRoot()
                    let r = b.w.squareRoot() + 1e-4
                    // Distance from the sphere centre to the cone: to its side, or to its apex when behind it.
                    let hit = a * cosA + perp * sinA < 0 ? dot3(w, w) <= r * r : perp * cosA - a * sinA <= r
                    if hit { items.append(Int32(i)) }
                }
                start.append(Int32(items.count))
            }
        }
    }

    @inline(__always) func tile(row: Int, col: Int) -> Int { (row / TileLists.size) * perRow + col / TileLists.size }
}

/// sRGB-ish display encoding (gamma 2.2) through a 4096-entry table.
enum Gamma {
    static let table: [UInt8] = (0..<4096).map { i in
        UInt8(min(255, max(0, (Foundation.pow(Double(i) / 4095, 1 / 2.2) * 255).rounded())))
    }
    /// Inverse of `encode` (up to rounding): a display byte back to linear.
    static func decode(_ b: UInt8) -> Float { Float(Foundation.pow(Double(b) / 255, 2.2)) }

    @inline(__always) static func encode(_ x: Float) -> UInt8 {
        let c = min(max(x, 0), 1)
        return table.withUnsafeBufferPointer { $0[Int(c * 4095 + 0.5)] }
    }
}
