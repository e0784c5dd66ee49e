// Benchmark case for the CLIP vision encoder at OpenAI CLIP ViT-B/32's size (random weights), the model the
// metrics score renders with; Scripts/bench_torch.py times transformers' CLIPVisionModel on the same input.
import Teacher
import TensorCore

extension BenchCases {
    /// FLOPs of one ViT forward: patch projection, then per layer q/k/v/out (8·T·D²), the MLP (4·T·D·I) and
    /// attention scores and mixing (4·T²·D), for n images of T = patches + 1 tokens.
    static func vitWork(_ c: CLIPVisionConfig, batch n: Int) -> Double {
        let t = Double(c.numPatches + 1), d = Double(c.hiddenSize), i = Double(c.intermediateSize)
        let patch = 2 * Double(c.numPatches) * d * Double(c.numChannels * c.patchSize * c.patchSize)
        return Double(n) * (patch + Double(c.numHiddenLayers) * (8 * t * d * d + 4 * t * d * i + 4 * t * t * d))
    }

    static let clip: [BenchCase] = [
        BenchCase(name: "clip_vit_b32", shape: "8x3x224x224, ViT-B/32 vision tower", work: vitWork(CLIPVisionConfig(), batch: 8),
                  memoryBound: false) {
            let model = CLIPVisionModel(CLIPVisionConfig(), rng: RandomGenerator(seed: 1))
            let x = normal([8, 3, 224, 224], 2)
            return { _ = model(pixelValues: x) }
        },
    ]
}
