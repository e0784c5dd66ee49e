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
        var forward = Double.infinity, step = Double.infinity, phases = [Double](repeating: .infinity, count: 3)
        for _ in 0..<repeats {
            forward = min(forward, seconds { _ = withNoGrad { d(image: image, imageRaw: raw, c: c) } })
            step = min(step, seconds {
                d.zeroGrad()
                let r1 = r1Regularization(d, image: image, imageRaw: raw, c: c, gamma: 1)
                (r1.loss.mean() * 16).backward()
            })
            // The same step in its three phases: recorded forward, input gradient (createGraph), double backward.
            d.zeroGrad()
            let img = image.detach(), rw = raw.detach()
            img.requiresGrad = true
            rw.requiresGrad = true
            var logits: Tensor! = nil, g: [Tensor] = []
            let t0 = seconds { logits = d(image: img, imageRaw: rw, c: c) }
            let t1 = seconds { g = gradients(of: logits.sum(), wrt: [img, rw], createGraph: true) }
            let t2 = seconds { (((g[0] * g[0]).sum() + (g[1] * g[1]).sum()) * 8).backward() }
            phases = zip(phases, [t0, t1, t2]).map { min($0, $1) }
        }
        print(String(format: "D bench %@ batch %d, %d threads: forward %.4f s, R1 step (forward + input grad + double backward) %.4f s"
                     + " [recorded forward %.4f, input grad %.4f, double backward %.4f]",
                     "\(r)² (raw \(rawResolution)²)", n, Parallel.threadCount, forward, step, phases[0], phases[1], phases[2]))
    }

    func testTiny128() throws { try run(.tiny128, rawResolution: 32, repeats: 5) }
    func testFFHQ512() throws { try run(.ffhq512, rawResolution: 128, repeats: 1) }
}
