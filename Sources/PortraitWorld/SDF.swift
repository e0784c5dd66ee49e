// Signed-distance primitives: a flat struct per primitive (kind, rigid frame, size, bend, two clip planes, a wave
// displacement, a bounding sphere) so the sphere tracer's inner loop reads contiguous memory and branches on a byte.
import Foundation

/// The part a surface belongs to; the renderer writes these to its ID buffer.
public enum Part: UInt8, CaseIterable, Sendable {
    case background = 0, skin, hair, eyebrow, sclera, iris, lips, teeth, mouthInterior
    case beard, moustache, goatee, glassesFrame, glassesLens, hat, earring, necklace, necktie, clothing, marker
}

public enum PrimitiveKind: UInt8, Sendable {
    /// size = radii (x, y, z). Approximate distance (iq's k0·(k0−1)/k1).
    case ellipsoid
    /// Along local y from −h to +h; size = (h, radius at −h, radius at +h). Linearly tapered capsule.
    case roundCone
    /// size = half extents (x, y, z), w = corner rounding (included in the extents).
    case roundBox
    /// In the local xz plane; size = (major radius, minor radius, x stretch).
    case torus
    /// Around local y; size = (radius, half height, rounding).
    case cylinder
}

/// One SDF primitive in a rigid local frame. Distances in world units (the head is about 0.33 wide).
public struct Primitive: Sendable {
    public var kind: PrimitiveKind
    public var part: Part
    /// Member of the smooth-blended skin group (head, jaw, cheeks, nose, ears, neck).
    public var blend: Bool
    public var center: SIMD3<Float>
    /// Rows of the world-to-local rotation (the local axes in world coordinates).
    public var ax: SIMD3<Float>, ay: SIMD3<Float>, az: SIMD3<Float>
    public var size: SIMD4<Float>
    /// Local y is replaced by y − bend·x² before evaluation (curves lips, brows, moustaches).
    public var bend: Float = 0
    /// Half-spaces in local coordinates: the shape keeps points with dot(n, q) ≤ w (n = xyz). Disabled: n = 0, w = 1e9.
    public var clipA = SIMD4<Float>(0, 0, 0, 1e9), clipB = SIMD4<Float>(0, 0, 0, 1e9)
    /// clipA alone sees y − clipBend·x², so its boundary can be a parabola (a beard's upper edge).
    public var clipBend: Float = 0
    /// Displacement amplitude·sin(freq·y + phase)·sin(0.6·freq·x + phase), divided by its Lipschitz bound.
    public var wave = SIMD4<Float>(0, 0, 0, 1)
    /// Linear albedo.
    public var color: SIMD3<Float>
    /// Specular strength and Blinn-Phong exponent (a power of two: 8, 16, 32, 64).
    public var specular: Float = 0.1, shininess: Float = 16
    /// World-space bounding sphere, filled by `finalize()`.
    public var boundCenter = SIMD3<Float>(0, 0, 0), boundRadius: Float = 0
    /// Filled by `finalize()`: 1/size (ellipsoids), and whether clip planes or a wave are set.
    var inverseSize = SIMD4<Float>(1, 1, 1, 1)
    var clipped = true, waved = true

    public init(kind: PrimitiveKind, part: Part, center: SIMD3<Float>, size: SIMD4<Float>, color: SIMD3<Float>,
                rotation: (yaw: Float, pitch: Float, roll: Float) = (0, 0, 0), blend: Bool = false) {
        self.kind = kind
        self.part = part
        self.blend = blend
        self.center = center
        self.size = size
        self.color = color
        let (ax, ay, az) = Primitive.axes(yaw: rotation.yaw, pitch: rotation.pitch, roll: rotation.roll)
        self.ax = ax; self.ay = ay; self.az = az
    }

    /// Local axes of R = Ry(yaw)·Rx(pitch)·Rz(roll): the columns of R in world coordinates.
    static func axes(yaw: Float, pitch: Float, roll: Float) -> (SIMD3<Float>, SIMD3<Float>, SIMD3<Float>) {
        let (cy, sy, cp, sp, cr, sr) = (cos(yaw), sin(yaw), cos(pitch), sin(pitch), cos(roll), sin(roll))
        func ry(_ v: SIMD3<Float>) -> SIMD3<Float> { SIMD3(cy * v.x + sy * v.z, v.y, -sy * v.x + cy * v.z) }
        func rx(_ v: SIMD3<Float>) -> SIMD3<Float> { SIMD3(v.x, cp * v.y - sp * v.z, sp * v.y + cp * v.z) }
        func rz(_ v: SIMD3<Float>) -> SIMD3<Float> { SIMD3(cr * v.x - sr * v.y, sr * v.x + cr * v.y, v.z) }
        return (ry(rx(rz(SIMD3(1, 0, 0)))), ry(rx(rz(SIMD3(0, 1, 0)))), ry(rx(rz(SIMD3(0, 0, 1)))))
    }

    /// A tapered capsule from `a` (radius r0) to `b` (radius r1).
    public static func capsule(_ a: SIMD3<Float>, _ b: SIMD3<Float>, _ r0: Float, _ r1: Float, part: Part,
                               color: SIMD3<Float>, blend: Bool = false) -> Primitive {
        let axis = b - a
        let len = (axis * axis).sum().squareRoot()
        var p = Primitive(kind: .roundCone, part: part, center: (a + b) * 0.5, size: SIMD4(len / 2, r0, r1, 0), color: color, blend: blend)
        let ay = axis / fmax(len, 1e-9)
        let helper: SIMD3<Float> = fabs(ay.x) < 0.9 ? SIMD3(1, 0, 0) : SIMD3(0, 0, 1)
        let az = normalize3(cross3(helper, ay))
        p.ay = ay; p.az = az; p.ax = cross3(ay, az)
        return p
    }

    /// Computes the bounding sphere (conservative; `pad` widens it, e.g. by the blend radius).
    public mutating func finalize(pad: Float = 0) {
        if kind == .torus && !(size.z > 0) { size.z = 1 }
        inverseSize = SIMD4(1 / size.x, 1 / size.y, 1 / size.z, size.w == 0 ? 0 : 1 / size.w)
        clipped = clipA.w < 1e8 || clipB.w < 1e8
        waved = wave.x != 0
        let s = size
        var r: Float
        switch kind {
        case .ellipsoid: r = fmax(s.x, fmax(s.y, s.z))
        case .roundCone: r = s.x + fmax(s.y, s.z)
        case .roundBox: r = (SIMD3(s.x, s.y, s.z) * SIMD3(s.x, s.y, s.z)).sum().squareRoot()
        case .torus: r = s.x * fmax(1, s.z) + s.y
        case .cylinder: r = (s.x * s.x + s.y * s.y).squareRoot() + s.z
        }
        // Bending moves points by at most |bend|·x² with |x| ≤ r; the wave by its amplitude.
        r += fabs(bend) * r * r + fabs(wave.x)
        boundCenter = center
        boundRadius = r + pad
    }

    /// Signed distance (a lower bound away from the surface, exact enough near it) at world point `p`.
    /// Scalar arithmetic throughout: SIMD3 dot products cost horizontal shuffles in this hot path.
    @inline(__always) public func distance(_ p: SIMD3<Float>) -> Float {
        withUnsafePointer(to: self) { Primitive.distance($0, p) }
    }

    /// `distance` for a primitive in place (the tracer's hot path: calling the method on `pointer.pointee` made
    /// the compiler copy the whole struct for every evaluation).
    @inline(__always) static func distance(_ s: UnsafePointer<Primitive>, _ p: SIMD3<Float>) -> Float {
        let center = s.pointee.center, ax = s.pointee.ax, ay = s.pointee.ay, az = s.pointee.az
        let size = s.pointee.size, inverseSize = s.pointee.inverseSize, bend = s.pointee.bend
        let wx = p.x - center.x, wy = p.y - center.y, wz = p.z - center.z
        let qx = ax.x * wx + ax.y * wy + ax.z * wz
        var qy = ay.x * wx + ay.y * wy + ay.z * wz
        let qz = az.x * wx + az.y * wy + az.z * wz
        if bend != 0 { qy -= bend * qx * qx }
        var d: Float
        switch s.pointee.kind {
        case .ellipsoid:
            let ax = qx * inverseSize.x, ay = qy * inverseSize.y, az = qz * inverseSize.z
            let bx = ax * inverseSize.x, by = ay * inverseSize.y, bz = az * inverseSize.z
            let k0 = (ax * ax + ay * ay + az * az).squareRoot(), k1 = (bx * bx + by * by + bz * bz).squareRoot()
            d = k1 > 0 ? k0 * (k0 - 1) / k1 : -fmin(size.x, fmin(size.y, size.z))
        case .roundCone:
            let h = size.x
            let y = fmin(fmax(qy, -h), h)
            let t = (y + h) * 0.5 * inverseSize.x
            let dy = qy - y
            d = (qx * qx + dy * dy + qz * qz).squareRoot() - (size.y + (size.z - size.y) * t)
        case .roundBox:
            let ex = fabs(qx) - (size.x - size.w), ey = fabs(qy) - (size.y - size.w), ez = fabs(qz) - (size.z - size.w)
            let ox = fmax(ex, 0), oy = fmax(ey, 0), oz = fmax(ez, 0)
            d = (ox * ox + oy * oy + oz * oz).squareRoot() + fmin(fmax(ex, fmax(ey, ez)), 0) - size.w
        case .torus:
            let x = qx * inverseSize.z
            let rxz = (x * x + qz * qz).squareRoot() - size.x
            d = (rxz * rxz + qy * qy).squareRoot() - size.y
            if size.z < 1 { d *= size.z }   // x/stretch is 1-Lipschitz only for stretch ≥ 1
        case .cylinder:
            let ex = (qx * qx + qz * qz).squareRoot() - (size.x - size.z), ey = fabs(qy) - (size.y - size.z)
            let ox = fmax(ex, 0), oy = fmax(ey, 0)
            d = fmin(fmax(ex, ey), 0) + (ox * ox + oy * oy).squareRoot() - size.z
        }
        if s.pointee.clipped {
            let clipA = s.pointee.clipA, clipB = s.pointee.clipB, clipBend = s.pointee.clipBend
            d = fmax(d, clipA.x * qx + clipA.y * (qy - clipBend * qx * qx) + clipA.z * qz - clipA.w)
            d = fmax(d, clipB.x * qx + clipB.y * qy + clipB.z * qz - clipB.w)
        }
        if s.pointee.waved {
            let wave = s.pointee.wave
            d = (d + wave.x * fastSin(wave.y * qy + wave.z) * fastSin(0.6 * wave.y * qx + wave.z)) / wave.w
        }
        return d
    }

    /// The point in the primitive's local frame (for textures).
    @inline(__always) public func local(_ p: SIMD3<Float>) -> SIMD3<Float> {
        let w = p - center
        return SIMD3((ax * w).sum(), (ay * w).sum(), (az * w).sum())
    }
}

/// Polynomial smooth minimum with blend radius k (iq): equals fmin(a, b) when |a − b| ≥ k.
@inline(__always) func smoothMin(_ a: Float, _ b: Float, _ k: Float) -> Float {
    let h = fmax(k - fabs(a - b), 0) / k
    return fmin(a, b) - h * h * k * 0.25
}

/// sin(x) to about 1e-3, branch-light (range reduction to [−π, π], then a parabola with one refinement).
@inline(__always) func fastSin(_ x: Float) -> Float {
    let inv2pi: Float = 0.15915494
    var y = x * inv2pi
    y -= (y + 0.5).rounded(.down)          // y in [−0.5, 0.5)
    let z = y * 2 * Float.pi
    let p = 1.2732395 * z - 0.40528473 * z * fabs(z)
    return 0.225 * (p * fabs(p) - p) + p
}

@inline(__always) func cross3(_ a: SIMD3<Float>, _ b: SIMD3<Float>) -> SIMD3<Float> {
    SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}
@inline(__always) func normalize3(_ a: SIMD3<Float>) -> SIMD3<Float> { a / fmax((a * a).sum().squareRoot(), 1e-20) }
@inline(__always) func dot3(_ a: SIMD3<Float>, _ b: SIMD3<Float>) -> Float { (a * b).sum() }

/// sRGB (0-1, display gamma) to linear.
@inline(__always) func linear(_ c: SIMD3<Double>) -> SIMD3<Float> {
    SIMD3(Float(Foundation.pow(c.x, 2.2)), Float(Foundation.pow(c.y, 2.2)), Float(Foundation.pow(c.z, 2.2)))
}
@inline(__always) func linear(_ r: Double, _ g: Double, _ b: Double) -> SIMD3<Float> { linear(SIMD3(r, g, b) / 255) }

// Float min/max/abs that always inline (the generic standard-library versions were left as calls in the hot loop).
@inline(__always) func fmax(_ a: Float, _ b: Float) -> Float { a > b ? a : b }
@inline(__always) func fmin(_ a: Float, _ b: Float) -> Float { a < b ? a : b }
@inline(__always) func fabs(_ a: Float) -> Float { a.magnitude }
