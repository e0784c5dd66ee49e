// `--prompts FILE`: one prompt a line, each generated into its own folder under --out. Blank lines and lines
// starting with "#" are skipped; folder names are made safe for every file system.
import Foundation
import TensorCore

public enum PromptList {
    /// The prompts of `path`, with their line numbers.
    /// - Throws: `FileError` naming the file when it cannot be read, is not UTF-8, or holds no prompt.
    public static func read(path: String) throws -> [(line: Int, prompt: String)] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FileError(path: path, message: "cannot read the --prompts file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw FileError(path: path, message: "the --prompts file is not UTF-8 text")
        }
        let prompts = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated().compactMap { i, raw in
            let p = raw.trimmingCharacters(in: .whitespaces)
            return p.isEmpty || p.hasPrefix("#") ? nil : (line: i + 1, prompt: p)
        }
        guard !prompts.isEmpty else { throw FileError(path: path, message: "the --prompts file holds no prompt (one a line; # starts a comment)") }
        return prompts
    }

    /// The folder of prompt `index` (0-based): "NNN-" then the prompt's ASCII letters and digits in lower case,
    /// other runs of characters as one "-", at most 48 of them (so "A smiling woman, red hair!" at 0 gives
    /// "000-a-smiling-woman-red-hair"). The index keeps names unique and ordered; a prompt with no ASCII letter
    /// or digit gives "NNN-prompt".
    public static func folderName(index: Int, prompt: String) -> String {
        var slug = ""
        for scalar in prompt.unicodeScalars {
            if scalar.isASCII, CharacterSet.alphanumerics.contains(scalar) {
                slug.unicodeScalars.append(contentsOf: String(scalar).lowercased().unicodeScalars)
            } else if !slug.isEmpty, !slug.hasSuffix("-") {
                slug += "-"
            }
            if slug.count >= 48 { break }
        }
        while slug.hasSuffix("-") { slug.removeLast() }
        return String(format: "%03d-", index) + (slug.isEmpty ? "prompt" : slug)
    }
}
