// networks_stylegan2.py modulated_conv2d, with conv2d_resample's cases (A) no resampling and (B) up = 2
// (torch_utils/ops/conv2d_resample.py; spec §2.6, §2.7). Two executions of the same function:
//   fused:   one (grouped, groups = N) convolution with per-sample weights W·s·d, as EG3D at inference;
//   unfused: conv(x·s, W)·d, as EG3D while training.
// Both are plain TensorCore ops, so gradients of any order flow to x, the weight and the styles.
import TensorCore

/// How a modulated convolution is executed. Both give the same function; only speed and rounding differ.
public enum ModulationExecution: Sendable {
    /// Unfused for a batch (N > 1), as EG3D trains: one convolution of the whole batch with the shared weight
    /// runs the dense kernels (Winograd for 3×3), where N groups of one image each do not; a world128 training
    /// iteration (batch 8, one thread) took 3.35–3.50 s fused against 2.43–2.77 s unfused. For one image the two
    /// are one dense convolution either way, and it is fused when the per-sample weights are smaller than the
    /// activations the unfused form scales (O·I·k² ≤ I·H·W + O·H'·W'): the high-resolution layers.
    case automatic
    /// One grouped convolution with the modulated, demodulated weights.
    case fused
    /// Scale the input by the styles, convolve with the shared weight, scale the output by the demodulation.
    case unfused
}

/// Demodulation coefficients d[n, o] = (Σ_{i,a,b} (W[o,i,a,b]·s[n,i])² + 1e-8)^(−1/2), computed as
/// s² · (Σ_ab W²)ᵀ: one (N, I)·(I, O) product instead of a pass over the (N, O, I, k, k) weights.
// weight: (O, I, k, k), styles: (N, I) -> (N, O)
public func demodulationCoefficients(weight: Tensor, styles: Tensor) -> Tensor {
    let wsq = (weight * weight).sum(axes: [2, 3])          // (O, I)
    return ((styles * styles).matmul(wsq.transpose(0, 1)) + 1e-8).rsqrt()
}

/// StyleGAN2's modulated convolution: y[n] = conv(x[n], W·s[n] (·d[n] if demodulate)) + noise.
/// - Parameters:
///   - x: (N, I, H, W).
///   - weight: (O, I, k, k), raw (no fan-in gain).
///   - styles: (N, I).
///   - noise: broadcastable to the output, added after demodulation; nil for none.
///   - up: 1 (case A: cross-correlation, zero padding k/2) or 2 (case B: transposed convolution stride 2
///     with the weight as [I, O, k, k], then the FIR `resampleFilter` with padding and gain 4).
///   - resampleFilter: the (4, 4) FIR filter; required when up = 2.
/// - Returns: (N, O, H·up, W·up).
public func modulatedConv2d(_ x: Tensor, weight: Tensor, styles: Tensor, noise: Tensor? = nil, up: Int = 1,
                            resampleFilter: Tensor? = nil, demodulate: Bool = true,
                            execution: ModulationExecution = .automatic) -> Tensor {
    require(weight.rank == 4 && weight.shape[2] == weight.shape[3], "modulated_conv2d: weight must be (O, I, k, k), got \(weight.shape)")
    let (o, i, k) = (weight.shape[0], weight.shape[1], weight.shape[2])
    require(x.rank == 4 && x.shape[1] == i, "modulated_conv2d: input \(x.shape) must be (N, \(i), H, W) for weight \(weight.shape)")
    let (n, h, w) = (x.shape[0], x.shape[2], x.shape[3])
    require(styles.shape == [n, i], "modulated_conv2d: styles must be (\(n), \(i)), got \(styles.shape)")
    require(up == 1 || up == 2, "modulated_conv2d: up must be 1 or 2, got \(up)")
    require(up == 1 || (resampleFilter?.shape == [4, 4]), "modulated_conv2d: up = 2 needs the (4, 4) resample filter")
    let fused: Bool
    switch execution {
    case .fused: fused = true
    case .unfused: fused = false
    case .automatic: fused = n == 1 && o * i * k * k <= i * h * w + o * h * w * up * up
    }
    let d = demodulate ? demodulationCoefficients(weight: weight, styles: styles) : nil   // (N, O)

    var y: Tensor
    if fused {
        // Per-sample weights W[o, i]·s[n, i]·d[n, o], stacked as N groups of a grouped convolution.
        let coef = d.map { ($0.reshape([n, o, 1]) * styles.reshape([n, 1, i])).reshape([n, o, i, 1, 1]) }
            ?? styles.reshape([n, 1, i, 1, 1])
        let wn = weight.unsqueeze(0) * coef                                  // (N, O, I, k, k)
        let xg = x.reshape([1, n * i, h, w])
        if up == 1 {
            y = conv2d(xg, wn.reshape([n * o, i, k, k]), padding: (k / 2, k / 2), groups: n)
        } else {
            // conv_transpose2d takes [in, out/groups, k, k] per group: (N, I, O, k, k) -> (N·I, O, k, k).
            y = upConvolution(xg, wn.transpose(1, 2).reshape([n * i, o, k, k]), k: k, groups: n, filter: resampleFilter!)
        }
        y = y.reshape([n, o, y.shape[2], y.shape[3]])
        if let noise { y = y + noise }
    } else {
        let xs = x * styles.reshape([n, i, 1, 1])
        if up == 1 {
            y = conv2d(xs, weight, padding: (k / 2, k / 2))
        } else {
            y = upConvolution(xs, weight.transpose(0, 1), k: k, groups: 1, filter: resampleFilter!)
        }
        if let d { y = y * d.reshape([n, o, 1, 1]) }
        if let noise { y = y + noise }
    }
    return y
}

/// conv2d_resample with up = 2, padding k/2 and flip_weight = False (spec §2.6 B): transposed convolution,
/// stride 2, weight used as [in, out, k, k] without flipping, then upfirdn2d with the FIR filter, gain 4.
// x: (N, Cin, H, W), w: (Cin, Cout/groups, k, k) -> (N, Cout, 2H, 2W)
func upConvolution(_ x: Tensor, _ w: Tensor, k: Int, groups: Int, filter: Tensor) -> Tensor {
    let up = 2, fw = filter.shape[1], p = k / 2
    // conv2d_resample's padding bookkeeping: pad around the upsampled image, less what the transposed
    // convolution already covers.
    let p0 = p + (fw + up - 1) / 2 - (k - 1), p1 = p + (fw - up) / 2 - (k - up)
    let pt = Swift.max(Swift.min(-p0, -p1), 0)
    let y = convTranspose2d(x, w, stride: (up, up), padding: (pt, pt), groups: groups)
    return upfirdn2d(y, filter, padding: (p0 + pt, p1 + pt, p0 + pt, p1 + pt), gain: Float(up * up))
}
