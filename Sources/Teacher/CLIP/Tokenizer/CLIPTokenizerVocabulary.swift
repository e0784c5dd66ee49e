// The vocabulary files of a Hugging Face CLIP tokenizer folder, in either of its formats, and writing one:
//  - vocab.json (symbol -> id) + merges.txt ("#version" header, "left right" per line in rank order): what
//    transformers 4's save_pretrained writes and Stable Diffusion 2.0-base's tokenizer/ holds;
//  - tokenizer.json (tokenizers' serialisation, what transformers 5 writes): model.vocab, model.merges (as
//    "left right" strings or [left, right] pairs), and added_tokens (id, content, normalized), which are split
//    out of the text before BPE as transformers' added tokens are.
// Our own teacher is saved in the first format (vocab.json, merges.txt, tokenizer_config.json,
// special_tokens_map.json), which both transformers 4 and 5 read.
import Foundation
import TensorCore

/// The vocabulary, merges and added tokens read from one tokenizer folder, with the files they came from.
struct CLIPVocabularyFiles {
    var vocab: [String: Int]
    var merges: [(String, String)]
    /// Names merge `i` in error messages ("line 7", "model.merges[5]").
    var describeMerge: (Int) -> String
    var added: [CLIPSpecialToken]
    var vocabFile: String
    var mergesFile: String
}

/// tokenizer.json, the parts a CLIP tokenizer needs.
private struct TokenizerJSON: Decodable {
    struct Model: Decodable {
        let type: String?
        let vocab: [String: Int]
        let merges: [[String]]
        let endOfWordSuffix: String?

        enum CodingKeys: String, CodingKey { case type, vocab, merges, endOfWordSuffix = "end_of_word_suffix" }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            type = try c.decodeIfPresent(String.self, forKey: .type)
            vocab = try c.decode([String: Int].self, forKey: .vocab)
            endOfWordSuffix = try c.decodeIfPresent(String.self, forKey: .endOfWordSuffix)
            // tokenizers >= 0.20 writes [left, right] pairs; older versions "left right" strings.
            if let pairs = try? c.decode([[String]].self, forKey: .merges) {
                merges = pairs
            } else {
                merges = try c.decode([String].self, forKey: .merges).map { $0.split(separator: " ", omittingEmptySubsequences: false).map(String.init) }
            }
        }
    }
    struct Added: Decodable { let id: Int; let content: String; let normalized: Bool? }

    let model: Model
    let addedTokens: [Added]?

    enum CodingKeys: String, CodingKey { case model, addedTokens = "added_tokens" }
}

extension CLIPTokenizer {
    /// Reads vocab.json + merges.txt when both exist, else tokenizer.json; names the missing or malformed file.
    static func vocabulary(folder: String) throws -> CLIPVocabularyFiles {
        let fm = FileManager.default
        func file(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        let vocabPath = file("vocab.json"), mergesPath = file("merges.txt"), jsonPath = file("tokenizer.json")
        let hasVocab = fm.fileExists(atPath: vocabPath), hasMerges = fm.fileExists(atPath: mergesPath)
        guard hasVocab && hasMerges else {
            if fm.fileExists(atPath: jsonPath) { return try tokenizerJSON(jsonPath) }
            throw FileError(path: hasVocab ? mergesPath : vocabPath,
                            message: "missing: a CLIP tokenizer folder needs vocab.json and merges.txt (transformers 4 layout) or tokenizer.json (transformers 5)")
        }
        // JSONDecoder, not JSONSerialization: the latter drops U+FEFF inside strings on Linux.
        let vocab: [String: Int]
        do { vocab = try JSONDecoder().decode([String: Int].self, from: try read(vocabPath)) } catch let e as DecodingError {
            throw FileError(path: vocabPath, message: "not a JSON object of token -> integer id: " + ModelFolder.describe(e))
        }
        let mergesText = String(decoding: try read(mergesPath), as: UTF8.self)
        var merges: [(String, String)] = [], lines: [Int] = []
        for (n, line) in mergesText.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty || (n == 0 && line.hasPrefix("#version")) { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw FileError(path: mergesPath, message: "line \(n + 1) is not \"left right\": \"\(line)\"") }
            merges.append((String(parts[0]), String(parts[1]))); lines.append(n + 1)
        }
        return CLIPVocabularyFiles(vocab: vocab, merges: merges, describeMerge: { "line \(lines[$0])" }, added: [],
                                   vocabFile: vocabPath, mergesFile: mergesPath)
    }

    /// tokenizer.json: a BPE model with CLIP's "</w>" end-of-word suffix.
    static func tokenizerJSON(_ path: String) throws -> CLIPVocabularyFiles {
        let t: TokenizerJSON
        do { t = try JSONDecoder().decode(TokenizerJSON.self, from: try read(path)) } catch let e as DecodingError {
            throw FileError(path: path, message: "not a tokenizers BPE serialisation: " + ModelFolder.describe(e))
        }
        guard t.model.type == nil || t.model.type == "BPE" else {
            throw FileError(path: path, message: "model.type is \"\(t.model.type!)\", a CLIP tokenizer needs \"BPE\"")
        }
        guard t.model.endOfWordSuffix == "</w>" else {
            throw FileError(path: path, message: "model.end_of_word_suffix is \(t.model.endOfWordSuffix.map { "\"\($0)\"" } ?? "null"), a CLIP tokenizer needs \"</w>\"")
        }
        var merges: [(String, String)] = []
        merges.reserveCapacity(t.model.merges.count)
        for (i, m) in t.model.merges.enumerated() {
            guard m.count == 2 else { throw FileError(path: path, message: "model.merges[\(i)] is not a pair: \(m)") }
            merges.append((m[0], m[1]))
        }
        let added = (t.addedTokens ?? []).map { CLIPSpecialToken(content: $0.content, id: $0.id, normalized: $0.normalized ?? false) }
        return CLIPVocabularyFiles(vocab: t.model.vocab, merges: merges, describeMerge: { "model.merges[\($0)]" }, added: added,
                                   vocabFile: path, mergesFile: path)
    }

    /// The vocabulary as symbol -> id.
    public var vocabulary: [String: Int] {
        var out: [String: Int] = [:]
        for (id, s) in idToToken { out[s] = id }
        return out
    }

    /// The merges in rank order, as (left, right) symbols.
    public var mergePairs: [(String, String)] {
        bpe.merges.sorted { $0.value.rank < $1.value.rank }.map { (key, _) in
            (idToToken[Int(key >> 32)]!, idToToken[Int(key & 0xFFFF_FFFF)]!)
        }
    }

    /// Writes a Hugging Face tokenizer folder that transformers' CLIPTokenizer.from_pretrained (4 and 5) and
    /// `init(folder:)` read back to the same tokenizer: vocab.json, merges.txt, tokenizer_config.json (special
    /// tokens, their flags in added_tokens_decoder, model_max_length) and special_tokens_map.json.
    public func save(folder path: String) throws {
        guard cleaning == .huggingFace else {
            throw FileError(path: path, message: "an open_clip tokenizer cleans text as open_clip does (ftfy, HTML unescaping), not as transformers' CLIPTokenizer, so it cannot be saved as a Hugging Face tokenizer folder")
        }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        func file(_ name: String) -> URL { URL(fileURLWithPath: (path as NSString).appendingPathComponent(name)) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try writeAtomically(try encoder.encode(vocabulary), to: file("vocab.json"))
        let merges = "#version: 0.2\n" + mergePairs.map { "\($0.0) \($0.1)\n" }.joined()
        try writeAtomically(Data(merges.utf8), to: file("merges.txt"))
        func content(_ id: Int) -> String { idToToken[id] ?? specialTokens.first { $0.id == id }!.content }
        let names: [String: Any] = ["bos_token": content(startTokenID), "eos_token": content(endTokenID),
                                    "unk_token": content(unkTokenID), "pad_token": content(padTokenID)]
        var added: [String: Any] = [:]
        for t in specialTokens {
            added[String(t.id)] = ["content": t.content, "lstrip": false, "normalized": t.normalized, "rstrip": false,
                                   "single_word": false, "special": true] as [String: Any]
        }
        var config = names
        config["added_tokens_decoder"] = added
        config["model_max_length"] = contextLength
        config["tokenizer_class"] = "CLIPTokenizer"
        config["do_lower_case"] = true
        config["errors"] = "replace"
        config["add_prefix_space"] = false
        try writeJSON(config, to: (path as NSString).appendingPathComponent("tokenizer_config.json"))
        try writeJSON(names, to: (path as NSString).appendingPathComponent("special_tokens_map.json"))
    }
}
