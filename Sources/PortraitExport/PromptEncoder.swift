// Prompt text → the generator's text conditioning (t_EOT, word tokens, mask), as training encodes captions
// (method doc §2; Sources/Distill/TextStages.swift): CLIPTokenizer padded to 77, the text encoder's states, then
// TextConditioning.fromCLIP. Checks what a user can get wrong, and mixes two prompts for `--mix`.
import Foundation
import Teacher
import TensorCore
import TriPlaneGAN

/// A prompt that cannot be generated from.
public struct PromptError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public final class PromptEncoder {
    public let text: CLIPTextEncoding
    /// Warnings (a truncated prompt); standard error on the command line.
    public var warn: (String) -> Void = { _ in }

    public init(text: CLIPTextEncoding) {
        self.text = text
        text.tokenizer.warningHandler = { _ in }   // `encode` says it once, with the flag
    }

    /// Word tokens a prompt can hold: the context (77) less the start and end tokens.
    public var maxWordTokens: Int { text.tokenizer.contextLength - 2 }

    /// The prompt's token count without start and end.
    public func tokenCount(_ prompt: String) -> Int { text.tokenizer.tokenize(prompt).count }

    /// Encodes one prompt. Any non-empty text gives a conditioning: non-ASCII text and words the tokenizer never
    /// saw fall back to byte-level pieces, and a prompt that contradicts itself is encoded as written.
    /// - Parameter flag: names the prompt's source in messages ("--prompt", "--prompts FILE line 3").
    /// - Throws: `PromptError` for a prompt that is empty or only whitespace, or one that gives no token.
    ///   Over `maxWordTokens` tokens: a warning, and only the first `maxWordTokens` are used (the tokenizer's rule).
    public func encode(_ prompt: String, flag: String = "--prompt") throws -> TriPlaneGAN.TextConditioning {
        guard !prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw PromptError("\(flag): the prompt is empty; describe the portrait, e.g. \(flag) \"a smiling woman with red hair\"")
        }
        let tokens = text.tokenizer.tokenize(prompt)
        guard !tokens.isEmpty else { throw PromptError("\(flag): the prompt \"\(prompt)\" gives no token (only characters the tokenizer drops)") }
        if tokens.count > maxWordTokens {
            warn("warning: \(flag) is \(tokens.count) tokens long; only the first \(maxWordTokens) are used (CLIP's context is \(text.tokenizer.contextLength) with the start and end tokens)")
        }
        // The tokenizer's padded row up to its end token (start, the first maxWordTokens tokens, end): only the states
        // up to the end token are used (t_EOT and the word tokens; the slots after it are masked and zero), and the
        // encoder is causal, so this prefix is encoded alone (a dozen tokens instead of 77).
        let ids = [text.tokenizer.startTokenID] + tokens.prefix(maxWordTokens) + [text.tokenizer.endTokenID]
        let states = text.encode(ids: Tensor(ids.map(Float.init), shape: [1, ids.count]))   // (1, ids, Dt)
        return TriPlaneGAN.TextConditioning.fromCLIP(hiddenStates: states, tokenIDs: [ids], maxWords: maxWordTokens)
    }

    /// Prompt mixing (`--mix B --alpha α`): the text conditioning interpolated between two encoded prompts.
    ///
    /// * t_EOT = (1 − α)·t_EOT(a) + α·t_EOT(b) (the global injection, i.e. the semantics mapping's input);
    /// * word slot j (the local injection): (1 − α)·a_j + α·b_j where both prompts have a word there, the one
    ///   prompt's word where only it has one; the mask is the union of both masks;
    /// * α = 0 and α = 1 return `a` and `b` exactly (so the endpoints are the plain prompts; between them the
    ///   adapters attend to the union of both prompts' word slots).
    /// α outside [0, 1] extrapolates t_EOT and the shared slots.
    public static func mix(_ a: TriPlaneGAN.TextConditioning, _ b: TriPlaneGAN.TextConditioning, alpha: Float) -> TriPlaneGAN.TextConditioning {
        require(a.batch == 1 && b.batch == 1 && a.dim == b.dim && a.length == b.length,
                "PromptEncoder.mix: two single prompts of one encoder are needed, got \(a.words.shape) and \(b.words.shape)")
        if alpha == 0 { return a }
        if alpha == 1 { return b }
        let (l, d) = (a.length, a.dim)
        let ea = a.eot.toArray(), eb = b.eot.toArray()
        let eot = (0..<d).map { (1 - alpha) * ea[$0] + alpha * eb[$0] }
        let wa = a.words.toArray(), wb = b.words.toArray(), ma = a.mask.toArray(), mb = b.mask.toArray()
        var words = [Float](repeating: 0, count: l * d), mask = [Float](repeating: 0, count: l)
        for j in 0..<l {
            let (inA, inB) = (ma[j] != 0, mb[j] != 0)
            guard inA || inB else { continue }
            mask[j] = 1
            for k in 0..<d {
                let i = j * d + k
                words[i] = inA && inB ? (1 - alpha) * wa[i] + alpha * wb[i] : (inA ? wa[i] : wb[i])
            }
        }
        return TriPlaneGAN.TextConditioning(eot: Tensor(eot, shape: [1, d]), words: Tensor(words, shape: [1, l, d]), mask: Tensor(mask, shape: [1, l]))
    }
}
