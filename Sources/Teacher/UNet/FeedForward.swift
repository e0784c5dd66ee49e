// diffusers FeedForward with GEGLU or GELU (models/attention.py, models/activations.py): net.0 projects to the
// inner size (GEGLU: one linear to 2 × inner, split into hidden and gate, hidden · gelu(gate)), net.1 is dropout
// (no weights), net.2 projects back.
import TensorCore

/// diffusers GEGLU / GELU activation blocks: `proj` then the gated or plain GELU. (…, dimIn) -> (…, dimOut).
public final class GatedGELU: Module {
    public let proj: Linear
    public let gated: Bool
    public let approximate: Tensor.GELUApproximation

    public init(dimIn: Int, dimOut: Int, gated: Bool, approximate: Tensor.GELUApproximation = .none, bias: Bool = true,
                rng: RandomGenerator) {
        proj = Linear(dimIn, gated ? 2 * dimOut : dimOut, bias: bias, rng: rng)
        self.gated = gated
        self.approximate = approximate
        super.init()
        registerModule("proj", proj)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let h = proj(x)
        guard gated else { return h.gelu(approximate: approximate) }
        return h.geglu(approximate: approximate)  // hidden, gate = h.chunk(2, -1); hidden · gelu(gate)
    }
}

/// diffusers FeedForward(dim, dim_out, mult=4, activation_fn, inner_dim, bias). (…, dim) -> (…, dimOut).
public final class FeedForward: Module {
    /// diffusers' activation_fn names this supports.
    public enum ActivationKind: String, Sendable {
        case geglu, gegluApproximate = "geglu-approximate", gelu, geluApproximate = "gelu-approximate"
    }
    public let act: GatedGELU
    public let out: Linear

    public init(dim: Int, dimOut: Int? = nil, mult: Int = 4, activation: ActivationKind = .geglu, innerDim: Int? = nil,
                bias: Bool = true, rng: RandomGenerator) {
        let inner = innerDim ?? dim * mult
        let gated = activation == .geglu || activation == .gegluApproximate
        let approx: Tensor.GELUApproximation = activation == .gegluApproximate || activation == .geluApproximate ? .tanh : .none
        act = GatedGELU(dimIn: dim, dimOut: inner, gated: gated, approximate: approx, bias: bias, rng: rng)
        out = Linear(inner, dimOut ?? dim, bias: bias, rng: rng)
        super.init()
        registerModule("net", ModuleGroup([("0", act), ("2", out)]))
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { out(act(x)) }
}
