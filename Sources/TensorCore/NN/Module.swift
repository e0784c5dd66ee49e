// Modules whose parameter names are their checkpoint keys (torch.nn.Module's state_dict naming,
// candle's VarBuilder paths). A module registers its own parameters, buffers and children explicitly, by
// the local names the reference uses ("weight", "affine", "b4"); full names join the path with dots
// ("synthesis.b4.conv1.affine.bias"). Loading verifies every key and shape first, reports every problem
// at once by full path (mlx-swift's UpdateError, tinygrad's load_state_dict(strict=True)), then copies the
// values into the existing storage, so layers may hold their parameters in `let`s.
import Foundation

open class Module {
    /// This module's own trainable tensors, in registration order.
    public private(set) var localParameters: [(name: String, tensor: Tensor)] = []
    /// This module's own saved-but-not-trained tensors (running statistics, fixed filters, noise constants).
    public private(set) var localBuffers: [(name: String, tensor: Tensor)] = []
    /// Direct submodules, in registration order.
    public private(set) var children: [(name: String, module: Module)] = []
    /// Training or inference mode, for layers that differ (set on the whole tree with `train(_:)`).
    public var isTraining = true

    public init() {}

    private func checkName(_ name: String, _ kind: String) {
        require(!name.isEmpty && !name.contains("."), "\(type(of: self)): \(kind) name \"\(name)\" must be non-empty and contain no dots")
        let taken = localParameters.contains { $0.name == name } || localBuffers.contains { $0.name == name }
            || children.contains { $0.name == name }
        require(!taken, "\(type(of: self)): \(kind) name \"\(name)\" is already registered")
    }

    /// Registers a trainable tensor under `name` (it is marked requiresGrad) and returns it.
    @discardableResult
    public func registerParameter(_ name: String, _ tensor: Tensor) -> Tensor {
        checkName(name, "parameter")
        require(tensor.node == nil, "\(type(of: self)): parameter \"\(name)\" must be a leaf tensor, not the result of \(tensor.node!.op)")
        tensor.requiresGrad = true
        localParameters.append((name, tensor))
        return tensor
    }

    /// Registers a saved but untrained tensor under `name` and returns it.
    @discardableResult
    public func registerBuffer(_ name: String, _ tensor: Tensor) -> Tensor {
        checkName(name, "buffer")
        localBuffers.append((name, tensor))
        return tensor
    }

    /// Registers a submodule under `name` and returns it.
    @discardableResult
    public func registerModule<M: Module>(_ name: String, _ module: M) -> M {
        checkName(name, "module")
        require(module !== self, "\(type(of: self)): a module cannot contain itself")
        children.append((name, module))
        return module
    }

    /// Every module in the tree with its dotted path ("" for self), parents before children.
    public func namedModules() -> [(String, Module)] {
        var out: [(String, Module)] = []
        var stack: [(String, Module)] = [("", self)]
        var seen = Set<ObjectIdentifier>()
        while let (path, m) = stack.popLast() {
            guard seen.insert(ObjectIdentifier(m)).inserted else { continue }
            out.append((path, m))
            for (name, child) in m.children.reversed() { stack.append((path.isEmpty ? name : "\(path).\(name)", child)) }
        }
        return out
    }

    private func collect(_ pick: (Module) -> [(name: String, tensor: Tensor)], unique: Bool) -> [(String, Tensor)] {
        var out: [(String, Tensor)] = []
        var seen = Set<ObjectIdentifier>()
        for (path, m) in namedModules() {
            for (name, t) in pick(m) where !unique || seen.insert(ObjectIdentifier(t)).inserted {
                out.append((path.isEmpty ? name : "\(path).\(name)", t))
            }
        }
        return out
    }

    /// Trainable tensors by full dotted name, each tensor once (the first name of a shared one).
    public func namedParameters() -> [(String, Tensor)] { collect({ $0.localParameters }, unique: true) }
    /// Buffers by full dotted name.
    public func namedBuffers() -> [(String, Tensor)] { collect({ $0.localBuffers }, unique: true) }
    public func parameters() -> [Tensor] { namedParameters().map { $0.1 } }

    /// Every saved tensor (parameters, then buffers) by full name, shared tensors under each of their names.
    /// The tensors are the module's own (not copies).
    public func stateDict() -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (k, t) in collect({ $0.localParameters }, unique: false) + collect({ $0.localBuffers }, unique: false) { out[k] = t }
        return out
    }

    /// Sets every parameter's gradient to nil (PyTorch's zero_grad(set_to_none=True)).
    public func zeroGrad() { for p in parameters() { p.grad = nil } }

    /// Sets training mode on this module and all its descendants.
    public func train(_ on: Bool = true) { for (_, m) in namedModules() { m.isTraining = on } }

    /// Copies `tensors` into the module's parameters and buffers in place. Every key and shape is checked
    /// before anything is written; problems throw one StateDictError listing them all. strict = false
    /// tolerates missing and unexpected keys (a shape mismatch is always an error).
    public func load(_ tensors: [String: Tensor], strict: Bool = true) throws {
        let own = stateDict()
        var problems = StateDictError()
        for (k, t) in own {
            guard let src = tensors[k] else { problems.missing.append(k); continue }
            if src.shape != t.shape { problems.mismatched.append((k, t.shape, src.shape)) }
        }
        problems.unexpected = tensors.keys.filter { own[$0] == nil }
        problems.missing.sort(); problems.unexpected.sort(); problems.mismatched.sort { $0.key < $1.key }
        if !problems.mismatched.isEmpty || (strict && !(problems.missing.isEmpty && problems.unexpected.isEmpty)) {
            throw problems
        }
        withNoGrad {
            for (k, dst) in own {
                guard let src = tensors[k], !(src.storage === dst.storage && src.offset == dst.offset && src.strides == dst.strides) else { continue }
                dst.copyIn(src)
            }
        }
    }

    /// Loads a safetensors file: keys are renamed by `remap` first (rules, then its closure; nil drops a
    /// key), then verified and copied as `load(_:strict:)`. Errors are FileErrors naming the file.
    public func load(safetensors path: String, remap: KeyRemap = KeyRemap(), strict: Bool = true) throws {
        let file = try SafeTensorsFile(path: path)
        var renamed: [String: Tensor] = [:]
        var sources: [String: String] = [:]
        var collisions: [String] = []
        for key in file.keys {
            guard let to = remap(key) else { continue }
            if let first = sources[to] { collisions.append("\"\(first)\" and \"\(key)\" both map to \"\(to)\""); continue }
            sources[to] = key
            renamed[to] = try file.tensor(key)
        }
        do {
            guard collisions.isEmpty else {
                var e = StateDictError(); e.collisions = collisions
                throw e
            }
            try load(renamed, strict: strict)
        } catch let e as StateDictError {
            throw FileError(path: path, message: "does not fit \(type(of: self)): \(e.description)")
        }
    }

    /// Writes the state dict as a safetensors file (atomically).
    public func save(safetensors path: String, metadata: [String: String] = [:]) throws {
        try saveSafeTensors(stateDict(), metadata: metadata, to: path)
    }
}

/// Checkpoint key renaming, applied before verification (mlx-swift-examples' remap tables): the first
/// matching prefix rule replaces its prefix; then `custom` (if any) renames or drops (nil) the result.
public struct KeyRemap {
    public var prefixes: [(from: String, to: String)]
    public var custom: ((String) -> String?)?

    public init(prefixes: [(from: String, to: String)] = [], custom: ((String) -> String?)? = nil) {
        self.prefixes = prefixes
        self.custom = custom
    }

    public func callAsFunction(_ key: String) -> String? {
        var k = key
        if let rule = prefixes.first(where: { key.hasPrefix($0.from) }) { k = rule.to + key.dropFirst(rule.from.count) }
        return custom.map { $0(k) } ?? k
    }
}

/// Everything wrong between a module and a state dict, by full key, in one message.
public struct StateDictError: Error, CustomStringConvertible {
    public var missing: [String] = []
    public var unexpected: [String] = []
    public var mismatched: [(key: String, expected: [Int], got: [Int])] = []
    /// Several source keys renamed onto one.
    public var collisions: [String] = []

    public init() {}

    public var description: String {
        var parts: [String] = []
        func plural(_ n: Int, _ word: String, _ many: String? = nil) -> String { "\(n) \(n == 1 ? word : many ?? word + "s")" }
        if !missing.isEmpty { parts.append("\(plural(missing.count, "missing key")): \(missing.joined(separator: ", "))") }
        if !unexpected.isEmpty { parts.append("\(plural(unexpected.count, "unexpected key")): \(unexpected.joined(separator: ", "))") }
        if !mismatched.isEmpty {
            parts.append("\(plural(mismatched.count, "shape mismatch", "shape mismatches")): "
                + mismatched.map { "\($0.key) expected \($0.expected) got \($0.got)" }.joined(separator: ", "))
        }
        if !collisions.isEmpty { parts.append("\(plural(collisions.count, "key collision")): \(collisions.joined(separator: ", "))") }
        return "state dict does not match: " + parts.joined(separator: "; ")
    }
}
