// The parts of a CLIP folder checked against each other when it is opened, before any work starts: the
// tokenizer against the text tower (every id it can emit inside the vocabulary, its context within the
// position table) and the image processor against the vision tower (its output is the tower's image_size).
// Each mismatch names the file, the field and both values.
import Foundation
import TensorCore

extension CLIPTokenizer {
    /// The largest id this tokenizer can emit (vocabulary, start, end, padding, unknown and special tokens).
    public var largestTokenID: Int {
        ([vocabularySize - 1, startTokenID, endTokenID, padTokenID, unkTokenID] + specialTokens.map(\.id)).max()!
    }

    /// The smallest such id (negative ids come only from a malformed tokenizer_config.json).
    public var smallestTokenID: Int {
        ([startTokenID, endTokenID, padTokenID, unkTokenID] + specialTokens.map(\.id)).min()!
    }

    /// Throws FileError unless the text tower `config` (read from `configPath`) can embed every id and
    /// position this tokenizer (read from `tokenizerFolder`) produces.
    public func check(against config: CLIPTextConfig, configPath: String, tokenizerFolder: String) throws {
        guard smallestTokenID >= 0 else {
            throw FileError(path: (tokenizerFolder as NSString).appendingPathComponent("tokenizer_config.json"),
                            message: "a special token has the negative id \(smallestTokenID)")
        }
        guard largestTokenID < config.vocabSize else {
            throw FileError(path: configPath, message: "vocab_size \(config.vocabSize) is too small for the tokenizer's largest id \(largestTokenID) (its vocabulary and tokenizer_config.json in \(tokenizerFolder))")
        }
        guard contextLength <= config.maxPositionEmbeddings else {
            throw FileError(path: configPath, message: "max_position_embeddings \(config.maxPositionEmbeddings) is less than \((tokenizerFolder as NSString).appendingPathComponent("tokenizer_config.json")) model_max_length \(contextLength)")
        }
    }
}

extension CLIPImageProcessor {
    /// Throws FileError (against `path`, the preprocessor_config.json) unless this processor makes square
    /// images of the vision tower's `image_size` with its `num_channels` channels.
    public func check(against vision: CLIPVisionConfig, path: String, configPath: String) throws {
        guard imageMean.count == vision.numChannels && imageStd.count == vision.numChannels else {
            throw FileError(path: path, message: "image_mean and image_std have \(imageMean.count) and \(imageStd.count) values but \(configPath) vision_config.num_channels is \(vision.numChannels)")
        }
        if doCenterCrop {
            guard cropHeight == vision.imageSize && cropWidth == vision.imageSize else {
                throw FileError(path: path, message: "crop_size \(cropHeight)x\(cropWidth) does not match \(configPath) vision_config.image_size \(vision.imageSize): the vision tower takes \(vision.imageSize)x\(vision.imageSize) images")
            }
        } else {
            guard doResize && shortestEdge == vision.imageSize else {
                throw FileError(path: path, message: "without a centre crop, size.shortest_edge \(doResize ? "\(shortestEdge)" : "(do_resize false)") must be \(configPath) vision_config.image_size \(vision.imageSize)")
            }
        }
    }

    /// Throws FileError unless every size and statistic is usable: positive sides within bounds, a positive
    /// finite std and a finite mean.
    func validate(path: String) throws {
        for (key, v) in [("size.shortest_edge", shortestEdge), ("crop_size.height", cropHeight), ("crop_size.width", cropWidth)] {
            if let p = ConfigBounds.problem(key, v, max: ConfigBounds.maxImageSide) { throw FileError(path: path, message: p) }
        }
        guard imageMean.allSatisfy(\.isFinite) else { throw FileError(path: path, message: "image_mean \(imageMean) must be finite") }
        guard imageStd.allSatisfy({ $0.isFinite && $0 > 0 }) else { throw FileError(path: path, message: "image_std \(imageStd) must be positive") }
    }
}
