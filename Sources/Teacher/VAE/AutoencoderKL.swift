// diffusers AutoencoderKL (models/autoencoders/autoencoder_kl.py): encoder -> quant_conv -> diagonal
// Gaussian posterior; post_quant_conv -> decoder; latents scaled by `scaling_factor`. Loads and saves the
// diffusers component folder (`vae/config.json` + `diffusion_pytorch_model[.fp16].safetensors`) with strict
// key verification. No tiling or slicing: every op is differentiable, so D-SDS backpropagates through
// `encode` into the image.
import Foundation
import TensorCore

public final class AutoencoderKL: Module {
    public let config: AutoencoderKLConfig
    public let encoder: VAEEncoder
    public let decoder: VAEDecoder
    public let quantConv: Conv2d?
    public let postQuantConv: Conv2d?

    /// A model with PyTorch's default random initialisation (load weights with `load(_:)` or `load(folder:)`).
    /// Throws `AutoencoderKLConfigError`, naming each offending key, when the config cannot be built.
    public init(config: AutoencoderKLConfig, rng: RandomGenerator = RandomGenerator(seed: 0)) throws {
        let problems = config.problems()
        guard problems.isEmpty else { throw AutoencoderKLConfigError(problems: problems) }
        self.config = config
        encoder = VAEEncoder(config, rng: rng)
        decoder = VAEDecoder(config, rng: rng)
        let l = config.latentChannels
        quantConv = config.useQuantConv ? Conv2d(2 * l, 2 * l, kernelSize: 1, rng: rng) : nil
        postQuantConv = config.usePostQuantConv ? Conv2d(l, l, kernelSize: 1, rng: rng) : nil
        super.init()
        registerModule("encoder", encoder)
        registerModule("decoder", decoder)
        if let q = quantConv { registerModule("quant_conv", q) }
        if let q = postQuantConv { registerModule("post_quant_conv", q) }
    }

    /// image (N, in, H, W) in [-1, 1] -> the posterior over (N, latent, H / f, W / f) latents.
    public func encode(_ x: Tensor) -> DiagonalGaussianDistribution {
        require(x.rank == 4 && x.shape[1] == config.inChannels,
                "AutoencoderKL.encode: image must be (N, \(config.inChannels), H, W), got \(x.shape)")
        let h = encoder(x)
        return DiagonalGaussianDistribution(parameters: quantConv.map { $0(h) } ?? h)
    }

    /// z (N, latent, h, w), unscaled -> image (N, out, h · f, w · f), nominally in [-1, 1].
    public func decode(_ z: Tensor) -> Tensor {
        require(z.rank == 4 && z.shape[1] == config.latentChannels,
                "AutoencoderKL.decode: latents must be (N, \(config.latentChannels), h, w), got \(z.shape)")
        return decoder(postQuantConv.map { $0(z) } ?? z)
    }

    /// The diffusion model's latents from an image: (sample(noise) - shift) · scaling_factor, as
    /// `vae.encode(x).latent_dist.sample() * scaling_factor` in diffusers' training scripts. Differentiable.
    public func latents(of image: Tensor, noise: Tensor) -> Tensor {
        let z = encode(image).sample(noise: noise)
        return (config.shiftFactor.map { z - $0 } ?? z) * config.scalingFactor
    }

    /// Images from diffusion latents: decode(latents / scaling_factor + shift), as the pipelines do.
    public func image(fromLatents latents: Tensor) -> Tensor {
        let z = latents / config.scalingFactor
        return decode(config.shiftFactor.map { z + $0 } ?? z)
    }

    // MARK: checkpoints

    /// diffusers checkpoint key renames for this format: checkpoints saved before diffusers 0.14 name the mid
    /// block attention's projections query/key/value/proj_attn (ModelMixin._convert_deprecated_attention_blocks).
    public static var keyRemap: KeyRemap { KeyRemap(custom: renameDeprecatedAttentionKey) }

    /// The rename table of `keyRemap`, applied within `*.mid_block.attentions.<i>.`.
    static let deprecatedAttentionNames = [(".query.", ".to_q."), (".key.", ".to_k."), (".value.", ".to_v."), (".proj_attn.", ".to_out.0.")]

    static func renameDeprecatedAttentionKey(_ key: String) -> String? {
        guard key.contains(".mid_block.attentions.") else { return key }
        for (old, new) in deprecatedAttentionNames {
            if let r = key.range(of: old) { return key.replacingCharacters(in: r, with: new) }
        }
        return key
    }

    /// Builds the model a diffusers `vae/` folder describes and loads its weights (fp32 or fp16, single or
    /// sharded) with strict verification: every problem names the file and the full key.
    public static func load(folder path: String) throws -> AutoencoderKL {
        let folder = try ModelFolder(path: path)
        let config = try folder.config(AutoencoderKLConfig.self)
        let model: AutoencoderKL
        let problems = config.problems()
        guard problems.isEmpty else { throw FileError(path: folder.file("config.json"), message: AutoencoderKLConfigError(problems: problems).description) }
        try config.check(against: WeightHeaders(folder: folder, remap: AutoencoderKL.keyRemap))
        do { model = try AutoencoderKL(config: config) } catch let e as AutoencoderKLConfigError {
            throw FileError(path: folder.file("config.json"), message: e.description)
        }
        try model.load(folder: folder)
        return model
    }

    /// Loads the weights of a diffusers `vae/` folder into this model (renaming deprecated keys first).
    public func load(folder: ModelFolder) throws {
        let files = try folder.weightFiles()
        var renamed: [String: Tensor] = [:]
        for f in files {
            let st = try SafeTensorsFile(path: f)
            for k in st.keys {
                guard let to = AutoencoderKL.keyRemap(k) else { continue }
                guard renamed[to] == nil else { throw FileError(path: f, message: "tensor \"\(to)\" appears twice (after renaming \"\(k)\")") }
                renamed[to] = try st.tensor(k)
            }
        }
        do { try load(renamed) } catch let e as StateDictError {
            throw FileError(path: files.count == 1 ? files[0] : folder.path, message: "does not fit AutoencoderKL: \(e.description)")
        }
    }

    /// Writes a diffusers `vae/` folder: config.json (with `_class_name`) and diffusion_pytorch_model.safetensors (fp32).
    public func save(folder path: String) throws {
        try writeComponentFolder(path, className: "AutoencoderKL", config: config,
                                 weightsName: "diffusion_pytorch_model.safetensors", tensors: stateDict())
    }
}

/// A config AutoencoderKL cannot build, with one message per offending key.
public struct AutoencoderKLConfigError: Error, CustomStringConvertible {
    public let problems: [String]
    public var description: String { "unsupported AutoencoderKL config: " + problems.joined(separator: "; ") }
}

extension AutoencoderKL: LatentDecoder {
    public var latentChannels: Int { config.latentChannels }
    public var downsamplingFactor: Int { config.downsamplingFactor }
    public func decodeLatents(_ latents: Tensor) -> Tensor { image(fromLatents: latents) }
}
