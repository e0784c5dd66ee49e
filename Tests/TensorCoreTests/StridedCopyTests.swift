// The strided copy behind contiguous(), copyIn and concat (Kernels/StridedCopy.swift) against its naive reference:
// permuted views that take the transposing tiles (tile-sized, odd and size-1 axes, several outer axes, sliced and
// offset sources, a transposed destination inside a larger buffer), broadcast sources and plain rows; the same bytes on
// 1 and 2 threads. The copy moves values, so equality is exact.
import XCTest
@testable import TensorCore
import TestSupport

final class StridedCopyTests: XCTestCase {
    /// Copies `x` (any view) into a fresh dense tensor with the fast kernel and with the reference.
    func check(_ x: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        let expected = Tensor(uninitializedShape: x.shape)
        stridedCopyReference(shape: x.shape, x.storage.base + x.offset, x.strides, expected.storage.base, expected.strides)
        for threads in [1, 2] {
            Parallel.threadCount = threads
            XCTAssertEqual(x.contiguous().toArray(), expected.toArray(), "\(what): contiguous(), \(threads) threads", file: file, line: line)
            let into = Tensor.zeros(x.shape)
            into.copyIn(x)
            XCTAssertEqual(into.toArray(), expected.toArray(), "\(what): copyIn, \(threads) threads", file: file, line: line)
        }
    }

    func testPermutedViewsEqualTheReference() {
        let rng = RandomGenerator(seed: 3)
        // (shape, permutation): the adapters' tokens (N, C, HW) -> (N, HW, C), tile multiples and odd sizes, a 4-axis
        // permutation with several outer axes, size-1 axes, a transposed matrix, a permutation that keeps the last axis.
        let cases: [([Int], [Int])] = [([2, 96, 4096], [0, 2, 1]), ([1, 32, 16], [0, 2, 1]), ([3, 17, 45], [0, 2, 1]),
                                       ([2, 5, 33, 7], [0, 3, 1, 2]), ([2, 5, 33, 7], [2, 0, 3, 1]), ([1, 1, 19, 1, 23], [4, 1, 3, 0, 2]),
                                       ([301, 150], [1, 0]), ([4, 6, 8], [1, 0, 2]), ([7], [0])]
        for (shape, perm) in cases {
            let x = rng.normal(shape)
            check(x.permute(perm), "\(shape) permuted \(perm)")
        }
        // A sliced, offset source (strides of the full tensor, the last axis strided).
        let big = rng.normal([4, 40, 50])
        check(big.slice(axis: 1, start: 3, end: 37).permute([0, 2, 1]).slice(axis: 2, start: 5, end: 30), "sliced transpose")
        // Broadcast sources (stride 0) and one element.
        check(rng.normal([1, 33]).expand([17, 33]), "broadcast rows")
        check(rng.normal([33, 1]).expand([33, 17]), "broadcast columns")
        check(rng.normal([1, 1]), "one element")
    }

    /// copyIn into a transposed destination view inside a larger buffer, and concat of permuted views (the adapters'
    /// token layout), element by element against the definition.
    func testTransposedDestinationAndConcat() {
        let rng = RandomGenerator(seed: 4)
        let src = rng.normal([9, 21])
        let buffer = Tensor.zeros([30, 12])
        let view = buffer.slice(axis: 0, start: 2, end: 23).slice(axis: 1, start: 1, end: 10).permute([1, 0])   // (9, 21)
        view.copyIn(src)
        let b = buffer.toArray(), s = src.toArray()
        for i in 0..<30 {
            for j in 0..<12 {
                let inside = (2..<23).contains(i) && (1..<10).contains(j)
                XCTAssertEqual(b[i * 12 + j], inside ? s[(j - 1) * 21 + (i - 2)] : 0, "buffer[\(i), \(j)]")
            }
        }
        let planes = (0..<3).map { _ in rng.normal([2, 24, 40]) }                          // 3 × (N, C, HW)
        let tokens = Tensor.concat(planes.map { $0.permute([0, 2, 1]) }, axis: 1)           // (N, 3HW, C)
        let t = tokens.toArray(), p = planes.map { $0.toArray() }
        for n in 0..<2 { for q in 0..<3 { for hw in 0..<40 { for c in 0..<24 {
            XCTAssertEqual(t[(n * 120 + q * 40 + hw) * 24 + c], p[q][(n * 24 + c) * 40 + hw])
        } } } }
    }
}
