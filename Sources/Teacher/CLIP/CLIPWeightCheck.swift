// CLIP tower configs checked against the weight file's headers before a model is built (transformers' module
// names after CLIPKeyRemap): the vocabulary, positions, width, MLP width, layer count, patch embedding and
// projection width are pinned to tensors, so a config that does not describe its weights is named (file,
// field, both values) before anything is allocated.
import TensorCore

enum CLIPWeightCheck {
    /// The text tower under `text_model.`; `projection` checks text_projection.weight as well.
    static func text(_ c: CLIPTextConfig, _ w: WeightHeaders, projection: Int? = nil) throws {
        let d = c.hiddenSize
        try w.expect("text_model.embeddings.token_embedding.weight", [c.vocabSize, d],
                     because: "vocab_size = \(c.vocabSize), hidden_size = \(d)")
        try w.expect("text_model.embeddings.position_embedding.weight", [c.maxPositionEmbeddings, d],
                     because: "max_position_embeddings = \(c.maxPositionEmbeddings), hidden_size = \(d)")
        try layers("text_model", c, w)
        if let p = projection { try w.expect("text_projection.weight", [p, d], because: "projection_dim = \(p), hidden_size = \(d)") }
    }

    /// The vision tower under `vision_model.`; `projection` checks visual_projection.weight as well.
    static func vision(_ c: CLIPVisionConfig, _ w: WeightHeaders, projection: Int? = nil) throws {
        let d = c.hiddenSize
        try w.expect("vision_model.embeddings.patch_embedding.weight", [d, c.numChannels, c.patchSize, c.patchSize],
                     because: "hidden_size = \(d), num_channels = \(c.numChannels), patch_size = \(c.patchSize)")
        try w.expect("vision_model.embeddings.position_embedding.weight", [c.numPatches + 1, d],
                     because: "image_size = \(c.imageSize), patch_size = \(c.patchSize) (\(c.numPatches) patches + 1), hidden_size = \(d)")
        try layers("vision_model", c, w)
        if let p = projection { try w.expect("visual_projection.weight", [p, d], because: "projection_dim = \(p), hidden_size = \(d)") }
    }

    /// Both towers and the shared projection width of a CLIPModel.
    static func model(_ c: CLIPConfig, _ w: WeightHeaders) throws {
        try text(c.textConfig, w, projection: c.projectionDim)
        try vision(c.visionConfig, w, projection: c.projectionDim)
    }

    private static func layers(_ tower: String, _ c: CLIPTowerConfig, _ w: WeightHeaders) throws {
        try w.expectCount("\(tower).encoder.layers", c.numHiddenLayers, because: "num_hidden_layers = \(c.numHiddenLayers)")
        if c.numHiddenLayers > 0 {
            try w.expect("\(tower).encoder.layers.0.mlp.fc1.weight", [c.intermediateSize, c.hiddenSize],
                         because: "intermediate_size = \(c.intermediateSize), hidden_size = \(c.hiddenSize)")
        }
    }
}
