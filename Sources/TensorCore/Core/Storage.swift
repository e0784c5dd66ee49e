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
        LiveStorage.increment(count)
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
        LiveStorage.increment(0)
    }

    deinit {
        if owner == nil { BufferPool.shared.give(base, count) }
        LiveStorage.decrement(owner == nil ? count : 0)
    }
}

/// Live storages: their count (a leak check, swift-apis `withTensorLeakChecking`, compares it before and after) and
/// the bytes they own (borrowed memory, e.g. an mmapped file, is not counted), with the high-water mark since the last
/// `resetPeak()` (where a step's memory goes: `bench train` prints it beside the process's peak RSS).
public enum LiveStorage {
    nonisolated(unsafe) private static var value = 0
    nonisolated(unsafe) private static var liveBytes = 0
    nonisolated(unsafe) private static var highWater = 0
    private static let lock = NSLock()
    static func increment(_ floats: Int) {
        lock.lock(); value += 1; liveBytes += floats * 4; highWater = Swift.max(highWater, liveBytes); lock.unlock()
    }
    static func decrement(_ floats: Int) { lock.lock(); value -= 1; liveBytes -= floats * 4; lock.unlock() }
    public static var count: Int { lock.lock(); defer { lock.unlock() }; return value }
    /// Bytes owned by live storages now.
    public static var bytes: Int { lock.lock(); defer { lock.unlock() }; return liveBytes }
    /// The most bytes live at once since the last reset.
    public static var peakBytes: Int { lock.lock(); defer { lock.unlock() }; return highWater }
    public static func resetPeak() { lock.lock(); highWater = liveBytes; lock.unlock() }
}

/// Reuses large buffers so that a training step does not allocate its big temporaries anew each call.
/// Buffers of at least `minimumCount` floats are kept, keyed by exact size, up to `capacityBytes` in all. When a
/// returned buffer does not fit, the least recently returned buffers are freed to make room, so the pool follows
/// the current workload (a model run after another one does not find the pool full of the first one's sizes).
/// A miss frees pooled buffers only while the footprint (handed out + pooled) would pass the most ever handed out
/// at once (plus `slackBytes`), so the pool raises the peak by at most that yet keeps what the next phase of a step will ask for (tiny128
/// training: 75% hits, against 32% when every miss freed pooled buffers worth its size).
public final class BufferPool: @unchecked Sendable {
    public static let shared = BufferPool()
    public var capacityBytes = 512 << 20
    /// How far past the most ever handed out at once the footprint may go before a miss frees pooled buffers. With
    /// none, an inference pass whose few live tensors are all that the peak allows thrashed: ViT-B/32 on 8 images
    /// missed 350 of 740 takes (each a fresh mapping, faulted and zeroed page by page), 116 GFLOP/s; with 64 MiB,
    /// 14 misses, 148 GFLOP/s (2 threads, AMD EPYC, AVX2).
    public var slackBytes = 64 << 20
    /// Buffers of at least this many bytes are mapped and unmapped directly (mmap/munmap) rather than taken from
    /// malloc: glibc raises its mmap threshold each time such a block is freed, after which blocks of that size come
    /// from its heap and stay resident when freed (tiny128 training: 350 MiB above the live tensors' peak). At least
    /// 1 MiB (smaller buffers are freed without the lock); `bench train --map-mib` measured 1, 2, 4, 8 and never.
    public var mapThresholdBytes = 1 << 20 { didSet { mapThresholdBytes = Swift.max(mapThresholdBytes, 1 << 20) } }
    let minimumCount = 16384
    /// Per size, the pooled buffers in the order they were returned (oldest first) with their return stamp.
    private var free: [Int: [(pointer: UnsafeMutablePointer<Float>, stamp: UInt64)]] = [:]
    private var heldBytes = 0
    /// Bytes of pool-sized buffers handed out and not yet returned, and the most at once.
    private var outstandingBytes = 0
    private var peakOutstandingBytes = 0
    /// Buffers that came from mmap.
    private var mapped: Set<UnsafeMutableRawPointer> = []
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
                outstandingBytes += count * 4
                hits += 1
                lock.unlock()
                return entry.pointer
            }
            misses += 1
            // Make room only where the footprint (buffers handed out + pooled) would pass the most ever handed out at
            // once plus the slack: pooled buffers (oldest first) are freed then, so the pool adds at most the slack to
            // the live peak, and keeps whatever fits under it for the next phase.
            outstandingBytes += count * 4
            peakOutstandingBytes = Swift.max(peakOutstandingBytes, outstandingBytes)
            while outstandingBytes + heldBytes > peakOutstandingBytes + slackBytes, evictOldest() != nil {}
            lock.unlock()
        }
        if count * 4 >= mapThresholdBytes, let mapped = map(count * 4) { return mapped.bindMemory(to: Float.self, capacity: count) }
        // 64-byte alignment: full cache lines for the SIMD kernels.
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        return raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    /// Page-aligned anonymous memory, recorded in `mapped` (nil when the system refuses: malloc is tried then).
    private func map(_ bytes: Int) -> UnsafeMutableRawPointer? {
        guard let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else { return nil }
        #if os(Linux)
        // 2 MiB pages where the system allows (transparent huge pages in madvise mode): fewer page faults on a fresh
        // buffer. Measured before the eviction rule, with 8 MiB direct mapping: 4.2 -> 3.9 CPU s per tiny128 iteration.
        _ = madvise(p, bytes, 14 /* MADV_HUGEPAGE */)
        #endif
        lock.lock(); mapped.insert(p); lock.unlock()
        return p
    }

    /// Returns a buffer to the system (the lock is held).
    private func releaseLocked(_ p: UnsafeMutablePointer<Float>, _ count: Int) {
        let raw = UnsafeMutableRawPointer(p)
        if mapped.remove(raw) != nil { munmap(raw, count * 4) } else { raw.deallocate() }
    }

    func give(_ p: UnsafeMutablePointer<Float>, _ count: Int) {
        if count >= minimumCount {
            lock.lock()
            outstandingBytes -= count * 4
            if count * 4 <= capacityBytes {
                while heldBytes + count * 4 > capacityBytes, evictOldest() != nil {}
                clock += 1
                free[count, default: []].append((p, clock))
                heldBytes += count * 4
                lock.unlock()
                return
            }
        } else {
            UnsafeMutableRawPointer(p).deallocate()
            return
        }
        releaseLocked(p, count)
        lock.unlock()
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
        releaseLocked(list.removeFirst().pointer, size)
        free[size] = list.isEmpty ? nil : list
        heldBytes -= size * 4
        evictions += 1
        return size
    }

    /// Frees every pooled buffer.
    public func drain() {
        lock.lock(); defer { lock.unlock() }
        for (size, list) in free { for entry in list { releaseLocked(entry.pointer, size) } }
        free = [:]
        heldBytes = 0
    }

    public var pooledBytes: Int { lock.lock(); defer { lock.unlock() }; return heldBytes }
}
