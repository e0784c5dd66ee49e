// Portrait3D's last stage (method doc §8 (3)): the tri-grid is fitted to the SDEdit-refined ring of views with a
// masked L2 loss, L = Σ m·(x − y)² / (3·Σ m) over one view per step (cycling through the ring), where x is the
// render, y the refined view and m the view's foreground mask (the render's accumulated weight before refinement ≥
// the threshold). Adam over the levels with per-level learning rates; the decoder stays frozen. Like SDSOptimiser
// a TrainingTask, so the loop's progress, Ctrl-C checkpoints and resume apply.
import Codecs
import Foundation
import PortraitExport
import TensorCore
import Training
import TriPlaneGAN

/// The refined ring: targets (V, 3, R, R) in [-1, 1], masks (V, 1, R, R) of 0/1, cameras (V, 25).
public struct RingTargets {
    public var images: Tensor
    public var masks: Tensor
    public var cameras: Tensor
    public init(images: Tensor, masks: Tensor, cameras: Tensor) { self.images = images; self.masks = masks; self.cameras = cameras }
    public var count: Int { images.shape[0] }
    public var tensors: [String: Tensor] { ["images": images, "masks": masks, "cameras": cameras] }

    public static func load(path: String) throws -> RingTargets {
        let f = try SafeTensorsFile(path: path)
        let t = RingTargets(images: try f.tensor("images"), masks: try f.tensor("masks"), cameras: try f.tensor("cameras"))
        guard t.images.rank == 4, t.masks.shape == [t.count, 1, t.images.shape[2], t.images.shape[3]], t.cameras.shape == [t.count, 25] else {
            throw FileError(path: path, message: "images \(t.images.shape), masks \(t.masks.shape), cameras \(t.cameras.shape) do not fit together")
        }
        return t
    }
}

public final class RingFit: TrainingTask {
    public let field: PortraitField
    public let targets: RingTargets
    public let steps: Int
    public let seed: UInt64
    public var title: String { "refine fit" }
    public var itemsPerStep: Int { 1 }
    let adam: Adam

    public init(field: PortraitField, targets: RingTargets, learningRates: [Double], steps: Int, seed: UInt64) {
        self.field = field; self.targets = targets; self.steps = steps; self.seed = seed
        let levels = field.grid.namedLevels
        adam = Adam(groups: levels.enumerated().map { l, named in
            (Adam.Group(lr: learningRates.count == 1 ? learningRates[0] : learningRates[l], betas: (0.9, 0.99)), [("grid.\(named.0)", named.1)])
        })
        field.decoder.setRequiresGradForFit(false)
    }

    /// The masked L2 of view k: (loss, render).
    public func loss(view k: Int, step: Int) -> (loss: Tensor, image: Tensor) {
        let r = targets.images.shape[2]
        let out = field.render(cameras: targets.cameras.slice(axis: 0, start: k, end: k + 1).contiguous(), resolution: r,
                               random: GeneratorRandomSource(StepRandom(seed: seed).generator("fit-renderer", step: step)))
        let m = targets.masks.slice(axis: 0, start: k, end: k + 1).contiguous()
        let d = out.image - targets.images.slice(axis: 0, start: k, end: k + 1).contiguous()
        let denominator = Swift.max(Float(withNoGrad { m.sum() }.item()) * 3, 1)
        return ((d * d * m).sum() / denominator, out.image)
    }

    public func step(_ step: Int) throws -> [String: Double] {
        let (l, _) = loss(view: step % targets.count, step: step)
        let value = Double(l.item())
        try checkFinite("loss/fit", value, step: step)
        adam.zeroGrad()
        l.backward()
        try checkFiniteGradients(field.grid.namedParameters(), prefix: "field.grid.", step: step)
        adam.step()
        return ["loss/fit": value]
    }

    public func checkpoint() throws -> (files: [String: [String: Tensor]], state: [String: Any]) {
        (["field": field.stateDict(), "adam": adam.stateDict()], [:])
    }

    public func restore(_ checkpoint: Checkpoint) throws {
        guard let f = checkpoint.files["field"], let a = checkpoint.files["adam"] else {
            throw FileError(path: "checkpoint \(checkpoint.step)", message: "lacks field.safetensors or adam.safetensors")
        }
        try field.load(f, strict: true)
        try adam.loadStateDict(a)
    }

    /// The first ring view: render beside its target.
    public func samples() throws -> Image? {
        let render = withNoGrad { loss(view: 0, step: 0).image }
        return ContactSheet.make([ImageExport.rgb8(render), ImageExport.rgb8(targets.images.slice(axis: 0, start: 0, end: 1).contiguous())], columns: 2)
    }
}

extension Module {
    func setRequiresGradForFit(_ on: Bool) { for p in parameters() { p.requiresGrad = on } }
}
