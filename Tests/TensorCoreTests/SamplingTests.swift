// interpolate and gridSample: PyTorch parity (Scripts/fixtures/sampling.py), fast kernels against their naive
// references on odd sizes, and finite-difference gradient checks (second order for interpolate).
import XCTest
@testable import TensorCore
import TestSupport

final class SamplingTests: XCTestCase {
    static let modes: [(String, InterpolationMode, Bool, Bool)] = [
        ("nearest", .nearest, false, false), ("bilinear", .bilinear, false, false), ("bilinear_ac", .bilinear, true, false),
        ("bilinear_aa", .bilinear, false, true), ("bilinear_ac_aa", .bilinear, true, true),
    ]

    func testInterpolateParity() throws {
        let f = try fixture("ops_sampling.safetensors")
        var checked = 0
        for shape in [[1, 3, 1, 1], [2, 2, 7, 9], [1, 1, 33, 31]] {
            for size in [(1, 1), (7, 5), (31, 33), (3, 17), (14, 18)] {
                for (tag, mode, ac, aa) in Self.modes {
                    try checkParity(f, "interp_\(tag)_\(shape[2])x\(shape[3])_to_\(size.0)x\(size.1)") {
                        interpolate($0[0], size: size, mode: mode, alignCorners: ac, antialias: aa)
                    }
                    checked += 1
                }
            }
        }
        for (tag, mode, ac, aa) in Self.modes {
            try checkParity(f, "interp_\(tag)_wide_down") { interpolate($0[0], size: (3, 333), mode: mode, alignCorners: ac, antialias: aa) }
            try checkParity(f, "interp_\(tag)_wide_up") { $0[0].resize(to: (5, 1001), mode: mode, alignCorners: ac, antialias: aa) }
            try checkParity(f, "interp_\(tag)_nhwc") {
                interpolate($0[0].permute([0, 3, 1, 2]), size: (4, 13), mode: mode, alignCorners: ac, antialias: aa)
            }
            checked += 3
        }
        XCTAssertEqual(checked, parityCases(f, prefix: "interp_").count)
    }

    func testGridSampleParity() throws {
        let f = try fixture("ops_sampling.safetensors")
        var checked = 0
        for name in ["small", "one", "row", "c17", "c32"] {
            for ac in [false, true] {
                try checkParity(f, "grid_\(name)_ac\(ac ? 1 : 0)") { gridSample($0[0], $0[1], alignCorners: ac) }
                checked += 1
            }
        }
        for ac in [false, true] {
            try checkParity(f, "grid_views_ac\(ac ? 1 : 0)") {
                gridSample($0[0].permute([0, 3, 1, 2]), $0[1].transpose(1, 2), alignCorners: ac)
            }
            checked += 1
        }
        XCTAssertEqual(checked, parityCases(f, prefix: "grid_").count)
    }

    /// The two-pass separable kernel (both pass orders, identity skips) against the direct double sum.
    func testResampleMatchesReference() {
        for (h, w, ho, wo) in [(1, 1, 5, 3), (7, 9, 31, 2), (33, 17, 7, 40), (13, 1000, 13, 77), (20, 5, 3, 5)] {
            for (tag, mode, ac, aa) in Self.modes {
                let fh = resizeFilter(inSize: h, outSize: ho, mode: mode, alignCorners: ac, antialias: aa)
                let fw = resizeFilter(inSize: w, outSize: wo, mode: mode, alignCorners: ac, antialias: aa)
                for (a, b) in [(fh, fw), (fh.transposed(), fw.transposed())] {
                    let x = testTensor([3, a.inSize, b.inSize], seed: 3)
                    let fast = Tensor(uninitializedShape: [3, a.outSize, b.outSize]), slow = Tensor(uninitializedShape: fast.shape)
                    resamplePlanes(x.data, fast.data, planes: 3, a, b)
                    resamplePlanesReference(x.data, slow.data, planes: 3, a, b)
                    assertClose(fast, slow, tol: 1e-6, "resample \(tag) \(h)x\(w) -> \(ho)x\(wo)")
                }
            }
        }
    }

    /// The transposed filter is the adjoint: <F x, y> = <x, Fᵀ y>.
    func testResampleAdjoint() {
        let x = testTensor([2, 3, 11, 8], seed: 1), y = testTensor([2, 3, 5, 19], seed: 2)
        for (tag, mode, ac, aa) in Self.modes {
            let fx = interpolate(x, size: (5, 19), mode: mode, alignCorners: ac, antialias: aa)
            let fh = resizeFilter(inSize: 11, outSize: 5, mode: mode, alignCorners: ac, antialias: aa)
            let fw = resizeFilter(inSize: 8, outSize: 19, mode: mode, alignCorners: ac, antialias: aa)
            let fty = resample(y, fh.transposed(), fw.transposed(), "adjoint")
            let lhs = (fx * y).sum().item(), rhs = (x * fty).sum().item()
            XCTAssertEqual(lhs, rhs, accuracy: 1e-4 * Swift.max(1, Swift.abs(lhs)), tag)
        }
    }

    func testGridSampleMatchesReference() {
        // C covers the SIMD body and tail; N = 1 with 3000 samples exercises the private dx slabs.
        for (n, c, h, w, ho, wo) in [(2, 3, 7, 9, 5, 11), (1, 17, 6, 5, 1, 3000), (3, 33, 4, 8, 7, 3), (1, 16, 1, 1, 2, 2)] {
            for ac in [false, true] {
                let x = testTensor([n, c, h, w], seed: 5), grid = testTensor([n, ho, wo, 2], seed: 6, low: -1.3, high: 1.3)
                let g = testTensor([n, c, ho, wo], seed: 7)
                let ref = gridSampleReference(x.toArray(), x.shape, grid.toArray(), ho: ho, wo: wo, alignCorners: ac, g: g.toArray())
                x.requiresGrad = true; grid.requiresGrad = true
                let out = gridSample(x, grid, alignCorners: ac)
                let grads = gradients(of: out, wrt: [x, grid], seed: g)
                let what = "gridSample \([n, c, h, w]) -> \(ho)x\(wo) ac \(ac)"
                assertClose(out, Tensor(ref.out, shape: out.shape), tol: 1e-6, what + " forward")
                assertClose(grads[0], Tensor(ref.dx, shape: x.shape), tol: 1e-5, what + " dx")
                assertClose(grads[1], Tensor(ref.dgrid, shape: grid.shape), tol: 1e-5, what + " dgrid")
            }
        }
    }

    func testGradchecks() {
        let x = testTensor([1, 2, 5, 4], seed: 8)
        for (tag, mode, ac, aa) in Self.modes {
            gradcheck([x], "interpolate \(tag) up") { interpolate($0[0], size: (7, 9), mode: mode, alignCorners: ac, antialias: aa) }
            gradcheck([x], "interpolate \(tag) down") { interpolate($0[0], size: (2, 3), mode: mode, alignCorners: ac, antialias: aa) }
        }
        gradgradcheck([x], "interpolate bilinear aa second order") {
            interpolate($0[0], size: (3, 7), mode: .bilinear, antialias: true).pow(2)
        }
        gradgradcheck([x], "interpolate nearest second order") { interpolate($0[0], size: (6, 3)).tanh() }

        // Grid points a safe distance from pixel boundaries (the bilinear gradient jumps there): unnormalised
        // coordinates integer + [0.25, 0.75], some outside the image (partly or wholly in the zero padding).
        for ac in [false, true] {
            let (h, w) = (5, 6)
            var g: [Float] = []
            let frac = testTensor([2 * 3 * 4 * 2], seed: 9, low: 0.25, high: 0.75).toArray()
            for i in 0..<(2 * 3 * 4) {
                let px = Float(i % 8 - 1) + frac[2 * i], py = Float((i / 3) % 7 - 1) + frac[2 * i + 1]
                g.append(ac ? px / Float(w - 1) * 2 - 1 : (2 * px + 1) / Float(w) - 1)
                g.append(ac ? py / Float(h - 1) * 2 - 1 : (2 * py + 1) / Float(h) - 1)
            }
            let grid = Tensor(g, shape: [2, 3, 4, 2])
            let img = testTensor([2, 3, h, w], seed: 10)
            gradcheck([img, grid], eps: 1e-3, "gridSample ac \(ac)") { gridSample($0[0], $0[1], alignCorners: ac) }
        }
    }
}
