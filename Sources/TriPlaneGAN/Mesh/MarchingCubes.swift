// Marching cubes (Lorensen & Cline 1987) over a density grid, giving a watertight indexed triangle mesh.
//
// The 256-case table is derived at start-up instead of being typed in: for each corner sign
// pattern, every cube face contributes segments joining its sign-changing edges (an ambiguous face, with
// diagonal inside corners, cuts each inside corner off on its own); the segments link into closed loops,
// oriented so that the surface normal points from the dense inside to the outside, and each loop is
// triangulated as a fan (around a centroid vertex where any fan would lay a chord on a shared face). The face rule depends only on the face's own corners, so neighbouring cubes agree
// on every shared face and the mesh has no cracks (tested: every edge is shared by exactly two triangles).

/// Corner c of the unit cube is (c & 1, (c >> 1) & 1, (c >> 2) & 1) in (x, y, z).
private func corner(_ c: Int) -> SIMD3<Float> { SIMD3(Float(c & 1), Float((c >> 1) & 1), Float((c >> 2) & 1)) }

/// The 12 cube edges as corner pairs (the two corners differ in exactly one bit).
let cubeEdges: [(Int, Int)] = {
    var e: [(Int, Int)] = []
    for a in 0..<8 { for bit in [1, 2, 4] where a & bit == 0 { e.append((a, a | bit)) } }
    return e
}()

/// The 6 faces: corners in cyclic order and the outward normal.
private let cubeFaces: [([Int], SIMD3<Float>)] = [
    ([0, 2, 6, 4], SIMD3(-1, 0, 0)), ([1, 3, 7, 5], SIMD3(1, 0, 0)),
    ([0, 1, 5, 4], SIMD3(0, -1, 0)), ([2, 3, 7, 6], SIMD3(0, 1, 0)),
    ([0, 1, 3, 2], SIMD3(0, 0, -1)), ([4, 5, 7, 6], SIMD3(0, 0, 1)),
]

private func edgeIndex(_ a: Int, _ b: Int) -> Int {
    cubeEdges.firstIndex { ($0.0 == a && $0.1 == b) || ($0.0 == b && $0.1 == a) }!
}

private func cross(_ a: SIMD3<Float>, _ b: SIMD3<Float>) -> SIMD3<Float> {
    SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}

/// A closed loop of cube edges (one surface patch) and how to triangulate it: as a fan from `apex`, or,
/// when every fan would put a chord on a cube face (where the neighbouring cube could put the same chord
/// and make the mesh non-manifold), as a fan around a new vertex at the loop's centroid (`apex == nil`).
struct SurfaceLoop { let edges: [Int]; let apex: Int? }

private func facesOf(_ e: Int) -> Set<Int> {
    Set(cubeFaces.indices.filter { cubeFaces[$0].0.contains(cubeEdges[e].0) && cubeFaces[$0].0.contains(cubeEdges[e].1) })
}

/// loopTable[mask]: the surface loops of corner sign pattern `mask` (bit c set: corner c is inside).
let loopTable: [[SurfaceLoop]] = (0..<256).map { mask in
    let inside = { (c: Int) in mask >> c & 1 == 1 }
    var next = [Int](repeating: -1, count: 12)
    for (cs, normal) in cubeFaces {
        // Sign-changing edges of this face, each with the inside corner it cuts off.
        var cuts: [(edge: Int, insideCorner: Int)] = []
        for i in 0..<4 {
            let a = cs[i], b = cs[(i + 1) % 4]
            if inside(a) != inside(b) { cuts.append((edgeIndex(a, b), inside(a) ? a : b)) }
        }
        var segments: [(Int, Int, Int)] = []  // (edge, edge, an inside corner on the segment's inside side)
        if cuts.count == 2 {
            segments.append((cuts[0].edge, cuts[1].edge, cuts[0].insideCorner))
        } else if cuts.count == 4 {
            // Two diagonal inside corners: pair the two cuts around each inside corner.
            for c in cs where inside(c) {
                let around = cuts.filter { $0.insideCorner == c }
                segments.append((around[0].edge, around[1].edge, c))
            }
        }
        for (e1, e2, q) in segments {
            let p1 = (corner(cubeEdges[e1].0) + corner(cubeEdges[e1].1)) / 2
            let p2 = (corner(cubeEdges[e2].0) + corner(cubeEdges[e2].1)) / 2
            // Orient so that, seen from outside the face, the inside corner lies to the right of p1 -> p2;
            // the loops then wind clockwise around the inside, and fans get outward normals.
            let side = (cross(p2 - p1, corner(q) - p1) * normal).sum()
            if side < 0 { next[e1] = e2 } else { next[e2] = e1 }
        }
    }
    var loops: [SurfaceLoop] = []
    var used = [Bool](repeating: false, count: 12)
    for start in 0..<12 where next[start] >= 0 && !used[start] {
        var loop: [Int] = []
        var e = start
        while !used[e] { used[e] = true; loop.append(e); e = next[e] }
        let n = loop.count
        let apex = (0..<n).first { a in
            (2..<(n - 1)).allSatisfy { k in facesOf(loop[a]).isDisjoint(with: facesOf(loop[(a + k) % n])) }
        }
        loops.append(SurfaceLoop(edges: loop, apex: n == 3 ? 0 : apex))
    }
    return loops
}

/// An indexed triangle mesh with optional per-vertex colours (RGB in [0, 1]).
public struct TriangleMesh {
    public var vertices: [SIMD3<Float>]
    public var triangles: [SIMD3<Int32>]
    public var colors: [SIMD3<Float>]?
    public init(vertices: [SIMD3<Float>], triangles: [SIMD3<Int32>], colors: [SIMD3<Float>]? = nil) {
        self.vertices = vertices; self.triangles = triangles; self.colors = colors
    }
}

/// Extracts the surface `density = threshold` from a grid of nx x ny x nz samples, x slowest
/// (`density[(i * ny + j) * nz + k]` at `origin + (i, j, k) * spacing`). Inside is density > threshold; the
/// triangles wind counter-clockwise seen from outside (normals point out of the dense region).
public func marchingCubes(_ density: [Float], nx: Int, ny: Int, nz: Int, threshold: Float,
                          origin: SIMD3<Float>, spacing: SIMD3<Float>) -> TriangleMesh {
    precondition(density.count == nx * ny * nz, "marchingCubes: \(density.count) samples for a \(nx)x\(ny)x\(nz) grid")
    var vertices: [SIMD3<Float>] = []
    var triangles: [SIMD3<Int32>] = []
    // One vertex per sign-changing grid edge, shared by the (up to four) cubes around it.
    var vertexOfEdge: [Int: Int32] = [:]
    func at(_ i: Int, _ j: Int, _ k: Int) -> Float { density[(i * ny + j) * nz + k] }
    func vertex(_ i: Int, _ j: Int, _ k: Int, _ e: Int) -> Int32 {
        let (a, b) = cubeEdges[e]
        let ia = (i + (a & 1), j + (a >> 1 & 1), k + (a >> 2 & 1))
        let ib = (i + (b & 1), j + (b >> 1 & 1), k + (b >> 2 & 1))
        let axis = (a ^ b) == 1 ? 0 : ((a ^ b) == 2 ? 1 : 2)
        let key = ((ia.0 * (ny + 1) + ia.1) * (nz + 1) + ia.2) * 3 + axis
        if let v = vertexOfEdge[key] { return v }
        let da = at(ia.0, ia.1, ia.2), db = at(ib.0, ib.1, ib.2)
        let t = da == db ? 0.5 : Swift.min(Swift.max((threshold - da) / (db - da), 0), 1)
        let pa = SIMD3<Float>(Float(ia.0), Float(ia.1), Float(ia.2)), pb = SIMD3<Float>(Float(ib.0), Float(ib.1), Float(ib.2))
        vertices.append(origin + (pa + (pb - pa) * t) * spacing)
        let v = Int32(vertices.count - 1)
        vertexOfEdge[key] = v
        return v
    }
    if nx < 2 || ny < 2 || nz < 2 { return TriangleMesh(vertices: [], triangles: []) }
    for i in 0..<(nx - 1) {
        for j in 0..<(ny - 1) {
            for k in 0..<(nz - 1) {
                var mask = 0
                for c in 0..<8 where at(i + (c & 1), j + (c >> 1 & 1), k + (c >> 2 & 1)) > threshold { mask |= 1 << c }
                for loop in loopTable[mask] {
                    let ids = loop.edges.map { vertex(i, j, k, $0) }
                    let n = ids.count
                    if let a = loop.apex {
                        for t in 1..<(n - 1) { triangles.append(SIMD3(ids[a], ids[(a + t) % n], ids[(a + t + 1) % n])) }
                    } else {
                        vertices.append(ids.map { vertices[Int($0)] }.reduce(.zero, +) / Float(n))
                        let c = Int32(vertices.count - 1)
                        for t in 0..<n { triangles.append(SIMD3(c, ids[t], ids[(t + 1) % n])) }
                    }
                }
            }
        }
    }
    return TriangleMesh(vertices: vertices, triangles: triangles)
}
