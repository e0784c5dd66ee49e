// Memory: a training step (forward, backward, clipping, Adam) leaves no storage behind (swift-apis'
// withTensorLeakChecking, over LiveStorage.count), and the buffer pool serves later steps' large
// temporaries from earlier steps' buffers.
import XCTest
@testable import TensorCore
import TestSupport

/// Runs `body` and fails if it leaves more (or fewer) live storages than it found.
func withTensorLeakChecking(_ what: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) rethrows {
    let before = LiveStorage.count
    try body()
    XCTAssertEqual(LiveStorage.count, before, "\(what): \(LiveStorage.count - before) storages leaked", file: file, line: line)
}

final class MemoryTests: XCTestCase {
    final class Net: Module {
        let table: Embedding, fc0: Linear, fc1: Linear
        init(seed: UInt64) {
            let rng = RandomGenerator(seed: seed)
            table = Embedding(10, 128, rng: rng); fc0 = Linear(128, 256, rng: rng); fc1 = Linear(256, 128, rng: rng)
            super.init()
            registerModule("table", table); registerModule("fc0", fc0); registerModule("fc1", fc1)
        }
        /// x: (B, 128), ids: (B) -> (B, 128)
        func callAsFunction(_ x: Tensor, _ ids: Tensor) -> Tensor {
            fc1(fc0(x + table(ids)).leakyRelu(0.2)).tanh()
        }
    }

    /// One step on a batch of 128: large enough (≥ 16384 floats) that the activations come from the pool.
    func trainStep(_ net: Net, _ opt: Adam, seed: UInt64) {
        let x = testTensor([128, 128], seed: seed)
        let ids = Tensor((0..<128).map { Float($0 % 10) }, shape: [128])
        let y = net(x, ids)
        let loss = (y * y).mean() + y.cumsum(axis: 1).sort(axis: 1).values.mean()
        loss.backward()
        clipGradNorm(net.parameters(), maxNorm: 1)
        opt.step()
        opt.zeroGrad()
    }

    func testTrainingStepDoesNotLeak() {
        let net = Net(seed: 1)
        let opt = Adam(net.namedParameters(), lr: 1e-3)
        trainStep(net, opt, seed: 10) // creates Adam's moments
        withTensorLeakChecking("training step") {
            for s in 0..<3 { trainStep(net, opt, seed: 11 + UInt64(s)) }
        }
    }

    /// EG3D's R1 penalty: a gradient taken with createGraph, then differentiated again.
    func testDoubleBackwardDoesNotLeak() {
        let net = Net(seed: 2)
        let ids = Tensor((0..<128).map { Float($0 % 10) }, shape: [128])
        withTensorLeakChecking("double backward") {
            let x = testTensor([128, 128], seed: 3, requiresGrad: true)
            let y = net(x, ids).cumsum(axis: 1).cumprod(axis: 0)
            let g = gradients(of: y.sum(), wrt: [x], createGraph: true)[0]
            (g * g).sum().backward()
            net.zeroGrad()
        }
    }

    /// A forward pass that records a graph nobody walks must still free it.
    func testUnwalkedGraphDoesNotLeak() {
        let net = Net(seed: 4)
        let ids = Tensor((0..<128).map { Float($0 % 10) }, shape: [128])
        withTensorLeakChecking("forward only") {
            let x = testTensor([128, 128], seed: 5)
            _ = net(x, ids).cumprod(axis: 1).sort().values.sum()
        }
    }

    func testBufferPoolReusesAcrossSteps() {
        let net = Net(seed: 6)
        let opt = Adam(net.namedParameters(), lr: 1e-3)
        let pool = BufferPool.shared
        pool.drain()  // what earlier tests left in the shared pool would be evicted during the measured steps
        for s in 0..<3 { trainStep(net, opt, seed: 20 + UInt64(s)) }
        let hits0 = pool.hits, misses0 = pool.misses
        trainStep(net, opt, seed: 30)
        let hits1 = pool.hits, misses1 = pool.misses
        trainStep(net, opt, seed: 31)
        let hits2 = pool.hits, misses2 = pool.misses
        print("buffer pool: \(hits1 - hits0) and \(hits2 - hits1) hits per step, \(misses1 - misses0) and \(misses2 - misses1) misses, \(pool.pooledBytes >> 10) KiB pooled")
        XCTAssertGreaterThan(hits1 - hits0, 10, "a step's large temporaries come from the pool")
        XCTAssertEqual(hits2 - hits1, hits1 - hits0, "steady state: every step reuses as many buffers")
        // A miss frees pooled buffers of other sizes only where the footprint would pass its peak, so a step
        // re-allocates a few buffers, the same number every step; most come from the pool.
        XCTAssertEqual(misses2 - misses1, misses1 - misses0, "steady state: as many re-allocations every step")
        XCTAssertLessThan(misses2 - misses1, (hits2 - hits1) / 2)
    }

    /// A full pool makes room for a newly returned size by freeing the least recently returned buffers, so a
    /// workload that follows another one is pooled too (and the pool never holds more than its capacity).
    func testBufferPoolEvictsLeastRecentlyReturned() {
        let pool = BufferPool()
        let a = 32768, b = 65536                     // 128 KiB and 256 KiB buffers
        pool.capacityBytes = 4 * a * 4               // room for four a-buffers
        pool.slackBytes = 0
        let first = (0..<4).map { _ in pool.take(a) }
        for p in first { pool.give(p, a) }
        XCTAssertEqual(pool.pooledBytes, 4 * a * 4)
        XCTAssertEqual(pool.evictions, 0)
        let big = pool.take(b)                       // a miss: nothing of that size yet; handed out + pooled would pass
        XCTAssertEqual(pool.misses, 5)               // the peak (4a), so the two oldest a-buffers are freed first
        XCTAssertEqual(pool.evictions, 2)
        pool.give(big, b)                            // fits in the room made
        XCTAssertEqual(pool.evictions, 2)
        XCTAssertEqual(pool.pooledBytes, 2 * a * 4 + b * 4)
        XCTAssertLessThanOrEqual(pool.pooledBytes, pool.capacityBytes)
        XCTAssertEqual(pool.take(b), big, "the new size is pooled and reused")
        XCTAssertEqual(pool.take(a), first[3], "the most recently returned a-buffer was kept")
        XCTAssertEqual(pool.take(a), first[2])
        XCTAssertEqual(pool.hits, 3)
        let fresh = pool.take(a)                     // first[0] and first[1] were freed
        XCTAssertEqual(pool.misses, 6)
        for p in [fresh, first[2], first[3], big] { UnsafeMutableRawPointer(p).deallocate() }
        let huge = pool.take(2 * pool.capacityBytes / 4)
        pool.give(huge, 2 * pool.capacityBytes / 4)  // larger than the whole pool: freed, nothing evicted
        XCTAssertEqual(pool.pooledBytes, 0)
        XCTAssertEqual(pool.evictions, 2)
    }

    /// A miss frees nothing while handed-out + pooled bytes stay within the most ever handed out at once (the pool
    /// keeps what a later phase of a step will ask for), and frees the oldest pooled buffers once they would not.
    func testBufferPoolKeepsBuffersUnderThePeak() {
        let pool = BufferPool()
        pool.slackBytes = 0
        let a = 32768
        let four = (0..<4).map { _ in pool.take(a) }          // peak: 4a handed out
        for p in four { pool.give(p, a) }
        let b1 = pool.take(2 * a)                            // 2a out + 4a pooled > 4a: two a-buffers freed
        XCTAssertEqual(pool.evictions, 2)
        pool.give(b1, 2 * a)                                 // pooled: 2a + 2a
        let c1 = pool.take(a / 2)                            // a/2 out + 4a pooled > 4a: the oldest (an a-buffer) goes
        XCTAssertEqual(pool.evictions, 3)
        let c2 = pool.take(a / 2)                            // a out + 3a pooled = 4a: nothing freed
        XCTAssertEqual(pool.evictions, 3)
        XCTAssertEqual(pool.take(2 * a), b1, "the 2a buffer stayed pooled")
        XCTAssertEqual(pool.pooledBytes, a * 4)
        for (p, n) in [(c1, a / 2), (c2, a / 2), (b1, 2 * a)] { pool.give(p, n) }
        pool.drain()
        XCTAssertEqual(pool.pooledBytes, 0)
    }

    /// With slack, a miss frees nothing until handed-out + pooled bytes pass the peak by more than the slack.
    func testBufferPoolSlackAbovePeak() {
        let pool = BufferPool()
        let a = 32768
        pool.slackBytes = 2 * a * 4
        let four = (0..<4).map { _ in pool.take(a) }          // peak: 4a handed out
        for p in four { pool.give(p, a) }
        let b = pool.take(2 * a)                             // 2a out + 4a pooled = peak + slack: nothing freed
        XCTAssertEqual(pool.evictions, 0)
        let c = pool.take(a / 2)                             // 2.5a out + 4a pooled > 4a + 2a: one a-buffer freed
        XCTAssertEqual(pool.evictions, 1)
        XCTAssertEqual(pool.pooledBytes, 3 * a * 4)
        pool.give(b, 2 * a); pool.give(c, a / 2)
        pool.drain()
        XCTAssertEqual(pool.pooledBytes, 0)
    }

    /// Buffers of at least `mapThresholdBytes` are mapped and unmapped directly (pooled like any other), so freeing
    /// them returns the memory to the system; the threshold never goes below 1 MiB.
    func testBufferPoolMapsLargeBuffers() {
        let pool = BufferPool()
        pool.mapThresholdBytes = 1024
        XCTAssertEqual(pool.mapThresholdBytes, 1 << 20)
        let n = 1 << 19                                       // 2 MiB
        let p = pool.take(n)
        XCTAssertEqual(Int(bitPattern: p) % 4096, 0, "page-aligned: it came from mmap")
        p.initialize(repeating: 3, count: n)
        XCTAssertEqual(p[n - 1], 3)
        pool.give(p, n)
        XCTAssertEqual(pool.take(n), p, "pooled and reused")
        pool.give(p, n)
        pool.capacityBytes = 1 << 20                          // now too large to pool: evicted and unmapped
        let q = pool.take(2 * n)
        pool.give(q, 2 * n)
        pool.drain()
        XCTAssertEqual(pool.pooledBytes, 0)
    }
}

/// Every op family, forward with a graph that is never walked and forward + double backward: an op whose
/// backward closure captured its own output strongly would leak here (a retain cycle through its node).
final class OpLeakTests: XCTestCase {
    func testNoOpLeaksItsGraph() {
        let f = setupFilter([1, 3, 3, 1])
        func everything(_ x: Tensor, _ w: Tensor) -> Tensor {
            var y = conv2d(x, w, padding: (1, 1))
            y = biasAct(y, nil, act: .lrelu, clamp: 256)
            y = upfirdn2d(y, f, up: (2, 2), padding: (2, 1, 2, 1), gain: 4)
            y = groupNorm(y, groups: 2, weight: nil, bias: nil)
            y = avgPool2d(y, kernel: (2, 2)) + maxPool2d(y, kernel: (2, 2))
            y = interpolate(y, size: (5, 5), mode: .bilinear, antialias: true)
            let t = y.flatten(from: 2).transpose(1, 2)          // (N, 25, C)
            let a = scaledDotProductAttention(q: t.unsqueeze(1), k: t.unsqueeze(1), v: t.unsqueeze(1)).squeeze(1)
            let z = layerNorm(a, normalizedShape: [4]).softmax(axis: -1) + a.logSoftmax(axis: 1)
            let s = z.sort(axis: 1).values.gather(axis: 2, Tensor.zeros([2, 25, 1])).cumsum(axis: 1).exp().sqrt()
            let grid = (t.slice(axis: 2, start: 0, end: 2).tanh()).reshape([2, 5, 5, 2])
            return s.sum() + gridSample(x, grid).sigmoid().sum() + z.rsqrt().abs().tanh().sum() + y.max(axes: [1]).sum()
        }
        let w = testTensor([4, 3, 3, 3], seed: 1, requiresGrad: true)
        withTensorLeakChecking("forward with an unwalked graph") {
            let x = testTensor([2, 3, 8, 8], seed: 2, requiresGrad: true)
            _ = everything(x, w)
        }
        withTensorLeakChecking("backward") {
            let x = testTensor([2, 3, 8, 8], seed: 3, requiresGrad: true)
            everything(x, w).backward()
            w.grad = nil
        }
        withTensorLeakChecking("R1-style double backward") {
            let x = testTensor([2, 3, 8, 8], seed: 4, requiresGrad: true)
            let y = biasAct(conv2d(x, w, padding: (1, 1)), nil, act: .lrelu).softmax(axis: 1)
            let g = gradients(of: groupNorm(y, groups: 2).sum(), wrt: [x], createGraph: true)[0]
            (g * g).sum().backward()
            w.grad = nil
        }
    }
}
