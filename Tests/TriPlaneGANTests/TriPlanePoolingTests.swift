// The 3D-aware pooling (method doc §4 step 2) is proved against a brute-force enumeration: for every plane and
// texel, the pooled features equal the mean over exactly the texels of the other planes that share a 3-D point
// with it, where "share" is decided from the world coordinates the plane-axis table gives each texel.
import Foundation
import XCTest
import TensorCore
@testable import TriPlaneGAN
import TestSupport

final class TriPlanePoolingTests: XCTestCase {
    /// World-axis indices of texel (r, c) of plane k: [axis: index] for the two axes the plane indexes.
    func coordinates(_ axes: TriPlaneAxes, plane k: Int, row r: Int, column c: Int) -> [WorldAxis: Int] {
        [axes.planes[k].row: r, axes.planes[k].column: c]
    }

    /// Brute force: for every plane k, texel (r, c), sample and channel, the mean of plane m over the texels of m
    /// whose coordinates agree with (r, c)'s on every world axis both planes index. Returns the expected
    /// (N, 3d, H_k, W_k) output per plane and the number of matching texels per (k, m) pair (constant over texels).
    func bruteForce(_ planes: [[Float]], shapes: [[Int]], axes: TriPlaneAxes) -> ([[Double]], [[Int: Int]]) {
        let (n, d) = (shapes[0][0], shapes[0][1])
        var outputs: [[Double]] = [], counts: [[Int: Int]] = []
        for k in 0..<3 {
            let (hk, wk) = (shapes[k][2], shapes[k][3])
            let (before, after) = ((k + 2) % 3, (k + 1) % 3)
            var out = [Double](repeating: .nan, count: n * 3 * d * hk * wk)
            var countFor: [Int: Int] = [:]
            for r in 0..<hk { for c in 0..<wk {
                let mine = coordinates(axes, plane: k, row: r, column: c)
                func matches(_ m: Int) -> [(Int, Int)] {
                    var list: [(Int, Int)] = []
                    for r2 in 0..<shapes[m][2] { for c2 in 0..<shapes[m][3] {
                        let theirs = coordinates(axes, plane: m, row: r2, column: c2)
                        if theirs.allSatisfy({ axis, i in mine[axis].map { $0 == i } ?? true }) { list.append((r2, c2)) }
                    } }
                    return list
                }
                for (slot, m) in [(0, before), (2, after)] {
                    let texels = matches(m)
                    if let seen = countFor[m] { XCTAssertEqual(seen, texels.count) }
                    countFor[m] = texels.count
                    XCTAssertFalse(texels.isEmpty, "plane \(k) texel (\(r), \(c)) shares no point with plane \(m)")
                    for s in 0..<n { for ch in 0..<d {
                        var sum = 0.0
                        for (r2, c2) in texels {
                            sum += Double(planes[m][((s * d + ch) * shapes[m][2] + r2) * shapes[m][3] + c2])
                        }
                        out[((s * 3 * d + slot * d + ch) * hk + r) * wk + c] = sum / Double(texels.count)
                    } }
                }
                for s in 0..<n { for ch in 0..<d {
                    out[((s * 3 * d + d + ch) * hk + r) * wk + c] = Double(planes[k][((s * d + ch) * hk + r) * wk + c])
                } }
            } }
            outputs.append(out)
            counts.append(countFor)
        }
        return (outputs, counts)
    }

    func checkAgainstBruteForce(_ axes: TriPlaneAxes, sizes: [WorldAxis: Int], n: Int = 2, d: Int = 3, seed: UInt64) -> [[Int: Int]] {
        let shapes = axes.planes.map { [n, d, sizes[$0.row]!, sizes[$0.column]!] }
        let planes = shapes.enumerated().map { testTensor($0.element, seed: seed + UInt64($0.offset)) }
        let values = planes.map { $0.toArray() }
        XCTAssertEqual(Set(values.joined()).count, values.joined().count, "inputs must be distinct values")
        let got = TriPlanePooling(axes: axes)(planes)
        let (expected, counts) = bruteForce(values, shapes: shapes, axes: axes)
        for k in 0..<3 {
            XCTAssertEqual(got[k].shape, [n, 3 * d, shapes[k][2], shapes[k][3]])
            let g = got[k].toArray()
            var worst = 0.0
            for i in 0..<g.count { worst = Swift.max(worst, Swift.abs(Double(g[i]) - expected[k][i])) }
            XCTAssertLessThanOrEqual(worst, 1e-6, "\(axes) plane \(k): pooled features differ from the brute-force mean by \(worst)")
            // The centre block is f_k itself, bit for bit.
            XCTAssertEqual(got[k].slice(axis: 1, start: d, end: 2 * d).toArray(), values[k], "plane \(k): centre block is not f_k")
        }
        return counts
    }

    /// EG3D's layout (XY, XZ, ZX): every plane and texel against the brute-force enumeration. Also pins down the
    /// derivation: plane 0 pools planes 1 and 2 over z (R texels each); plane 1 pools plane 0 over y (R texels) and
    /// meets plane 2 in exactly one texel (both index x and z); plane 2 likewise.
    func testEG3DPoolingEqualsBruteForceMeanOverSharedTexels() {
        let r = 5
        let counts = checkAgainstBruteForce(.eg3d, sizes: [.x: r, .y: r, .z: r], seed: 10)
        XCTAssertEqual(counts[0], [2: r, 1: r])
        XCTAssertEqual(counts[1], [0: r, 2: 1])
        XCTAssertEqual(counts[2], [1: 1, 0: r])
    }

    /// The derivation comes from the axis table, not from EG3D's case: the paper's orthogonal layout (XY, YZ, ZX)
    /// with a different resolution per world axis (non-square planes) also matches the brute force, and every
    /// plane pools both others over its free axis.
    func testOrthogonalLayoutWithNonSquarePlanesEqualsBruteForce() {
        let sizes: [WorldAxis: Int] = [.x: 3, .y: 4, .z: 5]
        let counts = checkAgainstBruteForce(.orthogonal, sizes: sizes, n: 1, d: 2, seed: 20)
        for k in 0..<3 {
            let free = TriPlaneAxes.orthogonal.freeAxis(k)
            for (_, c) in counts[k] { XCTAssertEqual(c, sizes[free]) }
        }
    }

    /// EG3D's planes as (column, row): x→col,y→row; x→col,z→row; z→col,x→row, and the free axes z, y, y.
    func testEG3DAxisTable() {
        let a = TriPlaneAxes.eg3d
        XCTAssertEqual(a.planes.map { "\($0.column)\($0.row)" }, ["xy", "xz", "zx"])
        XCTAssertEqual((0..<3).map { a.freeAxis($0) }, [.z, .y, .y])
        XCTAssertTrue(TriPlaneAxes.neighbours(of: 0) == (2, 1))
    }

    /// PyTorch parity (Scripts/fixtures/adapter.py, an independent volume-lifting implementation): forward and gradient.
    func testPoolingParityWithTorch() throws {
        let file = try fixture("ops_adapter.safetensors")
        let x = try file.tensor("pool_eg3d.x0")
        let leaf = Tensor(x.toArray(), shape: x.shape, requiresGrad: true)
        let y = TriPlanePooling().pooled(channels: leaf)
        let e = assertClose(y, try file.tensor("pool_eg3d.out"), tol: 1e-6, "pool forward")
        let g = gradients(of: y, wrt: [leaf], seed: try file.tensor("pool_eg3d.r"))[0]
        let eg = assertClose(g, try file.tensor("pool_eg3d.g0"), tol: 1e-5, "pool gradient")
        print("pooling parity: forward \(e), gradient \(eg)")
    }
}
