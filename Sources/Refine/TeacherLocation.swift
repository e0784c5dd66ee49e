// Which teacher `sds` and `refine` use: `--teacher DIR` (any Stable-Diffusion-format pipeline folder), else the
// shipped one, first hit wins: $DREAMPORTRAIT_TEACHER; ./Weights/teacher under the current directory; Weights/teacher
// in the checkout holding the executable (the shipped model's search, ShippedModel.candidates). None is shipped yet:
// the error lists where it looked, what a teacher folder holds and how to make one.
import Foundation
import PortraitExport
import TensorCore

public enum TeacherLocation {
    public static let environmentVariable = "DREAMPORTRAIT_TEACHER"
    public static let defaultRelativePath = "Weights/teacher"
    static let parts = ["model_index.json", "scheduler", "unet", "vae", "text_encoder", "tokenizer"]
    static let howToGet = "pass --teacher DIR (a diffusers StableDiffusionPipeline folder: model_index.json, scheduler/, unet/, vae/, text_encoder/, tokenizer/), set $\(environmentVariable), or train the world's teacher with `Scripts/train_default.sh teacher` (it exports RUNS/teacher-unet/export) and copy it to \(defaultRelativePath)"

    /// The places searched when --teacher is absent.
    public static func candidates(environment: [String: String] = ProcessInfo.processInfo.environment,
                                  currentDirectory: String = FileManager.default.currentDirectoryPath,
                                  executable: String = CommandLine.arguments.first ?? "") -> [String] {
        var out: [String] = []
        if let e = environment[environmentVariable], !e.isEmpty { out.append(e) }
        let models = ShippedModel.candidates(environment: [:], currentDirectory: currentDirectory, executable: executable)
        for m in models {
            let c = ((m as NSString).deletingLastPathComponent as NSString).appendingPathComponent("teacher")
            if !out.contains(c) { out.append(c) }
        }
        return out
    }

    /// `given` (checked) or the first shipped teacher.
    /// - Throws: `FileError` naming --teacher and the missing part, or listing where it looked.
    public static func resolve(_ given: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                               currentDirectory: String = FileManager.default.currentDirectoryPath,
                               executable: String = CommandLine.arguments.first ?? "") throws -> String {
        if let given {
            if let missing = missingPart(given) {
                throw FileError(path: given, message: "--teacher: \(missing); \(howToGet)")
            }
            return given
        }
        let places = candidates(environment: environment, currentDirectory: currentDirectory, executable: executable)
        if let hit = places.first(where: { missingPart($0) == nil }) { return hit }
        let partial = places.first { FileManager.default.fileExists(atPath: $0) }
        throw FileError(path: partial ?? defaultRelativePath, message: "no teacher found (no --teacher, and no Stable Diffusion pipeline folder at "
                        + places.joined(separator: ", ") + (partial.flatMap(missingPart).map { "; \(partial!): \($0)" } ?? "") + "); " + howToGet)
    }

    /// What `folder` lacks to be a pipeline folder, or nil.
    static func missingPart(_ folder: String) -> String? {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir) else { return "no such folder" }
        guard isDir.boolValue else { return "is a file, not a pipeline folder" }
        let missing = parts.filter { !FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent($0)) }
        return missing.isEmpty ? nil : "\(missing.joined(separator: ", ")) \(missing.count == 1 ? "is" : "are") missing"
    }
}
