// Mode seeking (ours; the paper has no such term): MSGAN's regulariser (Mao et al., "Mode Seeking Generative
// Adversarial Networks for Diverse Image Synthesis", CVPR 2019) against the failure DreamPortrait names itself,
// one portrait per prompt (method doc §1). EG3D's D judges one image at a time, so it cannot see that every seed of
// a prompt gives the same face, and D-SDS is lowest at the teacher's mode; our stage-2 runs lose the seeds' variety
// as the text path learns (README, Training). MSGAN asks the generator to keep distances between two latents of the
// same condition: with samples 2k and 2k+1 drawn for the same prompt,
//
//     ratio_k = mean|X_2k − X_2k+1| / mean|z_2k − z_2k+1|        z: (N, z_dim)
//     L_ms    = weight · mean_k 1 / (ratio_k + ε)
//
// X is either the tri-planes (N, 3·C, H, W), the 3D representation itself, whose distance does not depend on the
// cameras drawn for the pair (the planes see the conditioning camera only through EG3D's mapping), or the images
// (N, 3, H, W) as MSGAN has it, which needs both samples of a pair rendered from the same camera (the trainer's
// `pairedCameras`). 1/(ratio + ε) is MSGAN's form: its gradient grows as a pair's samples draw together.
import TensorCore
import TriPlaneGAN

public struct ModeSeekingLoss {
    /// What the distance is taken on (`--mode-seeking-on`).
    public enum Space: String, Sendable { case planes, images }
    /// The loss weight (`--mode-seeking W`).
    public var weight: Float
    public var space: Space
    /// MSGAN's ε.
    public var epsilon: Float = 1e-5

    public init(weight: Float, space: Space = .planes) { self.weight = weight; self.space = space }

    /// The term on a Gmain output: its tri-planes or its (super-resolved) images, by `space`.
    public func callAsFunction(_ out: GeneratorOutput, z: Tensor) -> (loss: Tensor, report: [String: Double]) {
        self(space == .planes ? out.planes : out.image, z: z, ratioKey: "variety/\(space == .planes ? "plane" : "image")_ratio")
    }

    /// - Parameters: x (N, …) with a graph to the trained parameters (planes (N, 3·C, H, W) or images); z (N, z_dim).
    ///   Samples 2k and 2k+1 must share their prompt (and, for images, their camera); an odd last sample is left out.
    /// - Returns: the weighted loss (a constant zero when N < 2) and the values to report (the unweighted loss and
    ///   the mean ratio, a collapse gauge: it falls as a prompt's seeds draw together).
    public func callAsFunction(_ x: Tensor, z: Tensor, ratioKey: String = "variety/ratio") -> (loss: Tensor, report: [String: Double]) {
        require(x.rank >= 2 && z.rank == 2 && x.shape[0] == z.shape[0],
                "ModeSeekingLoss: x (N, …) and z (N, z_dim) must share N, got \(x.shape) and \(z.shape)")
        let pairs = x.shape[0] / 2
        guard pairs >= 1 else { return (Tensor.zeros([]), [:]) }
        func distances(_ x: Tensor) -> Tensor {                                     // (2·pairs, …) -> (pairs)
            let m = x.count / x.shape[0]
            let p = x.slice(axis: 0, start: 0, end: 2 * pairs).contiguous().reshape([pairs, 2, m])
            return (p.slice(axis: 1, start: 0, end: 1) - p.slice(axis: 1, start: 1, end: 2)).abs().mean(axes: [1, 2])
        }
        let dz = withNoGrad { distances(z) }                                         // (pairs)
        let ratio = distances(x) / dz                                           // (pairs)
        let term = (1 / (ratio + epsilon)).mean()                                    // scalar
        let report = ["G/mode_seeking": Double(term.item()),
                      ratioKey: Double(ratio.detach().mean().item())]
        return (term * weight, report)
    }

    /// Rows 2k + 1 replaced by rows 2k (an odd last row kept): the cameras of a batch drawn in pairs.
    // x: (N, …) -> (N, …)
    public static func pairRows(_ x: Tensor) -> Tensor {
        let n = x.shape[0]
        return x.indexSelect(axis: 0, Tensor((0..<n).map { Float($0 - $0 % 2) }, shape: [n]))
    }

    /// The prompts of a batch of n made pairwise equal: draws ⌈n/2⌉ prompts and gives each to samples 2k and 2k+1.
    public static func paired<T>(_ n: Int, _ draw: (Int) -> [T]) -> [T] {
        let distinct = draw((n + 1) / 2)
        return (0..<n).map { distinct[$0 / 2] }
    }
}

