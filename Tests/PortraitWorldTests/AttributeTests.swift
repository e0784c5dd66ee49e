// Attributes against the renderer's ID buffer: parts present exactly when the attribute says so, hair and eye
// colour measured in their masks, every binary attribute changes the image, determinism across thread counts,
// and the sampler's constraints and correlations.
import Foundation
import XCTest
@testable import PortraitWorld
import TensorCore

final class AttributeTests: XCTestCase {
    let front = PoseDistribution().camera(yaw: 0, pitch: 0)

    func render(_ id: Identity, _ R: Int = 128, camera: Camera? = nil) -> Rendering {
        Renderer.render(HeadScene(identity: id), camera: camera ?? front, options: RenderOptions(resolution: R))
    }

    func testSamplerConstraintsAndCorrelations() {
        let s = AttributeSampler()
        var old = 0, oldGrey = 0, young = 0, youngGrey = 0, men = 0, menBeard = 0, women = 0, womenLipstick = 0
        for i in 0..<4000 {
            let id = s.identity(seed: 1, index: i)
            XCTAssertNil(id.inconsistency(), "identity \(i)")
            if id.age == .old { old += 1; if id.hairColor == .grey || id.hairColor == .white { oldGrey += 1 } }
            if id.age == .young { young += 1; if id.hairColor == .grey || id.hairColor == .white { youngGrey += 1 } }
            if id.sex == .man { men += 1; if id.beard { menBeard += 1 } } else { women += 1; if id.lipstick { womenLipstick += 1 } }
        }
        XCTAssertGreaterThan(Double(oldGrey) / Double(old), 0.6)
        XCTAssertLessThan(Double(youngGrey) / Double(young), 0.12)
        XCTAssertEqual(Double(menBeard) / Double(men), 0.2, accuracy: 0.04)
        XCTAssertEqual(Double(womenLipstick) / Double(women), 0.5, accuracy: 0.05)
        XCTAssertEqual(Double(men) / 4000, 0.5, accuracy: 0.04)
        // Same seed and index, same identity; another index, (almost always) another identity.
        XCTAssertEqual(s.identity(seed: 1, index: 17), s.identity(seed: 1, index: 17))
        XCTAssertNotEqual(s.identity(seed: 1, index: 17), s.identity(seed: 2, index: 17))
    }

    func testRenderIsThreadCountIndependent() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        for i in 0..<3 {
            let s = SynthSettings(count: 1, resolution: 96, seed: 4)
            Parallel.threadCount = 1
            let a = World.record(s, index: i)
            Parallel.threadCount = 2
            let b = World.record(s, index: i)
            Parallel.threadCount = 5
            let c = World.record(s, index: i)
            XCTAssertEqual(a.rendering.rgb, b.rendering.rgb); XCTAssertEqual(a.rendering.rgb, c.rendering.rgb)
            XCTAssertEqual(a.rendering.depth, c.rendering.depth); XCTAssertEqual(a.rendering.parts, c.rendering.parts)
            XCTAssertEqual(a.rendering.mask, c.rendering.mask); XCTAssertEqual(a.captions, c.captions)
        }
    }

    /// Accessory, facial-hair and hair parts appear in the ID buffer exactly when the identity has them.
    func testPartsPresentExactlyWhenAttributeSaysSo() {
        let s = AttributeSampler()
        for i in 0..<48 {
            let id = s.identity(seed: 21, index: i)
            let r = render(id)
            func visible(_ p: Part) -> Bool { r.count(p) >= 2 }
            let what = "identity \(i)"
            XCTAssertEqual(visible(.glassesFrame), id.eyewear != .none, what)
            XCTAssertEqual(visible(.glassesLens), id.eyewear == .sunglasses, what)
            XCTAssertEqual(visible(.iris), id.eyewear != .sunglasses, what)
            XCTAssertEqual(visible(.hat), id.hat, what)
            XCTAssertEqual(visible(.earring), id.earrings, what)
            XCTAssertEqual(visible(.necklace), id.neckwear == .necklace, what)
            XCTAssertEqual(visible(.necktie), id.neckwear == .necktie, what)
            XCTAssertEqual(visible(.beard), id.beard, what)
            XCTAssertEqual(visible(.goatee), id.goatee, what)
            XCTAssertEqual(visible(.moustache), id.moustache, what)
            XCTAssertEqual(visible(.hair), !id.isBald, what)
            XCTAssertEqual(visible(.teeth), id.expression != .neutral, what)
            XCTAssertGreaterThan(r.count(.skin), 500, what)
            // Eyewear and hair stay visible from the identity's own (random) camera.
            let own = render(id, 64, camera: PoseDistribution().camera(seed: 21, index: i))
            XCTAssertEqual(own.count(.glassesFrame) > 0, id.eyewear != .none, what + " (own camera)")
            XCTAssertEqual(own.count(.hair) > 0, !id.isBald, what + " (own camera)")
            // The mask covers exactly the non-background pixels where no edge is blended.
            for k in 0..<r.parts.count where r.mask[k] == 0 || r.mask[k] == 255 {
                XCTAssertEqual(r.mask[k] == 255, r.parts[k] != 0)
            }
        }
    }

    /// The albedo of `part` measured in its mask: with the colour replaced by 0 and by 0.5 (two calibration renders
    /// of the same geometry and lights), each pixel gives shading L and specular S in m = albedo·L + S, so the real
    /// render's pixels give albedo = (m − S)/L. Averaged over unclipped, fully covered pixels; linear RGB.
    func measuredAlbedo(_ scene: HeadScene, _ part: Part, R: Int, set: (inout HeadScene, SIMD3<Float>) -> Void) -> SIMD3<Float> {
        func lin(_ r: Rendering, _ k: Int) -> SIMD3<Float> { SIMD3(Gamma.decode(r.rgb[3 * k]), Gamma.decode(r.rgb[3 * k + 1]), Gamma.decode(r.rgb[3 * k + 2])) }
        var s0 = scene, s1 = scene
        set(&s0, SIMD3(repeating: 0)); set(&s1, SIMD3(repeating: 0.5))
        let opts = RenderOptions(resolution: R)
        let (m, z, h) = (Renderer.render(scene, camera: front, options: opts), Renderer.render(s0, camera: front, options: opts),
                         Renderer.render(s1, camera: front, options: opts))
        var sum = SIMD3<Float>(0, 0, 0), n: Float = 0
        for k in 0..<m.parts.count where m.parts[k] == part.rawValue && m.mask[k] == 255 {
            let top = [m, z, h].map { r in (0..<3).map { Int(r.rgb[3 * k + $0]) }.max()! }.max()!
            let light = (lin(h, k) - lin(z, k)) / 0.5
            guard top < 250, light.min() > 0.05 else { continue }
            sum += (lin(m, k) - lin(z, k)) / light
            n += 1
        }
        XCTAssertGreaterThan(n, 20, "too few measurable \(part) pixels")
        return sum / max(n, 1)
    }

    /// The named colour whose albedo is nearest (in log RGB) to `measured`.
    func nearest<T>(_ measured: SIMD3<Float>, _ options: [(T, SIMD3<Float>)]) -> T {
        func log3(_ v: SIMD3<Float>) -> SIMD3<Float> { SIMD3(log(max(v.x, 1e-3)), log(max(v.y, 1e-3)), log(max(v.z, 1e-3))) }
        return options.min { a, b in
            let da = log3(measured) - log3(a.1), db = log3(measured) - log3(b.1)
            return (da * da).sum() < (db * db).sum()
        }!.0
    }

    func testHairColourMeasuredInHairMask() {
        let s = AttributeSampler()
        for colour in HairColor.allCases {
            for i in 0..<4 {
                var id = s.identity(seed: 33, index: i)
                id.hairColor = colour
                if id.isBald { id.hairStyle = .short }
                let albedo = measuredAlbedo(HeadScene(identity: id), .hair, R: 128) { scene, c in
                    for k in scene.primitives.indices where scene.primitives[k].part == .hair { scene.primitives[k].color = c }
                }
                // The strand texture darkens hair by 0.9 on average.
                let guess = nearest(albedo, HairColor.allCases.map { ($0, Palette.hair($0) * 0.9) })
                XCTAssertEqual(guess, colour, "identity \(i): hair albedo measured \(albedo)")
            }
        }
    }

    func testEyeColourMeasuredInIris() {
        let s = AttributeSampler()
        for colour in EyeColor.allCases {
            for i in 0..<2 {
                var id = s.identity(seed: 8, index: i)
                id.eyeColor = colour
                id.eyewear = .none
                id.narrowEyes = false
                let albedo = measuredAlbedo(HeadScene(identity: id), .iris, R: 384) { scene, c in scene.detail.iris = c }
                // The iris pattern scales the colour by about 0.95 on average over its disc.
                let guess = nearest(albedo, EyeColor.allCases.map { ($0, Palette.iris($0) * 0.95) })
                XCTAssertEqual(guess, colour, "identity \(i): iris albedo measured \(albedo)")
            }
        }
    }

    /// Every binary attribute, switched on or off in an otherwise fixed identity, changes the picture.
    func testEveryAttributeIsVisible() {
        var base = Identity()
        base.hairStyle = .short; base.hairColor = .brown; base.age = .middleAged; base.skinTone = .fair
        var man = base
        man.sex = .man
        func pair(_ a: Attribute) -> (Identity, Identity) {
            var x = base, y = base
            switch a {
            case .fiveOClockShadow: x = man; y = man; y.stubble = true
            case .archedEyebrows: y.archedEyebrows = true
            case .bagsUnderEyes: y.bagsUnderEyes = true
            case .bald: y.hairStyle = .bald
            case .bangs: y.bangs = true
            case .bigLips: y.bigLips = true
            case .bigNose: y.bigNose = true
            case .blackHair: y.hairColor = .black
            case .blondHair: y.hairColor = .blond
            case .brownHair: x.hairColor = .black
            case .grayHair: y.hairColor = .grey
            case .redHair: y.hairColor = .red
            case .whiteHair: y.hairColor = .white
            case .bushyEyebrows: y.bushyEyebrows = true
            case .chubby: y.chubby = true
            case .doubleChin: x.chubby = true; y.chubby = true; y.doubleChin = true
            case .eyeglasses: y.eyewear = .eyeglasses
            case .sunglasses: y.eyewear = .sunglasses
            case .goatee: x = man; y = man; y.goatee = true
            case .highCheekbones: y.highCheekbones = true
            case .male: y = man
            case .mouthSlightlyOpen: y.expression = .mouthOpen
            case .smiling: y.expression = .smiling
            case .mustache: x = man; y = man; y.moustache = true
            case .narrowEyes: y.narrowEyes = true
            case .noBeard: x = man; y = man; x.beard = true
            case .paleSkin: y.skinTone = .pale
            case .pointyNose: y.pointyNose = true
            case .recedingHairline: x = man; y = man; y.recedingHairline = true
            case .rosyCheeks: y.rosyCheeks = true
            case .sideburns: x = man; y = man; y.sideburns = true
            case .straightHair: y.hairStyle = .longStraight
            case .wavyHair: y.hairStyle = .longWavy
            case .longHair: y.hairStyle = .longStraight
            case .hairBun: y.hairStyle = .bun
            case .ponytail: y.hairStyle = .ponytail
            case .wearingEarrings: y.earrings = true
            case .wearingHat: y.hat = true
            case .wearingLipstick: y.lipstick = true
            case .wearingNecklace: y.neckwear = .necklace
            case .wearingNecktie: y.neckwear = .necktie
            case .young: y.age = .young
            case .old: y.age = .old
            }
            return (x, y)
        }
        for a in Attribute.allCases {
            let (x, y) = pair(a)
            XCTAssertNotEqual(x.has(a), y.has(a), "\(a.rawValue): the pair does not switch it")
            XCTAssertNil(x.inconsistency()); XCTAssertNil(y.inconsistency(), a.rawValue)
            let rx = render(x), ry = render(y)
            var changed = 0
            for k in 0..<rx.parts.count {
                let d = (0..<3).map { abs(Int(rx.rgb[3 * k + $0]) - Int(ry.rgb[3 * k + $0])) }.max()!
                if d > 12 { changed += 1 }
            }
            XCTAssertGreaterThan(changed, 15, "\(a.rawValue) changes only \(changed) pixels at 128x128")
        }
    }
}
