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
/// Buffers of at least `minimumCount` floats are kept, keyed by exact size, up to `capacityBytes` in all. When a
/// returned buffer does not fit, the least recently returned buffers are freed to make room, so the pool follows
/// the current workload (a model run after another one does not find the pool full of the first one's sizes).
public final class BufferPool: @unchecked Sendable {
    public static let shared = BufferPool()
    public var capacityBytes = 512 << 20
    let minimumCount = 16384
    /// Per size, the pooled buffers in the order they were returned (oldest first) with their return stamp.
    private var free: [Int: [(pointer: UnsafeMutablePointer<Float>, stamp: UInt64)]] = [:]
    private var heldBytes = 0
    private var clock: UInt64 = 0
    private let lock = NSLock()
    public private(set) var hits = 0
    public private(set) var misses = 0
    public private(set) var evictions = 0

    func take(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count >= minimumCount {
            lock.lock()
            // The most recently returned buffer of this size (warmest in cache).
            if var list = free[count], let entry = list.popLast() {
                free[count] = list.isEmpty ? nil : list
                heldBytes -= count * 4
                hits += 1
                lock.unlock()
                return entry.pointer
            }
            misses += 1
            // Make room before the process grows: free pooled buffers of other sizes (oldest first) worth this
            // allocation, so that the pool never adds its capacity on top of the live peak.
            var freed = 0
            while freed < count * 4, let size = evictOldest() { freed += size * 4 }
            lock.unlock()
        }
        // 64-byte alignment: full cache lines for the SIMD kernels.
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        return raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    func give(_ p: UnsafeMutablePointer<Float>, _ count: Int) {
        if count >= minimumCount {
            lock.lock()
            if count * 4 <= capacityBytes {
                while heldBytes + count * 4 > capacityBytes, evictOldest() != nil {}
                clock += 1
                free[count, default: []].append((p, clock))
                heldBytes += count * 4
                lock.unlock()
                return
            }
            lock.unlock()
        }
        UnsafeMutableRawPointer(p).deallocate()
    }

    /// Frees the least recently returned buffer (the lock is held) and returns its size in floats; nil when the
    /// pool is empty.
    @discardableResult
    private func evictOldest() -> Int? {
        var oldest: (size: Int, stamp: UInt64)?
        for (size, list) in free {
            if let stamp = list.first?.stamp, stamp < oldest?.stamp ?? .max { oldest = (size, stamp) }
        }
        guard let size = oldest?.size, var list = free[size] else { return nil }
        UnsafeMutableRawPointer(list.removeFirst().pointer).deallocate()
        free[size] = list.isEmpty ? nil : list
        heldBytes -= size * 4
        evictions += 1
        return size
    }

    /// Frees every pooled buffer.
    public func drain() {
        lock.lock(); defer { lock.unlock() }
        for (_, list) in free { for entry in list { UnsafeMutableRawPointer(entry.pointer).deallocate() } }
        free = [:]
        heldBytes = 0
    }

    public var pooledBytes: Int { lock.lock(); defer { lock.unlock() }; return heldBytes }
}
