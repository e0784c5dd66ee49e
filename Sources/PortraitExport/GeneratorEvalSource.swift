// Generator-driven evaluation: the metrics' EvalSource seam served by a text-conditioned generator that renders
// each prompt at the three MSC cameras in memory (no files); an unconditional generator gives the text-blind row. Sample i is prompt i's portrait from seed
// `seed + i` (z = RandomGenerator(seed + i).normal, ψ `truncationPsi`, frontal conditioning camera, noise const,
// the renderer's draws from GeneratorRandomSource(seed: RendererSeeds.seed(seed + i, .view, v)) for MSC view v);
// images are quantised to 8 bits as `generate`'s PNGs are, so scoring a written evaluation folder of the same
// samples gives the same values. Each sample is rendered once (all three views from one set of planes) and
// kept: its images as bytes and its depth views, which 3D consistency reads.
import Foundation
import Metrics
import TensorCore
import TriPlaneGAN

public final class GeneratorEvalSource: EvalSource {
    public let model: GenerateModel
    /// Each sample's captions, the true caption (the prompt) first.
    public let prompts: [[String]]
    public let seed: UInt64
    public let truncationPsi: Float
    public let name: String
    /// Called after each sample is rendered: (done, total).
    public var progress: ((Int, Int) -> Void)?

    struct Rendered {
        /// 3 views × 3·H·W bytes (planar RGB).
        var bytes: [[UInt8]]
        var size: Int
        var depth: [MSCView: DepthView]
    }
    private var rendered: [Int: Rendered] = [:]
    private let lock = NSLock()

    /// Whether the model ignores the prompts (an unconditional generator: the text-blind baseline row, sample i
    /// being seed + i's portrait whatever its prompt).
    public var textBlind: Bool { model.encoder == nil }

    /// - Throws: `PromptError` naming the sample whose prompt is empty.
    public init(model: GenerateModel, prompts: [[String]], seed: UInt64 = 0, truncationPsi: Float = 0.7, name: String? = nil) throws {
        if let i = prompts.firstIndex(where: { ($0.first ?? "").trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw PromptError("evaluation sample \(i) has no prompt (its first caption is empty)")
        }
        self.model = model
        self.prompts = prompts
        self.seed = seed
        self.truncationPsi = truncationPsi
        self.name = name ?? "generator \(model.path)"
    }

    public var count: Int { prompts.count }
    public var hasCaptions: Bool { true }
    public var views: [MSCView] { MSCView.allCases }
    public func captions(_ i: Int) -> [String] { prompts[i] }

    /// Sample i at `view`: (3, H, W) in [0, 1], 8-bit values.
    public func image(_ i: Int, view: MSCView) throws -> Tensor {
        let r = try sample(i)
        return Tensor(r.bytes[view.rawValue].map { Float($0) / 255 }, shape: [3, r.size, r.size])
    }

    /// Sample i at `view` in [-1, 1] (the attribute classifier's input).
    public func signedImage(_ i: Int, view: MSCView) throws -> Tensor { try image(i, view: view) * 2 - 1 }

    /// Sample i's depth views (neural rendering resolution) for 3D consistency.
    public func depthViews(_ i: Int) throws -> [MSCView: DepthView] { try sample(i).depth }

    /// 3D consistency over every sample: ReprojectionConsistency.sample pooled (rendering what is not yet).
    public func consistency() throws -> ReprojectionConsistency.Result {
        var total = ReprojectionConsistency.Result(errorSum: 0, pixels: 0, foreground: 0)
        for i in 0..<count {
            if let r = ReprojectionConsistency.sample(try depthViews(i)) {
                total = ReprojectionConsistency.Result(errorSum: total.errorSum + r.errorSum, pixels: total.pixels + r.pixels,
                                                        foreground: total.foreground + r.foreground)
            }
        }
        return total
    }

    /// Renders every sample now (so the metrics that follow only read), reporting `progress`.
    public func renderAll() throws { for i in 0..<count { _ = try sample(i) } }

    private func sample(_ i: Int) throws -> Rendered {
        precondition(i >= 0 && i < count, "GeneratorEvalSource: sample \(i) of \(count)")
        lock.lock(); defer { lock.unlock() }
        if let r = rendered[i] { return r }
        let r = try withNoGrad { try render(i) }
        rendered[i] = r
        progress?(rendered.count, count)
        return r
    }

    private func render(_ i: Int) throws -> Rendered {
        let g = model.generator, s = seed &+ UInt64(i)
        let text = try model.encoder?.encode(prompts[i][0], flag: "evaluation prompt \(i)")
        let ws = model.mapping(z: RandomGenerator(seed: s).normal([1, g.config.zDim]), truncationPsi: truncationPsi, text: text)
        let planes = model.planes(ws: ws, text: text)
        var bytes: [[UInt8]] = [], depth: [MSCView: DepthView] = [:], size = 0
        for v in MSCView.allCases {
            let out = g.render(planes: planes, ws: ws, cameras: Tensor(v.label, shape: [1, 25]),
                               random: GeneratorRandomSource(seed: RendererSeeds.seed(s, .view, v.rawValue)))
            size = out.image.shape[2]
            bytes.append(out.image.toArray().map { v in   // ImageExport.rgb8's rule (NaN gives 0)
                let x = v * 127.5 + 128
                return x >= 255 ? 255 : (x > 0 ? UInt8(x) : 0)
            })
            let rr = out.imageDepth.shape[2]
            depth[v] = DepthView(resolution: rr, depth: out.imageDepth.toArray(), weight: out.weightSum.toArray(), label: v.label)
        }
        return Rendered(bytes: bytes, size: size, depth: depth)
    }
}
