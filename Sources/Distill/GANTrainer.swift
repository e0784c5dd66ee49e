// One EG3D training iteration (training_loop.py's main loop body; eg3d-spec §12): fetch the step's real batch,
// run the phases due at this step (Gmain, Greg every G_reg_interval, Dmain, Dreg every D_reg_interval), each
// with its own draws, gradient accumulation over microbatches, nan_to_num and an Adam step; then G_ema.
// Every random number comes from StepStreams(seed, step), so step k is the same computation whether the run
// got there straight or through a resume, on any thread count.
import Dispatch
import Foundation
import TensorCore
import TriPlaneGAN
import Training

/// What one step did.
public struct StepReport: Sendable {
    public var step: Int
    /// Images seen before this step (cur_nimg) and after it.
    public var curNimg: Int
    public var nextNimg: Int
    /// Reported values by name ("G/loss", "D/loss", "r1_penalty", …), averaged over microbatches.
    public var losses: [String: Double]
    /// Seconds per phase name, plus "data" and "ema".
    public var seconds: [String: Double]
    /// Non-finite gradient values replaced by nan_to_num in this step.
    public var sanitized: Int
    public var blurSigma: Float
    public var swapProbability: Double?
    public var neuralRenderingResolution: Int
    public var emaBeta: Double
}

public final class GANTrainer<G: TrainableGenerator> {
    public let options: TrainingOptions
    public let seed: UInt64
    public let generator: G
    public let generatorEMA: G
    public let discriminator: DualDiscriminator
    public let data: WorldImageBank
    /// (count, 25) labels of the training images (gen_c is drawn from them).
    public let labels: Tensor
    var order: DataOrder
    public let loss: EG3DLoss<G>
    public let phases: [TrainingPhase]
    public let gOptimizer: Adam
    public let dOptimizer: Adam
    /// Prompts for the generator's samples (stages 1-2): given the step's stream for captions and the gen_c
    /// dataset rows. nil for stage 0.
    public var prompts: ((_ streams: StepStreams, _ phase: Int, _ n: Int) -> TextConditioning)?
    /// Fixed prompts for the sample grid (stages 1-2).
    public var samplePrompts: ((_ n: Int) -> TextConditioning)?
    /// An extra generator loss in Gmain (stage 2's D-SDS or the CLIP ablation): given the fake output and the
    /// draws, returns a scalar to add to the adversarial loss, and values to report.
    public var generatorTextLoss: ((GeneratorOutput, PhaseDraws) -> (loss: Tensor, report: [String: Double]))?

    /// `generatorEMA` receives G's parameters and buffers now (G_ema = deepcopy(G)); restore a checkpoint after.
    public init(options: TrainingOptions, seed: UInt64, generator: G, generatorEMA: G, discriminator: DualDiscriminator,
                data: WorldImageBank) throws {
        let problems = options.problems()
        guard problems.isEmpty else { throw TrainingError.options(problems) }
        self.options = options
        self.seed = seed
        self.generator = generator
        self.generatorEMA = generatorEMA
        self.discriminator = discriminator
        self.data = data
        for (i, l) in data.labels.enumerated() where l.count != 25 || !l.allSatisfy({ $0.isFinite }) {
            throw TrainingError.data("\(data.names[i]) has \(l.count) label values in dataset.json; EG3D training needs 25 finite numbers per image")
        }
        labels = Tensor(data.labels.flatMap { $0 }, shape: [data.count, 25])
        order = DataOrder(random: StepRandom(seed: seed), count: data.count)
        loss = EG3DLoss(generator: generator, discriminator: discriminator, r1Gamma: options.r1Gamma)
        let densityOn = generator.config.rendering.densityReg > 0
        phases = TrainingPhase.phases(gRegInterval: densityOn ? options.gRegInterval : nil,
                                      dRegInterval: options.r1Gamma > 0 ? options.dRegInterval : nil)
        gOptimizer = LazyRegularization.adam(generator, lr: options.gLr, betas: options.betas, eps: options.eps,
                                             regInterval: options.gRegInterval)
        dOptimizer = LazyRegularization.adam(discriminator, lr: options.dLr, betas: options.betas, eps: options.eps,
                                             regInterval: options.dRegInterval)
        try withNoGrad { try generatorEMA.load(generator.stateDict(), strict: true) }
        generatorEMA.neuralRenderingResolution = generator.neuralRenderingResolution
        setRequiresGrad(generatorEMA, false)
        setRequiresGrad(generator, false)
        setRequiresGrad(discriminator, false)
    }

    /// Runs step `step` (batch_idx) and returns what it did. Parameters change in place. A phase whose loss is not
    /// finite throws NonFiniteError before its optimiser steps (earlier phases of the step have stepped, so the
    /// caller must not checkpoint this state; the training loop does not).
    public func step(_ step: Int) throws -> StepReport {
        let b = options.batch, micro = options.batchGPU, chunks = b / micro
        let curNimg = step * b
        let schedule = LossSchedule(options: options, curNimg: curNimg, gpcRegProb: generator.config.rendering.gpcRegProb)
        let streams = StepStreams(seed: seed, step: step)
        var seconds: [String: Double] = [:]
        var sums: [String: Double] = [:]
        var counts: [String: Int] = [:]
        func add(_ r: [String: Double]) { for (k, v) in r { sums[k, default: 0] += v; counts[k, default: 0] += 1 } }
        var phaseValues: [String: Double] = [:]

        var t0 = DispatchTime.now().uptimeNanoseconds
        func lap(_ name: String) {
            let t1 = DispatchTime.now().uptimeNanoseconds
            seconds[name, default: 0] += Double(t1 - t0) / 1e9
            t0 = t1
        }
        // The real batch is shared by every phase of the step.
        let indices = order.batch(step: step, size: b)
        let realImages = data.images(indices), realLabels = data.labelTensor(indices)
        let reals = (0..<chunks).map { k in
            RealBatch(image: realImages.slice(axis: 0, start: k * micro, end: (k + 1) * micro).contiguous(),
                      c: realLabels.slice(axis: 0, start: k * micro, end: (k + 1) * micro).contiguous(),
                      resolution: schedule.neuralRenderingResolution, blurSigma: schedule.blurSigma)
        }
        lap("data")

        var sanitized = 0
        for phase in phases where phase.runs(atStep: step) {
            let module: Module = phase.name.trainsGenerator ? generator : discriminator
            let opt = phase.name.trainsGenerator ? gOptimizer : dOptimizer
            opt.zeroGrad()
            setRequiresGrad(module, true)
            // Microbatch gradients are averaged (the official multi-GPU all-reduce average; one chunk = as is).
            let gain = phase.gain / Float(chunks)
            for k in 0..<chunks {
                var draws = PhaseDraws.draw(streams: streams, phase: phase.name.index, chunk: k, n: micro,
                                            zDim: generator.config.zDim, labels: labels,
                                            densityPoints: phase.name == .gReg ? options.densityRegPoints : nil)
                if let prompts { draws.prompts = prompts(streams, phase.name.index * 16 + k, micro) }
                switch phase.name {
                case .gMain: phaseValues = gMain(draws, schedule, gain: gain)
                case .gReg: phaseValues = loss.gReg(draws, schedule, gain: gain)
                case .dMain: phaseValues = loss.dMain(draws, schedule, real: reals[k], gain: gain)
                case .dReg: phaseValues = loss.dReg(schedule, real: reals[k], gain: gain)
                }
                for (name, v) in phaseValues.sorted(by: { $0.key < $1.key }) {
                    if !v.isFinite { setRequiresGrad(module, false); opt.zeroGrad() }
                    try checkFinite("loss/\(phase.name.rawValue)/\(name)", v, step: step)
                }
                add(phaseValues)
            }
            setRequiresGrad(module, false)
            sanitized += sanitizeGradients(module.parameters())
            opt.step()
            opt.zeroGrad()
            lap(phase.name.rawValue)
        }

        // G_ema: p_ema = lerp(p, p_ema, β), buffers copied, R copied.
        let beta = options.emaBeta(curNimg: curNimg)
        updateEMA(generatorEMA, from: generator, beta: beta)
        generatorEMA.neuralRenderingResolution = generator.neuralRenderingResolution
        lap("ema")

        var losses: [String: Double] = [:]
        for (k, v) in sums { losses[k] = v / Double(counts[k]!) }
        return StepReport(step: step, curNimg: curNimg, nextNimg: curNimg + b, losses: losses, seconds: seconds,
                          sanitized: sanitized, blurSigma: schedule.blurSigma, swapProbability: schedule.swapProbability,
                          neuralRenderingResolution: schedule.neuralRenderingResolution, emaBeta: beta)
    }

    /// Gmain with the optional text loss (stage 2) added to the adversarial loss before the backward pass.
    func gMain(_ d: PhaseDraws, _ s: LossSchedule, gain: Float) -> [String: Double] {
        guard let textLoss = generatorTextLoss else { return loss.gMain(d, s, gain: gain) }
        return loss.gMain(d, s, gain: gain, extra: textLoss)
    }
}

public enum TrainingError: Error, CustomStringConvertible {
    case options([String])
    case data(String)
    public var description: String {
        switch self {
        case .options(let p): return "invalid training options: " + p.joined(separator: "; ")
        case .data(let s): return s
        }
    }
}
