// The one parallel-for over Dispatch. A process-wide thread count (`--threads`); no nested parallelism:
// a parallelFor inside another runs serially on the calling worker.
import Dispatch
import Foundation

public enum Parallel {
    /// Threads the kernels use. Defaults to the machine's active cores.
    nonisolated(unsafe) public static var threadCount = ProcessInfo.processInfo.activeProcessorCount {
        didSet { require(threadCount >= 1, "Parallel.threadCount must be at least 1, got \(threadCount)") }
    }
    @usableFromInline nonisolated(unsafe) static var active = false
}

/// Wraps a non-Sendable value for capture by Dispatch's @Sendable closure (tensorcore-anchors §4.3).
@usableFromInline struct UnsafeSendable<T>: @unchecked Sendable {
    @usableFromInline let value: T
    @usableFromInline init(_ v: T) { value = v }
}

/// Runs `body(i)` for i in 0..<n across the worker threads. Blocks until all finish.
@inlinable public func parallelFor(_ n: Int, _ body: (Int) -> Void) {
    if n <= 0 { return }
    if n == 1 || Parallel.threadCount == 1 || Parallel.active {
        for i in 0..<n { body(i) }
        return
    }
    withoutActuallyEscaping(body) { body in
        let box = UnsafeSendable(body)
        Parallel.active = true
        DispatchQueue.concurrentPerform(iterations: n) { box.value($0) }
        Parallel.active = false
    }
}

/// Splits 0..<total into contiguous ranges of at least `grain` items, a few per thread, and runs them in parallel.
@inlinable public func parallelRanges(_ total: Int, grain: Int, _ body: (Range<Int>) -> Void) {
    if total <= 0 { return }
    let threads = Parallel.active ? 1 : Parallel.threadCount
    let maxChunks = Swift.max(1, total / Swift.max(grain, 1))
    let chunks = Swift.min(maxChunks, threads == 1 ? 1 : threads * 4)
    if chunks == 1 { body(0..<total); return }
    parallelFor(chunks) { c in
        let lo = total * c / chunks, hi = total * (c + 1) / chunks
        if lo < hi { body(lo..<hi) }
    }
}

/// Multiply-adds (or comparable work) below which a whole op runs on the calling thread: waking a worker and
/// switching to it costs tens of microseconds on a loaded machine, more than such an op takes on one core (the
/// 16-channel 16² convolutions of `bench overhead`'s chain were 1.5x slower on 2 threads than on 1).
nonisolated(unsafe) public var parallelMinimumWork = 1 << 22

/// Runs `body` with every kernel inside it on the calling thread when `work` is below `parallelMinimumWork`.
@inlinable public func serialBelow(_ work: Int, _ body: () -> Void) {
    if work >= parallelMinimumWork || Parallel.active || Parallel.threadCount == 1 { body(); return }
    Parallel.active = true
    body()
    Parallel.active = false
}
