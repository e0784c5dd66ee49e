// Times one EG3D training iteration at a configuration: each phase (forward, backward, nan_to_num, Adam step) on
// random real images and labels, repeated, then the iteration as EG3D runs it on average:
// Gmain + Dmain + Greg / G_reg_interval + Dreg / D_reg_interval. Used by `dreamportrait bench train`.
import Dispatch
import Foundation
import TensorCore
import TriPlaneGAN

public struct TrainingBenchmark {
    public struct PhaseTiming: Sendable {
        public let name: String
        /// Best wall seconds and the CPU seconds of that run.
        public let seconds: Double
        public let cpuSeconds: Double
        public let interval: Int
    }

    public let config: RunConfig
    public let generator: TriPlaneGenerator
    public let discriminator: DualDiscriminator
    public let loss: EG3DLoss<TriPlaneGenerator>
    let gOpt: Adam, dOpt: Adam
    let real: RealBatch
    let labels: Tensor

    public init(config: RunConfig, seed: UInt64 = 0) {
        self.config = config
        let rng = RandomGenerator(seed: seed)
        generator = TriPlaneGenerator(config: config.generator, rng: rng)
        discriminator = DualDiscriminator(config.generator.discriminatorConfig, rng: rng)
        loss = EG3DLoss(generator: generator, discriminator: discriminator, r1Gamma: config.training.r1Gamma)
        let t = config.training
        gOpt = LazyRegularization.adam(generator, lr: t.gLr, betas: t.betas, eps: t.eps, regInterval: t.gRegInterval)
        dOpt = LazyRegularization.adam(discriminator, lr: t.dLr, betas: t.betas, eps: t.eps, regInterval: t.dRegInterval)
        let n = t.batchGPU, r = config.generator.imgResolution
        // Frontal-ish cameras on EG3D's sphere with small random yaw and pitch.
        var l: [Float] = []
        for i in 0..<64 {
            let cam = LookAtPoseSampler.sample(yaw: Double.pi / 2 + 0.3 * sin(Double(i)), pitch: Double.pi / 2 + 0.1 * cos(Double(i)),
                                               lookAt: SIMD3(0, 0, 0.2), radius: 2.7)
            l += cam + [4.2647, 0, 0.5, 0, 4.2647, 0.5, 0, 0, 1]
        }
        labels = Tensor(l, shape: [64, 25])
        let images = rng.uniform([n, 3, r, r], low: -1, high: 1)
        real = RealBatch(image: images, c: labels.slice(axis: 0, start: 0, end: n).contiguous(),
                         resolution: t.neuralRenderingResolutionInitial, blurSigma: 0)
        setRequiresGrad(generator, false)
        setRequiresGrad(discriminator, false)
    }

    /// Runs one phase (with its optimiser step) on microbatch draws of the given step.
    public func runPhase(_ phase: PhaseName, step: Int) {
        let t = config.training
        let schedule = LossSchedule(blurSigma: 0, swapProbability: 0.5, neuralRenderingResolution: t.neuralRenderingResolutionInitial)
        let module: Module = phase.trainsGenerator ? generator : discriminator
        let opt = phase.trainsGenerator ? gOpt : dOpt
        let draws = PhaseDraws.draw(streams: StepStreams(seed: 7, step: step), phase: phase.index, chunk: 0, n: t.batchGPU,
                                    zDim: config.generator.zDim, labels: labels,
                                    densityPoints: phase == .gReg ? t.densityRegPoints : nil)
        opt.zeroGrad()
        setRequiresGrad(module, true)
        switch phase {
        case .gMain: loss.gMain(draws, schedule, gain: 1)
        case .gReg: loss.gReg(draws, schedule, gain: Float(t.gRegInterval ?? 1))
        case .dMain: loss.dMain(draws, schedule, real: real, gain: 1)
        case .dReg: loss.dReg(schedule, real: real, gain: Float(t.dRegInterval ?? 1))
        }
        setRequiresGrad(module, false)
        sanitizeGradients(module.parameters())
        opt.step()
        opt.zeroGrad()
    }

    /// Best-of-`repeats` timings per phase after one warm-up run each.
    public func measure(repeats: Int, cpuSeconds: () -> Double) -> [PhaseTiming] {
        let t = config.training
        return PhaseName.allCases.map { phase in
            runPhase(phase, step: 0)
            var best = Double.infinity, bestCPU = 0.0
            for k in 0..<repeats {
                let c0 = cpuSeconds(), t0 = DispatchTime.now().uptimeNanoseconds
                runPhase(phase, step: k + 1)
                let s = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                if s < best { best = s; bestCPU = cpuSeconds() - c0 }
            }
            let interval = phase == .gReg ? (t.gRegInterval ?? 1) : phase == .dReg ? (t.dRegInterval ?? 1) : 1
            return PhaseTiming(name: phase.rawValue, seconds: best, cpuSeconds: bestCPU, interval: interval)
        }
    }

    /// Seconds of an average iteration of one microbatch: Σ phase / interval.
    public static func iterationSeconds(_ timings: [PhaseTiming], cpu: Bool = false) -> Double {
        timings.reduce(0) { $0 + (cpu ? $1.cpuSeconds : $1.seconds) / Double($1.interval) }
    }
}
