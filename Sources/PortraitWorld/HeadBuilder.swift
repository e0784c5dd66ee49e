// Builds the HeadScene of an Identity: every attribute becomes geometry or a surface texture that the renderer
// shows. Features are placed on the face by marching the skin surface (`surfaceZ`), so they follow face shape.
import Foundation

extension HeadScene {
    /// The scene of `id`. Deterministic: no randomness beyond what `id` holds.
    public init(identity id: Identity) {
        self.init()
        let v = id.variation
        let W = Float(v.headWidth), L = Float(v.faceLength), J = Float(v.jawWidth)
        let man = id.sex == .man
        let skinTint = SIMD3<Float>(Float(v.skinTint.x), Float(v.skinTint.y), Float(v.skinTint.z))
        var skin = Palette.skin(id.skinTone) * skinTint
        let ageLevel: Float = id.age == .young ? 0 : id.age == .middleAged ? 0.5 : 1
        // Older skin: slightly greyer and more sallow.
        let grey = (skin.x + skin.y + skin.z) / 3
        skin = skin + (SIMD3(grey, grey * 0.95, grey * 0.85) - skin) * (0.18 * ageLevel)
        var hair = Palette.hair(id.hairColor) * SIMD3(Float(v.hairTint.x), Float(v.hairTint.y), Float(v.hairTint.z))
        if id.hairColor == .white || id.hairColor == .grey { hair = Palette.hair(id.hairColor) * (0.97 + 0.03 * skinTint.x) }
        detail.skin = skin
        detail.hair = hair
        detail.iris = Palette.iris(id.eyeColor)
        detail.age = ageLevel
        detail.stubble = id.stubble
        detail.rosyCheeks = id.rosyCheeks
        detail.bagsUnderEyes = id.bagsUnderEyes
        detail.wavyHair = id.hairStyle == .longWavy

        // Lights and background.
        let ly = Float(v.lightYaw), le = Float(v.lightElevation)
        keyLight = normalize3(SIMD3(sin(ly) * cos(le), sin(le), cos(ly) * cos(le)))
        fillLight = normalize3(SIMD3(-sin(ly) * 0.8, 0.05, 0.9))
        let bg = Palette.background(id.background)
        backgroundTop = bg * 1.08
        backgroundBottom = bg * 0.8

        // Skin group (smooth-blended).
        func skinEllipsoid(_ c: SIMD3<Float>, _ r: SIMD3<Float>, rot: (Float, Float, Float) = (0, 0, 0)) {
            add(Primitive(kind: .ellipsoid, part: .skin, center: c, size: SIMD4(r.x, r.y, r.z, 0), color: skin,
                          rotation: (rot.0, rot.1, rot.2), blend: true))
        }
        let chub: Float = id.chubby ? 1.12 : 1
        skinEllipsoid(SIMD3(0, 0.055, -0.015), SIMD3(0.148 * W, 0.185, 0.195))                            // cranium
        skinEllipsoid(SIMD3(0, -0.06 * L, 0.035), SIMD3(0.118 * J * W * chub, 0.135 * L, 0.14 * (id.chubby ? 1.03 : 1)))  // jaw
        skinEllipsoid(SIMD3(0, -0.165 * L, 0.12), SIMD3(man ? 0.042 : 0.034, 0.03, 0.035))                 // chin
        let cheekY: Float = (id.highCheekbones ? -0.005 : -0.03) + (id.expression == .smiling ? 0.008 : 0)
        let cheekR: SIMD3<Float> = id.highCheekbones ? SIMD3(0.045, 0.03, 0.055) : SIMD3(0.048, 0.04, 0.05)
        for s: Float in [-1, 1] {
            skinEllipsoid(SIMD3(s * 0.07 * W, cheekY, id.highCheekbones ? 0.118 : 0.11), cheekR * (id.chubby ? 1.3 : 1))
        }
        skinEllipsoid(SIMD3(0, 0.062, 0.13), SIMD3(0.105 * W, 0.028, 0.06))                                // brow ridge
        for s: Float in [-1, 1] {                                                                          // ears
            skinEllipsoid(SIMD3(s * 0.147 * W, 0.0, -0.012), SIMD3(0.016, 0.038, 0.027), rot: (s * 0.35, 0, s * 0.1))
        }
        add(Primitive.capsule(SIMD3(0, -0.08, -0.035), SIMD3(0, -0.42, -0.04), man ? 0.068 : 0.06, man ? 0.07 : 0.062,
                              part: .skin, color: skin, blend: true))                                      // neck
        if id.doubleChin { skinEllipsoid(SIMD3(0, -0.19 * L, 0.07), SIMD3(0.07, 0.035, 0.07)) }

        // Nose: a bridge and a tip on the face surface.
        let nl = Float(v.noseLength) * (id.bigNose ? 1.2 : 1)
        let bridgeTop = SIMD3<Float>(0, 0.035, surfaceZ(0, 0.035) - 0.012)
        let tipY: Float = -0.038 * nl
        let tipZ = surfaceZ(0, tipY) + (id.bigNose ? 0.05 : id.pointyNose ? 0.046 : 0.038) * nl
        let tipR: Float = id.bigNose ? 0.02 : id.pointyNose ? 0.011 : 0.016
        add(Primitive.capsule(bridgeTop, SIMD3(0, tipY, tipZ - tipR), 0.011, tipR, part: .skin, color: skin, blend: true))
        let nostrils: SIMD3<Float> = id.bigNose ? SIMD3(0.031, 0.018, 0.022) : id.pointyNose ? SIMD3(0.019, 0.012, 0.016) : SIMD3(0.024, 0.014, 0.018)
        skinEllipsoid(SIMD3(0, tipY - 0.01, tipZ - 0.028), nostrils)

        addEyes(id, W: W)
        addMouth(id, L: L, skin: skin)
        if !id.isBald { addHair(id, W: W, hair: hair) }
        addFacialHair(id, W: W, L: L, hair: hair)
        addAccessories(id, W: W)
        addBody(id)
    }

    /// Eyeballs (iris by texture), lids, brows. Eye centres go to `detail.eyeCenters`.
    private mutating func addEyes(_ id: Identity, W: Float) {
        let ex = 0.05 * Float(id.variation.eyeSpacing) * W, ey: Float = 0.018
        let ry: Float = id.narrowEyes ? 0.0085 : 0.013
        var centers: [SIMD3<Float>] = []
        let browY: Float = 0.052
        let browZ = surfaceZ(ex, browY)
        for s: Float in [-1, 1] {
            let z = surfaceZ(s * ex, ey)
            let c = SIMD3<Float>(s * ex, ey, z - 0.007)
            centers.append(c)
            var eye = Primitive(kind: .ellipsoid, part: .sclera, center: c, size: SIMD4(0.02, ry, 0.016, 0), color: Palette.sclera)
            eye.specular = 0.5; eye.shininess = 64
            add(eye)
            // Upper lid: a skin cap over the top of the eyeball.
            var lid = Primitive(kind: .ellipsoid, part: .skin, center: c + SIMD3(0, 0.001, 0.0005),
                                size: SIMD4(0.0215, ry + 0.0025, 0.0172, 0), color: detail.skin)
            lid.clipA = SIMD4(0, -1, 0, -(id.narrowEyes ? 0.0015 : 0.0045))
            add(lid)
            // Brow: a bent ellipsoid of hair colour (arched: raised in the middle).
            var brow = Primitive(kind: .ellipsoid, part: .eyebrow, center: SIMD3(s * ex * 1.04, browY, browZ + 0.001),
                                 size: SIMD4(0.026, id.bushyEyebrows ? 0.0085 : 0.0048, id.bushyEyebrows ? 0.011 : 0.008, 0),
                                 color: detail.hair * 0.7, rotation: (s * 0.3, 0, -s * 0.08))
            brow.bend = id.archedEyebrows ? -22 : -6
            brow.specular = 0.05
            add(brow)
        }
        detail.eyeCenters = (centers[0], centers[1])
    }

    /// Lips (neutral, smiling with teeth, open with a dark cavity); lipstick colours them.
    private mutating func addMouth(_ id: Identity, L: Float, skin: SIMD3<Float>) {
        let my: Float = -0.097 * L
        detail.mouthY = my
        let mz = surfaceZ(0, my)
        let big: Float = id.bigLips ? 1.4 : 1
        let lipColor = id.lipstick ? Palette.lipstick : skin * SIMD3(0.95, 0.66, 0.66)
        let (width, bend, gap): (Float, Float, Float)
        switch id.expression {
        case .neutral: (width, bend, gap) = (0.035, -2, 0)
        case .smiling: (width, bend, gap) = (0.041, 14, 0.007)
        case .mouthOpen: (width, bend, gap) = (0.033, 0, 0.02)
        }
        let upper: (y: Float, ry: Float) = (my + 0.0065 + gap / 2, 0.0072)
        let lower: (y: Float, ry: Float) = (my - 0.0075 * big - gap / 2, 0.0085)
        for (y, ry) in [upper, lower] {
            var lip = Primitive(kind: .ellipsoid, part: .lips, center: SIMD3(0, y, mz - 0.003),
                                size: SIMD4(width * (id.bigLips ? 1.06 : 1), ry * big, 0.012 * (id.bigLips ? 1.2 : 1), 0), color: lipColor)
            lip.bend = bend
            lip.specular = id.lipstick ? 0.35 : 0.12; lip.shininess = 32
            add(lip)
        }
        if gap > 0 {
            var cavity = Primitive(kind: .ellipsoid, part: .mouthInterior, center: SIMD3(0, my, mz - 0.004),
                                   size: SIMD4(width * 0.85, gap * 0.5 + 0.004, 0.011, 0), color: Palette.mouth)
            cavity.bend = bend
            cavity.specular = 0.02
            add(cavity)
            var teeth = Primitive(kind: .ellipsoid, part: .teeth, center: SIMD3(0, my + gap * 0.5 - 0.002, mz - 0.003),
                                  size: SIMD4(width * 0.75, 0.0055, 0.0105, 0), color: Palette.teeth)
            teeth.bend = bend
            teeth.specular = 0.3; teeth.shininess = 32
            add(teeth)
        }
    }
}

extension Primitive {
    /// Keeps only the side of the plane through local point `at` opposite to `normal` (clip A or B).
    mutating func keep(below normal: SIMD3<Float>, at point: SIMD3<Float>, second: Bool = false) {
        let n = normalize3(normal)
        let plane = SIMD4(n.x, n.y, n.z, dot3(n, point))
        if second { clipB = plane } else { clipA = plane }
    }
}
