// What every teacher trainer shares: the batches it draws from a world split (per-epoch orders keyed by the
// seed, so a resumed run draws the same batches), and checkpoints of its networks with their Adam state.
import TensorCore
import Training

/// The data side of a trainer: `size` images a step from `bank` for `steps` steps.
public struct WorldBatches {
    public let bank: WorldImageBank
    public let size: Int, steps: Int
    public let random: StepRandom
    var order: DataOrder

    public init(bank: WorldImageBank, size: Int, steps: Int, seed: UInt64) {
        self.bank = bank; self.size = size; self.steps = steps
        random = StepRandom(seed: seed)
        order = DataOrder(random: random, count: bank.count)
    }

    /// The images of step `step`.
    public mutating func indices(_ step: Int) -> [Int] { order.batch(step: step, size: size) }
}

/// Checkpoint files of networks (by file name) and their optimiser ("adam").
func checkpointFiles(_ networks: [String: Module], _ adam: Adam) -> [String: [String: Tensor]] {
    var files = networks.mapValues { $0.stateDict() }
    files["adam"] = adam.stateDict()
    return files
}

/// Restores `checkpointFiles`' output, naming what the checkpoint lacks.
func restoreFiles(_ c: Checkpoint, _ networks: [String: Module], _ adam: Adam) throws {
    let missing = (Array(networks.keys) + ["adam"]).filter { c.files[$0] == nil }.sorted()
    guard missing.isEmpty else {
        throw FileError(path: "checkpoint at step \(c.step)", message: "has no \(missing.joined(separator: ", ")) file")
    }
    for (name, m) in networks { try m.load(c.files[name]!) }
    try adam.loadStateDict(c.files["adam"]!)
}

/// One optimiser step on `loss` for `model`: a non-finite loss or gradient is refused by name (nothing is
/// stepped), every group's learning rate is set to `lr` (times `groupScales[i]` when given), gradients are clipped
/// to `maxNorm` when given. Returns the loss value.
func optimise(_ loss: Tensor, name: String, model: Module, adam: Adam, lr: Double, step: Int, maxNorm: Double? = nil,
              groupScales: [Double]? = nil) throws -> Double {
    let value = Double(loss.item())
    try checkFinite(name, value, step: step)
    for i in adam.groups.indices { adam.groups[i].lr = lr * (groupScales?[i] ?? 1) }
    adam.zeroGrad()
    loss.backward()
    try checkFiniteGradients(model.namedParameters(), prefix: "", step: step)
    if let maxNorm { clipGradNorm(model.parameters(), maxNorm: maxNorm) }
    adam.step()
    return value
}
