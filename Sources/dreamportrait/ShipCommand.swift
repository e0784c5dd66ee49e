// `dreamportrait ship`: the shipped model folder (Weights/dreamportrait) from a stage-1/2 checkpoint and the teacher
// folder whose text encoder trained it (PortraitExport's ShippedModel.export).
import Foundation
import PortraitExport
import TensorCore

enum ShipCommand {
    static let command = Command(
        name: "ship",
        abstract: "Write the shipped model folder (what `generate --prompt` uses) from a trained text-conditioned checkpoint",
        discussion: """
            Writes --out/model.json, generator.safetensors (G_ema, F16 unless --f32), text_encoder/ and tokenizer/ \
            (copied from --teacher). `dreamportrait generate` finds --out when it is Weights/dreamportrait in the checkout \
            or the current directory, or through $DREAMPORTRAIT_MODEL.
            """,
        options: [
            Option(name: "--checkpoint", value: "FILE", help: "Stage-1/2 snapshot holding G_ema or G (or a saved TextConditionedGenerator)"),
            Option(name: "--teacher", value: "DIR", help: "Teacher pipeline folder (its tokenizer/ and text_encoder/)"),
            Option(name: "--out", value: "DIR", help: "Model folder", defaultValue: "Weights/dreamportrait"),
            Option(name: "--description", value: "TEXT", help: "What the model is", defaultValue: "DreamPortrait on the synthetic world"),
            Option(name: "--note", value: "KEY=VALUE", help: "Training facts for model.json (comma-separated KEY=VALUE pairs)"),
            Option(name: "--f32", value: nil, help: "Store the generator in F32 instead of F16"),
        ],
        run: run)

    static func run(_ a: Arguments) throws {
        guard let checkpoint = a.string("--checkpoint") else { throw UsageError(message: "missing --checkpoint FILE (a stage-1/2 snapshot)", command: a.command) }
        guard let teacher = a.string("--teacher") else { throw UsageError(message: "missing --teacher DIR (tokenizer/ and text_encoder/)", command: a.command) }
        var notes: [String: String] = [:]
        for pair in a.list("--note") ?? [] {
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { throw UsageError(message: "invalid --note '\(pair)': expected KEY=VALUE", command: a.command) }
            notes[kv[0]] = kv[1]
        }
        let out = a.string("--out") ?? ShippedModel.defaultRelativePath
        let m = try ShippedModel.export(checkpoint: checkpoint, teacher: teacher, out: out,
                                        description: a.string("--description") ?? "DreamPortrait on the synthetic world",
                                        training: notes, dtype: a.flag("--f32") ? .F32 : .F16)
        print("\(out): " + m.manifest.sizes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value) bytes" }.joined(separator: ", "))
    }
}
