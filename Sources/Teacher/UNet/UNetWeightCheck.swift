// The U-Net's config checked against its weight file's headers before the model is built: every size that
// decides what the model allocates (block widths, input/output channels, kernel sizes, the time-embedding width,
// the resnet and transformer counts per block, the text width) is pinned to a tensor of diffusers' layout
// (models/unets/unet_2d_condition.py module names). A mismatch names config.json, the field, its value, the
// tensor and its shape.
import TensorCore

extension UNet2DConditionConfig {
    /// Throws FileError (against config.json) unless the weights have the shapes this config builds.
    /// `layout` is `self.layout()`.
    public func check(against w: WeightHeaders, layout l: UNetLayout) throws {
        let ch = blockOutChannels, n = ch.count
        try w.expect("conv_in.weight", [ch[0], inChannels, convInKernel, convInKernel],
                     because: "block_out_channels[0] = \(ch[0]), in_channels = \(inChannels), conv_in_kernel = \(convInKernel)")
        try w.expect("conv_out.weight", [outChannels, ch[0], convOutKernel, convOutKernel],
                     because: "out_channels = \(outChannels), block_out_channels[0] = \(ch[0]), conv_out_kernel = \(convOutKernel)")
        let timeDim = timeEmbeddingDim ?? ch[0] * 4
        try w.expect("time_embedding.linear_1.weight", [timeDim, ch[0]],
                     because: timeEmbeddingDim == nil ? "block_out_channels[0] = \(ch[0]) (time embedding 4 × that)" : "time_embedding_dim = \(timeDim)")
        for i in 0..<n {
            let input = i == 0 ? ch[0] : ch[i - 1]
            let down = "down_blocks.\(i)"
            try w.expectCount("\(down).resnets", l.layersPerBlock[i], because: "layers_per_block[\(i)] = \(l.layersPerBlock[i])")
            try w.expect("\(down).resnets.0.conv1.weight", [ch[i], input, 3, 3],
                         because: "block_out_channels[\(i)] = \(ch[i])" + (i > 0 ? " after block_out_channels[\(i - 1)] = \(input)" : ""))
            if downBlockTypes[i] == "CrossAttnDownBlock2D" {
                try checkTransformer("\(down).attentions.0", width: ch[i], block: i, l, w)
            }
            let up = "up_blocks.\(n - 1 - i)"
            try w.expectCount("\(up).resnets", l.layersPerBlock[i] + 1, because: "layers_per_block[\(i)] = \(l.layersPerBlock[i]) (up blocks have one more)")
            if upBlockTypes[n - 1 - i] == "CrossAttnUpBlock2D" {
                try checkTransformer("\(up).attentions.0", width: ch[i], block: i, l, w)
            }
        }
        if midBlockType != nil {
            try checkTransformer("mid_block.attentions.0", width: ch[n - 1], block: n - 1, l, w)
        } else if w.shapes.keys.contains(where: { $0.hasPrefix("mid_block.") }) {
            throw FileError(path: w.configPath, message: "mid_block_type = null does not fit the weights: \(w.weightsName) has a mid block (mid_block.*)")
        }
    }

    /// One Transformer2DModel: its width, its number of transformer blocks and the text width of attn2.
    private func checkTransformer(_ prefix: String, width c: Int, block i: Int, _ l: UNetLayout, _ w: WeightHeaders) throws {
        try w.expectCount("\(prefix).transformer_blocks", l.transformerLayers[i],
                          because: "transformer_layers_per_block[\(i)] = \(l.transformerLayers[i])")
        try w.expect("\(prefix).transformer_blocks.0.attn1.to_q.weight", [c, c], because: "block_out_channels[\(i)] = \(c)")
        try w.expect("\(prefix).proj_in.weight", useLinearProjection ? [c, c] : [c, c, 1, 1],
                     because: "use_linear_projection = \(useLinearProjection) (a \(useLinearProjection ? "linear" : "1x1 convolution") proj_in)")
        let cross = l.onlyCrossAttention[i] ? "attn1" : "attn2"
        try w.expect("\(prefix).transformer_blocks.0.\(cross).to_k.weight", [c, l.crossAttentionDims[i]],
                     because: "cross_attention_dim[\(i)] = \(l.crossAttentionDims[i])")
    }
}
