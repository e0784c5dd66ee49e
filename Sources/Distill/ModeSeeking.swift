// Mode seeking (ours; the paper has no such term): MSGAN's regulariser (Mao et al., "Mode Seeking Generative
// Adversarial Networks for Diverse Image Synthesis", CVPR 2019) against the failure DreamPortrait names itself,
// one portrait per prompt (method doc §1). EG3D's D judges one image at a time, so it cannot see that every seed of
// a prompt gives the same face, and D-SDS is lowest at the teacher's mode; our stage-2 runs lose the seeds' variety
// as the text path learns (README, Training). MSGAN asks the generator to keep distances between two latents of the
// same condition: with samples 2k and 2k+1 drawn for the same prompt,
//
//     ratio_k = mean|P_2k − P_2k+1| / mean|z_2k − z_2k+1|        P: the tri-planes (N, 3·C, H, W), z: (N, z_dim)
//     L_ms    = weight · mean_k 1 / (ratio_k + ε)
//
// The tri-planes are the 3D representation itself, so the distance does not depend on the cameras drawn for the pair
// (the planes see the conditioning camera only through EG3D's mapping). 1/(ratio + ε) is MSGAN's form: its
// gradient grows as a pair's planes draw together.
import TensorCore

public struct ModeSeekingLoss {
    /// The loss weight (`--mode-seeking W`).
    public var weight: Float
    /// MSGAN's ε.
    public var epsilon: Float = 1e-5

    public init(weight: Float) { self.weight = weight }

    /// - Parameters: planes (N, 3·C, H, W) with a graph to the trained parameters; z (N, z_dim). Samples 2k and 2k+1
    ///   must share their prompt; an odd last sample is left out.
    /// - Returns: the weighted loss (a constant zero when N < 2) and the values to report (the unweighted loss and
    ///   the mean ratio, a collapse gauge: it falls as a prompt's seeds draw together).
    public func callAsFunction(planes: Tensor, z: Tensor) -> (loss: Tensor, report: [String: Double]) {
        require(planes.rank == 4 && z.rank == 2 && planes.shape[0] == z.shape[0],
                "ModeSeekingLoss: planes (N, 3·C, H, W) and z (N, z_dim) must share N, got \(planes.shape) and \(z.shape)")
        let pairs = planes.shape[0] / 2
        guard pairs >= 1 else { return (Tensor.zeros([]), [:]) }
        func distances(_ x: Tensor) -> Tensor {                                     // (2·pairs, …) -> (pairs)
            let m = x.count / x.shape[0]
            let p = x.slice(axis: 0, start: 0, end: 2 * pairs).contiguous().reshape([pairs, 2, m])
            return (p.slice(axis: 1, start: 0, end: 1) - p.slice(axis: 1, start: 1, end: 2)).abs().mean(axes: [1, 2])
        }
        let dz = withNoGrad { distances(z) }                                         // (pairs)
        let ratio = distances(planes) / dz                                           // (pairs)
        let term = (1 / (ratio + epsilon)).mean()                                    // scalar
        let report = ["G/mode_seeking": Double(term.item()),
                      "variety/plane_ratio": Double(ratio.detach().mean().item())]
        return (term * weight, report)
    }

    /// The prompts of a batch of n made pairwise equal: draws ⌈n/2⌉ prompts and gives each to samples 2k and 2k+1.
    public static func paired<T>(_ n: Int, _ draw: (Int) -> [T]) -> [T] {
        let distinct = draw((n + 1) / 2)
        return (0..<n).map { distinct[$0 / 2] }
    }
}
