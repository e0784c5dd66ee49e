// Volume compositing (spec §8.4): MipRayMarcher2.run_forward of
// eg3d/training/volumetric_rendering/ray_marcher.py, built from TensorCore ops (differentiable). The
// inference path composites the same way inside FusedRenderer.swift.
//
// Per interval k between sorted samples k and k+1: δ = t₍k+1₎ − t_k; the colours, the RAW densities and the depths
// are averaged; σ̄ = softplus(mean raw σ − 1) (the −1 before the activation); α = 1 − exp(−σ̄δ);
// T_k = Π_{j<k}(1 − α_j + 1e-10); w = α·T. The depth Σw·t̄/Σw turns NaN into +inf and is clamped to the
// min/max of ALL the depths passed in (every ray of every image), and the feature is rescaled by ·2 − 1.
import TensorCore

public enum RayMarcher {
    /// - Parameters:
    ///   - colors: (N, M, S, C) per-sample features.
    ///   - densities: (N, M, S, 1) raw σ.
    ///   - depths: (N, M, S, 1) sample depths, ascending along each ray.
    ///   - whiteBack: add 1 − Σw to the feature before the rescale.
    /// - Returns: feature (N, M, C) = 2·Σw·c̄ − 1, depth (N, M, 1), weights (N, M, S − 1, 1).
    public static func march(colors: Tensor, densities: Tensor, depths: Tensor, whiteBack: Bool = false)
        -> (feature: Tensor, depth: Tensor, weights: Tensor) {
        require(colors.rank == 4 && densities.rank == 4 && depths.rank == 4 && densities.shape.last == 1
                    && depths.shape.last == 1 && Array(colors.shape.prefix(3)) == Array(densities.shape.prefix(3))
                    && densities.shape == depths.shape && colors.shape[2] >= 2,
                "RayMarcher: need colors (N, M, S, C), densities and depths (N, M, S, 1) with S >= 2, got "
                    + "\(colors.shape), \(densities.shape), \(depths.shape)")
        func lower(_ x: Tensor) -> Tensor { x.slice(axis: 2, start: 0, end: x.shape[2] - 1) }
        func upper(_ x: Tensor) -> Tensor { x.slice(axis: 2, start: 1) }
        let deltas = upper(depths) - lower(depths)
        let colorsMid = (lower(colors) + upper(colors)) / 2
        let densitiesMid = ((lower(densities) + upper(densities)) / 2 - 1).softplus()
        let depthsMid = (lower(depths) + upper(depths)) / 2
        let alpha = 1 - (-(densitiesMid * deltas)).exp()
        let ones = Tensor.ones([alpha.shape[0], alpha.shape[1], 1, 1])
        let shifted = Tensor.concat([ones, (1 - alpha) + 1e-10], axis: 2)
        let transmittance = shifted.cumprod(axis: 2)
        let weights = alpha * transmittance.slice(axis: 2, start: 0, end: transmittance.shape[2] - 1)

        var feature = (weights * colorsMid).sum(axis: 2)
        let total = weights.sum(axis: 2)
        var depth = (weights * depthsMid).sum(axis: 2) / total
        // nan_to_num(·, inf), then the clamp to the global depth range (no gradient through the bounds).
        let (lo, hi) = withNoGrad { () -> (Float, Float) in (depths.min().item(), depths.max().item()) }
        depth = Tensor.where(depth.ne(depth), Tensor(scalar: .infinity), depth).clamp(min: lo, max: hi)
        if whiteBack { feature = feature + 1 - total }
        feature = feature * 2 - 1
        return (feature, depth, weights)
    }
}
