// torch.nn.ModuleList: children named "0", "1", ... so their keys read `down_blocks.0.resnets.1.conv1.weight`.
import TensorCore

public final class ModuleList<M: Module>: Module, RandomAccessCollection {
    public let items: [M]

    public init(_ items: [M]) {
        self.items = items
        super.init()
        for (i, m) in items.enumerated() { registerModule(String(i), m) }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { items.count }
    public subscript(i: Int) -> M { items[i] }
}

/// A module holding named children only, for torch containers whose indices skip parameter-free entries
/// (diffusers' FeedForward.net = [GEGLU, Dropout, Linear] has keys `net.0.proj` and `net.2`).
public final class ModuleGroup: Module {
    public init(_ named: [(String, Module)]) {
        super.init()
        for (name, m) in named { registerModule(name, m) }
    }
}
