// Generator pose conditioning with swapping (training/loss.py run_G and the Greg branch; eg3d-spec §12.3):
// the mapping network sees the neighbouring sample's camera (torch.roll(c, 1, 0)) with probability
// swap_prob, else the sample's own; without pose conditioning (gpc_reg_prob None) it sees zeros.
import TensorCore

public enum PoseConditioning {
    /// c_cond per sample: row i is c[i−1 mod N] where uniforms[i] < swapProb, else c[i]; zeros when swapProb is nil.
    /// - Parameters: c (N, 25) the rendering cameras; uniforms (N) draws in [0, 1) (torch.rand((N, 1))).
    public static func perSample(_ c: Tensor, uniforms: Tensor, swapProbability: Double?) -> Tensor {
        guard let p = swapProbability else { return Tensor.zeros(c.shape) }
        let n = c.shape[0]
        require(uniforms.count == n, "PoseConditioning: \(uniforms.count) swap draws for a batch of \(n)")
        let u = uniforms.toArray()
        let rows = (0..<n).map { i -> Tensor in
            let src = u[i] < Float(p) ? (i + n - 1) % n : i
            return c.slice(axis: 0, start: src, end: src + 1)
        }
        return Tensor.concat(rows, axis: 0).detach()
    }

    /// The density regulariser's c_cond: one draw for the whole batch (torch.rand([])).
    public static func wholeBatch(_ c: Tensor, uniform: Float, swapProbability: Double?) -> Tensor {
        guard let p = swapProbability else { return Tensor.zeros(c.shape) }
        let n = c.shape[0]
        guard uniform < Float(p), n > 1 else { return c }   // float32 comparison, as torch
        return Tensor.concat([c.slice(axis: 0, start: n - 1, end: n), c.slice(axis: 0, start: 0, end: n - 1)], axis: 0)
            .contiguous().detach()
    }
}
