// PyTorch parity (Scripts/fixtures/index.py) and gradient checks for embedding, indexSelect, gather,
// scatterAdd, indexAdd, plus EG3D's importance sampler (sample_pdf), which combines them with cumsum
// and searchsorted.
import XCTest
@testable import TensorCore
import TestSupport

/// EG3D renderer.py sample_pdf (det=True, u given): bins (R, S+1), weights (R, S), u (R, M) -> (R, M).
func samplePDF(_ bins: Tensor, _ weights: Tensor, _ u: Tensor, eps: Float = 1e-5) -> Tensor {
    let rays = weights.shape[0], samples = weights.shape[1], m = u.shape[1]
    let w = weights + eps
    let pdf = w / w.sum(axis: -1, keepDims: true)
    let cdf = Tensor.concat([Tensor.zeros([rays, 1]), pdf.cumsum(axis: -1)], axis: -1)
    let inds = searchsorted(cdf, u, right: true)
    let below = (inds - 1).clamp(min: 0), above = inds.clamp(max: Float(samples))
    let sampled = Tensor.stack([below, above], axis: -1).reshape([rays, 2 * m])
    let cdfG = cdf.gather(axis: 1, sampled).reshape([rays, m, 2])
    let binsG = bins.gather(axis: 1, sampled).reshape([rays, m, 2])
    let c0 = cdfG.slice(axis: 2, start: 0, end: 1).squeeze(2), c1 = cdfG.slice(axis: 2, start: 1, end: 2).squeeze(2)
    let b0 = binsG.slice(axis: 2, start: 0, end: 1).squeeze(2), b1 = binsG.slice(axis: 2, start: 1, end: 2).squeeze(2)
    let d = c1 - c0
    let denom = Tensor.where(d.lt(eps), Tensor(scalar: 1), d)
    return b0 + (u - c0) / denom * (b1 - b0)
}

final class IndexTests: XCTestCase {
    func testParity() throws {
        let f = try fixture("ops_index.safetensors")
        var n = 0
        func check(_ name: String, _ op: @escaping ([Tensor]) -> Tensor) throws { try checkParity(f, name, op); n += 1 }
        try check("embedding") { embedding($0[0], $0[1]) }
        try check("embedding_1row") { embedding($0[0], $0[1]) }
        try check("embedding_t") { embedding($0[0].transpose(0, 1), $0[1]) }
        for a in 0..<3 {
            try check("index_select_\(a)") { $0[0].indexSelect(axis: a, $0[1]) }
            try check("gather_\(a)") { $0[0].gather(axis: a, $0[1]) }
            try check("scatter_add_\(a)") { $0[0].scatterAdd(axis: a, $0[1], $0[2]) }
            try check("index_add_\(a)") { $0[0].indexAdd(axis: a, $0[1], $0[2]) }
        }
        try check("index_select_t") { $0[0].transpose(0, 2).indexSelect(axis: 1, $0[1]) }
        try check("gather_t") { $0[0].transpose(0, 1).gather(axis: 2, $0[1]) }
        try check("gather_1000") { $0[0].gather(axis: 0, $0[1]) }
        try check("gather_one") { $0[0].gather(axis: 1, $0[1]) }
        try check("sample_pdf") { samplePDF($0[0], $0[1], $0[2]) }
        XCTAssertEqual(n, 20)
    }

    func testGradchecks() {
        let x = testTensor([4, 5, 3], seed: 21)
        let sel = Tensor([2, 0, 2, 4, 1, 2], shape: [6])
        gradcheck([x], "indexSelect") { $0[0].indexSelect(axis: 1, sel) }
        gradcheck([x], "indexSelect non-contiguous") { $0[0].transpose(0, 2).indexSelect(axis: 2, Tensor([3, 3, 0], shape: [3])) }
        let w = testTensor([6, 4], seed: 22)
        gradcheck([w], "embedding") { embedding($0[0], Tensor([5, 0, 5, 2, 1, 5], shape: [2, 3])) }
        let gi = Tensor([0, 2, 2, 1, 0, 0, 1, 1, 2, 2, 2, 0], shape: [2, 2, 3])
        gradcheck([x], "gather axis 2") { $0[0].gather(axis: 2, gi) }
        gradcheck([x], "gather axis 0") { $0[0].gather(axis: 0, Tensor([3, 1, 1, 0, 0, 2], shape: [2, 1, 3])) }
        let src = testTensor([2, 2, 3], seed: 23)
        gradcheck([x, src], "scatterAdd") { $0[0].scatterAdd(axis: 2, gi, $0[1]) }
        let big = testTensor([3, 4, 3], seed: 24)
        gradcheck([x, big], "scatterAdd larger source") { $0[0].scatterAdd(axis: 2, gi, $0[1]) }
        let addSrc = testTensor([4, 6, 3], seed: 25)
        gradcheck([x, addSrc], "indexAdd") { $0[0].indexAdd(axis: 1, sel, $0[1]) }
    }

    /// Each op's backward is the other op of its pair; second order goes through both.
    func testSecondOrder() {
        let x = testTensor([4, 5, 3], seed: 31)
        let gi = Tensor([0, 4, 4, 1, 0, 3, 1, 1, 2, 2, 2, 0], shape: [2, 2, 3])
        gradgradcheck([x], "gather") { $0[0].gather(axis: 1, gi).pow(2) }
        let src = testTensor([2, 2, 3], seed: 32)
        gradgradcheck([x, src], "scatterAdd") { ($0[0].scatterAdd(axis: 1, gi, $0[1]) * $0[0]).tanh() }
        let sel = Tensor([2, 0, 2, 4], shape: [4])
        gradgradcheck([x], "indexSelect") { $0[0].indexSelect(axis: 1, sel).pow(2) }
        let addSrc = testTensor([4, 4, 3], seed: 33)
        gradgradcheck([x, addSrc], "indexAdd") { ($0[0].indexAdd(axis: 1, sel, $0[1]) * $0[0]).sin() }
        let w = testTensor([6, 4], seed: 34)
        gradgradcheck([w], "embedding") { embedding($0[0], Tensor([5, 0, 5, 2], shape: [4])).pow(2) }
    }

    func testRepeatedIndicesAccumulate() {
        let w = Tensor.zeros([3, 2], requiresGrad: true)
        let y = embedding(w, Tensor([1, 1, 1, 2], shape: [4]))
        y.sum().backward()
        XCTAssertEqual(w.grad!.toArray(), [0, 0, 3, 3, 1, 1])
        let s = Tensor.zeros([4]).scatterAdd(axis: 0, Tensor([3, 3, 0], shape: [3]), Tensor([1, 2, 4], shape: [3]))
        XCTAssertEqual(s.toArray(), [4, 0, 0, 3])
        let a = Tensor.ones([2, 3]).indexAdd(axis: 1, Tensor([2, 2], shape: [2]), Tensor([1, 2, 3, 4], shape: [2, 2]))
        XCTAssertEqual(a.toArray(), [1, 1, 4, 1, 1, 8])
    }

    /// The messages `require` stops with on bad indices: op, value and bound.
    func testBadIndexMessages() {
        let shape = [3, 4]
        XCTAssertEqual(indexProblem(Tensor([0, 4], shape: [2]), bound: 4, "gather", axis: 1, of: shape),
                       "gather: index 4 is out of range for axis 1 of size 4 (shape [3, 4])")
        XCTAssertEqual(indexProblem(Tensor([-1], shape: [1]), bound: 3, "embedding", axis: 0, of: shape),
                       "embedding: index -1 is out of range for axis 0 of size 3 (shape [3, 4])")
        XCTAssertEqual(indexProblem(Tensor([1.5], shape: [1]), bound: 3, "indexSelect", axis: 0, of: shape),
                       "indexSelect: index 1.5 at position 0 is not an integer")
        XCTAssertEqual(indexProblem(Tensor([.nan], shape: [1]), bound: 3, "scatterAdd", axis: 0, of: shape),
                       "scatterAdd: index nan at position 0 is not an integer")
        XCTAssertEqual(indexProblem(Tensor([.infinity], shape: [1]), bound: 3, "indexAdd", axis: 0, of: shape),
                       "indexAdd: index inf is out of range for axis 0 of size 3 (shape [3, 4])")
        XCTAssertNil(indexProblem(Tensor([0, 2, 1], shape: [3]), bound: 3, "gather", axis: 0, of: shape))
    }

    /// The eight-at-a-time check agrees with the element-by-element one wherever the bad value sits (in a full
    /// vector or in the tail), for every kind of bad value, and at bounds floats cannot hold exactly.
    func testVectorIndexCheckMatchesScalar() {
        func scalar(_ v: [Float], _ bound: Int) -> Bool {
            v.allSatisfy { $0.rounded() == $0 && Int(exactly: $0).map { $0 >= 0 && $0 < bound } ?? false }
        }
        func vector(_ v: [Float], _ bound: Int) -> Bool {
            let t = Tensor(v, shape: [v.count])
            return withExtendedLifetime(t) { indicesAllValid(t.data, count: v.count, bound: bound) }
        }
        for n in [1, 7, 8, 9, 19, 64] {
            let good = (0..<n).map { Float($0 % 5) }
            for at in 0..<n {
                for bad: Float in [5, -1, 0.5, .nan, .infinity, -.infinity, 1e9] {
                    var v = good; v[at] = bad
                    let t = Tensor(v, shape: [n])
                    XCTAssertEqual(vector(v, 5), scalar(v, 5), "n \(n) at \(at) value \(bad)")
                    XCTAssertNotNil(indexProblem(t, bound: 5, "gather", axis: 0, of: [n]))
                }
                XCTAssertTrue(vector(good, 5))
            }
        }
        // Bounds past 2^24 (not every integer is a float there): the fast check may turn down a valid index next to
        // the bound (then indexProblem checks one by one), never accept an invalid one.
        for bound in [1 << 24, (1 << 24) + 1, (1 << 24) + 3, 1 << 30] {
            let near = [Float(bound).nextDown, Float(bound), Float(bound).nextUp]
            for v: [Float] in near.map({ [$0] }) + near.map({ [0, 1, 2, 3, 4, 5, 6, 7, $0] }) {
                XCTAssertTrue(!vector(v, bound) || scalar(v, bound), "bound \(bound) \(v)")
                let t = Tensor(v, shape: [v.count])
                XCTAssertEqual(indexProblem(t, bound: bound, "gather", axis: 0, of: [v.count]) == nil, scalar(v, bound), "bound \(bound) \(v)")
            }
        }
    }
}
