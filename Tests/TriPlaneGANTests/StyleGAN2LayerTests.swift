// The StyleGAN2 layers on their own: fused and unfused modulation agree (values and gradients), the up-2
// path equals the spec's zero-insertion formulation, finite-difference gradients, noise modes, mapping
// truncation with a cutoff and the w_avg EMA, and the super-resolution variants' shapes.
import Foundation
import XCTest
import TensorCore
@testable import TriPlaneGAN
import TestSupport

final class StyleGAN2LayerTests: XCTestCase {
    /// A small SynthesisLayer with non-trivial biases and noise strength.
    func layer(up: Int, seed: UInt64) -> SynthesisLayer {
        let l = SynthesisLayer(5, 4, wDim: 6, resolution: 8, up: up, rng: RandomGenerator(seed: seed))
        withNoGrad {
            // copyIn keeps the source alive while copying (a temporary's .data pointer may dangle).
            l.bias.copyIn(testTensor([4], seed: seed + 1))
            l.noiseStrength!.data.pointee = 0.3
            l.affine.bias!.copyIn(testTensor([5], seed: seed + 2, low: 0.5, high: 1.5))
        }
        return l
    }

    func testFusedAndUnfusedAgreeIncludingGradients() {
        for up in [1, 2] {
            let l = layer(up: up, seed: 10 + UInt64(up))
            let x = testTensor([2, 5, 8 / up, 8 / up], seed: 3, requiresGrad: true)
            let w = testTensor([2, 6], seed: 4, requiresGrad: true)
            var results: [(Tensor, [Tensor])] = []
            for e in [ModulationExecution.fused, .unfused] {
                l.execution = e
                let y = l(x, w, noiseMode: .const)
                let r = testTensor(y.shape, seed: 9)
                let wrt = [x, w, l.weight, l.bias, l.noiseStrength!, l.affine.weight, l.affine.bias!]
                results.append((y, gradients(of: (y * r).sum(), wrt: wrt)))
            }
            XCTAssertEqual(results[0].0.shape, [2, 4, 8, 8])
            assertClose(results[0].0, results[1].0, tol: 1e-5, "up \(up): fused vs unfused output")
            for (i, (a, b)) in zip(results[0].1, results[1].1).enumerated() {
                assertClose(a, b, tol: 1e-5, "up \(up): fused vs unfused gradient \(i)")
            }
        }
    }

    /// Spec §2.6 B: transposed convolution + FIR equals FIR upsampling with zero insertion (pad 3, 2) followed
    /// by a true convolution (cross-correlation with the kernel rotated by 180°).
    func testUpConvolutionEqualsZeroInsertionFormulation() {
        let x = testTensor([2, 3, 5, 5], seed: 21), wt = testTensor([4, 3, 3, 3], seed: 22)
        let f = setupFilter([1, 3, 3, 1])
        let ours = modulatedConv2d(x, weight: wt, styles: Tensor.ones([2, 3]), up: 2, resampleFilter: f, demodulate: false,
                                   execution: .unfused)
        let u = upfirdn2d(x, f, up: (2, 2), padding: (3, 2, 3, 2), gain: 4)
        let rotated = Tensor(Array(wt.toArray().chunked(9).map { Array($0.reversed()) }.joined()), shape: wt.shape)
        let expected = conv2d(u, rotated)
        XCTAssertEqual(ours.shape, [2, 4, 10, 10])
        assertClose(ours, expected, tol: 1e-5, "up-2 modulated convolution")
    }

    func testModulatedConvolutionGradcheck() {
        let x = testTensor([2, 3, 4, 4], seed: 31), wt = testTensor([2, 3, 3, 3], seed: 32)
        let s = testTensor([2, 3], seed: 33, low: 0.5, high: 1.5)
        let f = setupFilter([1, 3, 3, 1])
        for up in [1, 2] {
            for e in [ModulationExecution.fused, .unfused] {
                gradcheck([x, wt, s], tol: 2e-2, "modulated conv up \(up) \(e)") { v in
                    modulatedConv2d(v[0], weight: v[1], styles: v[2], up: up, resampleFilter: f, execution: e)
                }
            }
        }
    }

    func testNoiseModes() {
        let l = layer(up: 1, seed: 40)
        let x = testTensor([2, 5, 8, 8], seed: 41), w = testTensor([2, 6], seed: 42)
        let none = withNoGrad { l(x, w, noiseMode: .none) }
        let const = withNoGrad { l(x, w, noiseMode: .const) }
        let r1 = withNoGrad { l(x, w, noiseMode: .random, rng: RandomGenerator(seed: 7)) }
        let r2 = withNoGrad { l(x, w, noiseMode: .random, rng: RandomGenerator(seed: 7)) }
        XCTAssertEqual(r1.toArray(), r2.toArray(), "random noise is reproducible from the generator")
        XCTAssertGreaterThan(relativeError(const, none), 1e-3)
        XCTAssertGreaterThan(relativeError(r1, const), 1e-3)
        // Noise is per pixel, shared by every channel: with strength 0 the three modes agree.
        withNoGrad { l.noiseStrength!.data.pointee = 0 }
        let zero = withNoGrad { l(x, w, noiseMode: .random) }
        XCTAssertEqual(zero.toArray(), withNoGrad { l(x, w, noiseMode: .none) }.toArray())
    }

    func testMappingTruncationCutoffAndMovingAverage() {
        let m = MappingNetwork(zDim: 4, cDim: 3, wDim: 5, numWs: 4, numLayers: 2, rng: RandomGenerator(seed: 50))
        let avg = testTensor([5], seed: 51)
        withNoGrad { m.wAvg!.data.update(from: avg.data, count: 5) }
        let z = testTensor([3, 4], seed: 52), c = testTensor([3, 3], seed: 53)
        let plain = withNoGrad { m(z, c) }
        XCTAssertEqual(plain.shape, [3, 4, 5])
        let w = plain.slice(axis: 1, start: 0, end: 1).squeeze(1)
        for row in 1..<4 { XCTAssertEqual(plain.slice(axis: 1, start: row, end: row + 1).squeeze(1).toArray(), w.toArray()) }
        let cut = withNoGrad { m(z, c, truncationPsi: 0.6, truncationCutoff: 2) }
        let truncated = avg + (w - avg) * 0.6
        for row in 0..<4 {
            assertClose(cut.slice(axis: 1, start: row, end: row + 1).squeeze(1), row < 2 ? truncated : w, tol: 1e-6, "row \(row)")
        }
        assertClose(withNoGrad { m(z, c, truncationPsi: 0.6) }, truncated.unsqueeze(1).expand([3, 4, 5]), tol: 1e-6, "no cutoff")

        // update_emas: w_avg ← mean(w) + β·(w_avg − mean(w)), before truncation.
        let mean = w.mean(axis: 0)
        let expected = mean + (avg - mean) * 0.998
        let out = withNoGrad { m(z, c, truncationPsi: 0.5, updateEmas: true) }
        assertClose(m.wAvg!, expected, tol: 1e-6, "w_avg after the EMA update")
        assertClose(out, (expected + (w - expected) * 0.5).unsqueeze(1).expand([3, 4, 5]), tol: 1e-6, "truncation uses the updated w_avg")

        // DualDiscriminator's camera mapping: no z, no broadcast, no w_avg.
        let d = MappingNetwork(zDim: 0, cDim: 3, wDim: 7, numWs: nil, wAvgBeta: nil, rng: RandomGenerator(seed: 54))
        XCTAssertEqual(withNoGrad { d(nil, c) }.shape, [3, 7])
        XCTAssertEqual(Set(d.stateDict().keys), Set(["embed.weight", "embed.bias"] + (0..<8).flatMap { ["fc\($0).weight", "fc\($0).bias"] }))
    }

    func testSuperresolutionVariantsShapesAndResize() {
        let rng = RandomGenerator(seed: 60)
        for (kind, r) in [(SuperresolutionKind.hybrid2X, 32), (.hybrid2X, 64), (.hybrid4X, 64), (.hybrid4X, 128),
                          (.hybrid8XDC, 64), (.hybrid8XDC, 128)] {
            let sr = Superresolution(kind: kind, channels: 6, blockChannels: [4, 3], wDim: 8, rng: rng)
            XCTAssertEqual(sr.resampleFilter == nil, kind == .hybrid8XDC, "\(kind): resample_filter buffer")
            let feat = testTensor([1, 6, r, r], seed: 61)
            let img = withNoGrad { sr(feat.slice(axis: 1, start: 0, end: 3), feat, testTensor([1, 14, 8], seed: 62)) }
            XCTAssertEqual(img.shape, [1, 3, kind.outputResolution, kind.outputResolution], "\(kind) from \(r)²")
        }
        // Only the last w matters.
        let sr = Superresolution(kind: .hybrid2X, channels: 6, blockChannels: [4, 3], wDim: 8, rng: rng)
        let feat = testTensor([1, 6, 64, 64], seed: 63)
        let ws = testTensor([1, 14, 8], seed: 64)
        let other = Tensor.concat([testTensor([1, 13, 8], seed: 65), ws.slice(axis: 1, start: 13)], axis: 1)
        let a = withNoGrad { sr(feat.slice(axis: 1, start: 0, end: 3), feat, ws) }
        let b = withNoGrad { sr(feat.slice(axis: 1, start: 0, end: 3), feat, other) }
        XCTAssertEqual(a.toArray(), b.toArray())
    }
}

extension Array {
    /// Consecutive slices of `size` elements.
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0 ..< Swift.min($0 + size, count)] }
    }
}
