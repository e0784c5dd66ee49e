// `dreamportrait data`: the synthetic portrait world on the command line. `synth` makes a dataset (streaming,
// resumable, SIGINT-safe, with a progress bar), `inspect` summarises one (counts, attribute histogram, poses,
// sample captions, a contact sheet), `turntable` renders one identity orbiting as a GIF, `render` one image.
import Codecs
import Foundation
import Training
import PortraitWorld
import TensorCore

enum DataCommand {
    static let command = Command(
        name: "data",
        abstract: "Make, inspect and preview the synthetic portrait dataset",
        discussion: "Procedural heads rendered from EG3D cameras, with captions and exact ground truth.",
        subcommands: [synth, inspect, turntable, render])

    static let synth = Command(
        name: "synth",
        abstract: "Render a dataset of N portraits with EG3D labels, captions and attributes",
        discussion: """
            Writes DIR/00000/img00000000.png ..., dataset.json (EG3D labels), captions.json, captions_ood.json,
            attributes.json and split.json. Interrupt with Ctrl-C: the images in flight are finished, the state is
            saved, and running the same command again resumes. Image i depends only on the seed and i.
            """,
        options: [
            Option(name: "--count", value: "N", help: "Number of images", defaultValue: "1000"),
            Option(name: "--resolution", value: "R", help: "Image width and height in pixels", defaultValue: "256"),
            Option(name: "--seed", value: "S", help: "World seed", defaultValue: "0"),
            Option(name: "--out", value: "DIR", help: "Output folder (created; resumed if it holds an unfinished run)"),
            Option(name: "--zip", value: nil, help: "Also write DIR.zip (EG3D reads zips)"),
            Option(name: "--aux", value: nil, help: "Also write depth, mask and part-ID maps as .npy under DIR/aux"),
            Option(name: "--config", value: "FILE", help: "JSON object overriding attribute sampling probabilities"),
            Option(name: "--test-fraction", value: "F", help: "Fraction of images in the test split", defaultValue: "0.1"),
            Option(name: "--no-antialias", value: nil, help: "One sample per pixel"),
        ],
        run: runSynth)

    static let inspect = Command(
        name: "inspect",
        abstract: "Summarise a dataset folder or zip and write a contact sheet",
        options: [
            Option(name: "--sheet", value: "FILE", help: "Contact sheet PNG", defaultValue: "<name>_contact_sheet.png"),
            Option(name: "--sheet-count", value: "N", help: "Images on the contact sheet", defaultValue: "16"),
            Option(name: "--captions", value: "N", help: "Images whose captions are printed", defaultValue: "3"),
        ],
        positionals: [("DIR", "Dataset folder or zip (this world's or EG3D's format)")],
        run: runInspect)

    static let turntable = Command(
        name: "turntable",
        abstract: "Render one identity orbiting (an animated GIF) to show 3D consistency",
        options: [
            Option(name: "--seed", value: "S", help: "World seed", defaultValue: "0"),
            Option(name: "--index", value: "I", help: "Identity index under the seed", defaultValue: "0"),
            Option(name: "--out", value: "FILE.gif", help: "Output GIF"),
            Option(name: "--resolution", value: "R", help: "Frame size in pixels", defaultValue: "192"),
            Option(name: "--frames", value: "N", help: "Frames in one orbit", defaultValue: "48"),
            Option(name: "--yaw-range", value: "RAD", help: "Yaw amplitude in radians", defaultValue: "0.6"),
        ],
        run: runTurntable)

    static let render = Command(
        name: "render",
        abstract: "Render image I of a world seed as a PNG and print its attributes and captions",
        options: [
            Option(name: "--seed", value: "S", help: "World seed", defaultValue: "0"),
            Option(name: "--index", value: "I", help: "Image index", defaultValue: "0"),
            Option(name: "--resolution", value: "R", help: "Size in pixels", defaultValue: "256"),
            Option(name: "--out", value: "FILE.png", help: "Output PNG"),
        ],
        run: runRender)

    // MARK: synth

    static func settings(_ a: Arguments) throws -> SynthSettings {
        var s = SynthSettings(count: try a.int("--count", default: 1000, range: 0...10_000_000),
                              resolution: try a.int("--resolution", default: 256, range: 8...4096),
                              seed: try seed(a))
        if let t = a.string("--test-fraction") {
            guard let tf = Double(t), (0...1).contains(tf) else {
                throw UsageError(message: "invalid value '\(t)' for --test-fraction: expected a number in 0...1", command: a.command)
            }
            s.testFraction = tf
        }
        s.auxiliary = a.flag("--aux")
        s.antialias = !a.flag("--no-antialias")
        if let path = a.string("--config") {
            guard let data = FileManager.default.contents(atPath: path) else { throw FileError(path: path, message: "cannot read --config file") }
            s.sampler = try SamplerConfig(json: data, source: path)
        }
        return s
    }

    static func seed(_ a: Arguments) throws -> UInt64 {
        guard let s = a.string("--seed") else { return 0 }
        guard let v = UInt64(s) else { throw UsageError(message: "invalid value '\(s)' for --seed: expected a non-negative integer", command: a.command) }
        return v
    }

    static func runSynth(_ a: Arguments) throws {
        guard let out = a.string("--out") else { throw UsageError(message: "missing --out DIR", command: a.command) }
        let s = try settings(a)
        let synth = try Synthesizer(settings: s, directory: out)
        if synth.done > 0 && synth.done < s.count { printError("resuming \(out) at image \(synth.done) of \(s.count)") }
        Interrupt.install()
        let bar = ProgressBar(total: s.count, start: synth.done, unit: "img")
        let finished = try synth.run(progress: { done, _ in bar.update(done) }, shouldStop: { Interrupt.requested })
        bar.finish()
        guard finished else {
            printError("interrupted after \(synth.done) of \(s.count) images; state saved in \(out)/.synth. Run the same command to resume.")
            exit(130)
        }
        if a.flag("--zip") {
            let zipPath = (out.hasSuffix("/") ? String(out.dropLast()) : out) + ".zip"
            try synth.writeZip(to: zipPath)
            print("wrote \(zipPath)")
        }
        print("\(out): \(s.count) images at \(s.resolution)x\(s.resolution), seed \(s.seed) (dataset.json, captions.json, captions_ood.json, attributes.json, split.json)")
    }

    // MARK: inspect

    static func runInspect(_ a: Arguments) throws {
        guard let path = a.positionals.first else { throw UsageError(message: "missing DIR (a dataset folder or zip)", command: a.command) }
        let ds = try EG3DDataset(path: path)
        let sheetCount = try a.int("--sheet-count", default: 16, range: 0...1024)
        let capCount = try a.int("--captions", default: 3, range: 0...1000)
        print("\(path): \(ds.count) images")
        print("  labels: \(ds.labels.map { "\($0.count) (\($0.values.first?.count ?? 0) values each)" } ?? "none")")
        print("  captions: \(ds.captions.map { "\($0.count) images, \($0.values.reduce(0) { $0 + $1.count }) captions" } ?? "none")"
              + (ds.captionsOOD.map { "; OOD style: \($0.count) images" } ?? ""))
        if let sp = ds.split { print("  split: \(sp.train.count) train, \(sp.test.count) test") }
        if let labels = ds.labels, !labels.isEmpty { printPoses(labels) }
        if let attrs = ds.attributes { printHistogram(attrs) }
        if let caps = ds.captions, capCount > 0 {
            print("sample captions:")
            for name in ds.imageNames.prefix(capCount) {
                for c in (caps[name] ?? []).prefix(3) { print("  \(name): \(c)") }
            }
        }
        if sheetCount > 0 && ds.count > 0 {
            let names = Array(ds.imageNames.prefix(sheetCount))
            var images = try names.map { try ds.image($0) }
            let w = images[0].width, h = images[0].height
            images = images.filter { $0.width == w && $0.height == h }
            let sheet = ContactSheet.make(images, columns: min(8, images.count), labels: names.map { String(($0 as NSString).deletingPathExtension.suffix(8)) },
                                          labelScale: w >= 128 ? 2 : 1)
            let base = ((path as NSString).standardizingPath as NSString).lastPathComponent
            let sheetPath = a.string("--sheet") ?? "\((base as NSString).deletingPathExtension)_contact_sheet.png"
            try ImageOutput.write(PNG.encode(sheet), to: sheetPath)
            print("contact sheet: \(sheetPath) (\(images.count) images)")
        }
    }

    static func printPoses(_ labels: [String: [Float]]) {
        var yaws: [Double] = [], pitches: [Double] = []
        for l in labels.values {
            guard let c = Camera(label: l.map(Double.init)) else { continue }
            let o = c.origin, r = (o * o).sum().squareRoot()
            yaws.append(atan2(o.x, o.z)); pitches.append(asin(-o.y / max(r, 1e-9)))
        }
        guard !yaws.isEmpty else { return }
        func stats(_ v: [Double]) -> String {
            let m = v.reduce(0, +) / Double(v.count)
            let sd = (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count)).squareRoot()
            return String(format: "mean %+.3f, sd %.3f, range [%+.3f, %+.3f] rad", m, sd, v.min()!, v.max()!)
        }
        print("  camera yaw: \(stats(yaws))")
        print("  camera pitch (+ = below the face): \(stats(pitches))")
    }

    static func printHistogram(_ attrs: [String: [String: Any]]) {
        let n = attrs.count
        guard n > 0 else { return }
        var trues: [String: Int] = [:], fields: [String: [String: Int]] = [:]
        for o in attrs.values {
            for (k, v) in o {
                if let b = v as? Bool { if b { trues[k, default: 0] += 1 } else { trues[k, default: 0] += 0 } }
                else if let s = v as? String { fields[k, default: [:]][s, default: 0] += 1 }
            }
        }
        print("attributes (\(n) images):")
        for k in trues.keys.sorted() {
            let f = Double(trues[k]!) / Double(n)
            let bar = String(repeating: "#", count: Int((f * 40).rounded()))
            print("  \(k.padding(toLength: 20, withPad: " ", startingAt: 0)) \(String(format: "%5.1f%%", f * 100)) \(bar)")
        }
        for k in fields.keys.sorted() {
            let parts = fields[k]!.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }
            print("  \(k): \(parts.joined(separator: ", "))")
        }
    }

    // MARK: turntable and render

    static func runTurntable(_ a: Arguments) throws {
        guard let out = a.string("--out") else { throw UsageError(message: "missing --out FILE.gif", command: a.command) }
        let seed = try seed(a)
        let index = try a.int("--index", default: 0, range: 0...(1 << 40))
        let R = try a.int("--resolution", default: 192, range: 8...2048)
        let frames = try a.int("--frames", default: 48, range: 1...1000)
        let yawRange = Double(try a.float("--yaw-range", default: 0.6))
        let id = AttributeSampler().identity(seed: seed, index: index)
        let bar = ProgressBar(total: frames, start: 0, unit: "frames")
        let gif = ImageOutput.turntable(id, frames: frames, resolution: R, yawRange: yawRange) { bar.update($0) }
        bar.finish()
        try ImageOutput.write(gif, to: out)
        print("\(out): \(frames) frames of identity \(index) (seed \(seed)): \(summary(id))")
    }

    static func runRender(_ a: Arguments) throws {
        guard let out = a.string("--out") else { throw UsageError(message: "missing --out FILE.png", command: a.command) }
        var s = SynthSettings(count: 1, resolution: try a.int("--resolution", default: 256, range: 8...4096), seed: try seed(a))
        s.captionsPerImage = 3
        let rec = World.record(s, index: try a.int("--index", default: 0, range: 0...(1 << 40)))
        try ImageOutput.writePNG(rec.rendering.rgb, width: s.resolution, height: s.resolution, path: out)
        print("\(out): \(summary(rec.identity))")
        print("label: \(rec.camera.label.map { String(format: "%.4f", $0) }.joined(separator: " "))")
        for c in rec.captions { print("  \(c)") }
        for c in rec.captionsOOD { print("  [ood] \(c)") }
    }

    static func summary(_ id: Identity) -> String {
        Attribute.allCases.filter { id.has($0) }.map(\.rawValue).joined(separator: " ")
            + " | \(id.skinTone.rawValue) skin, \(id.eyeColor.rawValue) eyes, \(id.background.rawValue) background"
    }
}
