// The FID Inception-v3 feature extractor: pytorch-fid's `InceptionV3([3])` (pytorch_fid/inception.py,
// resize_input=True, normalize_input=True, use_fid_inception=True), i.e. the TensorFlow FID graph
// (inception-2015-12-05) ported to torchvision's Inception3 layout with the FID-specific blocks:
//   images in [0, 1] (N, 3, H, W) -> bilinear resize to 299x299 (align_corners=False) -> 2x − 1
//   -> block 0: Conv2d_1a_3x3, Conv2d_2a_3x3, Conv2d_2b_3x3, max pool 3/2            (N, 64, 73, 73)
//   -> block 1: Conv2d_3b_1x1, Conv2d_4a_3x3, max pool 3/2                          (N, 192, 35, 35)
//   -> block 2: Mixed_5b, 5c, 5d, 6a, 6b, 6c, 6d, 6e                                (N, 768, 17, 17)
//   -> block 3: Mixed_7a, 7b, 7c, adaptive average pool                             (N, 2048, 1, 1)
// Parameter names are the keys of pytorch-fid's weight file pt_inception-2015-12-05-6726825d.pth (torchvision
// names, "Mixed_5b.branch_pool.conv.weight"), converted to safetensors by Scripts/convert_inception.py, which
// drops the unused 1008-class `fc` head and the `num_batches_tracked` counters.
import Foundation
import TensorCore

public final class FIDInceptionV3: Module {
    /// The dimensions of pytorch-fid's four output blocks (its BLOCK_INDEX_BY_DIM): 64, 192, 768, 2048.
    public static let blockDimensions = [64, 192, 768, 2048]
    /// The side the input is resized to.
    public static let inputSize = 299

    public let Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel: 3, stride: 2)
    public let Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel: 3)
    public let Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel: 3, padding: 1)
    public let Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel: 1)
    public let Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel: 3)
    public let Mixed_5b = FIDInceptionA(192, poolFeatures: 32)
    public let Mixed_5c = FIDInceptionA(256, poolFeatures: 64)
    public let Mixed_5d = FIDInceptionA(288, poolFeatures: 64)
    public let Mixed_6a = InceptionB(288)
    public let Mixed_6b = FIDInceptionC(768, channels7x7: 128)
    public let Mixed_6c = FIDInceptionC(768, channels7x7: 160)
    public let Mixed_6d = FIDInceptionC(768, channels7x7: 160)
    public let Mixed_6e = FIDInceptionC(768, channels7x7: 192)
    public let Mixed_7a = InceptionD(768)
    public let Mixed_7b = FIDInceptionE(1280, pool: .average)
    public let Mixed_7c = FIDInceptionE(2048, pool: .max)
    private var stem: [FoldedConv] = []
    /// Direct-convolution weights of Conv2d_1a/2a/2b (DirectConv.swift).
    private var stemDirect: [Tensor] = []

    /// An unloaded network (batch norms at identity, convolution weights zero). Load weights with
    /// `FIDInceptionV3(weights:)`, or with `load(_:)` followed by `prepare()`.
    public override init() {
        super.init()
        for (name, m) in [("Conv2d_1a_3x3", Conv2d_1a_3x3), ("Conv2d_2a_3x3", Conv2d_2a_3x3), ("Conv2d_2b_3x3", Conv2d_2b_3x3),
                          ("Conv2d_3b_1x1", Conv2d_3b_1x1), ("Conv2d_4a_3x3", Conv2d_4a_3x3)] { registerModule(name, m) }
        for (name, m) in [("Mixed_5b", Mixed_5b), ("Mixed_5c", Mixed_5c), ("Mixed_5d", Mixed_5d)] { registerModule(name, m) }
        registerModule("Mixed_6a", Mixed_6a)
        for (name, m) in [("Mixed_6b", Mixed_6b), ("Mixed_6c", Mixed_6c), ("Mixed_6d", Mixed_6d), ("Mixed_6e", Mixed_6e)] { registerModule(name, m) }
        registerModule("Mixed_7a", Mixed_7a)
        registerModule("Mixed_7b", Mixed_7b)
        registerModule("Mixed_7c", Mixed_7c)
        train(false)
    }

    /// Loads a weight file made by Scripts/convert_inception.py (strictly: every key and shape must match; an
    /// `fc.*` head, if a file kept one, is ignored) and folds the batch norms. Errors name the file and the keys.
    public convenience init(weights path: String) throws {
        self.init()
        guard FileManager.default.fileExists(atPath: path) else {
            throw FileError(path: path, message: "no such file (the FID Inception weights). \(FIDInceptionV3.weightsHelp)")
        }
        try load(safetensors: path, remap: KeyRemap(custom: { $0.hasPrefix("fc.") || $0.hasSuffix(".num_batches_tracked") ? nil : $0 }))
        prepare()
    }

    /// How to obtain the weights, for error messages.
    public static let weightsHelp = """
        Download pytorch-fid's pt_inception-2015-12-05-6726825d.pth from \
        https://github.com/mseitzer/pytorch-fid/releases/tag/fid_weights and convert it with \
        `python3 Scripts/convert_inception.py pt_inception-2015-12-05-6726825d.pth inception-fid.safetensors`
        """

    /// Folds every batch norm into its convolution. Call after changing the weights through `load(_:)`;
    /// `init(weights:)` does it for you.
    public func prepare() {
        stem = [Conv2d_1a_3x3, Conv2d_2a_3x3, Conv2d_2b_3x3, Conv2d_3b_1x1, Conv2d_4a_3x3].map { $0.folded() }
        stemDirect = stem.prefix(3).map { $0.directWeights() }
        for b in [Mixed_5b, Mixed_5c, Mixed_5d] { b.prepare() }
        Mixed_6a.prepare()
        for b in [Mixed_6b, Mixed_6c, Mixed_6d, Mixed_6e] { b.prepare() }
        Mixed_7a.prepare()
        Mixed_7b.prepare()
        Mixed_7c.prepare()
    }

    /// pytorch-fid's input transform: bilinear resize to 299x299 (align_corners=False, no antialias; skipped
    /// when the input is already 299x299, where it is the identity) and 2x − 1.
    /// images: (N, 3, H, W) in [0, 1] -> (N, 3, 299, 299) in [-1, 1]
    public static func preprocess(_ images: Tensor) -> Tensor {
        require(images.rank == 4 && images.shape[1] == 3, "FIDInceptionV3: images must be (N, 3, H, W), got \(images.shape)")
        let s = inputSize
        let resized = images.shape[2] == s && images.shape[3] == s
            ? images : interpolate(images, size: (s, s), mode: .bilinear, alignCorners: false)
        return resized * 2 - 1
    }

    /// Images of any sizes as one batch: each resized to 299x299 on its own (exactly what pytorch-fid's
    /// resize does to it inside a batch of equal-size images), then stacked.
    /// images: each (3, H, W) or (1, 3, H, W) in [0, 1] -> (count, 3, 299, 299)
    public static func resizedBatch(_ images: [Tensor]) -> Tensor {
        require(!images.isEmpty, "FIDInceptionV3.resizedBatch: no images")
        let s = inputSize
        return withNoGrad {
            Tensor.concat(images.map { image -> Tensor in
                let x = image.rank == 3 ? image.unsqueeze(0) : image
                require(x.rank == 4 && x.shape[0] == 1 && x.shape[1] == 3, "FIDInceptionV3: an image must be (3, H, W), got \(image.shape)")
                return x.shape[2] == s && x.shape[3] == s ? x : interpolate(x, size: (s, s), mode: .bilinear, alignCorners: false)
            }, axis: 0)
        }
    }

    /// The outputs of pytorch-fid's blocks 0...last (see the file header), as its InceptionV3(output_blocks:
    /// [0...last]) returns them. Inference only: no autograd graph is recorded. `stage(name)` is called after
    /// each stage (pytorch-fid's module names: Conv2d_1a_3x3, ..., maxpool1, ..., Mixed_7c, avgpool), for profiling.
    /// images: (N, 3, H, W) in [0, 1].
    public func blockOutputs(_ images: Tensor, through last: Int = 3, stage: ((String) -> Void)? = nil) -> [Tensor] {
        require((0...3).contains(last), "FIDInceptionV3: block index \(last) is not in 0...3")
        require(!stem.isEmpty, "FIDInceptionV3: weights not folded; call prepare() after loading weights")
        return withNoGrad {
            var outputs: [Tensor] = []
            var x = FIDInceptionV3.preprocess(images)
            stage?("preprocess")
            for (i, name) in ["Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3"].enumerated() {
                x = directConv3x3(x, stem[i], packed: stemDirect[i])                          // -> (N, 64, 147, 147)
                stage?(name)
            }
            x = maxPool3x3(x, stride: 2, padding: 0)                                         // (N, 64, 73, 73)
            stage?("maxpool1")
            outputs.append(x)
            if last == 0 { return outputs }
            x = stem[3](x); stage?("Conv2d_3b_1x1")                                          // (N, 80, 73, 73)
            x = winogradValid3x3(x, stem[4]); stage?("Conv2d_4a_3x3")                         // (N, 192, 71, 71)
            x = maxPool3x3(x, stride: 2, padding: 0); stage?("maxpool2")                      // (N, 192, 35, 35)
            outputs.append(x)
            if last == 1 { return outputs }
            let mixed: [(String, MixedBlock)] = [("Mixed_5b", Mixed_5b), ("Mixed_5c", Mixed_5c), ("Mixed_5d", Mixed_5d),  // (N, 288, 35, 35)
                                             ("Mixed_6a", Mixed_6a), ("Mixed_6b", Mixed_6b), ("Mixed_6c", Mixed_6c),
                                             ("Mixed_6d", Mixed_6d), ("Mixed_6e", Mixed_6e)]                          // (N, 768, 17, 17)
            for (name, block) in mixed { x = block(x); stage?(name) }
            outputs.append(x)
            if last == 2 { return outputs }
            for (name, block) in [("Mixed_7a", Mixed_7a), ("Mixed_7b", Mixed_7b), ("Mixed_7c", Mixed_7c)] as [(String, MixedBlock)] {
                x = block(x); stage?(name)                                                   // (N, 2048, 8, 8)
            }
            outputs.append(x.mean(axes: [2, 3], keepDims: true))                             // (N, 2048, 1, 1)
            stage?("avgpool")
            return outputs
        }
    }


    /// The pool features FID uses: pytorch-fid `--dims 2048` (the default), or 64, 192, 768 (the block output
    /// average-pooled over its positions, as pytorch-fid's get_activations does).
    /// images: (N, 3, H, W) in [0, 1] -> (N, dimension)
    public func features(_ images: Tensor, dimension: Int = 2048) -> Tensor {
        let block = FIDInceptionV3.blockDimensions.firstIndex(of: dimension) ?? -1
        require(block >= 0, "FIDInceptionV3.features: dimension \(dimension) is not one of \(FIDInceptionV3.blockDimensions)")
        let out = blockOutputs(images, through: block)[block]
        return withNoGrad { (block == 3 ? out : out.mean(axes: [2, 3], keepDims: true)).reshape([images.shape[0], dimension]) }
    }

    /// A network with random weights whose activations stay in a normal range through all 94 layers
    /// (He-uniform convolutions; batch norms γ ∈ [0.75, 1.25), β, μ ∈ [-0.1, 0.1), σ² ∈ [0.5, 1.5)), for
    /// benchmarks: default-initialised weights shrink the activations into denormals, which are slow.
    public static func randomized(seed: UInt64) -> FIDInceptionV3 {
        let model = FIDInceptionV3()
        let rng = RandomGenerator(seed: seed)
        var weights: [String: Tensor] = [:]
        for (key, t) in model.stateDict().sorted(by: { $0.key < $1.key }) {
            let (low, high): (Float, Float)
            if key.hasSuffix("conv.weight") {
                let bound = Float((6.0 / Double(t.shape.dropFirst().reduce(1, *))).squareRoot())
                (low, high) = (-bound, bound)
            } else if key.hasSuffix("bn.weight") { (low, high) = (0.75, 1.25) }
            else if key.hasSuffix("bn.running_var") { (low, high) = (0.5, 1.5) }
            else { (low, high) = (-0.1, 0.1) }
            weights[key] = rng.uniform(t.shape, low: low, high: high)
        }
        try! model.load(weights)   // every key of its own state dict, so loading cannot fail
        model.prepare()
        return model
    }

    /// Floating-point operations of one 299x299 image: 2 x the 5,711,168,096 multiply-adds of its 94
    /// convolutions (counted with forward hooks on pytorch-fid's module; pools and resize excluded). The
    /// benchmark's work count.
    public static let flopsPerImage: Double = 11_422_336_192
}
