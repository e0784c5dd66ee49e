// Hair, facial hair, accessories and clothing of a HeadScene (see HeadBuilder.swift for the face itself).
// Hair is a shell around the cranium cut by a hairline plane and a nape plane, plus a curtain (long hair), a bun
// or a ponytail; wavy hair and beards carry a sinusoidal displacement.
import Foundation

extension HeadScene {
    /// Adds `p` after restricting it to the side of the world-space plane through `point` that `normal` points away from.
    private mutating func addClipped(_ p: Primitive, keepBelow normal: SIMD3<Float>, at point: SIMD3<Float>,
                                     andBelow normal2: SIMD3<Float>? = nil, at point2: SIMD3<Float> = .zero) {
        var p = p
        let toLocal = { (v: SIMD3<Float>) in SIMD3(dot3(p.ax, v), dot3(p.ay, v), dot3(p.az, v)) }
        p.keep(below: toLocal(normal), at: p.local(point))
        if let n2 = normal2 { p.keep(below: toLocal(n2), at: p.local(point2), second: true) }
        add(p)
    }

    private func withWave(_ p: Primitive, amplitude: Float, frequency: Float) -> Primitive {
        var p = p
        p.wave = SIMD4(amplitude, frequency, 0.7, 1 + 1.17 * amplitude * frequency)
        return p
    }

    mutating func addHair(_ id: Identity, W: Float, hair: SIMD3<Float>) {
        let cranium = SIMD3<Float>(0, 0.055, -0.015), radii = SIMD3<Float>(0.148 * W, 0.185, 0.195)
        let tight = id.hairStyle == .bun || id.hairStyle == .ponytail
        let t: Float = id.hairStyle.isLong ? 0.024 : tight ? 0.012 : 0.018
        var shell = Primitive(kind: .ellipsoid, part: .hair, center: cranium,
                              size: SIMD4(radii.x + t, radii.y + t, radii.z + t, 0), color: hair)
        shell.specular = 0.18; shell.shininess = 32
        if id.hairStyle == .longWavy { shell = withWave(shell, amplitude: 0.004, frequency: 90) }
        // Hairline (front) plane: normal hairline, receding (higher, steeper back), or a fringe down to the brows.
        let (hairlineN, hairlineP): (SIMD3<Float>, SIMD3<Float>)
        if id.bangs {
            (hairlineN, hairlineP) = (SIMD3(0, -1, 0.25), SIMD3(0, 0.07, 0.2))
        } else if id.recedingHairline {
            (hairlineN, hairlineP) = (SIMD3(0, -0.4, 1), SIMD3(0, 0.2, 0.12))
        } else {
            (hairlineN, hairlineP) = (SIMD3(0, -0.6, 1), SIMD3(0, 0.14, 0.158))
        }
        // Nape plane: hair ends above the ears at the sides and lower at the back.
        addClipped(shell, keepBelow: hairlineN, at: hairlineP, andBelow: SIMD3(0, -1, 0.45), at: cranium + SIMD3(0, -0.025, 0.05))

        switch id.hairStyle {
        case .longStraight, .longWavy:
            let wavy = id.hairStyle == .longWavy
            var curtain = Primitive(kind: .ellipsoid, part: .hair, center: SIMD3(0, -0.12, -0.075),
                                    size: SIMD4((wavy ? 0.2 : 0.185) * W, 0.3, 0.15, 0), color: hair)
            curtain.specular = wavy ? 0.08 : 0.15; curtain.shininess = 32
            if wavy { curtain = withWave(curtain, amplitude: 0.008, frequency: 60) }
            // Tucked behind the ears (so ears and earrings show) and behind the neck; ends at y = −0.34.
            addClipped(curtain, keepBelow: SIMD3(0, 0, 1), at: SIMD3(0, 0, -0.03), andBelow: SIMD3(0, -1, 0), at: SIMD3(0, -0.34, 0))
        case .bun:
            var bun = Primitive(kind: .ellipsoid, part: .hair, center: SIMD3(0, 0.245, -0.075), size: SIMD4(0.06, 0.05, 0.06, 0),
                                color: hair, rotation: (0, -0.4, 0))
            bun.specular = 0.18; bun.shininess = 32
            add(withWave(bun, amplitude: 0.002, frequency: 120))
        case .ponytail:
            var tail = Primitive.capsule(SIMD3(0.02, 0.16, -0.2), SIMD3(0.13, -0.22, -0.13), 0.038, 0.022, part: .hair, color: hair)
            tail.specular = 0.18; tail.shininess = 32
            add(withWave(tail, amplitude: 0.002, frequency: 120))
        case .bald, .short: break
        }
    }

    mutating func addFacialHair(_ id: Identity, W: Float, L: Float, hair: SIMD3<Float>) {
        let my = detail.mouthY
        let gap: Float = id.expression == .smiling ? 0.007 : id.expression == .mouthOpen ? 0.02 : 0
        let big: Float = id.bigLips ? 1.4 : 1
        let facial = hair * 0.85
        if id.beard {
            let chub: Float = id.chubby ? 1.12 : 1
            let c = SIMD3<Float>(0, -0.06 * L, 0.035)
            var beard = Primitive(kind: .ellipsoid, part: .beard, center: c,
                                  size: SIMD4(0.118 * Float(id.variation.jawWidth) * W * chub + 0.014, 0.135 * L + 0.014,
                                              0.14 * (id.chubby ? 1.03 : 1) + 0.014, 0), color: facial)
            beard.specular = 0.06
            beard = withWave(beard, amplitude: 0.002, frequency: 150)
            // Upper edge: a parabola from below the lower lip rising to the cheeks; nothing behind z = −0.06.
            beard.keep(below: SIMD3(0, 1, 0), at: SIMD3(0, my - 0.016 * big - gap / 2 - c.y, 0))
            beard.clipBend = 5
            beard.keep(below: SIMD3(0, 0, -1), at: SIMD3(0, 0, -0.06 - c.z), second: true)
            add(beard)
        }
        if id.goatee {
            let zc = surfaceZ(0, my - 0.05)
            var g = Primitive(kind: .ellipsoid, part: .goatee, center: SIMD3(0, my - 0.05 - gap / 2, zc - 0.014),
                              size: SIMD4(0.027, 0.034, 0.024, 0), color: facial)
            g.specular = 0.06
            add(withWave(g, amplitude: 0.0015, frequency: 150))
        }
        if id.moustache {
            let y = my + 0.02 + gap / 2
            var m = Primitive(kind: .ellipsoid, part: .moustache, center: SIMD3(0, y, surfaceZ(0, y) - 0.002),
                              size: SIMD4(0.04, 0.0085, 0.011, 0), color: facial)
            m.bend = -14
            m.specular = 0.06
            add(withWave(m, amplitude: 0.0012, frequency: 160))
        }
        if id.sideburns {
            for s: Float in [-1, 1] {
                var b = Primitive(kind: .roundBox, part: .hair, center: SIMD3(s * (0.1387 * W + 0.001), -0.004, 0.034),
                                  size: SIMD4(0.0045, 0.034, 0.012, 0.003), color: hair * 0.85, rotation: (s * 0.4, 0, 0))
                b.specular = 0.1
                add(b)
            }
        }
    }

    mutating func addAccessories(_ id: Identity, W: Float) {
        let re = detail.eyeCenters.1
        if id.eyewear != .none {
            let sun = id.eyewear == .sunglasses
            let frameColor = sun ? linear(20, 20, 22) : (id.variation.clothing.x > 0.5 ? Palette.gold * 0.8 : linear(30, 24, 22))
            let ex = re.x, ey = re.y
            let z = max(surfaceZ(ex, ey + 0.03), re.z + 0.016) + 0.02
            let bridgeZ = max(z, surfaceZ(0, ey + 0.008) + 0.006)
            for s: Float in [-1, 1] {
                var rim = Primitive(kind: .torus, part: .glassesFrame, center: SIMD3(s * ex, ey, z),
                                    size: SIMD4(0.025, 0.0028, 1.22, 0), color: frameColor, rotation: (0, .pi / 2, 0))
                rim.specular = 0.4; rim.shininess = 32
                add(rim)
                if sun {
                    var lens = Primitive(kind: .ellipsoid, part: .glassesLens, center: SIMD3(s * ex, ey, z),
                                         size: SIMD4(0.0305, 0.025, 0.0025, 0), color: Palette.lens)
                    lens.specular = 0.8; lens.shininess = 64
                    add(lens)
                }
                var temple = Primitive.capsule(SIMD3(s * (ex + 0.03), ey + 0.004, z - 0.002),
                                               SIMD3(s * 0.148 * W, ey + 0.008, -0.015), 0.0026, 0.0026, part: .glassesFrame, color: frameColor)
                temple.specular = 0.4; temple.shininess = 32
                add(temple)
            }
            var bridge = Primitive.capsule(SIMD3(-ex + 0.027, ey + 0.006, z), SIMD3(ex - 0.027, ey + 0.006, z), 0.0026, 0.0026,
                                           part: .glassesFrame, color: frameColor)
            bridge.center.z = bridgeZ
            bridge.bend = 3
            add(bridge)
        }
        if id.hat {
            let c = id.variation.clothing
            let hatColor = linear(SIMD3(c.z, c.x, c.y) * 0.6)
            var crown = Primitive(kind: .cylinder, part: .hat, center: SIMD3(0, 0.228, -0.025), size: SIMD4(0.172 * W, 0.075, 0.035, 0),
                                  color: hatColor, rotation: (0, -0.08, 0))
            crown.specular = 0.05
            add(crown)
            var brim = Primitive(kind: .cylinder, part: .hat, center: SIMD3(0, 0.162, -0.01), size: SIMD4(0.255, 0.006, 0.005, 0),
                                 color: hatColor * 0.9)
            brim.specular = 0.05
            add(brim)
        }
        if id.earrings {
            let metal = id.variation.clothing.y > 0.45 ? Palette.gold : Palette.silver
            for s: Float in [-1, 1] {
                var e = Primitive(kind: .ellipsoid, part: .earring, center: SIMD3(s * 0.15 * W, -0.054, 0.004),
                                  size: SIMD4(0.009, 0.009, 0.009, 0), color: metal)
                e.specular = 0.8; e.shininess = 64
                add(e)
                var link = Primitive.capsule(SIMD3(s * 0.149 * W, -0.036, 0.0), SIMD3(s * 0.15 * W, -0.047, 0.003), 0.002, 0.002,
                                             part: .earring, color: metal)
                link.specular = 0.8; link.shininess = 64
                add(link)
            }
        }
        switch id.neckwear {
        case .necklace:
            let metal = id.variation.clothing.z > 0.45 ? Palette.gold : Palette.silver
            var chain = Primitive(kind: .torus, part: .necklace, center: SIMD3(0, -0.226, -0.037), size: SIMD4(0.071, 0.0042, 1, 0),
                                  color: metal, rotation: (0, 0.35, 0))
            chain.specular = 0.8; chain.shininess = 64
            add(chain)
            var pendant = Primitive(kind: .ellipsoid, part: .necklace, center: SIMD3(0, -0.226 - 0.071 * sin(0.35) - 0.008, -0.037 + 0.071 * cos(0.35) + 0.004),
                                    size: SIMD4(0.009, 0.011, 0.006, 0), color: metal)
            pendant.specular = 0.8; pendant.shininess = 64
            add(pendant)
        case .necktie:
            let tie = id.variation.clothing.z > 0.45 ? linear(150, 22, 34) : linear(24, 44, 120)
            var collar = Primitive(kind: .torus, part: .clothing, center: SIMD3(0, -0.255, -0.037), size: SIMD4(0.068, 0.012, 1, 0),
                                   color: linear(235, 235, 232), rotation: (0, 0.3, 0))
            collar.specular = 0.05
            add(collar)
            var knot = Primitive(kind: .roundBox, part: .necktie, center: SIMD3(0, -0.262, 0.05), size: SIMD4(0.014, 0.013, 0.01, 0.006), color: tie)
            knot.specular = 0.2
            add(knot)
            var blade = Primitive(kind: .roundBox, part: .necktie, center: SIMD3(0, -0.335, 0.086), size: SIMD4(0.02, 0.068, 0.005, 0.004),
                                  color: tie, rotation: (0, -0.37, 0))
            blade.specular = 0.2
            add(blade)
        case .none: break
        }
    }

    mutating func addBody(_ id: Identity) {
        var torso = Primitive(kind: .ellipsoid, part: .clothing, center: SIMD3(0, -0.43, -0.05), size: SIMD4(0.3, 0.17, 0.16, 0),
                              color: linear(id.variation.clothing))
        torso.specular = 0.04
        add(torso)
    }
}
