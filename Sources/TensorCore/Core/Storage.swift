// Storage: a reference-counted Float32 buffer shared by every view of it.
// Kernels hoist `base` once and never touch the class inside loops (tensorcore-anchors §4.4).
import Foundation

public final class Storage: @unchecked Sendable {
    /// First element. `let`, so reading it costs no exclusivity or uniqueness check.
    public let base: UnsafeMutablePointer<Float>
    public let count: Int
    /// Keeps borrowed memory (for example an mmapped file) alive; nil when this storage owns `base`.
    let owner: AnyObject?

    /// A new, uninitialised buffer (from the pool of recently freed large buffers when one fits).
    public init(count: Int) {
        require(count >= 0, "Storage: negative element count \(count)")
        self.count = count
        self.base = BufferPool.shared.take(count)
        self.owner = nil
        LiveStorage.increment()
    }

    /// A zero-filled buffer.
    public convenience init(zeros count: Int) {
        self.init(count: count)
        base.initialize(repeating: 0, count: count)
    }

    /// Borrowed memory kept alive by `owner`.
    init(borrowing base: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        self.base = base
        self.count = count
        self.owner = owner
        LiveStorage.increment()
    }

    deinit {
        if owner == nil { BufferPool.shared.give(base, count) }
        LiveStorage.decrement()
    }
}

/// Live storage count: a leak check (swift-apis `withTensorLeakChecking`) compares it before and after.
public enum LiveStorage {
    nonisolated(unsafe) private static var value = 0
    private static let lock = NSLock()
    static func increment() { lock.lock(); value += 1; lock.unlock() }
    static func decrement() { lock.lock(); value -= 1; lock.unlock() }
    public static var count: Int { lock.lock(); defer { lock.unlock() }; return value }
}

/// Reuses large buffers so that a training step does not allocate its big temporaries anew each call.
/// Buffers of at least `minimumCount` floats are kept, keyed by exact size, up to `capacityBytes` in all.
public final class BufferPool: @unchecked Sendable {
    public static let shared = BufferPool()
    public var capacityBytes = 512 << 20
    let minimumCount = 16384
    private var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    private var heldBytes = 0
    private let lock = NSLock()
    public private(set) var hits = 0
    public private(set) var misses = 0

    func take(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count >= minimumCount {
            lock.lock()
            if var list = free[count], let p = list.popLast() {
                free[count] = list.isEmpty ? nil : list
                heldBytes -= count * 4
                hits += 1
                lock.unlock()
                return p
            }
            misses += 1
            lock.unlock()
        }
        // 64-byte alignment: full cache lines for the SIMD kernels.
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        return raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    func give(_ p: UnsafeMutablePointer<Float>, _ count: Int) {
        if count >= minimumCount {
            lock.lock()
            if heldBytes + count * 4 <= capacityBytes {
                free[count, default: []].append(p)
                heldBytes += count * 4
                lock.unlock()
                return
            }
            lock.unlock()
        }
        UnsafeMutableRawPointer(p).deallocate()
    }

    /// Frees every pooled buffer.
    public func drain() {
        lock.lock(); defer { lock.unlock() }
        for (_, list) in free { for p in list { UnsafeMutableRawPointer(p).deallocate() } }
        free = [:]
        heldBytes = 0
    }

    public var pooledBytes: Int { lock.lock(); defer { lock.unlock() }; return heldBytes }
}
