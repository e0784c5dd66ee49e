// The CLIP-similarity text loss of the ablation (paper Table 2, "w/ CLIP loss" in place of D-SDS):
// L = mean(1 − cos(E_img(render), E_txt(prompt))) with a frozen CLIP (a Hugging Face CLIPModel folder: weights,
// tokenizer, preprocessor). The render in [−1, 1] is mapped to [0, 1], resized to the vision tower's input with the
// antialiased bilinear filter (differentiable; the processor's bicubic resize and centre crop are not, and a square
// render needs no crop) and normalised with the processor's mean and std.
import Foundation
import TensorCore
import Teacher

public final class CLIPTextLoss {
    public let model: CLIPModel
    public let tokenizer: CLIPTokenizer
    public let size: Int
    let mean: Tensor, std: Tensor

    /// Loads the model, tokenizer and preprocessor of `folder`; errors name the missing or malformed file.
    public init(folder: String) throws {
        model = try CLIPModel(folder: folder)
        tokenizer = try CLIPTokenizer(folder: folder)
        let p = try CLIPImageProcessor(folder: folder)
        size = p.cropHeight
        mean = Tensor(p.imageMean, shape: [1, 3, 1, 1])
        std = Tensor(p.imageStd, shape: [1, 3, 1, 1])
        model.setRequiresGrad(false)
    }

    /// The loss for images (N, 3, H, W) in [−1, 1] and one prompt per image; differentiable in the images.
    public func callAsFunction(images: Tensor, prompts: [String]) -> (loss: Tensor, similarity: Double) {
        require(prompts.count == images.shape[0], "CLIPTextLoss: \(prompts.count) prompts for \(images.shape[0]) images")
        let text = withNoGrad { () -> Tensor in
            let (ids, mask) = tokenizer.encode(batch: prompts)
            return model.textEmbeddings(ids: ids, attentionMask: mask)
        }
        var x = (images + 1) * 0.5
        if images.shape[2] != size || images.shape[3] != size {
            x = interpolate(x, size: (size, size), mode: .bilinear, alignCorners: false, antialias: true)
        }
        let e = model.imageEmbeddings(pixelValues: (x - mean) / std)               // (N, D), normalised
        let cos = (e * text).sum(axes: [1])
        let loss = (1 - cos).mean()
        return (loss, Double(cos.mean().item()))
    }
}
