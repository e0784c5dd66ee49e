// Writing our own CLIP as a Hugging Face CLIPModel folder (config.json with model_type "clip",
// model.safetensors with transformers' key names, preprocessor_config.json for CLIPImageProcessor; the
// tokenizer is saved beside them by CLIPTokenizer.save(folder:)), which transformers' CLIPModel.from_pretrained
// and `CLIPModel(folder:)` read. And the diffusion model's text encoder cut from its text tower.
import Foundation
import TensorCore

extension CLIPModel {
    /// Writes config.json and model.safetensors (fp32) into `path`.
    public func save(folder path: String) throws {
        var json = try configObject(config, className: nil)
        var text = json["text_config"] as? [String: Any] ?? [:], vision = json["vision_config"] as? [String: Any] ?? [:]
        text["model_type"] = "clip_text_model"; vision["model_type"] = "clip_vision_model"
        json["text_config"] = text; json["vision_config"] = vision
        json["architectures"] = ["CLIPModel"]
        json["model_type"] = "clip"
        json["transformers_version"] = CLIPTextModel.transformersVersion
        json["dtype"] = "float32"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try writeJSON(json, to: (path as NSString).appendingPathComponent("config.json"))
        try saveSafeTensors(stateDict(), metadata: ["format": "pt"], to: (path as NSString).appendingPathComponent("model.safetensors"))
    }

    /// A CLIPTextModel holding the text tower's first `numHiddenLayers - drop` layers and its final layer norm:
    /// its last_hidden_state is the tower's penultimate state (drop 1) after the final norm, as Stable
    /// Diffusion 2's 23-layer text encoder is OpenCLIP-H's 24-layer tower without its last layer.
    public func textEncoder(droppingLastLayers drop: Int) throws -> CLIPTextModel {
        var c = config.textConfig
        c.numHiddenLayers -= drop
        guard c.numHiddenLayers >= 1 else { throw FileError(path: "CLIPModel", message: "cannot drop \(drop) of \(config.textConfig.numHiddenLayers) text layers") }
        let model = CLIPTextModel(c)
        var tensors: [String: Tensor] = [:]
        for (k, v) in text_model.stateDict() {
            if k.hasPrefix("encoder.layers."), let i = Int(k.dropFirst("encoder.layers.".count).prefix { $0 != "." }), i >= c.numHiddenLayers { continue }
            tensors["text_model." + k] = v
        }
        try model.load(tensors)
        return model
    }
}

extension CLIPImageProcessor {
    /// Writes preprocessor_config.json as transformers' CLIPImageProcessor saves it.
    public func save(folder path: String) throws {
        let json: [String: Any] = [
            "crop_size": ["height": cropHeight, "width": cropWidth], "do_center_crop": doCenterCrop, "do_convert_rgb": true,
            "do_normalize": doNormalize, "do_rescale": true, "do_resize": doResize, "image_mean": imageMean.map(Double.init),
            "image_processor_type": "CLIPImageProcessor", "image_std": imageStd.map(Double.init), "resample": resample.rawValue,
            "rescale_factor": 1.0 / 255.0, "size": ["shortest_edge": shortestEdge],
        ]
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try writeJSON(json, to: (path as NSString).appendingPathComponent("preprocessor_config.json"))
    }
}
