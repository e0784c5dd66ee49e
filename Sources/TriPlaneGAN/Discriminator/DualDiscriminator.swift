// DualDiscriminator: EG3D's D (training/dual_discriminator.py DualDiscriminator and filtered_resizing with
// the default 'antialiased' mode; spec §11). It judges the super-resolved image and the raw neural rendering
// together, conditioned on the camera by projection.
import Foundation
import TensorCore

/// logits = b4(b8(…b{R}(concat(image, resize(image_raw → R)))), mapping(c)).
/// State (official keys): buffer `resample_filter`; `b{R}` … `b8` (DiscriminatorBlock); `mapping`
/// (StyleGAN2's MappingNetwork with z_dim 0, num_ws None, w_avg_beta None, as the official constructor builds it:
/// keys `mapping.embed.*`, `mapping.fc0.*` … `mapping.fc{L-1}.*`, no `w_avg`; present when c_dim > 0);
/// `b4` (DiscriminatorEpilogue).
public final class DualDiscriminator: Module {
    public let config: DiscriminatorConfig
    /// From the input resolution down to 8.
    public let blocks: [DiscriminatorBlock]
    /// The camera-label mapping, c (N, c_dim) -> cmap (N, cmap_dim): normalize_2nd_moment(embed(c)) then
    /// fc0 … fc{L-1} (lrelu, λ = 0.01); no latent, no broadcast, no truncation.
    public let mapping: MappingNetwork?
    public let b4: DiscriminatorEpilogue
    /// The prompt's offset to the camera map (config.textDim set; ours, DiscriminatorTextProjection.swift): key `text`.
    public let text: DiscriminatorTextProjection?
    /// (4, 4) FIR filter (saved; used only by the 'classic' resize mode, which EG3D does not select).
    public let resampleFilter: Tensor

    /// Random initialisation as the official constructor's (N(0,1) weights, zero biases); load a checkpoint
    /// over it with `load(_:strict:)`.
    public init(_ config: DiscriminatorConfig, rng: RandomGenerator) {
        config.validate()
        self.config = config
        let dualChannels = 2 * config.imgChannels
        let cmapDim = config.resolvedCmapDim
        blocks = config.blockResolutions.map { res in
            DiscriminatorBlock(inChannels: res < config.imgResolution ? config.channels(at: res) : 0,
                               tmpChannels: config.channels(at: res), outChannels: config.channels(at: res / 2),
                               resolution: res, imgChannels: dualChannels, convClamp: config.convClamp, rng: rng)
        }
        mapping = config.cDim > 0
            ? MappingNetwork(zDim: 0, cDim: config.cDim, wDim: cmapDim, numWs: nil, numLayers: config.mappingLayers,
                             wAvgBeta: nil, rng: rng) : nil
        b4 = DiscriminatorEpilogue(inChannels: config.channels(at: 4), cmapDim: cmapDim, resolution: 4,
                                   mbstdGroupSize: config.mbstdGroupSize, mbstdNumChannels: config.mbstdNumChannels,
                                   convClamp: config.convClamp, rng: rng)
        resampleFilter = firResampleFilter()
        text = config.textDim.map { DiscriminatorTextProjection(textDim: $0, cmapDim: cmapDim, rng: rng) }
        super.init()
        for block in blocks { registerModule("b\(block.resolution)", block) }
        if let mapping { registerModule("mapping", mapping) }
        registerModule("b4", b4)
        if let text { registerModule("text", text) }
        registerBuffer("resample_filter", resampleFilter)
    }

    /// The 2·img_channels input of the first block: concat(image, bilinear antialiased resize of imageRaw to
    /// image's size), as `filtered_resizing(…, filter_mode='antialiased')`. (N, 2·img_channels, R, R).
    public func dualImage(image: Tensor, imageRaw: Tensor) -> Tensor {
        let r = config.imgResolution
        require(image.rank == 4 && image.shape[1] == config.imgChannels && image.shape[2] == r && image.shape[3] == r,
                "DualDiscriminator: image \(image.shape) must be (N, \(config.imgChannels), \(r), \(r))")
        require(imageRaw.rank == 4 && imageRaw.shape[0] == image.shape[0] && imageRaw.shape[1] == config.imgChannels,
                "DualDiscriminator: image_raw \(imageRaw.shape) must be (\(image.shape[0]), \(config.imgChannels), H, W)")
        let raw = interpolate(imageRaw, size: (r, r), mode: .bilinear, alignCorners: false, antialias: true)
        return Tensor.concat([image, raw], axis: 1)
    }

    /// Logits (N, 1) for images (N, C, R, R), raw renderings (N, C, h, w) and camera labels c (N, c_dim).
    /// With disc_c_noise > 0 the label is perturbed by randn·std_batch(c)·disc_c_noise drawn from `rng`
    /// (the official code does this in place on the caller's c; here c is left untouched). A text-conditioned D
    /// also takes the prompts' pooled features `text` (N, text_dim), added to the camera map as tmap(text).
    public func callAsFunction(image: Tensor, imageRaw: Tensor, c: Tensor?, text: Tensor? = nil, rng: RandomGenerator? = nil) -> Tensor {
        var x: Tensor? = nil
        let img = dualImage(image: image, imageRaw: imageRaw)
        for (i, block) in blocks.enumerated() { x = block(x, img: i == 0 ? img : nil) }
        var cmap: Tensor? = nil
        if let mapping {
            guard var c else { fatalError("DualDiscriminator: c_dim is \(config.cDim) but no camera label was given") }
            require(c.shape == [image.shape[0], config.cDim], "DualDiscriminator: c \(c.shape) must be (\(image.shape[0]), \(config.cDim))")
            if config.discCNoise > 0 {
                guard let rng else { fatalError("DualDiscriminator: disc_c_noise \(config.discCNoise) > 0 needs a RandomGenerator") }
                let std = c.variance(axes: [0], keepDims: true).sqrt()           // unbiased, as torch.std
                c = c + rng.normal(c.shape) * std * config.discCNoise
            }
            cmap = mapping(nil, c)
        }
        if let head = self.text {
            guard let text else { fatalError("DualDiscriminator: a text-conditioned D (text_dim \(head.textDim)) needs the prompts' features") }
            require(text.shape[0] == image.shape[0], "DualDiscriminator: text features \(text.shape) for \(image.shape[0]) images")
            cmap = cmap.map { $0 + head(text) }
        }
        guard let features = x else { fatalError("DualDiscriminator: no blocks") }
        return b4(features, cmap: cmap)
    }
}
