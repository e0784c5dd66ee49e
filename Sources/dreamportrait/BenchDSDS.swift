// `dreamportrait bench dsds`: one D-SDS evaluation (VAE encoder forward and backward, the U-Net on the
// unconditional and conditional branches) on random images, with a teacher pipeline folder.
// Scripts/bench_dsds_torch.py does the same computation with diffusers' models.
import Distill
import Foundation
import Teacher
import TensorCore

enum BenchDSDS {
    static let command = Command(
        name: "dsds",
        abstract: "Time one D-SDS step (VAE encode with its backward, U-Net with CFG) with a teacher pipeline folder",
        options: [
            Option(name: "--teacher", value: "DIR", help: "Diffusers pipeline folder"),
            Option(name: "--size", value: "PX", help: "Image side fed to the VAE", defaultValue: "64"),
            Option(name: "--batch", value: "N", help: "Images per step", defaultValue: "4"),
            Option(name: "--repeats", value: "N", help: "Timed runs", defaultValue: "3"),
        ],
        run: run)

    static func run(_ args: Arguments) throws {
        guard let folder = args.string("--teacher") else { throw UsageError(message: "missing required option '--teacher'", command: args.command) }
        let size = try args.int("--size", default: 64, range: 8...1024)
        let n = try args.int("--batch", default: 4, range: 1...256)
        let repeats = try args.int("--repeats", default: 3, range: 1...100)
        let t = try loadTeacherModels(folder: folder)
        let states = try t.text.encode((0..<n).map { "a portrait of person \($0) with glasses" }), empty = try t.text.encode([""])
        let rng = RandomGenerator(seed: 0)
        let image = rng.uniform([n, 3, size, size], low: -1, high: 1)
        var s = DSDSSettings()
        s.rescale = .none
        let f = t.vae.downsamplingFactor
        func once() {
            let leaf = image.detach()
            leaf.requiresGrad = true
            let d = DSDSDraws.draw(rng, n: n, latentShape: [t.vae.latentChannels, size / f, size / f],
                                   trainTimesteps: t.scheduler.schedule.trainTimesteps, settings: s)
            let r = DSDS.evaluate(unet: t.unet, vae: t.vae, schedule: t.scheduler.schedule, image: leaf, conditional: states,
                                  unconditional: empty, draws: d, settings: s)
            _ = gradients(of: r.loss, wrt: [leaf])
        }
        once()
        var best = Double.infinity
        for _ in 0..<repeats {
            let t0 = Date()
            once()
            best = Swift.min(best, Date().timeIntervalSince(t0))
        }
        print("{\"impl\": \"tensorcore\", \"size\": \(size), \"batch\": \(n), \"threads\": \(Parallel.threadCount), \"best_s\": \(String(format: "%.4f", best)), \"peak_rss_mib\": \(String(format: "%.1f", MemoryUsage.peakRSS()))}")
    }
}
