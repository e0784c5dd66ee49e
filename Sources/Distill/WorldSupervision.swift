// World supervision of stage 0 (our addition; the paper starts from a pre-trained EG3D, and the shipped-model
// issue lets stage 0 use what the world gives beyond images). Each training image comes with its camera, a depth
// map and a head mask, so besides EG3D's adversarial phases the generator also learns to *reconstruct* it: an
// encoder proposes z ~ q(z | image) (a VAE posterior), G renders that z from the image's own camera, and the
// phase "Grec" minimises
//   image_weight · |I − I*|₁  +  raw_weight · |I_raw − (I*_raw + 1)/2|₁          (colours, 128² and R²)
//   + depth_weight · |d − d*|₁ over cells the head fully covers                   (geometry, ray distance)
//   + opacity_weight · (1 − Σw) over the same cells                                (the head is opaque)
//   + kl_weight · KL(q(z | image) ‖ N(0, I))                                      (codes where the prior samples)
// The raw image is compared with the real one mapped to [0, 1] because the OSG decoder's colours are sigmoids
// (EG3D's D sees the raw image in that range too). The reconstruction gives geometry and colour from the first
// kimg, which the adversarial loss alone takes hundreds of kimg to find; the adversarial phases (from
// gan_start_kimg on) make every prior sample look like a world portrait. G's Adam steps once more per iteration;
// the encoder has its own Adam.
import Foundation
import TensorCore
import Training
import TriPlaneGAN

public struct WorldSupervisionSettings: Codable, Sendable, Equatable {
    public var imageWeight: Float = 1
    public var rawWeight: Float = 1
    public var depthWeight: Float = 2
    public var opacityWeight: Float = 0.2
    public var klWeight: Float = 2e-4
    /// The adversarial phases (Gmain, Dmain, Dreg) run from this many kimg on; before that only Grec and Greg.
    public var ganStartKimg: Double = 0
    public var encoderLr: Double = 1e-3
    /// How the encoder's 4² feature map becomes the code: "mean" (spatial mean, the first runs' encoder) or "flatten"
    /// (every position to the linear head, so where a feature is reaches z too).
    public var encoderPooling: ImageEncoder.Pooling = .mean

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        static var allKeys: [String] { allCases.map(\.rawValue) }
        case imageWeight = "image_weight", rawWeight = "raw_weight", depthWeight = "depth_weight"
        case opacityWeight = "opacity_weight", klWeight = "kl_weight", ganStartKimg = "gan_start_kimg", encoderLr = "encoder_lr"
        case encoderPooling = "encoder_pooling"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = WorldSupervisionSettings()
        imageWeight = try c.decodeIfPresent(Float.self, forKey: .imageWeight) ?? d.imageWeight
        rawWeight = try c.decodeIfPresent(Float.self, forKey: .rawWeight) ?? d.rawWeight
        depthWeight = try c.decodeIfPresent(Float.self, forKey: .depthWeight) ?? d.depthWeight
        opacityWeight = try c.decodeIfPresent(Float.self, forKey: .opacityWeight) ?? d.opacityWeight
        klWeight = try c.decodeIfPresent(Float.self, forKey: .klWeight) ?? d.klWeight
        ganStartKimg = try c.decodeIfPresent(Double.self, forKey: .ganStartKimg) ?? d.ganStartKimg
        encoderLr = try c.decodeIfPresent(Double.self, forKey: .encoderLr) ?? d.encoderLr
        encoderPooling = try c.decodeIfPresent(ImageEncoder.Pooling.self, forKey: .encoderPooling) ?? d.encoderPooling
    }

    public func problems() -> [String] {
        var p: [String] = []
        for (k, v) in [("image_weight", imageWeight), ("raw_weight", rawWeight), ("depth_weight", depthWeight),
                       ("opacity_weight", opacityWeight), ("kl_weight", klWeight)] where !(v.isFinite && v >= 0 && v <= 1e6) {
            p.append("world_supervision.\(k) = \(v) must be a finite number in 0...1e6")
        }
        if !(ganStartKimg.isFinite && ganStartKimg >= 0) { p.append("world_supervision.gan_start_kimg = \(ganStartKimg) must be a finite non-negative number") }
        if !(encoderLr.isFinite && encoderLr > 0 && encoderLr < 1) { p.append("world_supervision.encoder_lr = \(encoderLr) must be in (0, 1)") }
        return p
    }
}

/// One training image batch with what the world knows about it.
public struct WorldBatch {
    /// (N, 3, S, S) in [−1, 1] and (N, 25) cameras.
    public var image: Tensor
    public var c: Tensor
    /// (N, 1, R, R) depth, valid-cell mask {0, 1}, coverage [0, 1] (WorldGeometryBank.batch).
    public var depth: Tensor
    public var valid: Tensor
    public var coverage: Tensor

    public init(image: Tensor, c: Tensor, depth: Tensor, valid: Tensor, coverage: Tensor) {
        self.image = image; self.c = c; self.depth = depth; self.valid = valid; self.coverage = coverage
    }
}

public final class WorldSupervision {
    public let settings: WorldSupervisionSettings
    public let encoder: ImageEncoder
    public let encoderOptimizer: Adam
    /// Depth and masks of the training images (nil when every batch is supplied, as in tests).
    public let geometry: WorldGeometryBank?

    public init(settings: WorldSupervisionSettings, zDim: Int, geometry: WorldGeometryBank?, rng: RandomGenerator) {
        self.settings = settings
        self.geometry = geometry
        encoder = ImageEncoder(zDim: zDim, pooling: settings.encoderPooling, rng: rng)
        encoderOptimizer = Adam(encoder.namedParameters(), lr: settings.encoderLr, betas: (0.9, 0.99), eps: 1e-8)
    }

    /// World supervision on a dataset: its depth and masks (`aux/`, named when missing) reduced to `resolution`, and a
    /// fresh encoder seeded from the run seed (stage 0 and the text stages alike).
    public static func forDataset(_ path: String, names: [String], settings: WorldSupervisionSettings, zDim: Int, seed: UInt64,
                                  resolution: Int, progress: Bool) throws -> WorldSupervision {
        guard StageZero.hasWorldGeometry(path) else {
            throw FileError(path: (path as NSString).appendingPathComponent("aux"), message: "missing: world supervision needs the depth and mask maps `data synth --aux` writes")
        }
        let geometry = try WorldGeometryBank(dataset: path, names: names, resolution: resolution, progress: progress)
        return WorldSupervision(settings: settings, zDim: zDim, geometry: geometry, rng: RandomGenerator(seed: StepRandom.mix(seed ^ 0x454E_434F)))
    }

    /// The draws index of Grec (after EG3D's four phases).
    public static let phaseIndex = 4

    /// Whether the adversarial phases run at `curNimg`.
    public func ganActive(curNimg: Int) -> Bool { Double(curNimg) >= settings.ganStartKimg * 1000 }

    /// The Grec loss of one microbatch (not yet back-propagated) and its parts. `draws.z` is the reparameterisation
    /// noise ε; the synthesis noise and the renderer's draws come from `draws` too.
    /// `updateEmas` lets the mapping track w_avg (while the adversarial phases, which normally do, are off).
    /// `captions` (stages 1-2): the conditioning of one of each image's own captions, so the text path learns to
    /// carry what the caption states and the code z, held near the prior by the KL term, the rest (a conditional VAE).
    public func loss<G: TrainableGenerator>(generator: G, batch: WorldBatch, draws: PhaseDraws, resolution r: Int,
                                            updateEmas: Bool = false, captions: TextConditioning? = nil) -> (Tensor, [String: Double]) {
        let s = settings
        let (mu, logVar) = encoder(batch.image)
        let z = mu + (logVar * 0.5).exp() * draws.z
        let ws = generator.trainingMapping(z, batch.c, prompts: captions, updateEmas: updateEmas)
        generator.neuralRenderingResolution = r
        let planes = generator.trainingPlanes(ws, prompts: captions, noise: draws.noise)
        let out = generator.render(planes: planes, ws: ws, cameras: batch.c, resolution: r, random: draws.renderer)
        let rawTarget = withNoGrad { (interpolate(batch.image, size: (r, r), mode: .bilinear, alignCorners: false, antialias: true) + 1) * 0.5 }
        let image = (out.image - batch.image).abs().mean()
        let raw = (out.imageRaw - rawTarget).abs().mean()
        let cells = Swift.max(batch.valid.sum().item(), 1)
        let depth = ((out.imageDepth - batch.depth).abs() * batch.valid).sum() / cells
        let opacity = ((1 - out.weightSum) * batch.valid).sum() / cells
        let kl = ((mu * mu + logVar.exp() - 1 - logVar).sum(axes: [1]) * 0.5).mean()
        let total = image * s.imageWeight + raw * s.rawWeight + depth * s.depthWeight + opacity * s.opacityWeight + kl * s.klWeight
        let report: [String: Double] = ["Grec/loss": Double(total.item()), "Grec/image_l1": Double(image.item()),
                                        "Grec/raw_l1": Double(raw.item()), "Grec/depth_l1": Double(depth.item()),
                                        "Grec/opacity": Double(opacity.item()), "Grec/kl": Double(kl.item())]
        return (total, report)
    }
}

extension GANTrainer {
    /// The Grec phase of `step` on the step's real batch: the encoder and G step on the reconstruction loss
    /// (microbatch gradients averaged). A non-finite loss throws before either optimiser steps.
    func worldSupervisionPhase(_ w: WorldSupervision, step: Int, indices: [Int], images: Tensor, cameras: Tensor,
                               schedule: LossSchedule, streams: StepStreams, trackWAvg: Bool) throws -> [String: Double] {
        guard let geometry = w.geometry else { fatalError("GANTrainer: world supervision without the world's geometry") }
        let r = schedule.neuralRenderingResolution
        guard geometry.resolution == r else {
            throw TrainingError.data("world supervision: depth and masks were loaded at \(geometry.resolution)², the neural rendering resolution is now \(r)²")
        }
        let b = options.batch, micro = options.batchGPU, chunks = b / micro
        let (depth, valid, coverage) = geometry.batch(indices)
        let modules: [Module] = [generator, w.encoder]
        gOptimizer.zeroGrad(); w.encoderOptimizer.zeroGrad()
        for m in modules { setRequiresGrad(m, true) }
        // `--freeze g`: only the text conditioning (and the encoder) learn from the reconstruction too.
        if let keep = generatorTrainable { for (name, p) in generator.namedParameters() { p.requiresGrad = keep(name) } }
        defer { for m in modules { setRequiresGrad(m, false) } }
        var sums: [String: Double] = [:]
        for k in 0..<chunks {
            func part(_ t: Tensor) -> Tensor { t.slice(axis: 0, start: k * micro, end: (k + 1) * micro).contiguous() }
            let d = PhaseDraws.draw(streams: streams, phase: WorldSupervision.phaseIndex, chunk: k, n: micro,
                                    zDim: generator.config.zDim, labels: labels, densityPoints: nil)
            let batch = WorldBatch(image: part(images), c: part(cameras), depth: part(depth), valid: part(valid), coverage: part(coverage))
            let captions = reconstructionCaptions?(streams.generator(.reconstructionCaptions, phase: k),
                                                   Array(indices[(k * micro)..<((k + 1) * micro)]))
            let (loss, report) = w.loss(generator: generator, batch: batch, draws: d, resolution: r, updateEmas: trackWAvg,
                                        captions: captions)
            for (name, v) in report.sorted(by: { $0.key < $1.key }) where !v.isFinite {
                gOptimizer.zeroGrad(); w.encoderOptimizer.zeroGrad()
                try checkFinite("loss/\(name)", v, step: step)
            }
            (loss * (1 / Float(chunks))).backward()
            for (name, v) in report { sums[name, default: 0] += v / Double(chunks) }
        }
        sanitizeGradients(generator.parameters() + w.encoder.parameters())
        gOptimizer.step(); w.encoderOptimizer.step()
        gOptimizer.zeroGrad(); w.encoderOptimizer.zeroGrad()
        return sums
    }
}
