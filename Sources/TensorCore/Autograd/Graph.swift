// Reverse-mode autograd, recorded as ops run (micrograd's closure per op; tinygrad's needs_input_grad).
//
// Every backward closure is written with TensorCore ops. When `createGraph` is false the walk runs in a
// no-grad scope, so those ops record nothing and cost nothing extra; when it is true they are recorded,
// and the gradients they return are themselves differentiable (EG3D's R1 penalty needs that).

/// One recorded op: its inputs and a closure mapping the output's cotangent to the inputs' cotangents.
public final class Node {
    public let op: String
    let inputs: [Tensor]
    /// (cotangent of the output, which inputs need a gradient) -> one cotangent per input (nil: none).
    /// A returned cotangent may have the output's broadcast shape; the walk sums it back to the input's shape.
    let backward: (Tensor, [Bool]) -> [Tensor?]

    init(op: String, inputs: [Tensor], backward: @escaping (Tensor, [Bool]) -> [Tensor?]) {
        self.op = op
        self.inputs = inputs
        self.backward = backward
    }
}

public enum GradMode {
    nonisolated(unsafe) public private(set) static var isEnabled = true

    /// Runs `body` with recording switched on or off, restoring the previous mode afterwards.
    public static func with<T>(enabled: Bool, _ body: () throws -> T) rethrows -> T {
        let saved = isEnabled
        isEnabled = enabled
        defer { isEnabled = saved }
        return try body()
    }
}

/// Inference scope: ops inside record no graph (PyTorch's `torch.no_grad()`).
public func withNoGrad<T>(_ body: () throws -> T) rethrows -> T {
    try GradMode.with(enabled: false, body)
}

extension Tensor {
    /// Attaches the op that produced `self` when recording is on and some input requires a gradient.
    /// Ops call this last: `return out.recorded("mul", [a, b]) { g, needs in [...] }`.
    @discardableResult
    public func recorded(_ op: String, _ inputs: [Tensor], _ backward: @escaping (Tensor, [Bool]) -> [Tensor?]) -> Tensor {
        if GradMode.isEnabled && inputs.contains(where: { $0.requiresGrad }) {
            requiresGrad = true
            node = Node(op: op, inputs: inputs, backward: backward)
        }
        return self
    }

    /// The same values, cut from the graph.
    public func detach() -> Tensor {
        Tensor(storage: storage, shape: shape, strides: strides, offset: offset)
    }

    /// Accumulates d(self)/d(leaf) into every leaf's `grad`. `self` must be a scalar unless `seed` is given.
    public func backward(seed: Tensor? = nil, createGraph: Bool = false, retainGraph: Bool? = nil) {
        require(seed != nil || count == 1, "backward: output has shape \(shape); pass a seed for non-scalar outputs")
        let g = seed ?? Tensor.ones(shape)
        let leaves = Autograd.run(root: self, seed: g, targets: nil, createGraph: createGraph,
                                  retainGraph: retainGraph ?? createGraph)
        GradMode.with(enabled: createGraph) {
            for (leaf, grad) in leaves {
                leaf.grad = leaf.grad.map { $0 + grad } ?? grad
            }
        }
    }
}

/// The gradients of `output` with respect to `inputs` (PyTorch's `torch.autograd.grad`). Leaves' `grad`
/// fields are not touched. With `createGraph`, the results are differentiable.
public func gradients(of output: Tensor, wrt inputs: [Tensor], seed: Tensor? = nil,
                      createGraph: Bool = false, retainGraph: Bool? = nil) -> [Tensor] {
    require(seed != nil || output.count == 1, "gradients: output has shape \(output.shape); pass a seed")
    let g = seed ?? Tensor.ones(output.shape)
    let found = Autograd.run(root: output, seed: g, targets: inputs, createGraph: createGraph,
                             retainGraph: retainGraph ?? createGraph)
    var byID: [ObjectIdentifier: Tensor] = [:]
    for (t, grad) in found { byID[ObjectIdentifier(t)] = grad }
    return inputs.map { byID[ObjectIdentifier($0)] ?? Tensor.zeros($0.shape) }
}

enum Autograd {
    /// Post-order (inputs before outputs) over tensors that require a gradient, iteratively (no recursion).
    static func topologicalOrder(_ root: Tensor) -> [Tensor] {
        var order: [Tensor] = []
        var seen = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(root, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded { order.append(t); continue }
            if !seen.insert(ObjectIdentifier(t)).inserted { continue }
            stack.append((t, true))
            if let node = t.node {
                for inp in node.inputs where inp.requiresGrad && !seen.contains(ObjectIdentifier(inp)) {
                    stack.append((inp, false))
                }
            }
        }
        return order
    }

    /// Walks the graph backwards from `root`. Returns the cotangents of `targets` (or of every leaf when
    /// `targets` is nil). Cotangents are dropped as soon as they are consumed.
    static func run(root: Tensor, seed: Tensor, targets: [Tensor]?, createGraph: Bool, retainGraph: Bool) -> [(Tensor, Tensor)] {
        require(seed.shape == root.shape, "backward: seed \(seed.shape) does not match output \(root.shape)")
        guard root.requiresGrad else { return [] }
        // Optional slots so that each tensor is let go once its node has run (below): with the whole order held to
        // the end, every activation of the forward pass stayed alive through the backward pass (PyTorch frees saved
        // tensors as it goes; so do we, unless the graph is retained).
        var order: [Tensor?] = topologicalOrder(root)
        let targetIDs = targets.map { Set($0.map(ObjectIdentifier.init)) }

        // Which tensors lead to a wanted gradient: skip every other branch (EG3D's no_weight_gradients).
        var leads = Set<ObjectIdentifier>()
        for case let t? in order {
            let id = ObjectIdentifier(t)
            if let ids = targetIDs { if ids.contains(id) { leads.insert(id); continue } }
            else if t.node == nil { leads.insert(id); continue }
            if let node = t.node, node.inputs.contains(where: { leads.contains(ObjectIdentifier($0)) }) { leads.insert(id) }
        }

        var cotangents: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): seed]
        var results: [(Tensor, Tensor)] = []
        GradMode.with(enabled: createGraph) {
            for k in order.indices.reversed() {
                guard let t = order[k] else { continue }
                if !retainGraph { order[k] = nil }
                let id = ObjectIdentifier(t)
                guard let g = cotangents.removeValue(forKey: id) else { continue }
                if targetIDs?.contains(id) ?? (t.node == nil) { results.append((t, g)) }
                guard let node = t.node else { continue }
                let needs = node.inputs.map { $0.requiresGrad && leads.contains(ObjectIdentifier($0)) }
                if needs.contains(true) {
                    let grads = node.backward(g, needs)
                    require(grads.count == node.inputs.count, "backward of \(node.op): \(grads.count) gradients for \(node.inputs.count) inputs")
                    for (i, inp) in node.inputs.enumerated() where needs[i] {
                        guard let gi = grads[i] else { continue }
                        let reduced = gi.sumToShape(inp.shape, op: node.op)
                        let key = ObjectIdentifier(inp)
                        cotangents[key] = cotangents[key].map { $0 + reduced } ?? reduced
                    }
                }
                if !retainGraph { t.node = nil }
            }
        }
        return results
    }
}

extension Tensor {
    /// Undoes broadcasting: sums a cotangent of a broadcast shape back to `target` (handled here, once,
    /// for every op, as tinygrad's compute_gradient does).
    func sumToShape(_ target: [Int], op: String) -> Tensor {
        if shape == target { return self }
        let lead = rank - target.count
        require(lead >= 0, "backward of \(op): gradient \(shape) cannot reduce to \(target)")
        var axes = Array(0..<lead)
        for i in 0..<target.count where target[i] == 1 && shape[lead + i] != 1 { axes.append(lead + i) }
        for i in 0..<target.count where target[i] != 1 {
            require(shape[lead + i] == target[i], "backward of \(op): gradient \(shape) cannot reduce to \(target)")
        }
        let s = axes.isEmpty ? self : sum(axes: axes, keepDims: true)
        return s.reshape(target)
    }
}
