// `dreamportrait bench teacher-train`: one training step (forward, backward, AdamW update) of the world teacher's
// U-Net (batch 32 of 16×16×4 latents, 77 text states of 256) and VAE (batch 8 of 64×64 images, L1 + L2 + KL),
// random data, as `teacher train` runs them. Scripts/bench_teacher_train_torch.py times the same steps with
// diffusers' models built from the configs this command writes (--configs DIR), so the two compare directly.
import Foundation
import Teacher
import TeacherTraining
import TensorCore

enum BenchTeacherTrain {
    static let command = Command(
        name: "teacher-train",
        abstract: "Time one training step of the world teacher's U-Net and VAE (compare: Scripts/bench_teacher_train_torch.py)",
        options: [
            Option(name: "--runs", value: "N", help: "Timed steps after one warm-up", defaultValue: "3"),
            Option(name: "--configs", value: "DIR", help: "Write unet.json and vae.json (the configs timed) into DIR"),
            Option(name: "--json", value: nil, help: "Print one JSON object per model"),
            Option(name: "--profile", value: nil, help: "Also print where each model's timed steps spend their time, by op (forward and backward)"),
            Option(name: "--profile-shapes", value: nil, help: "As --profile, one row per op and input shapes"),
        ] + TrainingPool.options,
        run: run)

    static func run(_ args: Arguments) throws {
        try TrainingPool.configure(args)
        let runs = try args.int("--runs", default: 3, range: 1...1000)
        let unetConfig = WorldTeacherSizes.unet(crossAttentionDim: 256), vaeConfig = WorldTeacherSizes.vae
        if let dir = args.string("--configs") {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
            try enc.encode(unetConfig).write(to: URL(fileURLWithPath: dir + "/unet.json"))
            try enc.encode(vaeConfig).write(to: URL(fileURLWithPath: dir + "/vae.json"))
        }
        let g = RandomGenerator(seed: 1)
        let unet = try UNet2DConditionModel(config: unetConfig, rng: g)
        let unetAdam = Adam.adamW(unet.namedParameters(), lr: 1e-4)
        let latents = g.normal([32, 4, 16, 16]), states = g.normal([32, 77, 256]), noise = g.normal([32, 4, 16, 16])
        let t = Tensor((0..<32).map { Float($0 * 31 % 1000) }, shape: [32])
        let unetStep = {
            let d = unet(latents, timestep: t, encoderHiddenStates: states) - noise
            let loss = (d * d).mean()
            unetAdam.zeroGrad(); loss.backward(); unetAdam.step()
        }
        let vae = try AutoencoderKL(config: vaeConfig, rng: g)
        let vaeAdam = Adam(vae.namedParameters(), lr: 1e-4, betas: (0.5, 0.9))
        let images = g.uniform([8, 3, 64, 64], low: -1, high: 1)
        let posteriorNoise = g.normal([8, 4, 16, 16])
        let vaeStep = {
            let p = vae.encode(images)
            let d = vae.decode(p.sample(noise: posteriorNoise)) - images
            let loss = d.abs().mean() + (d * d).mean() + p.kl().mean() * Float(1e-6 / 12288)
            vaeAdam.zeroGrad(); loss.backward(); vaeAdam.step()
        }
        for (name, step, batch) in [("unet", unetStep, 32), ("vae", vaeStep, 8)] {
            step()
            var best = Double.infinity, bestCPU = Double.infinity, total = 0.0
            let profile = args.flag("--profile") || args.flag("--profile-shapes")
            OpProfile.byShape = args.flag("--profile-shapes")
            OpProfile.isEnabled = profile
            OpProfile.reset()
            defer { OpProfile.isEnabled = false }
            for _ in 0..<runs {
                let t0 = DispatchTime.now().uptimeNanoseconds, c0 = MemoryUsage.cpuSeconds()
                step()
                let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                best = Swift.min(best, dt); bestCPU = Swift.min(bestCPU, MemoryUsage.cpuSeconds() - c0); total += dt
            }
            if args.flag("--json") {
                print("{\"model\": \"\(name)\", \"batch\": \(batch), \"best_s\": \(best), \"mean_s\": \(total / Double(runs)), \"best_cpu_s\": \(bestCPU), \"threads\": \(Parallel.threadCount)}")
            } else {
                print(String(format: "%@ training step, batch %d: best %.3f s, mean %.3f s, CPU %.2f s (%d threads)", name, batch, best, total / Double(runs), bestCPU, Parallel.threadCount))
            }
            if profile { print("\(name), per step (profiled: timings include the profiler's clock reads)\n" + OpProfile.report(steps: runs)) }
        }
    }
}
