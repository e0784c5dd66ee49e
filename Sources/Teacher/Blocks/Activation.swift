// diffusers' get_activation (models/activations.py): the activation functions named in configs
// ("silu"/"swish", "gelu", "relu", "mish"), parsed with an error that names the unsupported value.
import TensorCore

public enum Activation: String, Codable, Sendable {
    case silu, swish, gelu, relu, mish

    /// Parses a diffusers activation name; `what` names the config field for the error.
    public init(name: String, what: String = "activation") throws {
        guard let a = Activation(rawValue: name) else {
            throw UnsupportedConfig(message: "\(what) \"\(name)\" is not supported (supported: silu, swish, gelu, relu, mish)")
        }
        self = a
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .silu, .swish: return x.silu()
        case .gelu: return x.gelu()
        case .relu: return x.relu()
        case .mish: return x * x.softplus().tanh()
        }
    }
}

/// A configuration option this implementation does not support, named in the message.
public struct UnsupportedConfig: Error, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

extension Module {
    /// Marks every parameter as not requiring a gradient (a frozen teacher: no graph is recorded for its
    /// weights, while gradients with respect to its inputs still flow), or back.
    public func setRequiresGrad(_ on: Bool) {
        for p in parameters() { p.requiresGrad = on }
    }
}
