// The text conditioning DreamPortrait adds to a pre-trained EG3D generator: the Hierarchical Latent Condition of
// §3.2 (global: the semantics mapping network; local: the 3D-aware gated cross-attention adapters of §3.3, placed
// as Appendix A / Fig. 11a), as our method doc (docs/dreamportrait-method.md) §3-4 fixes it. Everything here is
// the identity at initialisation, so a fresh conditioning reproduces the pre-trained EG3D exactly (§6 stage 1).
import TensorCore

/// An ordered list of adapters whose checkpoint keys are their indices (`0.proj_in.weight`, …), as torch.nn.ModuleList.
public final class AdapterList: Module {
    public let items: [GatedCrossAttentionAdapter]

    public init(_ items: [GatedCrossAttentionAdapter]) {
        self.items = items
        super.init()
        for (i, a) in items.enumerated() { registerModule(String(i), a) }
    }
}

/// The trainable text conditioning of a DreamPortrait generator: `semantics_mapping` (global) and `adapters.<i>`
/// (local, one per placement, in placement order). These are the checkpoint keys, e.g.
/// `semantics_mapping.fuse.weight`, `adapters.0.gamma`.
///
/// Wiring into EG3D's generator (the synthesis network calls these; see `AdapterPlacement` for the insertion point):
///
///     ws  = mapping(z, c, ψ, cutoff)                           // (N, num_ws, w_dim), EG3D, untouched
///     ws  = conditioning.mapWS(ws, text: text)                 // w_t for every synthesis and SR layer
///     for each synthesis block b at resolution r:
///         x = b.conv1(b.conv0(x, ws…), ws…)
///         x = conditioning.adapt(x, afterBlock: r, text: text) // identity where no adapter is placed
///         img = upsample2d(img) + b.torgb(x, ws…)
public final class DreamPortraitConditioning: Module {
    public let config: ConditioningConfig
    public let semanticsMapping: SemanticsMappingNetwork
    public let adapters: AdapterList

    public init(_ config: ConditioningConfig, rng: RandomGenerator) {
        AdapterPlacement.validate(config.placements)
        self.config = config
        semanticsMapping = SemanticsMappingNetwork(config.semanticsMapping, rng: rng)
        adapters = AdapterList(config.placements.map { GatedCrossAttentionAdapter(config.adapter($0), rng: rng) })
        super.init()
        registerModule("semantics_mapping", semanticsMapping)
        registerModule("adapters", adapters)
    }

    /// The adapter run after the block at `resolution`, if one is placed there.
    public func adapter(afterBlock resolution: Int) -> GatedCrossAttentionAdapter? {
        config.placements.firstIndex { $0.resolution == resolution }.map { adapters.items[$0] }
    }

    /// The global injection: ws (N, num_ws, wDim) or (N, wDim) -> w_t of the same shape (per row; see
    /// `SemanticsMappingNetwork.callAsFunction`).
    public func mapWS(_ ws: Tensor, text: TextConditioning) -> Tensor {
        semanticsMapping(ws, eot: text.eot)
    }

    /// The local injection after the block at `resolution`: x (N, C, r, r) -> (N, C, r, r); returns x itself
    /// when no adapter is placed at that resolution.
    public func adapt(_ x: Tensor, afterBlock resolution: Int, text: TextConditioning) -> Tensor {
        guard let a = adapter(afterBlock: resolution) else { return x }
        require(x.rank == 4 && x.shape[2] == resolution && x.shape[3] == resolution,
                "DreamPortraitConditioning: the block at \(resolution)² gave x \(x.shape), expected (N, C, \(resolution), \(resolution))")
        return a(x, text: text)
    }

    /// The two injection paths of §3.2, for diagnostics that switch one off.
    public enum Path: String, CaseIterable, Sendable { case global, adapters }

    /// Switches a path off in place, so that the other conditions the generator alone: `.global` zeroes Fuse (w_t = w),
    /// `.adapters` zeroes every adapter's proj_out (each adapter returns its input, gated or not). Both are the
    /// identity states the paths start from, so a model with both off is its wrapped EG3D.
    public func switchOff(_ path: Path) { scale(path, by: 0) }

    /// Scales what a path adds, in place: `.global` multiplies Fuse's weight and bias by s (w_t = w + s · Fuse(…)),
    /// `.adapters` every adapter's proj_out (x + s · proj_out(…)); both are linear in those parameters, so this is the
    /// path's contribution times s exactly. s = 0 is `switchOff`, s = 1 the model as trained; s > 1 exaggerates what the
    /// text changes (`eval --text-scale`, a diagnostic of whether the text path points the right way but too weakly).
    public func scale(_ path: Path, by s: Float) {
        let tensors: [Tensor]
        switch path {
        case .global: tensors = [semanticsMapping.fuse.weight] + (semanticsMapping.fuse.bias.map { [$0] } ?? [])
        case .adapters: tensors = adapters.items.flatMap { [$0.projOut.weight, $0.projOut.bias] }
        }
        for t in tensors {
            if s == 0 { t.data.update(repeating: 0, count: t.count) } else { for i in 0..<t.count { t.data[i] *= s } }
        }
    }
}
