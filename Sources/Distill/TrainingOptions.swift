// TrainingOptions: EG3D's training hyper-parameters (train.py's G_opt_kwargs, D_opt_kwargs, loss_kwargs,
// ema_kimg / ema_rampup, G_reg_interval / D_reg_interval; eg3d-spec §12) as one Codable value with the
// official names. The generator's own training settings (gpc_reg_prob, c_gen_conditioning_zero,
// density_reg, density_reg_p_dist, reg_type) live in its rendering_kwargs (TriPlaneConfig.rendering), as in EG3D.
import Foundation

public struct TrainingOptions: Codable, Sendable, Equatable {
    /// Total batch (train.py --batch) and the microbatch one accumulation pass runs (--batch-gpu).
    public var batch: Int
    public var batchGPU: Int
    /// G and D base learning rates (before the lazy-regularisation adjustment) and Adam's betas and eps.
    public var gLr: Double
    public var dLr: Double
    public var betas: [Double]
    public var eps: Double
    /// Lazy regularisation intervals (Greg = density_reg_every, Dreg = 16); nil runs no regularisation phase.
    public var gRegInterval: Int?
    public var dRegInterval: Int?
    /// R1 weight γ (--gamma; 1 for every FFHQ model).
    public var r1Gamma: Float
    /// Real/fake blur fade-in: initial σ (10) and fade length (batch·200/32 kimg); 0 disables.
    public var blurInitSigma: Float
    public var blurFadeKimg: Double
    /// Swap-probability fade of generator pose conditioning (kimg; 0: gpc_reg_prob from the start).
    public var gpcRegFadeKimg: Double
    /// Neural rendering resolution schedule: initial, optional final, fade length (kimg).
    public var neuralRenderingResolutionInitial: Int
    public var neuralRenderingResolutionFinal: Int?
    public var neuralRenderingResolutionFadeKimg: Double
    /// G_ema half-life (kimg; batch·10/32) and ramp-up (0.05 from scratch; nil when resuming a fine-tune).
    public var emaKimg: Double
    public var emaRampup: Double?
    /// Points per sample of the density regulariser (1000).
    public var densityRegPoints: Int

    enum CodingKeys: String, CodingKey {
        case batch, batchGPU = "batch_gpu", gLr = "glr", dLr = "dlr", betas, eps
        case gRegInterval = "G_reg_interval", dRegInterval = "D_reg_interval", r1Gamma = "r1_gamma"
        case blurInitSigma = "blur_init_sigma", blurFadeKimg = "blur_fade_kimg", gpcRegFadeKimg = "gpc_reg_fade_kimg"
        case neuralRenderingResolutionInitial = "neural_rendering_resolution_initial"
        case neuralRenderingResolutionFinal = "neural_rendering_resolution_final"
        case neuralRenderingResolutionFadeKimg = "neural_rendering_resolution_fade_kimg"
        case emaKimg = "ema_kimg", emaRampup = "ema_rampup", densityRegPoints = "density_reg_points"
    }

    /// EG3D's from-scratch settings (train.py with --cfg ffhq --gamma 1 --gen_pose_cond True) for a batch and an
    /// initial neural rendering resolution.
    public static func eg3d(batch: Int, neuralRenderingResolution: Int = 64) -> TrainingOptions {
        TrainingOptions(batch: batch, batchGPU: batch, gLr: 0.0025, dLr: 0.002, betas: [0, 0.99], eps: 1e-8,
                        gRegInterval: 4, dRegInterval: 16, r1Gamma: 1, blurInitSigma: 10,
                        blurFadeKimg: Double(batch) * 200 / 32, gpcRegFadeKimg: 1000,
                        neuralRenderingResolutionInitial: neuralRenderingResolution, neuralRenderingResolutionFinal: nil,
                        neuralRenderingResolutionFadeKimg: 1000, emaKimg: Double(batch) * 10 / 32, emaRampup: 0.05,
                        densityRegPoints: 1000)
    }

    /// Every inconsistent setting, named by its JSON key.
    public func problems() -> [String] {
        var p: [String] = []
        if batch < 1 { p.append("batch must be positive, got \(batch)") }
        if batchGPU < 1 || batch % max(batchGPU, 1) != 0 { p.append("batch_gpu \(batchGPU) must divide batch \(batch)") }
        if betas.count != 2 || betas.contains(where: { !(0..<1).contains($0) }) { p.append("betas \(betas) must be two values in [0, 1)") }
        if !(gLr > 0) || !(dLr > 0) { p.append("glr \(gLr) and dlr \(dLr) must be positive") }
        if let i = gRegInterval, i < 1 { p.append("G_reg_interval must be positive, got \(i)") }
        if let i = dRegInterval, i < 1 { p.append("D_reg_interval must be positive, got \(i)") }
        if r1Gamma < 0 { p.append("r1_gamma must be non-negative, got \(r1Gamma)") }
        if blurInitSigma < 0 || blurFadeKimg < 0 { p.append("blur_init_sigma and blur_fade_kimg must be non-negative") }
        if neuralRenderingResolutionInitial < 1 { p.append("neural_rendering_resolution_initial must be positive") }
        if let f = neuralRenderingResolutionFinal, f < 1 { p.append("neural_rendering_resolution_final must be positive") }
        if !(emaKimg >= 0) { p.append("ema_kimg must be non-negative") }
        if densityRegPoints < 1 { p.append("density_reg_points must be positive") }
        // Sane upper bounds and finiteness, so that a wrong number in a --config file is named before a step runs.
        for (key, v, limit) in [("batch", batch, 65536), ("batch_gpu", batchGPU, 65536), ("G_reg_interval", gRegInterval ?? 1, 1 << 20),
                                ("D_reg_interval", dRegInterval ?? 1, 1 << 20),
                                ("neural_rendering_resolution_initial", neuralRenderingResolutionInitial, 1024),
                                ("neural_rendering_resolution_final", neuralRenderingResolutionFinal ?? 1, 1024),
                                ("density_reg_points", densityRegPoints, 1 << 20)] where v > limit {
            p.append("\(key) = \(v) is larger than \(limit)")
        }
        for (key, v) in [("glr", gLr), ("dlr", dLr), ("eps", eps), ("blur_fade_kimg", blurFadeKimg), ("gpc_reg_fade_kimg", gpcRegFadeKimg),
                         ("neural_rendering_resolution_fade_kimg", neuralRenderingResolutionFadeKimg), ("ema_kimg", emaKimg),
                         ("ema_rampup", emaRampup ?? 0), ("r1_gamma", Double(r1Gamma)), ("blur_init_sigma", Double(blurInitSigma))]
            where !v.isFinite || v < 0 {
            p.append("\(key) = \(v) must be a finite non-negative number")
        }
        return p
    }

    /// Blur σ at `curNimg` images (loss.py: max(1 − nimg/(fade·1000), 0)·σ0; 0 when the fade is off).
    public func blurSigma(curNimg: Int) -> Float {
        blurFadeKimg > 0 ? Float(Swift.max(1 - Double(curNimg) / (blurFadeKimg * 1e3), 0) * Double(blurInitSigma)) : 0
    }

    /// Generator pose-conditioning swap probability at `curNimg` (nil: condition on zeros), from the G's gpc_reg_prob.
    public func swappingProbability(curNimg: Int, gpcRegProb: Float?) -> Double? {
        guard let prob = gpcRegProb else { return nil }
        let alpha = gpcRegFadeKimg > 0 ? Swift.min(Double(curNimg) / (gpcRegFadeKimg * 1e3), 1) : 1
        return (1 - alpha) * 1 + alpha * Double(prob)
    }

    /// The neural rendering resolution at `curNimg` (np.rint of the blend; round half to even).
    public func neuralRenderingResolution(curNimg: Int) -> Int {
        guard let final = neuralRenderingResolutionFinal else { return neuralRenderingResolutionInitial }
        let alpha = Swift.min(Double(curNimg) / (neuralRenderingResolutionFadeKimg * 1e3), 1)
        let r = Double(neuralRenderingResolutionInitial) * (1 - alpha) + Double(final) * alpha
        return Int(r.rounded(.toNearestOrEven))
    }

    /// G_ema's β at `curNimg` (training_loop.py: 0.5^(batch / max(ema_nimg, 1e-8)), ema_nimg ramped up).
    public func emaBeta(curNimg: Int) -> Double {
        var emaNimg = emaKimg * 1000
        if let r = emaRampup { emaNimg = Swift.min(emaNimg, Double(curNimg) * r) }
        return Foundation.pow(0.5, Double(batch) / Swift.max(emaNimg, 1e-8))
    }
}
