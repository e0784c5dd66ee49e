// The VAE's config checked against its weight file's headers before the model is built (diffusers' Encoder /
// Decoder module names, after AutoencoderKL.keyRemap): block widths, channel counts and the resnets per block
// are pinned to tensors, so a config that does not describe the weights is named, field and both values, before
// anything is allocated.
import TensorCore

extension AutoencoderKLConfig {
    /// Throws FileError (against config.json) unless the weights have the shapes this config builds.
    /// Call after `problems()` is empty.
    public func check(against w: WeightHeaders) throws {
        let ch = blockOutChannels, n = ch.count, last = ch[n - 1]
        try w.expect("encoder.conv_in.weight", [ch[0], inChannels, 3, 3],
                     because: "block_out_channels[0] = \(ch[0]), in_channels = \(inChannels)")
        try w.expect("encoder.conv_out.weight", [2 * latentChannels, last, 3, 3],
                     because: "latent_channels = \(latentChannels), block_out_channels[\(n - 1)] = \(last)")
        try w.expect("decoder.conv_in.weight", [last, latentChannels, 3, 3],
                     because: "block_out_channels[\(n - 1)] = \(last), latent_channels = \(latentChannels)")
        try w.expect("decoder.conv_out.weight", [outChannels, ch[0], 3, 3],
                     because: "out_channels = \(outChannels), block_out_channels[0] = \(ch[0])")
        for i in 0..<n {
            let input = i == 0 ? ch[0] : ch[i - 1]
            try w.expectCount("encoder.down_blocks.\(i).resnets", layersPerBlock, because: "layers_per_block = \(layersPerBlock)")
            try w.expect("encoder.down_blocks.\(i).resnets.0.conv1.weight", [ch[i], input, 3, 3],
                         because: "block_out_channels[\(i)] = \(ch[i])" + (i > 0 ? " after block_out_channels[\(i - 1)] = \(input)" : ""))
            try w.expectCount("decoder.up_blocks.\(i).resnets", layersPerBlock + 1, because: "layers_per_block = \(layersPerBlock) (decoder blocks have one more)")
        }
    }
}
