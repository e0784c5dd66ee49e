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
    /// The training images (nil when the caller supplies every real batch, as the parity test does).
    public let data: WorldImageBank?
    /// (count, 25) labels of the training images (gen_c is drawn from them).
    public let labels: Tensor
    var order: DataOrder
    public let loss: EG3DLoss<G>
    public let phases: [TrainingPhase]
    public let gOptimizer: Adam
    public let dOptimizer: Adam
    /// Prompts for the generator's samples (stages 1-2): given the step's stream for captions and the gen_c
    /// dataset rows. nil for stage 0.
    public var prompts: ((_ streams: StepStreams, _ phase: Int, _ n: Int) -> (TextConditioning, Tensor, [String]))?
    /// A text-conditioned D's captions of the real images: given the step's stream and the dataset indices of the
    /// real batch, their pooled text features (N, Dt). nil: D is not text-conditioned.
    public var realCaptionFeatures: ((_ random: RandomGenerator, _ indices: [Int]) -> Tensor)?
    /// Fixed prompts for the sample grid (stages 1-2).
    public var samplePrompts: ((_ n: Int) -> TextConditioning)?
    /// Which of the generator's parameters train (nil: all); `--freeze g` trains only the text conditioning.
    public var generatorTrainable: ((String) -> Bool)?
    /// `--freeze d`: D's phases are skipped.
    public var freezeDiscriminator = false
    /// Gmain's samples 2k and 2k+1 share their camera and pose-conditioning draw (image-space mode seeking).
    public var pairedCameras = false
    /// An extra generator loss in Gmain (stage 2's D-SDS or the CLIP ablation): given the fake output and the
    /// draws, returns a scalar to add to the adversarial loss, and values to report.
    public var generatorTextLoss: ((GeneratorOutput, PhaseDraws) -> (loss: Tensor, report: [String: Double]))?
    /// Stage 2's fake score (FakeScore.swift, `--fake-score-lr`): trained inside `generatorTextLoss`, checkpointed
    /// here with the run (F, F_opt).
    public var fakeScore: FakeScore?
    /// Stage 0 on the world: the reconstruction phase Grec before EG3D's phases (WorldSupervision.swift).
    public var worldSupervision: WorldSupervision?
    /// Stages 1-2 with world supervision: the text conditioning of one of each real image's own captions, given
    /// the step's stream and the microbatch's dataset indices (Grec then reconstructs the image from z and its caption).
    public var reconstructionCaptions: ((_ random: RandomGenerator, _ indices: [Int]) -> TextConditioning)?
    /// False while world supervision holds the adversarial phases back (only Grec and Greg run).
    var adversarialActive = true
    /// Images shown before the step in progress (schedules that the text loss follows, e.g. D-SDS's t range).
    public private(set) var currentNimg = 0

    /// `generatorEMA` receives G's parameters and buffers now (G_ema = deepcopy(G)); restore a checkpoint after.
    /// `generatorLrMultiplier` scales G's learning rate per parameter name (nil: EG3D's one rate for all).
    public init(options: TrainingOptions, seed: UInt64, generator: G, generatorEMA: G, discriminator: DualDiscriminator,
                data: WorldImageBank?, labels: Tensor? = nil, copyToEMA: Bool = true,
                generatorLrMultiplier: ((String) -> Double)? = nil) throws {
        let problems = options.problems()
        guard problems.isEmpty else { throw TrainingError.options(problems) }
        self.options = options
        self.seed = seed
        self.generator = generator
        self.generatorEMA = generatorEMA
        self.discriminator = discriminator
        self.data = data
        if let data {
            for (i, l) in data.labels.enumerated() where l.count != 25 || !l.allSatisfy({ $0.isFinite }) {
                throw TrainingError.data("\(data.names[i]) has \(l.count) label values in dataset.json; EG3D training needs 25 finite numbers per image")
            }
        }
        guard let all = labels ?? data.map({ Tensor($0.labels.flatMap { $0 }, shape: [$0.count, 25]) }) else {
            throw TrainingError.data("GANTrainer needs a dataset or the labels gen_c is drawn from")
        }
        self.labels = all
        order = DataOrder(random: StepRandom(seed: seed), count: data?.count ?? 1)
        loss = EG3DLoss(generator: generator, discriminator: discriminator, r1Gamma: options.r1Gamma)
        let densityOn = generator.config.rendering.densityReg > 0
        phases = TrainingPhase.phases(gRegInterval: densityOn ? options.gRegInterval : nil,
                                      dRegInterval: options.r1Gamma > 0 ? options.dRegInterval : nil)
        gOptimizer = LazyRegularization.adam(generator, lr: options.gLr, betas: options.betas, eps: options.eps,
                                             regInterval: options.gRegInterval, lrMultiplier: generatorLrMultiplier)
        dOptimizer = LazyRegularization.adam(discriminator, lr: options.dLr, betas: options.betas, eps: options.eps,
                                             regInterval: options.dRegInterval)
        if copyToEMA { try withNoGrad { try generatorEMA.load(generator.stateDict(), strict: true) } }
        generatorEMA.neuralRenderingResolution = generator.neuralRenderingResolution
        setRequiresGrad(generatorEMA, false)
        setRequiresGrad(generator, false)
        setRequiresGrad(discriminator, false)
    }

    /// Runs step `step` (batch_idx) and returns what it did. Parameters change in place. A phase whose loss is not
    /// finite throws NonFiniteError before its optimiser steps (earlier phases of the step have stepped, so the
    /// caller must not checkpoint this state; the training loop does not).
    public func step(_ step: Int) throws -> StepReport {
        guard let data else { fatalError("GANTrainer.step: no dataset; use runIteration with explicit real batches") }
        let b = options.batch, micro = options.batchGPU, chunks = b / micro
        let curNimg = step * b
        currentNimg = curNimg
        let schedule = LossSchedule(options: options, curNimg: curNimg, gpcRegProb: generator.config.rendering.gpcRegProb)
        let streams = StepStreams(seed: seed, step: step)
        let t0 = DispatchTime.now().uptimeNanoseconds
        // The real batch is shared by every phase of the step.
        let indices = order.batch(step: step, size: b)
        let realImages = data.images(indices), realLabels = data.labelTensor(indices)
        let realText = realCaptionFeatures.map { $0(streams.generator(.realCaptions), indices) }
        let reals = (0..<chunks).map { k in
            var r = RealBatch(image: realImages.slice(axis: 0, start: k * micro, end: (k + 1) * micro).contiguous(),
                              c: realLabels.slice(axis: 0, start: k * micro, end: (k + 1) * micro).contiguous(),
                              resolution: schedule.neuralRenderingResolution, blurSigma: schedule.blurSigma)
            r.text = realText?.slice(axis: 0, start: k * micro, end: (k + 1) * micro).contiguous()
            return r
        }
        let dataSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        var reconstruction: [String: Double] = [:], reconstructionSeconds = 0.0
        if let w = worldSupervision {
            adversarialActive = w.ganActive(curNimg: curNimg)
            let t1 = DispatchTime.now().uptimeNanoseconds
            reconstruction = try worldSupervisionPhase(w, step: step, indices: indices, images: realImages, cameras: realLabels,
                                                       schedule: schedule, streams: streams, trackWAvg: !adversarialActive)
            reconstructionSeconds = Double(DispatchTime.now().uptimeNanoseconds - t1) / 1e9
        }
        var report = try runIteration(step: step, curNimg: curNimg, schedule: schedule, reals: reals) { phase, k in
            var draws = PhaseDraws.draw(streams: streams, phase: phase.index, chunk: k, n: micro,
                                        zDim: self.generator.config.zDim, labels: self.labels,
                                        densityPoints: phase == .gReg ? self.options.densityRegPoints : nil)
            if let prompts = self.prompts { (draws.prompts, draws.promptStates, draws.promptTexts) = prompts(streams, phase.index * 16 + k, micro) }
            if self.pairedCameras && phase == .gMain {
                draws.c = ModeSeekingLoss.pairRows(draws.c)
                if draws.swapUniforms.shape[0] == micro { draws.swapUniforms = ModeSeekingLoss.pairRows(draws.swapUniforms) }
            }
            return draws
        }
        report.seconds["data"] = dataSeconds
        if worldSupervision != nil {
            report.seconds["Grec"] = reconstructionSeconds
            report.losses.merge(reconstruction) { $1 }
        }
        return report
    }

    /// The phases due at `step` on the given real microbatches, each phase's microbatch k with `draws(phase, k)`,
    /// then G_ema. `observe(phase, afterStep)` sees the gradients (afterStep false: after nan_to_num, before Adam)
    /// and the parameters (true) of each phase.
    public func runIteration(step: Int, curNimg: Int, schedule: LossSchedule, reals: [RealBatch],
                             observe: ((PhaseName, Bool) -> Void)? = nil,
                             draws: (PhaseName, Int) -> PhaseDraws) throws -> StepReport {
        let chunks = reals.count
        var seconds: [String: Double] = [:]
        var sums: [String: Double] = [:]
        var counts: [String: Int] = [:]
        func add(_ r: [String: Double]) { for (k, v) in r { sums[k, default: 0] += v; counts[k, default: 0] += 1 } }
        var t0 = DispatchTime.now().uptimeNanoseconds
        func lap(_ name: String) {
            let t1 = DispatchTime.now().uptimeNanoseconds
            seconds[name, default: 0] += Double(t1 - t0) / 1e9
            t0 = t1
        }
        var sanitized = 0
        for phase in phases where phase.runs(atStep: step) && !(freezeDiscriminator && !phase.name.trainsGenerator)
            && (adversarialActive || phase.name == .gReg) {
            let module: Module = phase.name.trainsGenerator ? generator : discriminator
            let opt = phase.name.trainsGenerator ? gOptimizer : dOptimizer
            opt.zeroGrad()
            if phase.name.trainsGenerator, let keep = generatorTrainable {
                for (name, p) in module.namedParameters() { p.requiresGrad = keep(name) }
            } else { setRequiresGrad(module, true) }
            // Microbatch gradients are averaged (the official multi-GPU all-reduce average; one chunk = as is).
            let gain = phase.gain / Float(chunks)
            for k in 0..<chunks {
                let d = draws(phase.name, k)
                let values: [String: Double]
                switch phase.name {
                case .gMain: values = gMain(d, schedule, gain: gain)
                case .gReg: values = loss.gReg(d, schedule, gain: gain)
                case .dMain: values = loss.dMain(d, schedule, real: reals[k], gain: gain)
                case .dReg: values = loss.dReg(schedule, real: reals[k], gain: gain)
                }
                for (name, v) in values.sorted(by: { $0.key < $1.key }) where !v.isFinite {
                    setRequiresGrad(module, false)
                    opt.zeroGrad()
                    try checkFinite("loss/\(phase.name.rawValue)/\(name)", v, step: step)
                }
                add(values)
            }
            setRequiresGrad(module, false)
            if phase.name == .dReg {
                // torch gives every parameter in the forward graph a gradient (zero where R1's double backward
                // does not depend on it, e.g. the biases after D's last smooth nonlinearity), and Adam steps it;
                // our backward leaves those nil. Zeros keep the Adam state (step counts, decayed moments) identical.
                // The epilogue's output bias stays without one in torch too: ∂logit/∂input does not involve it.
                for (name, p) in module.namedParameters() where p.grad == nil && name != "b4.out.bias" {
                    p.grad = Tensor.zeros(p.shape)
                }
            }
            sanitized += sanitizeGradients(module.parameters())
            observe?(phase.name, false)
            opt.step()
            opt.zeroGrad()
            observe?(phase.name, true)
            lap(phase.name.rawValue)
        }

        // G_ema: p_ema = lerp(p, p_ema, β), buffers copied, R copied.
        let beta = options.emaBeta(curNimg: curNimg)
        updateEMA(generatorEMA, from: generator, beta: beta)
        generatorEMA.neuralRenderingResolution = generator.neuralRenderingResolution
        lap("ema")

        var losses: [String: Double] = [:]
        for (k, v) in sums { losses[k] = v / Double(counts[k]!) }
        return StepReport(step: step, curNimg: curNimg, nextNimg: curNimg + options.batch, losses: losses, seconds: seconds,
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
