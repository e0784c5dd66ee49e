// Loading a CLIPTokenizer from either vocabulary layout:
//  - a Hugging Face tokenizer folder (transformers CLIPTokenizer.from_pretrained): vocab.json, merges.txt
//    ("#version" header, one "left right" pair per line, in rank order) or tokenizer.json (transformers 5;
//    read in CLIPTokenizerVocabulary.swift), tokenizer_config.json and
//    special_tokens_map.json for bos/eos/unk/pad (strings or AddedToken objects with "content" and
//    "normalized"), added_tokens_decoder and model_max_length;
//  - OpenAI/open_clip's bpe_simple_vocab_16e6.txt.gz (open_clip SimpleTokenizer.__init__): the merges after
//    the header line, the first 49152 - 256 - 2 of them, with the vocabulary built from them (256 byte
//    symbols, the same with "</w>", one per merge, then <start_of_text> and <end_of_text>).
import Codecs
import Foundation
import TensorCore

extension CLIPTokenizer {
    /// Loads a Hugging Face CLIP tokenizer folder (a pipeline's `tokenizer/`, a CLIP model folder): vocab.json
    /// and merges.txt (transformers 4's save_pretrained, Stable Diffusion 2.0-base's folder), or else
    /// tokenizer.json (transformers 5's). Cleaning follows transformers' CLIPTokenizer. Missing or malformed
    /// files are named.
    public convenience init(folder: String) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw FileError(path: folder, message: "no such tokenizer folder")
        }
        func file(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        let vocabulary = try Self.vocabulary(folder: folder)
        let (vocab, merges, mergesPath) = (vocabulary.vocab, vocabulary.merges, vocabulary.mergesFile)

        let config = try Self.jsonObject(file("tokenizer_config.json")) ?? [:]
        let map = try Self.jsonObject(file("special_tokens_map.json")) ?? [:]
        func token(_ key: String, _ fallback: String) throws -> (content: String, normalized: Bool) {
            for (source, name) in [(config, "tokenizer_config.json"), (map, "special_tokens_map.json")] {
                guard let v = source[key], !(v is NSNull) else { continue }
                if let s = v as? String { return (s, false) }
                if let d = v as? [String: Any], let c = d["content"] as? String {
                    return (c, d["normalized"] as? Bool ?? false)
                }
                throw FileError(path: file(name), message: "\(key) must be a string or {\"content\": string}, got \(v)")
            }
            return (fallback, false)
        }
        var resolved: [String: (content: String, normalized: Bool)] = [:]
        for (key, fallback) in ["bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
                                "unk_token": "<|endoftext|>", "pad_token": "<|endoftext|>"] {
            resolved[key] = try token(key, fallback)
        }
        var specials: [String: CLIPSpecialToken] = [:]
        // tokenizer.json's added_tokens, then added_tokens_decoder (id -> AddedToken): their flags win over the
        // plain names.
        for t in vocabulary.added { specials[t.content] = t }
        if let added = config["added_tokens_decoder"] as? [String: Any] {
            for (idText, value) in added {
                guard let id = Int(idText), let d = value as? [String: Any], let c = d["content"] as? String else {
                    throw FileError(path: file("tokenizer_config.json"), message: "added_tokens_decoder entry \"\(idText)\" is not an id with a content")
                }
                specials[c] = CLIPSpecialToken(content: c, id: id, normalized: d["normalized"] as? Bool ?? false)
            }
        }
        var ids: [String: Int] = [:]
        for key in ["bos_token", "eos_token", "unk_token", "pad_token"] {
            let t = resolved[key]!
            guard let id = specials[t.content]?.id ?? vocab[t.content] else {
                throw FileError(path: file("tokenizer_config.json"), message: "\(key) \"\(t.content)\" is not in the vocabulary (\(vocabulary.vocabFile))")
            }
            ids[key] = id
            if specials[t.content] == nil { specials[t.content] = CLIPSpecialToken(content: t.content, id: id, normalized: t.normalized) }
        }
        if let extra = config["additional_special_tokens"] as? [Any] {
            for e in extra {
                guard let c = (e as? String) ?? ((e as? [String: Any])?["content"] as? String), specials[c] == nil else { continue }
                guard let id = vocab[c] else { throw FileError(path: file("tokenizer_config.json"), message: "additional special token \"\(c)\" is not in the vocabulary (\(vocabulary.vocabFile))") }
                specials[c] = CLIPSpecialToken(content: c, id: id, normalized: ((e as? [String: Any])?["normalized"] as? Bool) ?? false)
            }
        }
        // model_max_length is 77 in CLIP folders; absent or a "very large" sentinel means 77.
        var context = 77
        if let v = config["model_max_length"], !(v is NSNull) {
            guard let m = (v as? NSNumber)?.doubleValue, !(v is Bool), m >= 2, m.rounded() == m else {
                throw FileError(path: file("tokenizer_config.json"), message: "model_max_length must be an integer of at least 2, got \(v)")
            }
            if m <= 1_000_000 { context = Int(m) }   // larger: transformers' "no limit" sentinel
        }

        do {
            try self.init(cleaning: .huggingFace, vocab: vocab, merges: merges, describeMerge: vocabulary.describeMerge,
                          contextLength: context, start: ids["bos_token"]!, end: ids["eos_token"]!, pad: ids["pad_token"]!,
                          specials: Array(specials.values), patternLiterals: ["<|startoftext|>", "<|endoftext|>"], literalIDs: [:],
                          unk: ids["unk_token"]!)
        } catch let e as ByteLevelBPE.BPEError {
            throw FileError(path: mergesPath, message: e.message)
        }
    }

    /// Loads OpenAI/open_clip's `bpe_simple_vocab_16e6.txt.gz`. Cleaning follows open_clip (ftfy and HTML
    /// unescaping; see FTFY.swift for what is not implemented); padding is 0.
    public convenience init(bpeGzip path: String, contextLength: Int = 77) throws {
        let data: Data
        do { data = try Gzip.decompress(path: path) } catch let e as FileError { throw e } catch {
            throw FileError(path: path, message: "cannot inflate: \(error)")
        }
        let text = String(decoding: data, as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let wanted = 49152 - 256 - 2
        guard lines.count > wanted else {
            throw FileError(path: path, message: "has \(max(lines.count - 1, 0)) merges; open_clip's vocabulary needs \(wanted)")
        }
        var merges: [(String, String)] = []
        merges.reserveCapacity(wanted)
        for n in 1...wanted {
            let parts = lines[n].split(separator: " ")
            guard parts.count == 2 else { throw FileError(path: path, message: "line \(n + 1) is not \"left right\": \"\(lines[n])\"") }
            merges.append((String(parts[0]), String(parts[1])))
        }
        var vocab: [String: Int] = [:]
        vocab.reserveCapacity(49408)
        for end in [false, true] {
            for s in ByteLevelBPE.byteToScalar.indices.sorted(by: { Self.openCLIPByteOrder($0) < Self.openCLIPByteOrder($1) }) {
                vocab[ByteLevelBPE.symbol(UInt8(s), endOfWord: end)] = vocab.count
            }
        }
        // One id per merge, in order; a repeated merged string keeps its last id (dict(zip(vocab, range(...)))).
        for (n, (a, b)) in merges.enumerated() { vocab[a + b] = 512 + n }
        let sot = "<start_of_text>", eot = "<end_of_text>"
        vocab[sot] = 512 + wanted; vocab[eot] = 513 + wanted
        do {
            try self.init(cleaning: .openCLIP, vocab: vocab, merges: merges, describeMerge: { "line \($0 + 2)" },
                          contextLength: contextLength, start: vocab[sot]!, end: vocab[eot]!, pad: 0, specials: [],
                          patternLiterals: [sot, eot], literalIDs: [sot: vocab[sot]!, eot: vocab[eot]!])
        } catch let e as ByteLevelBPE.BPEError {
            throw FileError(path: path, message: e.message)
        }
    }

    /// Position of a byte's symbol in bytes_to_unicode's value order (printable bytes first, then the rest).
    static func openCLIPByteOrder(_ b: Int) -> Int {
        let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
        return printable ? b : 256 + b
    }

    static func read(_ path: String) throws -> Data {
        do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw FileError(path: path, message: "cannot read: \(error.localizedDescription)")
        }
    }

    /// The JSON object in `path`, nil if the file does not exist.
    static func jsonObject(_ path: String) throws -> [String: Any]? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let o = try? JSONSerialization.jsonObject(with: try read(path)) as? [String: Any] else {
            throw FileError(path: path, message: "not a JSON object")
        }
        return o
    }
}
