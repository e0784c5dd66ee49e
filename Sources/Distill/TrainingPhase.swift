// The optimiser phases of EG3D's training loop (training_loop.py "Setup training phases"; eg3d-spec §12.1-12.2):
// with lazy regularisation each network has a main phase (every step) and a regularisation phase (every
// `interval` steps, its loss multiplied by gain = interval), sharing one Adam whose learning rate and betas are
// adjusted by mb_ratio = I/(I+1): lr·mb_ratio, β^mb_ratio.
import Foundation
import TensorCore

public enum PhaseName: String, CaseIterable, Sendable {
    case gMain = "Gmain", gReg = "Greg", dMain = "Dmain", dReg = "Dreg"
    /// Index in training_loop.py's phase list (and in each step's draws).
    public var index: Int { PhaseName.allCases.firstIndex(of: self)! }
    public var trainsGenerator: Bool { self == .gMain || self == .gReg }
}

public struct TrainingPhase: Sendable {
    public let name: PhaseName
    /// Runs on steps with step % interval == 0; the loss is scaled by gain = interval.
    public let interval: Int
    public var gain: Float { Float(interval) }

    /// EG3D's four phases (a regularisation phase only when its interval is set).
    public static func phases(gRegInterval: Int?, dRegInterval: Int?) -> [TrainingPhase] {
        var out = [TrainingPhase(name: .gMain, interval: 1)]
        if let i = gRegInterval { out.append(TrainingPhase(name: .gReg, interval: i)) }
        out.append(TrainingPhase(name: .dMain, interval: 1))
        if let i = dRegInterval { out.append(TrainingPhase(name: .dReg, interval: i)) }
        return out
    }

    public func runs(atStep step: Int) -> Bool { step % interval == 0 }
}

public enum LazyRegularization {
    /// Adam over `module`'s parameters with lr and betas adjusted for a regularisation interval (nil: unadjusted).
    /// Parameter names key the optimiser state in checkpoints.
    /// `lrMultiplier` scales the rate per parameter name (`train --adapter-lr-multiplier`).
    public static func adam(_ module: Module, lr: Double, betas: [Double], eps: Double, regInterval: Int?,
                            lrMultiplier: ((String) -> Double)? = nil) -> Adam {
        let ratio = regInterval.map { Double($0) / Double($0 + 1) } ?? 1
        return Adam(module.namedParameters(), lr: lr * ratio,
                    betas: (Foundation.pow(betas[0], ratio), Foundation.pow(betas[1], ratio)), eps: eps, lrMultiplier: lrMultiplier)
    }
}

/// training_loop.py's requires_grad_(True/False) around a phase: only the phase's network records gradients.
public func setRequiresGrad(_ module: Module, _ on: Bool) {
    for p in module.parameters() { p.requiresGrad = on }
}

/// misc.nan_to_num(grad, nan=0, posinf=1e5, neginf=−1e5) on every gradient (a gradient with a non-finite value
/// is replaced by a sanitised copy, so storage shared with other tensors is never written). Returns how many
/// values were replaced.
@discardableResult
public func sanitizeGradients(_ parameters: [Tensor]) -> Int {
    var replaced = 0
    for p in parameters {
        guard let g = p.grad else { continue }
        let c = g.isContiguous ? g : withNoGrad { g.contiguous() }
        let x = c.data
        var bad = 0
        for i in 0..<c.count where !x[i].isFinite { bad += 1 }
        guard bad > 0 else { continue }
        var v = c.toArray()
        for i in v.indices where !v[i].isFinite { v[i] = v[i].isNaN ? 0 : (v[i] > 0 ? 1e5 : -1e5) }
        p.grad = Tensor(v, shape: g.shape)
        replaced += bad
    }
    return replaced
}
