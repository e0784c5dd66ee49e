// PyTorch parity (Scripts/fixtures/index.py) and gradient checks for cumsum, cumprod (with zeros), sort,
// argsort and searchsorted.
import XCTest
@testable import TensorCore
import TestSupport

final class SortScanTests: XCTestCase {
    func testScanParity() throws {
        let f = try fixture("ops_index.safetensors")
        for a in 0..<3 {
            try checkParity(f, "cumsum_\(a)") { $0[0].cumsum(axis: a) }
            try checkParity(f, "cumsum_rev_\(a)") { $0[0].cumsum(axis: a, reverse: true) }
            try checkParity(f, "cumprod_\(a)") { $0[0].cumprod(axis: a) }
        }
        try checkParity(f, "cumsum_1000") { $0[0].cumsum(axis: 0) }
        try checkParity(f, "cumsum_t") { $0[0].transpose(0, 2).cumsum(axis: 1) }
        try checkParity(f, "cumprod_zeros") { $0[0].cumprod(axis: 1) }
        try checkParity(f, "cumprod_zeros_t") { $0[0].transpose(0, 1).cumprod(axis: 0) }
    }

    func testSortParity() throws {
        let f = try fixture("ops_index.safetensors")
        var n = 0
        for a in 0..<3 {
            for d in [false, true] {
                let tag = "\(a)_\(d ? "desc" : "asc")"
                try checkParity(f, "sort_values_\(tag)") { $0[0].sort(axis: a, descending: d).values }
                try checkParity(f, "sort_indices_\(tag)") { $0[0].sort(axis: a, descending: d).indices }
                try checkParity(f, "argsort_\(tag)") { $0[0].argsort(axis: a, descending: d) }
                n += 3
            }
        }
        try checkParity(f, "sort_values_1000") { $0[0].sort().values }
        try checkParity(f, "sort_values_t") { $0[0].transpose(0, 2).sort(axis: 1).values }
        try checkParity(f, "argsort_nan_asc") { $0[0].argsort(axis: 1) }
        try checkParity(f, "argsort_nan_desc") { $0[0].argsort(axis: 1, descending: true) }
        for side in ["left", "right"] {
            try checkParity(f, "searchsorted_1d_\(side)") { searchsorted($0[0], $0[1], right: side == "right") }
            try checkParity(f, "searchsorted_nd_\(side)") { searchsorted($0[0], $0[1], right: side == "right") }
        }
        try checkParity(f, "searchsorted_empty") { searchsorted($0[0], $0[1]) }
        XCTAssertEqual(n, 18)
    }

    func testGradchecks() {
        let x = testTensor([3, 6, 4], seed: 41)
        for a in 0..<3 {
            gradcheck([x], "cumsum axis \(a)") { $0[0].cumsum(axis: a) }
            gradcheck([x], "reverse cumsum axis \(a)") { $0[0].cumsum(axis: a, reverse: true) }
            gradcheck([x], "cumprod axis \(a)") { $0[0].cumprod(axis: a) }
        }
        gradcheck([x], "cumprod non-contiguous") { $0[0].transpose(0, 1).cumprod(axis: 1) }
        let z = Tensor([0.5, 0, 1.2, -0.7, 0, 0.9, 0, 1.1, 0.8, -1.3, 0.6, 0], shape: [2, 6])
        gradcheck([z], "cumprod with zeros") { $0[0].cumprod(axis: 1) }
        // Distinct values 0.1 apart: a 1e-2 perturbation keeps the order.
        let perm: [Float] = [7, 2, 11, 0, 5, 9, 1, 10, 3, 6, 8, 4]
        let s = Tensor(perm.map { $0 * 0.1 - 0.5 }, shape: [3, 4])
        gradcheck([s], "sort values axis 1") { $0[0].sort(axis: 1).values }
        gradcheck([s], "sort values axis 0 descending") { $0[0].sort(axis: 0, descending: true).values * $0[0] }
    }

    func testSecondOrder() {
        let x = testTensor([3, 5], seed: 42, low: 0.5, high: 1.5)
        gradgradcheck([x], "cumsum") { $0[0].cumsum(axis: 1).pow(2) }
        gradgradcheck([x], "reverse cumsum") { ($0[0].cumsum(axis: 0, reverse: true) * $0[0]).tanh() }
        gradgradcheck([x], "cumprod") { $0[0].cumprod(axis: 1) }
        let z = Tensor([0.5, 0, 1.2, -0.7, 0, 0.9, 0, 1.1, 0.8, -1.3, 0.6, 0], shape: [2, 6])
        gradgradcheck([z], "cumprod with zeros") { $0[0].cumprod(axis: 1) }
        let c = testTensor([3, 5], seed: 43)
        gradcheck([x, c], "linear scan (first order)") { $0[0].linearScan($0[1], axis: 0, reverse: false) }
        gradcheck([x, c], "reverse linear scan (first order)") { $0[0].linearScan($0[1], axis: 1, reverse: true) }
        gradgradcheck([x, c], "linear scan") { $0[0].linearScan($0[1], axis: 1, reverse: false).pow(2) }
        gradgradcheck([x, c], "reverse linear scan") { $0[0].linearScan($0[1], axis: 1, reverse: true).pow(2) }
    }

    func testCumprodZerosMatchesDefinition() {
        // d/dx_k of sum_j cumprod(x)_j, by brute force: sum over j >= k of prod_{i <= j, i != k} x_i.
        let v: [Float] = [0.5, 0, 1.5, 0, 2, -1]
        let x = Tensor(v, shape: [6], requiresGrad: true)
        x.cumprod(axis: 0).sum().backward()
        var expected = [Float](repeating: 0, count: 6)
        for k in 0..<6 {
            for j in k..<6 { expected[k] += (0...j).filter { $0 != k }.map { v[$0] }.reduce(1, *) }
        }
        XCTAssertEqual(x.grad!.toArray(), expected)
    }

    func testStableAndNaNOrder() {
        let x = Tensor([2, .nan, 1, 2, -0.0, 0, .nan, 1], shape: [8])
        XCTAssertEqual(x.argsort().toArray(), [4, 5, 2, 7, 0, 3, 1, 6])
        XCTAssertEqual(x.argsort(descending: true).toArray(), [1, 6, 0, 3, 2, 7, 4, 5])
        let seq = Tensor([1, 2, 2, 3], shape: [4])
        XCTAssertEqual(searchsorted(seq, Tensor([0, 2, 2.5, 3, 9, .nan], shape: [6])).toArray(), [0, 1, 3, 3, 4, 4])
        XCTAssertEqual(searchsorted(seq, Tensor([0, 2, 2.5, 3, 9, .nan], shape: [6]), right: true).toArray(), [0, 3, 3, 4, 4, 4])
    }
}
