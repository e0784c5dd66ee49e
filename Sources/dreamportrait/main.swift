// dreamportrait: text prompt -> 3D-aware portrait (DreamPortrait), on TensorCore.
import Foundation
import TensorCore

let version = "0.1.0"

let root = Command(
    name: "dreamportrait",
    abstract: "Text-to-3D portraits in one forward pass (DreamPortrait on an EG3D tri-plane GAN), in pure Swift.",
    discussion: """
        `generate` makes a 3D portrait (views, depth maps, an orbit GIF, tri-planes, a coloured mesh) from a prompt with \
        the shipped model (Weights/dreamportrait, written by `ship`), or unconditionally from an EG3D checkpoint; `refine` \
        spends minutes refining one with the teacher (Portrait3D), `sds` optimises one from nothing (the per-prompt baseline). `data` makes and inspects the synthetic \
        portrait world, `teacher sample` draws an image with the diffusion teacher and `teacher train` trains the teacher, \
        the judge and the attribute classifier on that world, `train --stage 0|1|2` trains the generator (EG3D, then \
        the text conditioning with the GAN loss, then D-SDS), `eval` computes FID, MSC, CLIP R-precision, attribute \
        accuracy and 3D consistency, `directions` measures how far one direction of w moves each attribute of a stage-0 \
        generator, and `bench` times the tensor engine (`bench generator`, `bench vae`, `bench unet`, \
        `bench inception`, `bench train` time whole models).
        """,
    options: [Option(name: "--version", value: nil, help: "Show the version")],
    subcommands: [GenerateCommand.command, RefineCommand.command, SDSCommand.command, ShipCommand.command, PackCommand.command, TrainCommand.command, DataCommand.command, TeacherCommand.command, EvalCommand.command, DirectionsCommand.command, BenchCommand.command]
)

func main() -> Int32 {
    let argv = Array(CommandLine.arguments.dropFirst())
    do {
        if argv == ["--version"] { print("dreamportrait \(version)"); return 0 }
        let (cmd, args, path) = try Parser.parse(root, argv)
        if args.flag("--version") { print("dreamportrait \(version)"); return 0 }
        if args.flag("--help") || cmd.run == nil {
            print(Parser.help(cmd, path: path))
            return args.flag("--help") || argv.isEmpty ? 0 : 64
        }
        Parallel.threadCount = try args.int("--threads", default: ProcessInfo.processInfo.activeProcessorCount, range: 1...1024)
        try cmd.run!(args)
        // TENSORCORE_PROFILE=1|shapes: where the command's time went, by op (bench commands print their own).
        if OpProfile.isEnabled && !OpProfile.entries.isEmpty { printError("op profile (whole run)\n" + OpProfile.report(top: 40)) }
        return 0
    } catch let e as UsageError {
        printError(e.description)
        return 64
    } catch {
        printError("error: \(error)")
        return 1
    }
}

exit(main())
