// `dreamportrait pack`: a half-size copy of a weight folder (a teacher pipeline, a CLIP judge) for Weights/.
import Foundation
import TensorCore

enum PackCommand {
    static let command = Command(
        name: "pack",
        abstract: "Copy a weight folder with every F32 tensor stored as F16 (half the bytes; readers convert back)",
        discussion: """
            Copies --in to --out file by file: each .safetensors has its F32 tensors rounded to F16 (integer tensors and \
            metadata kept), every other file is copied as it is. Prints each file's size before and after and the \
            largest relative rounding error (max|x − f16(x)| / max|x| of the worst tensor). A value outside float16's \
            range stops the copy, naming the file and tensor.
            """,
        options: [
            Option(name: "--in", value: "DIR", help: "Weight folder to pack (e.g. a teacher export)"),
            Option(name: "--out", value: "DIR", help: "Where the packed copy goes"),
        ],
        run: run)

    static func run(_ a: Arguments) throws {
        guard let source = a.string("--in") else { throw UsageError(message: "missing --in DIR", command: a.command) }
        guard let destination = a.string("--out") else { throw UsageError(message: "missing --out DIR", command: a.command) }
        guard URL(fileURLWithPath: source).standardizedFileURL != URL(fileURLWithPath: destination).standardizedFileURL else {
            throw UsageError(message: "--out must differ from --in (\(source))", command: a.command)
        }
        let reports = try packWeightFolder(source, to: destination)
        var before = 0, after = 0
        for (path, r) in reports.sorted(by: { $0.key < $1.key }) {
            before += r.bytesBefore; after += r.bytesAfter
            print(String(format: "%@: %d -> %d bytes, %d tensors to F16, %d kept; worst relative error %.2e (%@)",
                         path, r.bytesBefore, r.bytesAfter, r.converted, r.kept, r.worstRelativeError, r.worstTensor))
        }
        print("\(destination): \(reports.count) weight files, \(before) -> \(after) bytes")
    }
}
