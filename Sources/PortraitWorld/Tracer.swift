// Per-ray work of the renderer: bounding-sphere culling, sphere tracing over the active primitives, normals,
// ambient occlusion, surface textures and shading. One Tracer per worker thread (it owns scratch buffers).
import Foundation

/// Read-only state shared by all tracers of one render.
struct ShadeContext {
    let prims: UnsafePointer<Primitive>
    /// (bound centre, bound radius²) per primitive, for culling.
    let bounds: UnsafePointer<SIMD4<Float>>
    let count: Int
    let camera: RayCamera
    let pixelAngle: Float
    let maxSteps: Int
    let footprint: Float
    let blendK: Float
    let detail: SurfaceDetail
    let key: SIMD3<Float>, fill: SIMD3<Float>
    let keyI: Float, fillI: Float, ambient: Float
    let bgTop: SIMD3<Float>, bgBottom: SIMD3<Float>
    /// Per-tile primitive lists (see TileLists).
    let tileItems: UnsafePointer<Int32>, tileStart: UnsafePointer<Int32>, tilesPerRow: Int

    init(scene: HeadScene, prims: UnsafePointer<Primitive>, bounds: UnsafePointer<SIMD4<Float>>, count: Int,
         camera: RayCamera, pixelAngle: Float, options: RenderOptions,
         tileItems: UnsafePointer<Int32>, tileStart: UnsafePointer<Int32>, tilesPerRow: Int) {
        self.tileItems = tileItems; self.tileStart = tileStart; self.tilesPerRow = tilesPerRow
        self.prims = prims; self.bounds = bounds; self.count = count
        self.camera = camera; self.pixelAngle = pixelAngle
        maxSteps = options.maxSteps; footprint = options.footprintFraction
        blendK = scene.blendRadius; detail = scene.detail
        key = scene.keyLight; fill = scene.fillLight
        keyI = scene.keyIntensity; fillI = scene.fillIntensity; ambient = scene.ambient
        bgTop = scene.backgroundTop; bgBottom = scene.backgroundBottom
    }
}

struct Candidate { var t0: Float; var t1: Float; var index: Int32 }

struct Tracer {
    let c: ShadeContext
    let cand: UnsafeMutablePointer<Candidate>
    let active: UnsafeMutablePointer<Int32>
    /// Primitives within `nearMargin` of the nearest one at the hit point (all that shape its normal and occlusion).
    let near: UnsafeMutablePointer<Int32>
    let nearD: UnsafeMutablePointer<Float>
    var nCand = 0, nActive = 0, nNear = 0
    /// Twice the blend radius plus the farthest occlusion tap; primitives farther than this from the hit
    /// cannot change the normal (no blending) or the occlusion taps.
    static let nearMargin: Float = 0.07

    init(_ c: ShadeContext) {
        self.c = c
        cand = .allocate(capacity: Swift.max(c.count, 1))
        active = .allocate(capacity: Swift.max(c.count, 1))
        near = .allocate(capacity: Swift.max(c.count, 1))
        nearD = .allocate(capacity: Swift.max(c.count, 1))
    }
    func free() { cand.deallocate(); active.deallocate(); near.deallocate(); nearD.deallocate() }

    /// Colour (linear), part ID and depth of the ray through normalised image point (u, v).
    @inline(__always) mutating func sample(u: Float, v: Float, tile: Int) -> (color: SIMD3<Float>, part: UInt8, t: Float) {
        let o = c.camera.origin, d = c.camera.direction(u: u, v: v)
        guard let t = trace(o, d, tile: tile) else {
            return (c.bgTop + (c.bgBottom - c.bgTop) * v, 0, .infinity)
        }
        let p = o + d * t
        let index = closest(p)
        let n = normal(p, t)
        let (col, part) = shade(index: index, p: p, n: n, view: -d)
        return (col, part, t)
    }

    /// Collects the primitives of the ray's tile whose bounding sphere the ray crosses, sorted by entry distance.
    @inline(__always) mutating func cull(_ o: SIMD3<Float>, _ d: SIMD3<Float>, tile: Int) {
        nCand = 0
        for k in Int(c.tileStart[tile])..<Int(c.tileStart[tile + 1]) {
            let i = Int(c.tileItems[k])
            let b = c.bounds[i]
            let oc = o - SIMD3(b.x, b.y, b.z)
            let h = dot3(oc, d)
            let disc = h * h - (dot3(oc, oc) - b.w)
            if disc <= 0 { continue }
            let s = disc.squareRoot()
            let t1 = -h + s
            if t1 <= 0 { continue }
            var j = nCand
            let t0 = fmax(-h - s, 0)
            while j > 0 && cand[j - 1].t0 > t0 { cand[j] = cand[j - 1]; j -= 1 }
            cand[j] = Candidate(t0: t0, t1: t1, index: Int32(i))
            nCand += 1
        }
    }

    /// Scene distance at `p` over the active primitives (skin group smooth-blended, the rest hard-unioned).
    @inline(__always) func distance(_ p: SIMD3<Float>) -> Float {
        var hard = Float.infinity, soft = Float.infinity
        let k = c.blendK
        for j in 0..<nActive {
            let q = c.prims + Int(cand[Int(active[j])].index)
            let d = Primitive.distance(q, p)
            if q.pointee.blend { soft = smoothMin(soft, d, k) } else { hard = fmin(hard, d) }
        }
        return fmin(hard, soft)
    }

    /// Sphere traces the ray; returns the hit distance or nil. Leaves the active set as at the hit.
    @inline(__always) mutating func trace(_ o: SIMD3<Float>, _ d: SIMD3<Float>, tile: Int) -> Float? {
        cull(o, d, tile: tile)
        if nCand == 0 { return nil }
        var next = 0
        nActive = 0
        var t = cand[0].t0
        let tol = c.pixelAngle * c.footprint
        var steps = 0
        while steps < c.maxSteps {
            while next < nCand && cand[next].t0 <= t { active[nActive] = Int32(next); nActive += 1; next += 1 }
            var j = 0
            while j < nActive {
                if cand[Int(active[j])].t1 < t { nActive -= 1; active[j] = active[nActive] } else { j += 1 }
            }
            if nActive == 0 {
                if next >= nCand { return nil }
                t = cand[next].t0
                continue
            }
            let dist = distance(o + d * t)
            let eps = tol * t
            if dist < eps { return t }
            var step = dist
            if next < nCand { step = fmin(step, cand[next].t0 - t + 1e-6) }
            t += step
            steps += 1
        }
        // Out of steps: count it as a hit only if the surface is close (grazing rays along silhouettes).
        return distance(o + d * t) < 4 * tol * t ? t : nil
    }

    /// The active primitive nearest to `p` (for the skin group, the group's member nearest to p). Also fills the
    /// near set used by `nearDistance`.
    @inline(__always) mutating func closest(_ p: SIMD3<Float>) -> Int {
        var best = -1, bestD = Float.infinity, soft = Float.infinity, softBest = -1, softBestD = Float.infinity
        var minD = Float.infinity
        for j in 0..<nActive {
            let i = Int(cand[Int(active[j])].index)
            let d = Primitive.distance(c.prims + i, p)
            near[j] = Int32(i)
            nearD[j] = d
            minD = fmin(minD, d)
            if c.prims[i].blend {
                soft = smoothMin(soft, d, c.blendK)
                if d < softBestD { softBestD = d; softBest = i }
            } else if d < bestD { bestD = d; best = i }
        }
        nNear = 0
        for j in 0..<nActive where nearD[j] < minD + Tracer.nearMargin {
            near[nNear] = near[j]; nNear += 1
        }
        if softBest >= 0 && (best < 0 || soft <= bestD) { return softBest }
        return Swift.max(best, 0)
    }

    /// Scene distance over the near set (valid near the hit point: within `nearMargin` minus the offset used).
    @inline(__always) func nearDistance(_ p: SIMD3<Float>) -> Float {
        var hard = Float.infinity, soft = Float.infinity
        let k = c.blendK
        for j in 0..<nNear {
            let q = c.prims + Int(near[j])
            let d = Primitive.distance(q, p)
            if q.pointee.blend { soft = smoothMin(soft, d, k) } else { hard = fmin(hard, d) }
        }
        return fmin(hard, soft)
    }

    /// Tetrahedron-sampled gradient of the distance at `p`.
    @inline(__always) func normal(_ p: SIMD3<Float>, _ t: Float) -> SIMD3<Float> {
        let h = fmax(0.0004, 0.25 * c.pixelAngle * t)
        let k0 = SIMD3<Float>(1, -1, -1), k1 = SIMD3<Float>(-1, -1, 1), k2 = SIMD3<Float>(-1, 1, -1), k3 = SIMD3<Float>(1, 1, 1)
        let g = k0 * nearDistance(p + k0 * h) + k1 * nearDistance(p + k1 * h) + k2 * nearDistance(p + k2 * h) + k3 * nearDistance(p + k3 * h)
        return normalize3(g)
    }

    /// Shaded linear colour and the part ID to report.
    @inline(__always) func shade(index: Int, p: SIMD3<Float>, n: SIMD3<Float>, view: SIMD3<Float>) -> (SIMD3<Float>, UInt8) {
        let prim = c.prims[index]
        var part = prim.part
        var albedo = prim.color
        var ks = prim.specular, shininess = prim.shininess
        switch part {
        case .skin: albedo = skinTexture(p)
        case .sclera:
            let q = prim.local(p)
            let r2 = q.x * q.x + q.y * q.y
            if q.z > 0 && r2 < 0.0088 * 0.0088 {
                part = .iris
                let r = r2.squareRoot()
                if r < 0.0036 { albedo = SIMD3(0.01, 0.01, 0.01) }
                else { albedo = c.detail.iris * (0.75 + 0.5 * (r / 0.0088) * (0.8 + 0.2 * fastSin(atan2Approx(q.y, q.x) * 9))) }
                ks = 0.7; shininess = 64
            }
        case .hair, .eyebrow:
            // Strands: a stripe pattern bent by a slow wave, mixed with fine noise.
            let s = fastSin(p.x * 420 + 3 * fastSin(p.y * 45) + p.z * 150)
            albedo *= 0.84 + 0.1 * s + 0.12 * hash3(SIMD3(p.x * 1500, p.y * 300, p.z * 1500))
        case .beard, .moustache, .goatee:
            albedo *= 0.75 + 0.25 * hash3(p * 900)
        default: break
        }
        // Ambient occlusion: how much nearer than the probe distances the scene is, two taps along the normal.
        let a1 = nearDistance(p + n * 0.008), a2 = nearDistance(p + n * 0.025)
        let ao = fmax(0.25, 1 - 14 * (fmax(0, 0.008 - a1) + 0.5 * fmax(0, 0.025 - a2)))
        let ndl = dot3(n, c.key)
        let wrap: Float = part == .skin ? 0.25 : 0.1
        let diffuse = fmax(0, (ndl + wrap) / (1 + wrap))
        let fill = fmax(0, dot3(n, c.fill))
        let sky = 0.6 + 0.4 * n.y
        var col = albedo * (c.keyI * diffuse + c.fillI * fill * ao + c.ambient * sky * ao)
        if ndl > 0 && ks > 0 {
            let hv = normalize3(c.key + view)
            var s = fmax(0, dot3(n, hv))
            s *= s; s *= s; s *= s                        // ^8
            if shininess >= 16 { s *= s }
            if shininess >= 32 { s *= s }
            if shininess >= 64 { s *= s }
            col += SIMD3(repeating: ks * s * c.keyI * ao)
        }
        return (col, part.rawValue)
    }

    /// Skin albedo with stubble, wrinkles (by age), bags under the eyes and rosy cheeks.
    @inline(__always) func skinTexture(_ p: SIMD3<Float>) -> SIMD3<Float> {
        let dt = c.detail
        var a = dt.skin
        let ax = fabs(p.x)
        if dt.stubble && p.z > 0.02 && p.y < dt.mouthY + 0.028 + 4 * p.x * p.x && p.y > -0.24 {
            let nearLips = fabs(p.y - dt.mouthY) < 0.011 && ax < 0.042
            if !nearLips { a = a + (dt.hair * 0.35 - a) * (0.25 + 0.3 * hash3(p * 1200)) }
        }
        if dt.age > 0 && p.z > 0.05 {
            // Forehead lines.
            if p.y > 0.085 && p.y < 0.165 && ax < 0.09 {
                let s: Float = fmax(0, fastSin(p.y * 330))
                a *= 1 - 0.3 * dt.age * s * s * s
            }
            // Nasolabial folds: lines from the nose wings to the mouth corners.
            let fy = (p.y - dt.mouthY) / 0.06
            if fy > 0 && fy < 1 {
                let lineX = 0.046 - 0.014 * fy
                let dx = fabs(ax - lineX)
                if dx < 0.004 { a *= 1 - 0.22 * dt.age * (1 - dx / 0.004) }
            }
            // Crow's feet at the outer eye corners.
            let eye = dt.eyeCenters.1
            let ex = ax - eye.x - 0.024, ey = p.y - eye.y
            if ex > 0 && ex < 0.018 && fabs(ey) < 0.014 {
                let s: Float = fmax(0, fastSin(atan2Approx(ey, ex) * 14))
                let fade: Float = 1 - ex / 0.018
                a *= 1 - 0.25 * dt.age * s * s * fade
            }
        }
        if dt.bagsUnderEyes {
            let eye = dt.eyeCenters.1
            let bx = (ax - eye.x) / 0.022, by = (p.y - (eye.y - 0.019)) / 0.009
            let r = bx * bx + by * by
            if r < 1 { a *= SIMD3<Float>(1, 1, 1) - SIMD3<Float>(0.22, 0.26, 0.18) * (1 - r) }
        }
        if dt.rosyCheeks {
            let rx = (ax - 0.072) / 0.032, ry = (p.y + 0.035) / 0.028
            let r = rx * rx + ry * ry
            if r < 1 { a *= SIMD3<Float>(1, 1, 1) - SIMD3<Float>(0, 0.4, 0.36) * (1 - r) }
        }
        return a
    }
}

/// A hash of the integer lattice cell of `p`, in [0, 1).
@inline(__always) func hash3(_ p: SIMD3<Float>) -> Float {
    let x = UInt32(bitPattern: Int32(truncatingIfNeeded: Int(p.x.rounded(.down))))
    let y = UInt32(bitPattern: Int32(truncatingIfNeeded: Int(p.y.rounded(.down))))
    let z = UInt32(bitPattern: Int32(truncatingIfNeeded: Int(p.z.rounded(.down))))
    var h = x &* 0x8DA6_B343 ^ y &* 0xD816_3841 ^ z &* 0xCB1A_B31F
    h ^= h >> 13; h &*= 0x5BD1_E995; h ^= h >> 15
    return Float(h >> 8) * 0x1p-24
}

/// atan2 to about 0.01 rad (enough for texture patterns).
@inline(__always) func atan2Approx(_ y: Float, _ x: Float) -> Float {
    let ax = fabs(x), ay = fabs(y)
    let a = fmin(ax, ay) / fmax(fmax(ax, ay), 1e-20)
    let s = a * a
    var r = ((-0.0464964749 * s + 0.15931422) * s - 0.327622764) * s * a + a
    if ay > ax { r = 1.57079637 - r }
    if x < 0 { r = 3.14159274 - r }
    return y < 0 ? -r : r
}
