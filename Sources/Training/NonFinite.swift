// The non-finite guard: a loss or gradient that is NaN or infinite never reaches an optimiser step or a
// checkpoint. Tasks call `checkFinite` before stepping; the loop turns the error into a message naming the
// loss, the step and the last good checkpoint.
import TensorCore

public struct NonFiniteError: Error, CustomStringConvertible {
    /// What was not finite ("loss/Dmain", "grad/G.backbone.b4.conv1.weight").
    public let name: String
    public let step: Int
    public var lastCheckpoint: String?
    public var description: String {
        "step \(step): \(name) is not finite; the step was refused" + (lastCheckpoint.map { ". Last good checkpoint: \($0)" } ?? " (no checkpoint written yet)")
    }
}

/// Throws when `value` is NaN or infinite.
public func checkFinite(_ name: String, _ value: Double, step: Int) throws {
    if !value.isFinite { throw NonFiniteError(name: name, step: step) }
}

/// Throws naming the first parameter whose gradient holds a NaN or an infinity.
public func checkFiniteGradients(_ named: [(String, Tensor)], prefix: String, step: Int) throws {
    for (name, p) in named {
        guard let g = p.grad else { continue }
        let c = withNoGrad { g.contiguous() }
        let d = c.data
        var bad = false
        for i in 0..<c.count where !d[i].isFinite { bad = true; break }
        if bad { throw NonFiniteError(name: "grad/\(prefix)\(name)", step: step) }
    }
}
