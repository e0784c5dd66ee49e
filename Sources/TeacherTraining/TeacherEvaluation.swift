// How good the trained teacher is, on held-out identities (the teacher issue's bars):
//  * R-precision by the judge: for each held-out caption, a `teacher sample` image (guidance 7.5, DDIM); the
//    judge ranks the true caption among it and 99 captions of other samples (ties count against it); the
//    percentage ranked first (bar: ≥ 70%).
//  * Attribute agreement: the attribute classifier's reading of each sample against the attributes its caption
//    states (PromptAttributes); the fraction of stated attributes shown (bar: ≥ 85%). The same on the real
//    held-out images for reference (what the classifier itself reaches).
//  * The judge's R-precision on the real held-out images with the same captions and distractors: the ceiling the
//    captions and the judge allow (a caption states a handful of attributes, so several of 100 may fit an image).
//  * The same two readings of the real images after the teacher's VAE (encode, posterior mean, decode): what the
//    latent space itself keeps, the ceiling of any U-Net on this VAE.
import Codecs
import Foundation
import Metrics
import PortraitWorld
import Teacher
import TensorCore
import Training

public struct TeacherEvaluationSettings {
    public var teacher: String, judge: String, attributes: String, data: String
    /// Reads the real images' round trip through this VAE (a diffusers vae/ folder) instead of the teacher's own.
    public var roundTripVAE: String? = nil
    public var count = 200, steps = 50, batch = 8
    public var guidance: Float = 7.5
    public var seed: UInt64 = 0
    public var distractors = 99
    public var quiet = false
    public init(teacher: String, judge: String, attributes: String, data: String) {
        self.teacher = teacher; self.judge = judge; self.attributes = attributes; self.data = data
    }
}

public struct TeacherEvaluation {
    public let rPrecision: Double
    /// The samples' and the real images' agreement with their captions, pooled and per attribute (the rule of
    /// `eval`'s attribute accuracy: `AttributeAccuracy.count`).
    public let sampleAttributes: AttributeAccuracy.Counts
    public let realAttributes: AttributeAccuracy.Counts
    public var attributeAgreement: Double { sampleAttributes.percent / 100 }
    public var realAttributeAgreement: Double { realAttributes.percent / 100 }
    /// The judge's R-precision of the real held-out images for the same captions and distractors.
    public let realRPrecision: Double
    /// The real images after a VAE round trip (posterior mean): the classifier's agreement and the judge's R-precision.
    public let roundTripAttributes: AttributeAccuracy.Counts
    public let roundTripRPrecision: Double
    public let samples: Int
    public let candidates: Int
    public let grid: Image

    /// Rank of `own` among `own` and `others` (1 = first; ties count against it).
    public static func rank(own: Float, others: [Float]) -> Int { 1 + others.filter { $0 >= own }.count }

    public static func run(_ s: TeacherEvaluationSettings, progress: ((Int, Int) -> Void)? = nil) throws -> TeacherEvaluation {
        let models = try loadTeacherModels(folder: s.teacher)
        let pipe = models.pipeline()
        let vae = try s.roundTripVAE.map { try AutoencoderKL.load(folder: $0) } ?? models.vae
        let judge = try CLIPModel(folder: s.judge), tok = try CLIPTokenizer(folder: s.judge), proc = try CLIPImageProcessor(folder: s.judge)
        let classifier = try AttributeClassifier.load(s.attributes)
        let size = proc.cropHeight
        let test = try WorldImageBank(dataset: s.data, split: .test, resolution: size, limit: s.count)
        let n = test.count
        guard n > s.distractors else {
            throw FileError(path: s.data, message: "the test split has \(n) images; R-precision with \(s.distractors) distractors needs more")
        }
        let captions = test.captions.map { $0.first ?? "" }
        var images: [Tensor] = []
        for start in stride(from: 0, to: n, by: s.batch) {
            let prompts = Array(captions[start..<Swift.min(start + s.batch, n)])
            images.append(try withNoGrad {
                try pipe(prompts: prompts, height: size, width: size, steps: s.steps, guidanceScale: s.guidance,
                         seed: s.seed &+ UInt64(start))
            })
            progress?(start + prompts.count, n)
        }
        let all = Tensor.concat(images, axis: 0) // [0, 1]
        let real = (test.images(Array(0..<n)) + 1) * 0.5
        // [-1, 1] -> the VAE's posterior mean -> decoded, clamped to [0, 1] as the pipeline's images are.
        let roundTrip = withNoGrad { () -> Tensor in
            var parts: [Tensor] = []
            for start in stride(from: 0, to: n, by: s.batch) {
                let x = test.images(Array(start..<Swift.min(start + s.batch, n)))
                parts.append(((vae.decode(vae.encode(x).mean) + 1) * 0.5).clamp(min: 0, max: 1))
            }
            return Tensor.concat(parts, axis: 0)
        }
        let (imageEmbeds, realEmbeds, tripEmbeds, textEmbeds) = withNoGrad { () -> (Tensor, Tensor, Tensor, Tensor) in
            var e: [Tensor] = [], r: [Tensor] = [], v: [Tensor] = [], t: [Tensor] = []
            for start in stride(from: 0, to: n, by: 50) {
                let end = Swift.min(start + 50, n)
                e.append(judge.imageEmbeddings(pixelValues: proc(all.slice(axis: 0, start: start, end: end))))
                r.append(judge.imageEmbeddings(pixelValues: proc(real.slice(axis: 0, start: start, end: end))))
                v.append(judge.imageEmbeddings(pixelValues: proc(roundTrip.slice(axis: 0, start: start, end: end))))
                t.append(judge.textEmbeddings(ids: tok.encode(batch: Array(captions[start..<end])).ids))
            }
            return (Tensor.concat(e, axis: 0), Tensor.concat(r, axis: 0), Tensor.concat(v, axis: 0), Tensor.concat(t, axis: 0))
        }
        func rPrecision(_ embeds: Tensor) -> Double {
            let sim = withNoGrad { embeds.matmul(textEmbeds.transpose(0, 1)) }.toArray()
            let random = StepRandom(seed: s.seed)
            var firsts = 0
            for i in 0..<n {
                let others = random.permutation(count: n, epoch: i).filter { $0 != i }.prefix(s.distractors)
                if rank(own: sim[i * n + i], others: others.map { sim[i * n + $0] }) == 1 { firsts += 1 }
            }
            return Double(firsts) / Double(n)
        }
        let sampleProbs = classifier.probabilities(all * 2 - 1).toArray()
        let realProbs = classifier.probabilities(test.images(Array(0..<n))).toArray()
        let tripProbs = classifier.probabilities(roundTrip * 2 - 1).toArray()
        let a = AttributeAccuracy.count(prompts: captions, probabilities: sampleProbs)
        let r = AttributeAccuracy.count(prompts: captions, probabilities: realProbs)
        let v = AttributeAccuracy.count(prompts: captions, probabilities: tripProbs)
        let shown = Swift.min(8, n)
        // Rows: the teacher's samples, the real images after the VAE, the real images.
        let grid = ContactSheet.make(TeacherImages.images(all.slice(axis: 0, start: 0, end: shown) * 2 - 1)
                                        + TeacherImages.images(roundTrip.slice(axis: 0, start: 0, end: shown) * 2 - 1)
                                        + TeacherImages.images(test.images(Array(0..<shown))), columns: shown)
        return TeacherEvaluation(rPrecision: rPrecision(imageEmbeds), sampleAttributes: a, realAttributes: r,
                                 realRPrecision: rPrecision(realEmbeds), roundTripAttributes: v,
                                 roundTripRPrecision: rPrecision(tripEmbeds), samples: n,
                                 candidates: s.distractors + 1, grid: grid)
    }
}

