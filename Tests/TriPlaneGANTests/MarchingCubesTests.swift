// Marching cubes: watertight, outward-facing, accurate surfaces, and mesh files that parse.
import Foundation
import XCTest
@testable import TriPlaneGAN

final class MarchingCubesTests: XCTestCase {
    /// Density of a ball (positive inside) sampled on an n^3 grid over [-1, 1]^3.
    func ball(_ n: Int, radius: Float, center: SIMD3<Float> = .zero) -> ([Float], SIMD3<Float>, SIMD3<Float>) {
        let s = 2 / Float(n - 1)
        var d = [Float](repeating: 0, count: n * n * n)
        for i in 0..<n { for j in 0..<n { for k in 0..<n {
            let p = SIMD3<Float>(-1 + Float(i) * s, -1 + Float(j) * s, -1 + Float(k) * s) - center
            d[(i * n + j) * n + k] = radius - (p * p).sum().squareRoot()
        } } }
        return (d, SIMD3(repeating: -1), SIMD3(repeating: s))
    }

    /// Every undirected edge is used by exactly two triangles, once in each direction (closed, consistently wound).
    func assertWatertight(_ m: TriangleMesh, file: StaticString = #filePath, line: UInt = #line) {
        var directed: [SIMD2<Int32>: Int] = [:]
        for t in m.triangles { for (a, b) in [(t.x, t.y), (t.y, t.z), (t.z, t.x)] { directed[SIMD2(a, b), default: 0] += 1 } }
        for (e, n) in directed {
            XCTAssertEqual(n, 1, "edge \(e) used twice in the same direction", file: file, line: line)
            XCTAssertEqual(directed[SIMD2(e.y, e.x)], 1, "edge \(e) has no opposite", file: file, line: line)
        }
    }

    func testTableCoversEveryCase() {
        XCTAssertEqual(loopTable.count, 256)
        XCTAssertTrue(loopTable[0].isEmpty && loopTable[255].isEmpty)
        XCTAssertEqual(loopTable[1].map(\.edges.count), [3], "one inside corner: one triangle")
        XCTAssertEqual(loopTable[0b0000_0011].map(\.edges.count), [4], "an inside edge: a quad")
        XCTAssertEqual(loopTable[0b1000_0001].count, 2, "opposite corners: two separate patches")
        for (mask, loops) in loopTable.enumerated() {
            let tris = loops.flatMap(\.edges)
            XCTAssertEqual(tris.count, Set(tris).count, "case \(mask): an edge in two loops")
            // Every sign-changing cube edge appears, and no other.
            let changing = Set(cubeEdges.enumerated().filter { (mask >> $0.element.0 & 1) != (mask >> $0.element.1 & 1) }.map(\.offset))
            XCTAssertEqual(Set(tris), changing, "case \(mask)")
        }
    }

    func testSphereIsClosedOutwardAndAccurate() {
        let (d, origin, spacing) = ball(33, radius: 0.7)
        let m = marchingCubes(d, nx: 33, ny: 33, nz: 33, threshold: 0, origin: origin, spacing: spacing)
        XCTAssertGreaterThan(m.triangles.count, 1000)
        assertWatertight(m)
        var worst: Float = 0, outward = 0
        for v in m.vertices { worst = max(worst, abs((v * v).sum().squareRoot() - 0.7)) }
        for t in m.triangles {
            let a = m.vertices[Int(t.x)], b = m.vertices[Int(t.y)], c = m.vertices[Int(t.z)]
            let u = b - a, w = c - a
            let n = SIMD3(u.y * w.z - u.z * w.y, u.z * w.x - u.x * w.z, u.x * w.y - u.y * w.x)
            if (n * (a + b + c)).sum() > 0 { outward += 1 }
        }
        XCTAssertLessThan(worst, 0.01, "vertices lie on the sphere")
        XCTAssertEqual(outward, m.triangles.count, "every normal points out of the dense region")
    }

    func testTwoBallsAndSaddlesStayWatertight() {
        // Two touching balls create ambiguous faces; random fields exercise every case.
        let (a, origin, spacing) = ball(25, radius: 0.45, center: SIMD3(-0.42, 0, 0))
        let (b, _, _) = ball(25, radius: 0.45, center: SIMD3(0.42, 0.05, 0))
        var field = zip(a, b).map { max($0, $1) }
        assertWatertight(marchingCubes(field, nx: 25, ny: 25, nz: 25, threshold: 0, origin: origin, spacing: spacing))
        var state: UInt64 = 12345
        field = field.indices.map { i in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let (x, y, z) = (i / 625, i / 25 % 25, i % 25)
            // Random values, pinned negative on the border so the surface is closed.
            return x == 0 || y == 0 || z == 0 || x == 24 || y == 24 || z == 24 ? -1 : Float(state >> 40) / Float(1 << 24) - 0.5
        }
        let m = marchingCubes(field, nx: 25, ny: 25, nz: 25, threshold: 0, origin: origin, spacing: spacing)
        XCTAssertGreaterThan(m.triangles.count, 10_000)
        assertWatertight(m)
    }

    func testWritersProduceParsableFiles() throws {
        let (d, origin, spacing) = ball(9, radius: 0.6)
        var m = marchingCubes(d, nx: 9, ny: 9, nz: 9, threshold: 0, origin: origin, spacing: spacing)
        m.colors = m.vertices.map { ($0 + 1) / 2 }
        let ply = m.plyData()
        let header = String(decoding: ply.prefix(400), as: UTF8.self)
        XCTAssertTrue(header.contains("element vertex \(m.vertices.count)") && header.contains("element face \(m.triangles.count)"))
        let headerLength = header.range(of: "end_header\n")!.upperBound.utf16Offset(in: header)
        XCTAssertEqual(ply.count, headerLength + m.vertices.count * 15 + m.triangles.count * 13)
        let obj = String(decoding: m.objData(), as: UTF8.self)
        XCTAssertEqual(obj.split(separator: "\n").filter { $0.hasPrefix("v ") }.count, m.vertices.count)
        XCTAssertEqual(obj.split(separator: "\n").filter { $0.hasPrefix("f ") }.count, m.triangles.count)
        let glb = m.glbData()
        XCTAssertEqual(glb.prefix(4), Data("glTF".utf8))
        XCTAssertEqual(Int(glb.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self) }), glb.count)
        let jsonLength = Int(glb.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 12, as: UInt32.self) })
        let json = try JSONSerialization.jsonObject(with: glb.subdata(in: 20..<(20 + jsonLength))) as! [String: Any]
        XCTAssertEqual((json["accessors"] as! [[String: Any]]).last!["count"] as? Int, m.triangles.count * 3)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try m.write(to: dir.appendingPathComponent("a.ply").path)
        XCTAssertThrowsError(try m.write(to: dir.appendingPathComponent("a.stl").path)) { e in
            XCTAssertTrue("\(e)".contains("a.stl") && "\(e)".contains("unknown mesh format"))
        }
    }
}
