// Reconciling leaky-ReLU kink decisions with the float64 EG3D run (Scripts/eg3d_g_float64.py, fixture README
// eg3d/README.md). A few SynthesisLayer pre-activations v lie closer to 0 than fp32 resolves, so the slope an
// fp32 run takes there is decided by rounding and moves some parameter gradients by up to ~8e-3. The float64
// fixture lists every v within 1e-5·max|v| of 0 (`kink.<layer>.index/pre/cotangent`); where our slope s' differs
// from float64's s, our gradients equal the float64 ones plus the gradient of Σ (s' - s)·cotangent·v.
import Foundation
import XCTest
@testable import TensorCore
@testable import TriPlaneGAN

/// SynthesisLayers applied in sequence from an input in the graph; `real` holds, by step, the real module
/// outputs that the recomputation must reproduce bit for bit.
struct KinkChain {
    typealias Step = (name: String, layer: SynthesisLayer, w: Tensor, noise: NoiseMode)
    let input: Tensor
    let steps: [Step]
    let real: [Int: Tensor]

    /// The super-resolution's four layers (official names `superresolution.block{0,1}.conv{0,1}`) from the
    /// rendered feature image, as Superresolution runs them (resize to its input resolution, last w).
    static func superresolution(_ sr: Superresolution, features: Tensor, imageRaw: Tensor, ws: Tensor) -> KinkChain {
        let w = ws.slice(axis: 1, start: ws.shape[1] - 1, end: ws.shape[1]).squeeze(1)
        let size = (sr.inputResolution, sr.inputResolution)
        let r = features.shape[3], resize = sr.kind == .hybrid4X ? r < sr.inputResolution : r != sr.inputResolution
        func resized(_ t: Tensor) -> Tensor {
            resize ? interpolate(t, size: size, mode: .bilinear, alignCorners: false, antialias: sr.antialias) : t
        }
        let x = resized(features)
        let (b0, b1) = withNoGrad {
            let img = resized(imageRaw)
            let b0 = sr.block0(x, img, [w, w, w], noiseMode: .none)
            return (b0, sr.block1(b0.x, b0.img, [w, w, w], noiseMode: .none))
        }
        return KinkChain(input: x, steps: [("superresolution.block0.conv0", sr.block0.conv0!, w, .none),
                                           ("superresolution.block0.conv1", sr.block0.conv1, w, .none),
                                           ("superresolution.block1.conv0", sr.block1.conv0!, w, .none),
                                           ("superresolution.block1.conv1", sr.block1.conv1, w, .none)],
                         real: [1: b0.x, 3: b1.x])
    }
}

/// Our pre-activation v = conv + bias of a SynthesisLayer and its output, from the layer's parts exactly as
/// SynthesisLayer computes them (KinkShift checks the output is bit-identical to the real module's).
func layerParts(_ l: SynthesisLayer, _ x: Tensor, _ w: Tensor, noiseMode: NoiseMode) -> (pre: Tensor, out: Tensor) {
    let noise = noiseMode == .const ? l.noiseConst.map { $0 * l.noiseStrength! } : nil
    let y = modulatedConv2d(x, weight: l.weight, styles: l.affine(w), noise: noise, up: l.up,
                            resampleFilter: l.resampleFilter, demodulate: true, execution: l.execution)
    return (y + l.bias.reshape([1, -1, 1, 1]),
            biasAct(y, l.bias, dim: 1, act: .lrelu, gain: BiasActivation.lrelu.defaultGain, clamp: l.convClamp))
}

/// Our slopes at the fixture's near-kink pre-activations, compared with float64's.
struct KinkShift {
    /// How many near-kink pre-activations were compared.
    let near: Int
    /// The elements where our slope s' differs from float64's s: "layer[n,c,y,x] (float64 v, ours v')".
    let flipped: [String]
    /// Σ (s' - s)·cotangent·v over those, in the graph (nil when none): its gradient is the shift from the float64
    /// gradients to ours (exact for a piecewise-linear lrelu, up to products of two shifts).
    let correction: Tensor?
    /// The same from float64 to a reference that took the other slope at `referenceFlips` (nil when none).
    let referenceCorrection: Tensor?

    /// The fp32 golden file's kink decisions that differ from float64's (the float64 fixture's metadata
    /// `golden_kink_flips`, found and checked by Scripts/eg3d_g_float64.py), as "layer[n,c,y,x]".
    static func goldenFlips(_ truth: SafeTensorsFile) throws -> Set<String> {
        let json = try XCTUnwrap(truth.metadata["golden_kink_flips"], "golden_kink_flips metadata in \(truth.name)")
        let list = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[Any]], "golden_kink_flips: \(json)")
        return Set(try list.map { item in
            let layer = try XCTUnwrap(item.first as? String), at = try XCTUnwrap(item.last as? [Int])
            return "\(layer)[\(at.map(String.init).joined(separator: ","))]"
        })
    }

    /// Reads our decisions without a graph, then reruns in the graph only the chains, up to the layer, where one
    /// differs (or a reference flip lies).
    /// - Parameter referenceFlips: near-kink elements, "layer[n,c,y,x]", where a reference took the other slope.
    init(_ chains: [KinkChain], truth: SafeTensorsFile, referenceFlips: Set<String> = [],
         file: StaticString = #filePath, line: UInt = #line) throws {
        var near = 0, flipped: [String] = [], used = Set<String>()
        var corrections: [Tensor?] = [nil, nil]                  // ours, reference
        for chain in chains {
            var h = chain.input, weights: [[Tensor?]] = []        // [step][ours, reference]
            for (i, step) in chain.steps.enumerated() {
                let p = withNoGrad { layerParts(step.layer, h, step.w, noiseMode: step.noise) }
                h = p.out
                if let real = chain.real[i] {
                    XCTAssertEqual(h.toArray(), real.toArray(), "\(step.name): the recomputed layers must equal the real module bit for bit",
                                   file: file, line: line)
                }
                let index = try truth.tensor("kink.\(step.name).index").toArray(), v64 = try truth.tensor("kink.\(step.name).pre").toArray()
                let cot = try truth.tensor("kink.\(step.name).cotangent").toArray()
                let ours = p.pre.toArray(), s = p.pre.shape, top = p.pre.abs().max().item()
                var k: [[Float]?] = [nil, nil]
                func add(_ r: Int, _ at: Int, _ value: Float) {
                    if k[r] == nil { k[r] = [Float](repeating: 0, count: ours.count) }
                    k[r]![at] = value
                }
                for e in v64.indices {
                    let (n, c, y, x) = (Int(index[4 * e]), Int(index[4 * e + 1]), Int(index[4 * e + 2]), Int(index[4 * e + 3]))
                    let at = ((n * s[1] + c) * s[2] + y) * s[3] + x, id = "\(step.name)[\(n),\(c),\(y),\(x)]"
                    near += 1
                    XCTAssertLessThanOrEqual(Swift.abs(ours[at] - v64[e]), 1e-5 * top, "\(id): pre-activation", file: file, line: line)
                    let slope64: Float = v64[e] > 0 ? 1 : 0.2, ourSlope: Float = ours[at] > 0 ? 1 : 0.2
                    if ourSlope != slope64 {
                        add(0, at, (ourSlope - slope64) * cot[e])
                        flipped.append("\(id) (float64 \(v64[e]), ours \(ours[at]))")
                    }
                    if referenceFlips.contains(id) {
                        used.insert(id)
                        add(1, at, (1.2 - slope64 - slope64) * cot[e])     // the other slope: 1.2 - s
                    }
                }
                weights.append(k.map { $0.map { Tensor($0, shape: s) } })
            }
            guard let last = weights.lastIndex(where: { $0.contains { $0 != nil } }) else { continue }
            h = chain.input
            for (step, ks) in zip(chain.steps[...last], weights) {
                let p = layerParts(step.layer, h, step.w, noiseMode: step.noise)
                for (r, k) in ks.enumerated() {
                    if let k { let term = (p.pre * k).sum(); corrections[r] = corrections[r].map { $0 + term } ?? term }
                }
                h = p.out
            }
        }
        XCTAssertEqual(used, referenceFlips, "every reference flip names a listed near-kink element", file: file, line: line)
        self.near = near; self.flipped = flipped; (correction, referenceCorrection) = (corrections[0], corrections[1])
    }
}
