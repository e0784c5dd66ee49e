// The per-identity signed-distance scene: a smooth-blended skin group (cranium, jaw, cheeks, brow, nose, ears,
// neck) with eyes, brows, lips, hair, facial hair, accessories and clothing as hard-unioned parts, plus the
// lights, background and texture parameters the renderer shades with. World units; +y up, the face looks to +z,
// the head is centred near the origin and about 0.33 wide, framed like an FFHQ crop by EG3D's cameras.
import Foundation

/// Surface-texture parameters the shader reads (positions in world units).
public struct SurfaceDetail: Sendable {
    public var skin = SIMD3<Float>(0.5, 0.35, 0.25)
    public var hair = SIMD3<Float>(0.1, 0.06, 0.03)
    public var iris = SIMD3<Float>(0.1, 0.05, 0.02)
    public var eyeCenters = (SIMD3<Float>(-0.05, 0.018, 0.16), SIMD3<Float>(0.05, 0.018, 0.16))
    public var mouthY: Float = -0.095
    /// 0 (young), 0.5 (middle-aged), 1 (old): wrinkle depth and skin desaturation.
    public var age: Float = 0
    public var stubble = false, rosyCheeks = false, bagsUnderEyes = false
    public var wavyHair = false
}

/// A renderable head: primitives plus lights and background.
public struct HeadScene: Sendable {
    public var primitives: ContiguousArray<Primitive> = []
    /// Smooth-union radius of the skin group.
    public var blendRadius: Float = 0.03
    public var detail = SurfaceDetail()
    /// Unit directions toward the key and fill lights (world), and their intensities.
    public var keyLight = SIMD3<Float>(0.4, 0.5, 0.77), fillLight = SIMD3<Float>(-0.6, 0.1, 0.8)
    public var keyIntensity: Float = 1.0, fillIntensity: Float = 0.3, ambient: Float = 0.22
    /// Background colour (linear) at the image top and bottom.
    public var backgroundTop = SIMD3<Float>(0.5, 0.5, 0.5), backgroundBottom = SIMD3<Float>(0.4, 0.4, 0.4)

    public init() {}

    /// Adds a primitive, computing its bounding sphere (skin-group members are padded by twice the blend radius).
    public mutating func add(_ p: Primitive) {
        var p = p
        p.finalize(pad: p.blend ? 2 * blendRadius : 0)
        primitives.append(p)
    }

    /// Adds a small sphere of part `.marker` at `point` (camera tests).
    public mutating func addMarker(at point: SIMD3<Float>, radius: Float, color: SIMD3<Float> = SIMD3(1, 0, 0)) {
        add(Primitive(kind: .ellipsoid, part: .marker, center: point, size: SIMD4(radius, radius, radius, 0), color: color))
    }

    /// Distance to the skin group alone (scene building: placing features on the face).
    func skinDistance(_ p: SIMD3<Float>) -> Float {
        var d = Float.infinity
        for q in primitives where q.blend { d = smoothMin(d, q.distance(p), blendRadius) }
        return d
    }

    /// z of the skin surface seen from the front at (x, y): marches from z = 0.6 toward −z.
    func surfaceZ(_ x: Float, _ y: Float) -> Float {
        var z: Float = 0.6
        for _ in 0..<200 {
            let d = skinDistance(SIMD3(x, y, z))
            if d < 1e-5 { break }
            z -= max(d, 1e-5)
            if z < -0.3 { return 0 }
        }
        return z
    }

    /// The sphere containing every primitive.
    public var bound: (center: SIMD3<Float>, radius: Float) {
        guard let first = primitives.first else { return (.zero, 0) }
        var lo = first.boundCenter - first.boundRadius, hi = first.boundCenter + first.boundRadius
        for p in primitives {
            lo = pointwiseMin(lo, p.boundCenter - p.boundRadius)
            hi = pointwiseMax(hi, p.boundCenter + p.boundRadius)
        }
        let c = (lo + hi) * 0.5
        var r: Float = 0
        for p in primitives { r = max(r, ((p.boundCenter - c) * (p.boundCenter - c)).sum().squareRoot() + p.boundRadius) }
        return (c, r)
    }
}

/// Colours of the world (sRGB 0-255, converted to linear albedo).
enum Palette {
    static func skin(_ t: SkinTone) -> SIMD3<Float> {
        switch t {
        case .pale: linear(246, 218, 200)
        case .fair: linear(232, 190, 160)
        case .olive: linear(204, 160, 118)
        case .tan: linear(178, 128, 88)
        case .brown: linear(132, 88, 58)
        case .dark: linear(82, 54, 38)
        }
    }
    static func hair(_ c: HairColor) -> SIMD3<Float> {
        switch c {
        case .black: linear(28, 24, 22)
        case .brown: linear(98, 62, 36)
        case .blond: linear(222, 186, 120)
        case .red: linear(168, 66, 28)
        case .grey: linear(150, 148, 145)
        case .white: linear(232, 230, 224)
        }
    }
    static func iris(_ c: EyeColor) -> SIMD3<Float> {
        switch c {
        case .brown: linear(88, 50, 22)
        case .blue: linear(64, 122, 190)
        case .green: linear(64, 138, 72)
        case .grey: linear(136, 146, 152)
        case .hazel: linear(140, 106, 50)
        }
    }
    static func background(_ b: Background) -> SIMD3<Float> {
        switch b {
        case .white: linear(236, 236, 232)
        case .grey: linear(150, 150, 150)
        case .charcoal: linear(56, 58, 62)
        case .blue: linear(80, 120, 190)
        case .green: linear(96, 160, 100)
        case .beige: linear(214, 196, 160)
        case .pink: linear(230, 160, 180)
        case .yellow: linear(236, 210, 100)
        case .purple: linear(130, 90, 170)
        }
    }
    static let gold = linear(212, 168, 64), silver = linear(200, 200, 205)
    static let lipstick = linear(176, 22, 42), teeth = linear(236, 232, 218), mouth = linear(60, 16, 18)
    static let sclera = linear(238, 236, 230), lens = linear(12, 12, 16)
}
