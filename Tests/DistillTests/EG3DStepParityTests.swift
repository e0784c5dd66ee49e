// One whole EG3D training iteration against the official code (Scripts/eg3d_training_step.py: training/loss.py
// and training_loop.py's phases on the CPU in fp32 at tiny128, Tests/Fixtures/distill/eg3d_step.safetensors):
// the four phases' losses, every parameter's gradient and every parameter after each Adam step, and G_ema.
// The fixture stores a strided subset of each tensor (stride max(1, numel / 128)) and the full tensor's max |x|;
// errors are max |a − b| over the subset / max |b| over the whole tensor. A second test runs each phase alone from the
// initial parameters against the official fp32 and float64 gradients of the same (eg3d_phases_float64.safetensors,
// recorded with EG3D's training setting fused_modconv_default = 'inference_only': the unfused modulation that our
// ModulationExecution.automatic runs at batch > 1).
import Distill
import Foundation
import TensorCore
import TestSupport
import TriPlaneGAN
import XCTest

final class EG3DStepParityTests: XCTestCase {
    static func sampled(_ t: Tensor) -> [Float] {
        let v = t.contiguous().toArray()
        let k = Swift.max(1, v.count / 128)
        return Swift.stride(from: 0, to: v.count, by: k).map { v[$0] }
    }

    /// The official step's starting point: tiny128's G and D (and their state dicts, to restore), a trainer, the real
    /// batch, the schedule at cur_nimg 170000, and every phase's recorded draws.
    struct Start {
        let g: TriPlaneGenerator, d: DualDiscriminator, ema: TriPlaneGenerator
        let gState: [String: Tensor], dState: [String: Tensor]
        let trainer: GANTrainer<TriPlaneGenerator>
        let real: RealBatch, schedule: LossSchedule, curNimg: Int
        let draws: [PhaseName: PhaseDraws]
    }

    static func start(_ f: SafeTensorsFile) throws -> Start {
        let weights = try fixture("eg3d/tiny128.safetensors")
        func t(_ k: String) throws -> Tensor { try f.tensor(k) }
        let g = TriPlaneGenerator(config: .tiny128, rng: RandomGenerator(seed: 0))
        let d = DualDiscriminator(.tiny128, rng: RandomGenerator(seed: 0))
        var gt: [String: Tensor] = ["dataset_label_std": Tensor.zeros([25])], dt: [String: Tensor] = [:]
        for k in weights.keys where k.hasPrefix("G.") { gt[String(k.dropFirst(2))] = try weights.tensor(k) }
        for k in weights.keys where k.hasPrefix("D.") { dt[String(k.dropFirst(2))] = try weights.tensor(k) }
        try g.load(gt, strict: true)
        try d.load(dt, strict: true)
        let ema = TriPlaneGenerator(config: .tiny128, rng: RandomGenerator(seed: 1))

        var o = TrainingOptions.eg3d(batch: 2, neuralRenderingResolution: 32)
        o.blurFadeKimg = 200
        o.gpcRegFadeKimg = 200
        let curNimg = 170_000
        let schedule = LossSchedule(options: o, curNimg: curNimg, gpcRegProb: g.config.rendering.gpcRegProb)
        let ref = try t("schedule").toArray()
        XCTAssertEqual(schedule.blurSigma, ref[1], accuracy: 1e-6)
        XCTAssertEqual(Float(schedule.swapProbability!), ref[2], accuracy: 1e-6)
        XCTAssertEqual(Float(o.emaBeta(curNimg: curNimg)), ref[3], accuracy: 1e-7)

        let trainer = try GANTrainer(options: o, seed: 0, generator: g, generatorEMA: ema, discriminator: d, data: nil,
                                     labels: try t("real.c"))
        let real = RealBatch(image: try t("real.image_u8") / 127.5 - 1, c: try t("real.c"), resolution: 32,
                             blurSigma: schedule.blurSigma)
        let seeds: [PhaseName: UInt64] = [.gMain: 1000, .gReg: 1001, .dMain: 1002, .dReg: 1003]
        func draws(_ p: PhaseName) throws -> PhaseDraws {
            let n = p.rawValue
            guard p != .dReg else {
                return PhaseDraws(z: Tensor.zeros([2, 64]), c: Tensor.zeros([2, 25]), swapUniforms: Tensor.zeros([2]),
                                  noise: RandomGenerator(seed: 0), renderer: GeneratorRandomSource(seed: 0))
            }
            var out = PhaseDraws(z: try t("\(n).z"), c: try t("\(n).c"), swapUniforms: try t("\(n).rand.swap"),
                                 noise: RandomGenerator(seed: seeds[p]!), renderer: GeneratorRandomSource(seed: 0))
            if p == .gReg {
                out.densityUniforms = try t("Greg.rand.points")
                out.densityNormals = try t("Greg.rand.perturbation")
            } else {
                out.renderer = ReplayRandomSource(stratified: try t("\(n).rand.stratified"), importance: try t("\(n).rand.importance"))
            }
            return out
        }
        let allDraws = Dictionary(uniqueKeysWithValues: try PhaseName.allCases.map { ($0, try draws($0)) })
        return Start(g: g, d: d, ema: ema, gState: gt, dState: dt, trainer: trainer, real: real, schedule: schedule,
                     curNimg: curNimg, draws: allDraws)
    }

    func testOneIterationMatchesTheOfficialTrainingLoop() throws {
        let f = try fixture("distill/eg3d_step.safetensors")
        func t(_ k: String) throws -> Tensor { try f.tensor(k) }
        let s = try Self.start(f)
        let (g, d, ema, trainer, real, schedule, curNimg, allDraws) = (s.g, s.d, s.ema, s.trainer, s.real, s.schedule, s.curNimg, s.draws)
        var worstGrad = (0.0, ""), worstParam = (0.0, ""), masked = 0, compared = 0, worstGreg = 0.0, worstReduction = 0.0
        var networkMax: [PhaseName: Double] = [:]
        for p in PhaseName.allCases {
            networkMax[p] = f.keys.filter { $0.hasPrefix("\(p.rawValue).gradmax.") }.map { Double((try? f.tensor($0).toArray()[0]) ?? 0) }.max() ?? 0
        }
        // Elements whose reference gradient is too close to 0 for its sign to be decided in fp32 (Adam's update is
        // about lr·sign(g) at the first step) are left out of the parameter comparison, per network.
        var unsure: [String: Set<Int>] = [:]
        let report = try trainer.runIteration(step: 0, curNimg: curNimg, schedule: schedule, reals: [real], observe: { phase, after in
            let module: Module = phase.trainsGenerator ? g : d
            for (name, p) in module.namedParameters() {
                if !after {
                    guard let grad = p.grad else {
                        XCTAssertFalse(f.keys.contains("\(phase.rawValue).grad.\(name)"), "\(phase.rawValue): \(name) has no gradient")
                        continue
                    }
                    guard let r = try? f.tensor("\(phase.rawValue).grad.\(name)").toArray(),
                          let mx = try? f.tensor("\(phase.rawValue).gradmax.\(name)").toArray()[0] else {
                        XCTFail("\(phase.rawValue): \(name) has a gradient, the official code none"); continue
                    }
                    let a = Self.sampled(grad)
                    var e = 0.0
                    for (i, (x, y)) in zip(a, r).enumerated() {
                        e = Swift.max(e, Double(Swift.abs(x - y)))
                        if Swift.abs(y) <= 1e-3 * mx { unsure["\(phase.trainsGenerator).\(name)", default: []].insert(i) }
                    }
                    // Relative to the tensor's max |g|, floored at 1% of the network's largest gradient: tensors whose
                    // gradient cancels analytically (e.g. D's biases under R1 through leaky ReLUs, 1e-4 of the network's
                    // scale) hold rounding noise only.
                    e /= Swift.max(Double(mx), 0.01 * networkMax[phase]!)
                    if e > worstGrad.0 && phase != .gReg && !(name.hasSuffix(".bias") || name.hasSuffix("noise_strength")) { worstGrad = (e, "\(phase.rawValue) \(name)") }
                    if phase == .gReg { worstGreg = Swift.max(worstGreg, e) }
                    // Tolerances: 1e-4 for weights; 1e-3 for biases and noise strengths, whose gradients are sums over
                    // every pixel (Dreg's are second-order and ~1e-3 of the network's scale, measured 8e-4 at worst);
                    // 2e-2 for Greg, whose gradient is sign(σ(x0) − σ(x1))·(∂σ(x0) − ∂σ(x1)) with x1 = x0 + 0.004·n:
                    // a difference of nearly equal terms that fp32 resolves to ~1e-3 (measured 7e-3 at worst).
                    let reduction = name.hasSuffix(".bias") || name.hasSuffix("noise_strength")
                    if reduction && phase != .gReg { worstReduction = Swift.max(worstReduction, e) }
                    XCTAssertLessThanOrEqual(e, phase == .gReg ? 2e-2 : (reduction ? 1e-3 : 1e-4), "\(phase.rawValue) gradient of \(name)")
                } else {
                    let r = (try? f.tensor("\(phase.rawValue).param.\(name)").toArray()) ?? []
                    let mx = (try? f.tensor("\(phase.rawValue).parammax.\(name)").toArray()[0]) ?? 0
                    let skip = unsure["\(phase.trainsGenerator).\(name)"] ?? []
                    var e = 0.0
                    for (i, (x, y)) in zip(Self.sampled(p), r).enumerated() {
                        if skip.contains(i) { masked += 1; continue }
                        compared += 1
                        e = Swift.max(e, Double(Swift.abs(x - y)))
                    }
                    e = mx > 0 ? e / Double(mx) : e
                    if e > worstParam.0 { worstParam = (e, "\(phase.rawValue) \(name)") }
                    XCTAssertLessThanOrEqual(e, 1e-4, "\(phase.rawValue) parameter \(name) after Adam")
                }
            }
        }) { phase, _ in allDraws[phase]! }

        // Losses.
        func loss(_ k: String) throws -> Double { Double(try t(k).toArray()[0]) }
        let pairs: [(String, Double, Double)] = [
            ("G/loss", report.losses["G/loss"] ?? .nan, try loss("Gmain.loss.Loss/G/loss")),
            ("G/density_reg", report.losses["G/density_reg"] ?? .nan, try loss("Greg.loss.density_tv") * 0.25),
            ("D/loss", report.losses["D/loss"] ?? .nan, try loss("Dmain.loss.Loss/D/loss")),
            ("r1_penalty", report.losses["r1_penalty"] ?? .nan, try loss("Dreg.loss.Loss/r1_penalty")),
            ("D/reg", report.losses["D/reg"] ?? .nan, try loss("Dreg.loss.Loss/D/reg")),
        ]
        for (name, ours, theirs) in pairs {
            XCTAssertLessThanOrEqual(Swift.abs(ours - theirs) / Swift.abs(theirs), 1e-4, "loss \(name): \(ours) vs \(theirs)")
        }
        // G_ema after the update, and w_avg (a buffer: copied).
        var worstEMA = 0.0
        for (name, p) in ema.namedParameters() {
            let r = try t("ema.param.\(name)").toArray(), mx = try t("ema.parammax.\(name)").toArray()[0]
            let skip = unsure["true.\(name)"] ?? []
            var e = 0.0
            for (i, (x, y)) in zip(Self.sampled(p), r).enumerated() where !skip.contains(i) { e = Swift.max(e, Double(Swift.abs(x - y))) }
            e = mx > 0 ? e / Double(mx) : e
            worstEMA = Swift.max(worstEMA, e)
            XCTAssertLessThanOrEqual(e, 1e-6, "G_ema \(name)")
        }
        let wAvg = ema.namedBuffers().first { $0.0 == "backbone.mapping.w_avg" }!.1
        XCTAssertLessThanOrEqual(relativeError(wAvg, try t("ema.w_avg")), 1e-5, "G_ema w_avg")
        print(String(format: "EG3D step parity: worst weight gradient %.2e (%@; biases and noise strengths %.2e; Greg %.2e), worst parameter %.2e (%@), G_ema %.2e; %d of %d parameter samples left out (|g| <= 1e-3 max|g|)",
                     worstGrad.0, worstGrad.1, worstReduction, worstGreg, worstParam.0, worstParam.1, worstEMA, masked, masked + compared))
        print("losses:", pairs.map { "\($0.0) \($0.1) vs \($0.2)" }.joined(separator: "; "))
    }

    /// Each phase alone from the initial parameters, against the official code's fp32 and float64 gradients of the
    /// same (Scripts/eg3d_training_step.py --float64: Tests/Fixtures/distill/eg3d_phases_float64.safetensors). In the
    /// whole iteration above, each phase starts from the parameters the previous Adam steps left, and Adam's first
    /// update, lr·sign(g), flips with the sign of gradients at fp32's noise level: the two codes then start Greg, Dmain
    /// and Dreg from slightly different points. Here every phase starts from the same point. Every gradient must be
    /// within 1e-4 of the official one (relative to the tensor's largest, floored at 1% of the network's), or, where
    /// fp32 cannot get that close (the official gradient is itself more than 1e-4 from float64), no further from the
    /// float64 gradient than the official one is, plus 1e-4. In Gmain and Greg both fp32 gradients are compared with
    /// float64's leaky-ReLU kink decisions (kinkShift: a pre-activation closer to 0 than fp32 resolves decides a sum
    /// over every pixel by rounding, in the official run as in ours, each its own way).
    func testEachPhaseAloneMatchesTheOfficialCodeToFP32sLimit() throws {
        let s = try Self.start(try fixture("distill/eg3d_step.safetensors"))
        let f = try fixture("distill/eg3d_phases_float64.safetensors")
        var networkMax: [PhaseName: Double] = [:]
        for p in PhaseName.allCases {
            networkMax[p] = f.keys.filter { $0.hasPrefix("fp32.\(p.rawValue).gradmax.") }.map { Double((try? f.tensor($0).toArray()[0]) ?? 0) }.max() ?? 0
        }
        // Gmain's and Greg's leaky-ReLU kinks: what our slope decisions, and the official run's, add to the float64 gradients.
        var ourKinks: [PhaseName: KinkShift] = [:], officialKinks: [PhaseName: KinkShift] = [:]
        for p in [PhaseName.gMain, .gReg] {
            ourKinks[p] = try Self.kinkShift(p, f, official: false)
            officialKinks[p] = try Self.kinkShift(p, f, official: true)
            XCTAssertGreaterThan(ourKinks[p]!.near, 100, "the fixture lists \(p.rawValue)'s near-kink pre-activations")
        }
        var worst: [PhaseName: Double] = [:], worstExact: [PhaseName: Double] = [:], beyond: [String] = [], compared = 0
        // The D phases' bias gradients (sums over every pixel) without kink data in the fixture: the official run's own
        // largest distance from float64 among them, per phase, and ours where they pass 1e-4 (checked after the loop).
        var officialBiasNoise: [PhaseName: Double] = [:], dBiasesBeyond: [(PhaseName, String, Double, Double)] = []
        _ = try s.trainer.runIteration(step: 0, curNimg: s.curNimg, schedule: s.schedule, reals: [s.real], observe: { phase, after in
            if after {                                  // the next phase starts from the initial parameters again
                do { try s.g.load(s.gState, strict: true); try s.d.load(s.dState, strict: true) } catch { XCTFail("\(error)") }
                return
            }
            let module: Module = phase.trainsGenerator ? s.g : s.d
            for (name, p) in module.namedParameters() {
                let key = "\(phase.rawValue).grad.\(name)"
                guard let grad = p.grad else {
                    XCTAssertFalse(f.keys.contains("fp32.\(key)"), "\(phase.rawValue): \(name) has no gradient"); continue
                }
                guard let r = try? f.tensor("fp32.\(key)").toArray(), let z = try? f.tensor("fp64.\(key)").toArray(),
                      let mx = try? f.tensor("fp32.\(phase.rawValue).gradmax.\(name)").toArray()[0] else {
                    XCTFail("\(phase.rawValue): \(name) has a gradient, the official code none"); continue
                }
                // In Gmain and Greg, both fp32 gradients with float64's kink decisions (each run's own taken out).
                var (x, y) = (Self.sampled(grad), r)
                if let shift = ourKinks[phase]?.gradients[name] { for (i, d) in Self.sampled(shift).enumerated() { x[i] -= d } }
                if let shift = officialKinks[phase]?.gradients[name] { for (i, d) in Self.sampled(shift).enumerated() { y[i] -= d } }
                var e = 0.0, oursExact = 0.0, theirsExact = 0.0
                for ((a, b), w) in zip(zip(x, y), z) {
                    e = Swift.max(e, Double(Swift.abs(a - b)))
                    oursExact = Swift.max(oursExact, Double(Swift.abs(a - w)))
                    theirsExact = Swift.max(theirsExact, Double(Swift.abs(b - w)))
                }
                let scale = Swift.max(Double(mx), 0.01 * networkMax[phase]!)
                e /= scale; oursExact /= scale; theirsExact /= scale
                compared += 1
                worst[phase] = Swift.max(worst[phase] ?? 0, e)
                worstExact[phase] = Swift.max(worstExact[phase] ?? 0, oursExact)
                let dBias = !phase.trainsGenerator && name.hasSuffix(".bias")
                if dBias { officialBiasNoise[phase] = Swift.max(officialBiasNoise[phase] ?? 0, theirsExact) }
                if e > 1e-4 {
                    beyond.append(String(format: "%@ %@: %.1e from the official gradient; from float64: ours %.1e, official %.1e",
                                         phase.rawValue, name, e, oursExact, theirsExact))
                    // Where fp32 cannot get within 1e-4 (the official gradient is itself further from float64), no
                    // further from float64 than the official one, plus 1e-4.
                    let fp32Limit = theirsExact > 1e-4 && oursExact <= theirsExact + 1e-4
                    if dBias && !fp32Limit { dBiasesBeyond.append((phase, name, oursExact, theirsExact)); continue }
                    XCTAssertTrue(fp32Limit,
                                  "\(phase.rawValue) gradient of \(name): \(e) from the official one; from float64 ours \(oursExact), the official one \(theirsExact)")
                }
            }
        }) { phase, _ in s.draws[phase]! }
        XCTAssertGreaterThan(compared, 300)
        // A D bias whose own official gradient happens to be exact: fp32's limit there is how far the official run's
        // other biases of the phase are from float64 (Dreg: up to 4.5e-4, each a sum over every pixel through
        // leaky-ReLU slopes that rounding decides; the fixture lists kinks for G's phases only). On the 12x32 (AVX-512)
        // build b8.conv1.bias reads 1.4e-4 from float64 where the official one reads 5.4e-6, among official biases
        // 2.1e-4 to 4.5e-4 from float64.
        for (phase, name, ours, theirs) in dBiasesBeyond {
            let limit = officialBiasNoise[phase] ?? 0
            XCTAssertLessThanOrEqual(ours, limit, "\(phase.rawValue) gradient of \(name): from float64 ours \(ours), the official one \(theirs); the official biases of the phase up to \(limit)")
        }
        for p in PhaseName.allCases {
            print(String(format: "%@ alone: worst gradient %.2e from the official code's, %.2e from float64", p.rawValue, worst[p] ?? .nan, worstExact[p] ?? .nan))
        }
        print("more than 1e-4 from the official gradient (\(beyond.count)):\n  " + beyond.joined(separator: "\n  "))
        for p in [PhaseName.gMain, .gReg] {
            let ours = ourKinks[p]!, theirs = officialKinks[p]!
            print("\(p.rawValue): \(ours.near) pre-activations within 1e-5 max|v| of a leaky-ReLU kink. Our slope differs from float64's at \(ours.flipped.count):\n  "
                  + ours.flipped.joined(separator: "\n  ") + "\nthe official run's at \(theirs.flipped.count):\n  " + theirs.flipped.joined(separator: "\n  "))
        }
    }

    typealias KinkShift = (near: Int, flipped: [String], gradients: [String: Tensor])

    /// Gmain's or Greg's leaky-ReLU kink decisions against float64's (KINKS in Scripts/eg3d_training_step.py). A few
    /// pre-activations v lie closer to 0 than fp32 resolves, and the slope taken there moves the sums over every pixel
    /// (noise strengths, biases) by up to ~1e-4 in Gmain, and in Greg, whose gradient reaches the planes only at the
    /// density points, a synthesis gradient by up to a few percent of its largest element. Reruns the phase's generator
    /// forward from the initial parameters with its draws (EG3DLoss.runG for Gmain, EG3DLoss.densityRegularization for
    /// Greg), reads our v at every element the fixture lists, and where our slope s' (or, with `official`,
    /// the official fp32 run's) differs from float64's s, returns per parameter the gradient of Σ (s' − s)·cotangent·v:
    /// what that decision adds to the float64 gradient (exact for a piecewise-linear leaky ReLU, up to products of two
    /// such shifts).
    static func kinkShift(_ phase: PhaseName, _ truth: SafeTensorsFile, official: Bool) throws -> KinkShift {
        let s = try start(try fixture("distill/eg3d_step.safetensors"))
        for p in s.g.parameters() { p.requiresGrad = true }     // as the trainer sets them for G's phases
        var pre: [ObjectIdentifier: Tensor] = [:]
        SynthesisLayer.preActivationObserver = { layer, v in pre[ObjectIdentifier(layer)] = v }
        let d = s.draws[phase]!
        if phase == .gMain { _ = s.trainer.loss.runG(d, s.schedule) } else { _ = s.trainer.loss.densityRegularization(d, s.schedule) }
        SynthesisLayer.preActivationObserver = nil
        var near = 0, flipped: [String] = [], total: Tensor? = nil
        for (name, m) in s.g.namedModules() {
            guard let layer = m as? SynthesisLayer else { continue }
            let key = "kink.\(phase.rawValue).\(name)"
            // Greg runs the backbone alone: the super-resolution's layers neither run nor appear in the fixture.
            if phase == .gReg && !truth.keys.contains("\(key).index") {
                XCTAssertNil(pre[ObjectIdentifier(layer)], "\(name) ran in Greg, the fixture lists no kinks for it"); continue
            }
            let v = try XCTUnwrap(pre[ObjectIdentifier(layer)], "\(name) ran in \(phase.rawValue)")
            let index = try truth.tensor("\(key).index").toArray(), v64 = try truth.tensor("\(key).pre").toArray()
            let cot = try truth.tensor("\(key).cotangent").toArray(), theirs = try truth.tensor("\(key).official").toArray()
            let ours = v.contiguous().toArray(), sh = v.shape, top = v.abs().max().item()
            var k = [Float](repeating: 0, count: ours.count), differs = false
            for e in v64.indices {
                let (n, c, y, x) = (Int(index[4 * e]), Int(index[4 * e + 1]), Int(index[4 * e + 2]), Int(index[4 * e + 3]))
                let at = ((n * sh[1] + c) * sh[2] + y) * sh[3] + x
                near += 1
                XCTAssertLessThanOrEqual(Swift.abs(ours[at] - v64[e]), 1e-5 * top, "\(name)[\(n),\(c),\(y),\(x)]: pre-activation")
                let v32 = official ? theirs[e] : ours[at]
                let slope64: Float = v64[e] > 0 ? 1 : 0.2, slope32: Float = v32 > 0 ? 1 : 0.2
                if slope32 != slope64 {
                    k[at] = (slope32 - slope64) * cot[e]
                    differs = true
                    flipped.append("\(name)[\(n),\(c),\(y),\(x)] (float64 \(v64[e]), fp32 \(v32))")
                }
            }
            if differs { let term = (v * Tensor(k, shape: sh)).sum(); total = total.map { $0 + term } ?? term }
        }
        var gradients: [String: Tensor] = [:]
        if let total {
            total.backward()
            XCTAssertTrue(s.g.parameters().contains { $0.grad != nil }, "the shift reaches the parameters")
            for (name, p) in s.g.namedParameters() { if let g = p.grad { gradients[name] = g } }
        }
        return (near, flipped, gradients)
    }
}
