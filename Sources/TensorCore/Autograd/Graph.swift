// Reverse-mode autograd, recorded as ops run (micrograd's closure per op; tinygrad's needs_input_grad).
//
// Every backward closure is written with TensorCore ops. When `createGraph` is false the walk runs in a
// no-grad scope, so those ops record nothing and cost nothing extra; when it is true they are recorded,
// and the gradients they return are themselves differentiable (EG3D's R1 penalty needs that).
//
// Memory: a node points at its inputs' *producers* (or at the input itself when it is a leaf), never at a
// non-leaf input tensor, so an activation stays alive only while the user's code or a backward closure that needs
// its values (e.g. relu's input) holds it: PyTorch's saved-tensor rule. Holding every input (as this graph once
// did) kept every activation of the forward pass alive until the backward pass reached it.

/// One recorded op: where each input's cotangent goes and a closure mapping the output's cotangent to the
/// inputs' cotangents.
public final class Node {
    public let op: String
    /// Per input: its producer or its leaf (Edge); cleared once the backward pass has used it.
    var edges: [Edge]
    /// (cotangent of the output, which inputs need a gradient, the output when the op saved it) -> one cotangent
    /// per input (nil: none). A returned cotangent may have the output's broadcast shape; the walk sums it back to
    /// the input's shape.
    var backward: ((Tensor, [Bool], Tensor?) -> [Tensor?])?
    /// The tensor this node produced (weak: the graph never keeps an activation alive).
    weak var output: Tensor?
    /// The output's values, for ops whose backward uses them (exp, tanh, softmax, …): a detached view, so no
    /// cycle; the walk hands the closure a view of it linked to this node, so that gradients of gradients flow.
    var savedOutput: Tensor?

    init(op: String, edges: [Edge], backward: @escaping (Tensor, [Bool], Tensor?) -> [Tensor?]) {
        self.op = op
        self.edges = edges
        self.backward = backward
    }
}

/// Where an input's cotangent goes: the node that produced it, or the input itself when it is a leaf that
/// requires a gradient; neither when it needs none.
struct Edge {
    let node: Node?
    let leaf: Tensor?
    let shape: [Int]

    init(_ t: Tensor) {
        shape = t.shape
        if !t.requiresGrad { node = nil; leaf = nil }
        else if let n = t.node { node = n; leaf = nil }
        else { node = nil; leaf = t }
    }

    /// Whether the input takes part in the backward pass (a leaf may have been switched off since, as R1 does).
    var requiresGrad: Bool { node != nil || (leaf?.requiresGrad ?? false) }
    var vertex: Vertex? { node.map(Vertex.node) ?? leaf.map(Vertex.leaf) }
}

/// A vertex of the backward walk: an op's node, or a leaf tensor.
enum Vertex {
    case node(Node)
    case leaf(Tensor)
    var id: ObjectIdentifier {
        switch self {
        case .node(let n): return ObjectIdentifier(n)
        case .leaf(let t): return ObjectIdentifier(t)
        }
    }
    /// The vertex a tensor's cotangent belongs to (nil: it needs no gradient).
    static func of(_ t: Tensor) -> Vertex? { t.node.map(Vertex.node) ?? (t.requiresGrad ? .leaf(t) : nil) }
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
        record(op, inputs, saveOutput: false) { g, needs, _ in backward(g, needs) }
    }

    /// As `recorded`, for ops whose backward needs their own output (exp: g·out). The closure receives it as its
    /// third argument (differentiable when the walk creates a graph). Never capture the output in the closure:
    /// the output owns the closure through its node, so that would be a cycle.
    @discardableResult
    public func recordedUsingOutput(_ op: String, _ inputs: [Tensor], _ backward: @escaping (Tensor, [Bool], Tensor) -> [Tensor?]) -> Tensor {
        record(op, inputs, saveOutput: true) { g, needs, out in backward(g, needs, out!) }
    }

    private func record(_ op: String, _ inputs: [Tensor], saveOutput: Bool, _ backward: @escaping (Tensor, [Bool], Tensor?) -> [Tensor?]) -> Tensor {
        if OpProfile.isEnabled { OpProfile.forward(op, shapes: inputs.map(\.shape)) }
        if GradMode.isEnabled && inputs.contains(where: { $0.requiresGrad }) {
            requiresGrad = true
            let n = Node(op: op, edges: inputs.map(Edge.init), backward: backward)
            n.output = self
            if saveOutput { n.savedOutput = detach() }
            node = n
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
    /// Post-order (inputs before outputs) over the vertices that take part, iteratively (no recursion).
    static func topologicalOrder(_ root: Vertex) -> [Vertex] {
        var order: [Vertex] = []
        var seen = Set<ObjectIdentifier>()
        var stack: [(Vertex, Bool)] = [(root, false)]
        while let (v, expanded) = stack.popLast() {
            if expanded { order.append(v); continue }
            if !seen.insert(v.id).inserted { continue }
            stack.append((v, true))
            if case .node(let node) = v {
                for e in node.edges where e.requiresGrad {
                    if let u = e.vertex, !seen.contains(u.id) { stack.append((u, false)) }
                }
            }
        }
        return order
    }

    /// Walks the graph backwards from `root`. Returns the cotangents of `targets` (or of every leaf when
    /// `targets` is nil). Cotangents are dropped as soon as they are consumed; unless the graph is retained, each
    /// node lets go of its edges and closure (and what the closure saved) once it has run.
    static func run(root: Tensor, seed: Tensor, targets: [Tensor]?, createGraph: Bool, retainGraph: Bool) -> [(Tensor, Tensor)] {
        require(seed.shape == root.shape, "backward: seed \(seed.shape) does not match output \(root.shape)")
        guard root.requiresGrad, let rootVertex = Vertex.of(root) else { return [] }
        var order: [Vertex?] = topologicalOrder(rootVertex)
        // Targets by vertex (a non-leaf target by its node).
        var targetTensors: [ObjectIdentifier: Tensor] = [:]
        for t in targets ?? [] { if let v = Vertex.of(t) { targetTensors[v.id] = t } }

        // Which vertices lead to a wanted gradient: skip every other branch (EG3D's no_weight_gradients).
        var leads = Set<ObjectIdentifier>()
        for case let v? in order {
            if targets != nil { if targetTensors[v.id] != nil { leads.insert(v.id); continue } }
            else if case .leaf = v { leads.insert(v.id); continue }
            if case .node(let node) = v, node.edges.contains(where: { e in e.vertex.map { leads.contains($0.id) } ?? false }) { leads.insert(v.id) }
        }

        var cotangents: [ObjectIdentifier: Tensor] = [rootVertex.id: seed]
        var results: [(Tensor, Tensor)] = []
        let profiling = OpProfile.isEnabled && !OpProfile.inBackward
        if profiling { OpProfile.inBackward = true }
        defer { if profiling { OpProfile.inBackward = false; OpProfile.mark = OpProfile.now() } }
        GradMode.with(enabled: createGraph) {
            for k in order.indices.reversed() {
                guard let v = order[k] else { continue }
                if !retainGraph { order[k] = nil }
                let g = cotangents.removeValue(forKey: v.id)
                if let g {
                    if targets != nil { if let t = targetTensors[v.id] { results.append((t, g)) } }
                    else if case .leaf(let t) = v { results.append((t, g)) }
                }
                guard case .node(let node) = v else { continue }
                if let g, let backward = node.backward {
                    let needs = node.edges.map { e in e.requiresGrad && (e.vertex.map { leads.contains($0.id) } ?? false) }
                    if needs.contains(true) {
                        let started = OpProfile.isEnabled ? OpProfile.now() : 0
                        let out = node.savedOutput.map { saved -> Tensor in
                            let live = saved.detach()
                            live.requiresGrad = true
                            live.node = node
                            return live
                        }
                        let grads = backward(g, needs, out)
                        require(grads.count == node.edges.count, "backward of \(node.op): \(grads.count) gradients for \(node.edges.count) inputs")
                        for (i, e) in node.edges.enumerated() where needs[i] {
                            guard let gi = grads[i], let u = e.vertex else { continue }
                            let reduced = gi.sumToShape(e.shape, op: node.op)
                            cotangents[u.id] = cotangents[u.id].map { $0 + reduced } ?? reduced
                        }
                        if OpProfile.isEnabled { OpProfile.backward(node.op, shapes: node.edges.map(\.shape), since: started) }
                    }
                }
                if !retainGraph {
                    node.backward = nil
                    node.savedOutput = nil
                    node.edges = []
                    node.output?.node = nil
                }
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
