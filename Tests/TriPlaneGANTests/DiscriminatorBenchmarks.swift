// Timings of the dual discriminator's forward pass and R1 step (forward, input gradient with the graph kept,
// double backward to the parameters) at the tiny128 and FFHQ-512 sizes, batch 2. Skipped unless
// DISCRIMINATOR_BENCH=1; meaningful in a release build:
//   DISCRIMINATOR_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter DiscriminatorBenchmarks
import Foundation
import XCTest
import TensorCore
import TriPlaneGAN

final class DiscriminatorBenchmarks: XCTestCase {
    func seconds(_ body: () -> Void) -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }

    func run(_ config: DiscriminatorConfig, rawResolution: Int, repeats: Int) throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["DISCRIMINATOR_BENCH"] == "1", "set DISCRIMINATOR_BENCH=1")
        let rng = RandomGenerator(seed: 1)
        let d = DualDiscriminator(config, rng: rng)
        let n = 2, r = config.imgResolution
        let image = rng.normal([n, 3, r, r]), raw = rng.normal([n, 3, rawResolution, rawResolution])
        let c = rng.normal([n, config.cDim])
        var forward = Double.infinity, step = Double.infinity
        for _ in 0..<repeats {
            forward = min(forward, seconds { _ = withNoGrad { d(image: image, imageRaw: raw, c: c) } })
            step = min(step, seconds {
                d.zeroGrad()
                let r1 = r1Regularization(d, image: image, imageRaw: raw, c: c, gamma: 1)
                (r1.loss.mean() * 16).backward()
            })
        }
        print(String(format: "D bench %@ batch %d, %d threads: forward %.4f s, R1 step (forward + input grad + double backward) %.4f s",
                     "\(r)² (raw \(rawResolution)²)", n, Parallel.threadCount, forward, step))
    }

    func testTiny128() throws { try run(.tiny128, rawResolution: 32, repeats: 5) }
    func testFFHQ512() throws { try run(.ffhq512, rawResolution: 128, repeats: 1) }
}
