// The blur fade-in of the images D sees (training/loss.py run_D and accumulate_gradients; eg3d-spec §12.4):
// a separable filter f[k] = 2^(−(k/σ)²) (base 2, not a Gaussian's e^(−k²/2σ²)) for k ∈ [−⌊3σ⌋, ⌊3σ⌋], normalised,
// applied with upfirdn2d.filter2d (same size, zero padding). It blurs the super-resolved image of real and fake
// inputs inside run_D, and the real raw image (blur_raw_target); the fake raw image is not blurred.
import Foundation
import TensorCore

public enum DiscriminatorBlur {
    /// The normalised taps for σ, or nil when ⌊3σ⌋ = 0 (no blur). Computed in Float32 as torch does
    /// (arange(−s, s + 1).div(σ).square().neg().exp2(), then f / f.sum()).
    public static func taps(sigma: Float) -> Tensor? {
        let size = Foundation.floor(Double(sigma) * 3)
        guard size > 0 else { return nil }
        let s = Int(size)
        var f = (-s ... s).map { k -> Float in
            let q = Float(k) / sigma
            return Foundation.exp2(-(q * q))
        }
        var total: Float = 0
        for v in f { total += v }          // torch's float32 sum (exact enough: ≤ 61 positive terms)
        f = f.map { $0 / total }
        return Tensor(f, shape: [f.count])
    }

    /// Blurs (N, C, H, W) images with σ (identity when ⌊3σ⌋ = 0). Differentiable to any order.
    public static func apply(_ x: Tensor, sigma: Float) -> Tensor {
        guard let f = taps(sigma: sigma) else { return x }
        return filter2d(x, f)
    }
}
