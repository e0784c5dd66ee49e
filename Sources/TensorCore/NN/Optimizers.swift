// Adam / AdamW exactly as torch.optim.Adam's single-tensor CPU path (torch/optim/adam.py,
// _single_tensor_adam), parameter EMA as StyleGAN2/EG3D's G_ema update, gradient clipping as
// torch.nn.utils.clip_grad_norm_, and gradient scaling for accumulation. Gradients accumulate across
// backward() calls by design (Graph.swift adds into `grad`); zero them between optimizer steps.
import Foundation

public final class Adam {
    /// Hyperparameters shared by a set of parameters (one of torch's param_groups).
    public struct Group {
        public var lr: Double
        public var betas: (Double, Double)
        public var eps: Double
        /// L2 added to the gradient (Adam), or decoupled decay of the weights (AdamW).
        public var weightDecay: Double
        public init(lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8, weightDecay: Double = 0) {
            self.lr = lr; self.betas = betas; self.eps = eps; self.weightDecay = weightDecay
        }
    }

    /// One parameter and its moments (created at its first step).
    final class Slot {
        let name: String, param: Tensor, group: Int
        var expAvg: Tensor?, expAvgSq: Tensor?
        var step = 0
        init(name: String, param: Tensor, group: Int) { self.name = name; self.param = param; self.group = group }
    }

    /// Mutable, e.g. for learning-rate schedules: `adam.groups[0].lr = ...`.
    public var groups: [Group]
    /// AdamW: weights decay by (1 - lr·weightDecay) before the update instead of an L2 term in the gradient.
    public let decoupledWeightDecay: Bool
    let slots: [Slot]

    /// Several groups, each with its own hyperparameters. Names key the saved state (use module paths).
    public init(groups: [(Group, [(String, Tensor)])], decoupledWeightDecay: Bool = false) {
        var s: [Slot] = []
        for (gi, (_, params)) in groups.enumerated() {
            for (name, p) in params {
                require(p.isContiguous, "Adam: parameter \"\(name)\" \(p.shape) must be contiguous")
                require(!s.contains { $0.name == name }, "Adam: parameter name \"\(name)\" appears twice")
                require(!s.contains { $0.param === p }, "Adam: parameter \"\(name)\" is already optimised under another name")
                s.append(Slot(name: name, param: p, group: gi))
            }
        }
        self.groups = groups.map { $0.0 }
        self.slots = s
        self.decoupledWeightDecay = decoupledWeightDecay
    }

    /// One group. `lrMultiplier` scales the learning rate per parameter name (parameters with equal
    /// multipliers share a group), e.g. `{ $0.hasPrefix("mapping.") ? 0.01 : 1 }`.
    public convenience init(_ params: [(String, Tensor)], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                            eps: Double = 1e-8, weightDecay: Double = 0, decoupledWeightDecay: Bool = false,
                            lrMultiplier: ((String) -> Double)? = nil) {
        var order: [Double] = []
        var members: [Double: [(String, Tensor)]] = [:]
        for (name, p) in params {
            let m = lrMultiplier?(name) ?? 1
            if members[m] == nil { order.append(m) }
            members[m, default: []].append((name, p))
        }
        self.init(groups: order.map { (Group(lr: lr * $0, betas: betas, eps: eps, weightDecay: weightDecay), members[$0]!) },
                  decoupledWeightDecay: decoupledWeightDecay)
    }

    /// torch.optim.AdamW (default weight decay 1e-2).
    public static func adamW(_ params: [(String, Tensor)], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999),
                             eps: Double = 1e-8, weightDecay: Double = 1e-2, lrMultiplier: ((String) -> Double)? = nil) -> Adam {
        Adam(params, lr: lr, betas: betas, eps: eps, weightDecay: weightDecay, decoupledWeightDecay: true, lrMultiplier: lrMultiplier)
    }

    /// Updates every parameter that has a gradient; parameters without one are skipped (and keep their step count).
    public func step() {
        for slot in slots {
            guard let grad = slot.param.grad else { continue }
            let p = slot.param, h = groups[slot.group]
            require(grad.shape == p.shape, "Adam: gradient \(grad.shape) of \"\(slot.name)\" does not match parameter \(p.shape)")
            let g = withNoGrad { grad.contiguous() }
            if slot.expAvg == nil { slot.expAvg = Tensor.zeros(p.shape); slot.expAvgSq = Tensor.zeros(p.shape) }
            slot.step += 1
            // Scalars as PyTorch forms them: Python floats (Double), cast to Float by each tensor op.
            let t = Double(slot.step)
            let c = AdamScalars(
                weightDecay: Float(h.weightDecay), decay: Float(1 - h.lr * h.weightDecay),
                w1: Float(1 - h.betas.0), beta2: Float(h.betas.1), c2: Float(1 - h.betas.1),
                bc2Sqrt: Float(Foundation.pow(1 - Foundation.pow(h.betas.1, t), 0.5)), eps: Float(h.eps),
                negStepSize: Float(-(h.lr / (1 - Foundation.pow(h.betas.0, t)))),
                coupled: h.weightDecay != 0 && !decoupledWeightDecay, decoupled: h.weightDecay != 0 && decoupledWeightDecay)
            adamUpdate(p.data, g.data, slot.expAvg!.data, slot.expAvgSq!.data, p.count, c)
        }
    }

    /// Sets every parameter's gradient to nil.
    public func zeroGrad() { for s in slots { s.param.grad = nil } }

    /// The learning rate of the group that holds the parameter named `name` (nil: no such parameter).
    public func learningRate(of name: String) -> Double? {
        slots.first { $0.name == name }.map { groups[$0.group].lr }
    }

    /// Moments and step counts for checkpoint resume: "<name>.exp_avg", "<name>.exp_avg_sq", "<name>.step"
    /// (a scalar, exact below 2^24 steps) for each parameter that has taken a step. Copies.
    public func stateDict() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for s in slots {
            guard let m = s.expAvg, let v = s.expAvgSq else { continue }
            out["\(s.name).exp_avg"] = Tensor(m.toArray(), shape: m.shape)
            out["\(s.name).exp_avg_sq"] = Tensor(v.toArray(), shape: v.shape)
            out["\(s.name).step"] = Tensor(scalar: Float(s.step))
        }
        return out
    }

    /// Restores `stateDict()` output. A parameter absent from `state` starts fresh; a parameter with only
    /// some of its entries, a shape mismatch, or an unknown key throws, listing every problem.
    public func loadStateDict(_ state: [String: Tensor]) throws {
        var problems = StateDictError()
        var known = Set<String>()
        for s in slots {
            let keys = ["exp_avg", "exp_avg_sq", "step"].map { "\(s.name).\($0)" }
            known.formUnion(keys)
            let present = keys.filter { state[$0] != nil }
            if present.isEmpty { continue }
            problems.missing += keys.filter { state[$0] == nil }
            for k in keys.prefix(2) { if let t = state[k], t.shape != s.param.shape { problems.mismatched.append((k, s.param.shape, t.shape)) } }
            if let t = state[keys[2]], t.count != 1 { problems.mismatched.append((keys[2], [], t.shape)) }
        }
        problems.unexpected = state.keys.filter { !known.contains($0) }.sorted()
        if !(problems.missing.isEmpty && problems.unexpected.isEmpty && problems.mismatched.isEmpty) { throw problems }
        for s in slots {
            guard let m = state["\(s.name).exp_avg"], let v = state["\(s.name).exp_avg_sq"], let t = state["\(s.name).step"] else {
                s.expAvg = nil; s.expAvgSq = nil; s.step = 0; continue
            }
            s.expAvg = Tensor(m.toArray(), shape: m.shape)
            s.expAvgSq = Tensor(v.toArray(), shape: v.shape)
            s.step = Int(t.toArray()[0])
        }
    }
}

/// The per-step scalars of one Adam update, already rounded to Float as PyTorch's ops round them.
struct AdamScalars {
    let weightDecay, decay, w1, beta2, c2, bc2Sqrt, eps, negStepSize: Float
    let coupled, decoupled: Bool
}

/// One Adam step over n floats, in the order of PyTorch's ops: grad += wd·p (Adam) or p *= 1 - lr·wd
/// (AdamW); m.lerp_(g, 1 - β1); v = v·β2 + (1 - β2)·g·g; p += -stepSize·m / (√v / √bc2 + eps).
/// √ is vsqrt (within an ulp of torch.sqrt; a libm call per lane cost more than the rest of the update).
func adamUpdate(_ p: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                _ v: UnsafeMutablePointer<Float>, _ n: Int, _ c: AdamScalars) {
    let smallWeight = Swift.abs(c.w1) < 0.5, oneMinusW1 = 1 - c.w1
    // Parameters under 128k floats update on the calling thread (a worker's wake-up costs more than half of it).
    parallelRanges(n, grain: 65536) { r in
        var i = r.lowerBound
        while i + vWidth <= r.upperBound {
            var pv = vload(p + i), gv = vload(g + i), mv = vload(m + i), vv = vload(v + i)
            if c.coupled { gv = gv + c.weightDecay * pv }
            if c.decoupled { pv = pv * c.decay }
            let diff: V = gv - mv
            mv = smallWeight ? mv + c.w1 * diff : gv - diff * oneMinusW1
            vv = vv * c.beta2
            vv = vv + (c.c2 * gv) * gv
            let denom: V = vsqrt(vv) / c.bc2Sqrt + c.eps
            pv = pv + (c.negStepSize * mv) / denom
            vstore(pv, p + i); vstore(mv, m + i); vstore(vv, v + i)
            i += vWidth
        }
        while i < r.upperBound {
            var pi = p[i], gi = g[i]
            if c.coupled { gi = gi + c.weightDecay * pi }
            if c.decoupled { pi = pi * c.decay }
            let diff = gi - m[i]
            m[i] = smallWeight ? m[i] + c.w1 * diff : gi - diff * oneMinusW1
            v[i] = v[i] * c.beta2
            v[i] = v[i] + (c.c2 * gi) * gi
            p[i] = pi + (c.negStepSize * m[i]) / (v[i].squareRoot() / c.bc2Sqrt + c.eps)
            i += 1
        }
    }
}

/// StyleGAN2/EG3D's G_ema update: every parameter p_ema ← p.lerp(p_ema, beta) = beta·p_ema + (1 - beta)·p,
/// every buffer copied. `ema` and `model` must have the same parameter and buffer names and shapes.
public func updateEMA(_ ema: Module, from model: Module, beta: Double) {
    let target = ema.namedParameters(), source = model.namedParameters()
    require(target.map(\.0) == source.map(\.0) && zip(target, source).allSatisfy { $0.1.shape == $1.1.shape },
            "updateEMA: the EMA module's parameters \(target.map { "\($0.0)\($0.1.shape)" }) differ from the model's \(source.map { "\($0.0)\($0.1.shape)" })")
    let w = Float(beta), small = Swift.abs(w) < 0.5, oneMinusW = 1 - w
    for ((_, pe), (_, p)) in zip(target, source) {
        let src = withNoGrad { p.contiguous() }
        let e = pe.data, s = src.data
        // torch.lerp(self=p, end=p_ema, weight=beta)
        parallelRanges(pe.count, grain: 32768) { r in
            for i in r { e[i] = small ? s[i] + w * (e[i] - s[i]) : e[i] - (e[i] - s[i]) * oneMinusW }
        }
        withExtendedLifetime(src) {}
    }
    let tb = ema.namedBuffers(), sb = Dictionary(model.namedBuffers(), uniquingKeysWith: { a, _ in a })
    for (name, b) in tb {
        guard let src = sb[name], src.shape == b.shape else {
            fatalError("updateEMA: buffer \"\(name)\" \(b.shape) has no match in the model")
        }
        if src !== b { withNoGrad { b.copyIn(src) } }
    }
}

/// torch.nn.utils.clip_grad_norm_: the total norm of all gradients (as one vector), and, where it exceeds
/// maxNorm, every gradient scaled by maxNorm / (total + 1e-6). normType: 2, any p > 0, or .infinity.
/// Parameters without a gradient are skipped. Returns the total norm before clipping.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Double, normType: Double = 2) -> Float {
    var grads: [(Tensor, Tensor)] = []
    for p in parameters { if let g = p.grad { grads.append((p, withNoGrad { g.contiguous() })) } }
    if grads.isEmpty { return 0 }
    // Per-tensor norms rounded to Float as torch's per-tensor vector_norm, then the norm of those.
    var norms: [Double] = []
    for (_, g) in grads {
        let x = g.data
        var acc = 0.0
        for i in 0..<g.count {
            let a = Double(x[i].magnitude)
            if normType == .infinity { acc = Swift.max(acc, a) } else if normType == 2 { acc += a * a } else { acc += Foundation.pow(a, normType) }
        }
        let norm = normType == .infinity ? acc : (normType == 2 ? acc.squareRoot() : Foundation.pow(acc, 1 / normType))
        norms.append(Double(Float(norm)))
    }
    let total: Float
    if normType == .infinity { total = Float(norms.max()!) }
    else if normType == 2 { total = Float(norms.reduce(0) { $0 + $1 * $1 }.squareRoot()) }
    else { total = Float(Foundation.pow(norms.reduce(0) { $0 + Foundation.pow($1, normType) }, 1 / normType)) }
    // max_norm / (total + 1e-6) is Tensor.__rtruediv__: reciprocal, then multiply; clamped at 1.
    let coef = Float(maxNorm) * (1 / (total + Float(1e-6)))
    let clamped = coef > 1 ? 1 : coef
    if clamped != 1 { for (p, g) in grads { p.grad = withNoGrad { g * clamped } } }
    return total
}

/// Multiplies every gradient by `factor` (e.g. 1 / microbatches after accumulating several backward calls).
public func scaleGradients(_ parameters: [Tensor], by factor: Float) {
    for p in parameters { if let g = p.grad { p.grad = withNoGrad { g * factor } } }
}
