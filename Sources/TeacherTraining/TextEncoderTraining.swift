// Training the teacher's text encoder together with its U-Net (ours; Stable Diffusion keeps its text encoder
// frozen). Why: the world's captions state most attributes by negation ("He is not wearing eyeglasses" outnumbers
// "He is wearing eyeglasses" 5.4 to 1 in the training split), and the contrastively trained text tower hardly tells
// them apart (the state of "eyeglasses" moves by cosine 0.93, of "beard" after "no" by 0.99, where "black" → "blond"
// moves the state of "hair" to cosine 0.07), so a U-Net conditioned on it cannot learn glasses, smiles or beards
// from the captions. Two signals reach the text encoder: the U-Net's ε-loss through the cross-attention, and an
// auxiliary head reading the attributes each caption states (PromptAttributes: true or false, unstated ones
// masked) from the end token's state, by binary cross-entropy. The encoder steps at `lrMultiplier` × the U-Net's
// rate and has an EMA like the U-Net's; the EMA pair is what is exported and sampled.
// `impliedAbsent` (session 29): 28 of the 43 attributes, the hair colours among them, are only ever stated true, so
// the head learns them as constant biases and nothing asks the end token to tell them apart; trained so, it came to
// carry gender and lose hair colour (README, Training, "Session 28"), which the generator's semantics mapping reads.
// With it, a stated hair colour also states the other five false (PromptAttributes.impliedAbsent).
import PortraitWorld
import Teacher
import TensorCore

public struct TextEncoderTraining: Equatable, Sendable {
    /// The text encoder's (and the head's) learning rate as a multiple of the U-Net's.
    public var lrMultiplier: Double = 1
    /// Weight of the auxiliary attribute loss beside the ε-loss (0: the ε-loss alone).
    public var attributeWeight: Float = 0.1
    /// The head also learns the attributes a caption implies absent (the other hair colours).
    public var impliedAbsent = false
    public init(lrMultiplier: Double = 1, attributeWeight: Float = 0.1, impliedAbsent: Bool = false) {
        self.lrMultiplier = lrMultiplier; self.attributeWeight = attributeWeight; self.impliedAbsent = impliedAbsent
    }
}

/// The auxiliary head: the end token's state (hidden) -> the 43 attributes' logits.
public final class StatedAttributeHead: Module {
    public let proj: Linear
    public init(hidden: Int, rng: RandomGenerator) {
        proj = Linear(hidden, Attribute.allCases.count, rng: rng)
        super.init()
        registerModule("proj", proj)
    }

    /// Each row's state at its end token: states (N, L, H), ids' attention mask (N, L) -> (N, H).
    public static func endStates(_ states: Tensor, attentionMask: Tensor) -> Tensor {
        let (n, l, h) = (states.shape[0], states.shape[1], states.shape[2])
        let lengths = attentionMask.sum(axes: [1]).toArray()
        let rows = (0..<n).map { Float($0 * l + Swift.max(Int(lengths[$0]) - 1, 0)) }
        return states.reshape([n * l, h]).indexSelect(axis: 0, Tensor(rows, shape: [n]))
    }

    /// Mean BCE of the stated (and with `impliedAbsent` the implied) attributes of `prompts` (none: zero) read from
    /// the end states.
    public func loss(states: Tensor, attentionMask: Tensor, prompts: [String], impliedAbsent: Bool = false) -> Tensor {
        let (target, mask) = AttributeHeads.stated(prompts, impliedAbsent: impliedAbsent)
        return AttributeHeads.bce(proj(Self.endStates(states, attentionMask: attentionMask)), target, mask: mask)
    }
}
