// The sizes of DreamPortrait's text conditioning (paper §3.2 Hierarchical Latent Condition, §3.3 adapters,
// Appendix A: six adapters, a two-plus-two-plus-one-layer semantics mapping network), as our method doc
// (docs/dreamportrait-method.md) §3-4 fixes them, derived from an EG3D generator's configuration (§6 stage 1:
// the conditioning is added to a pre-trained generator) and stored as JSON in our checkpoints' metadata
// (`conditioning`, beside TriPlaneConfig's `config`).
import Foundation
import TensorCore

/// Sizes of the conditioning modules. JSON keys (snake_case): `w_dim`, `text_dim`, `hidden_dim`,
/// `mapping_lr_multiplier`, `adapter_dim`, `heads`, `inner_dim` (null: 3·d), `placements`
/// (`[{"resolution": 8, "channels": 512}, …]`) and `axes` (`[{"column": "x", "row": "y"}, …]`, EG3D's layout
/// when absent).
public struct ConditioningConfig: Sendable, Equatable, Codable {
    /// Size of EG3D's w.
    public var wDim: Int
    /// Dt: 1024 for Stable Diffusion 2's OpenCLIP ViT-H/14 text encoder, 512 for smaller encoders.
    public var textDim: Int
    /// Width of the semantics mapping network's text and style layers.
    public var hiddenDim: Int
    /// λ of the semantics mapping network's equalised-lr layers.
    public var mappingLrMultiplier: Float
    /// d, the channels per adapter plane.
    public var adapterDim: Int
    /// Attention heads per adapter.
    public var heads: Int
    /// Attention width per adapter (nil: 3·d).
    public var innerDim: Int?
    /// The blocks that get an adapter, with their channel counts, in block order.
    public var placements: [AdapterPlacement]
    /// The adapter planes' axes (EG3D's tri-plane layout).
    public var axes: TriPlaneAxes
    /// Ablations: adapters without the 3-D pooling / without the tanh gate (JSON `pool_3d`, `gated`, written only
    /// when false, so default configurations keep their JSON).
    public var pool3D = true
    public var gated = true
    /// Ours (JSON `whiten_eot`, written only when true): the semantics mapping reads t_EOT whitened by a fixed
    /// affine map fitted on the training captions (`SemanticsMappingNetwork.setWhitening`), so that what the text
    /// encoder varies least along (session 28: hair colour, beside gender) reaches the mapping as strongly.
    public var whitenEOT = false

    public init(wDim: Int = 512, textDim: Int = 1024, hiddenDim: Int = 512, mappingLrMultiplier: Float = 0.01,
                adapterDim: Int = 32, heads: Int = 4, innerDim: Int? = nil,
                placements: [AdapterPlacement] = AdapterPlacement.lastBlocks(), axes: TriPlaneAxes = .eg3d) {
        self.wDim = wDim
        self.textDim = textDim
        self.hiddenDim = hiddenDim
        self.mappingLrMultiplier = mappingLrMultiplier
        self.adapterDim = adapterDim
        self.heads = heads
        self.innerDim = innerDim
        self.placements = placements
        self.axes = axes
    }

    /// The conditioning for an EG3D generator of configuration `generator` (method doc §3-4): w_dim and the
    /// block channels from the generator, adapters after the last `adapters` synthesis blocks (those ending at
    /// the plane resolution: 8² … 256² for EG3D's 256² planes; every block when the backbone has fewer),
    /// the semantics mapping network as wide as w (EG3D's mapping layers are), d = the generator's channels per
    /// plane (32), EG3D's plane axes.
    /// - Parameters:
    ///   - textDim: the text encoder's feature size (1024 for Stable Diffusion 2's OpenCLIP ViT-H/14).
    ///   - adapters: how many adapters (the paper's default 6; its Table 3b ablates 2, 4, 6).
    ///   - hiddenDim, adapterDim: nil for w_dim and plane_channels.
    public init(generator: TriPlaneConfig, textDim: Int = 1024, adapters: Int = 6, hiddenDim: Int? = nil,
                mappingLrMultiplier: Float = 0.01, adapterDim: Int? = nil, heads: Int = 4, innerDim: Int? = nil) {
        self.init(wDim: generator.wDim, textDim: textDim, hiddenDim: hiddenDim ?? generator.wDim,
                  mappingLrMultiplier: mappingLrMultiplier, adapterDim: adapterDim ?? generator.planeChannels,
                  heads: heads, innerDim: innerDim,
                  placements: AdapterPlacement.lastBlocks(adapters, imgResolution: generator.planeResolution,
                                                          channelBase: generator.channelBase, channelMax: generator.channelMax),
                  axes: .eg3d)
    }

    /// The semantics mapping network's configuration.
    public var semanticsMapping: SemanticsMappingConfig {
        SemanticsMappingConfig(wDim: wDim, textDim: textDim, hiddenDim: hiddenDim, lrMultiplier: mappingLrMultiplier, whitenEOT: whitenEOT)
    }

    /// The configuration of the adapter at `placement`.
    public func adapter(_ placement: AdapterPlacement) -> AdapterConfig {
        AdapterConfig(channels: placement.channels, dim: adapterDim, heads: heads, innerDim: innerDim,
                      textDim: textDim, axes: axes, pool3D: pool3D, gated: gated)
    }

    // MARK: Validation

    /// Every inconsistent setting, in words (empty when the configuration is usable).
    public var problems: [String] {
        var out: [String] = []
        for (name, v) in [("w_dim", wDim), ("text_dim", textDim), ("hidden_dim", hiddenDim), ("adapter_dim", adapterDim),
                          ("heads", heads)] where v < 1 {
            out.append("\(name) must be positive, got \(v)")
        }
        // Sane upper bounds, so that a wrong number in checkpoint metadata is named before anything is allocated.
        for (name, v, limit) in [("w_dim", wDim, 8192), ("text_dim", textDim, 8192), ("hidden_dim", hiddenDim, 65536),
                                 ("adapter_dim", adapterDim, 8192), ("heads", heads, 1024), ("inner_dim", innerDim ?? 1, 65536)]
            where v > limit {
            out.append("\(name) = \(v) is larger than \(limit)")
        }
        if let i = innerDim, i < 1 { out.append("inner_dim must be positive, got \(i)") }
        if placements.count > 16 { out.append("\(placements.count) placements (at most 16)") }
        for p in placements where !(1...8192).contains(p.channels) || !(1...4096).contains(p.resolution) {
            out.append("placement \(p) must have 1...8192 channels at a resolution in 1...4096")
        }
        if !(mappingLrMultiplier > 0 && mappingLrMultiplier.isFinite) {
            out.append("mapping_lr_multiplier must be positive and finite, got \(mappingLrMultiplier)")
        }
        let attention = innerDim ?? 3 * adapterDim
        if heads >= 1 && (attention < heads || attention % heads != 0) {
            out.append("the attention width \(attention) (inner_dim, or 3·adapter_dim) must be a positive multiple of heads = \(heads)")
        }
        for (a, b) in zip(placements, placements.dropFirst()) where a.resolution >= b.resolution {
            out.append("placements must have distinct resolutions in increasing order, got \(placements)")
            break
        }
        return out
    }

    /// The problems of using this conditioning on the generator `generator`: its own `problems`, plus w_dim and
    /// every placement checked against the generator's synthesis blocks (resolution and channels).
    public func problems(for generator: TriPlaneConfig) -> [String] {
        var out = problems
        if wDim != generator.wDim { out.append("w_dim \(wDim) differs from the generator's w_dim \(generator.wDim)") }
        let blocks = generator.blockResolutions
        for p in placements {
            if !blocks.contains(p.resolution) {
                out.append("no synthesis block at \(p.resolution)² (the generator's blocks are \(blocks.map { "\($0)²" }.joined(separator: ", ")))")
            } else if p.channels != generator.channels(at: p.resolution) {
                out.append("the adapter at \(p.resolution)² has \(p.channels) channels, the generator's block has \(generator.channels(at: p.resolution))")
            }
        }
        return out
    }

    /// Throws a ConditioningConfigError naming every problem (`problems(for:)` with a generator, else `problems`).
    public func validate(for generator: TriPlaneConfig? = nil) throws {
        let found = generator.map { problems(for: $0) } ?? problems
        if !found.isEmpty { throw ConditioningConfigError(problems: found) }
    }

    // MARK: JSON

    enum CodingKeys: String, CodingKey {
        case wDim = "w_dim", textDim = "text_dim", hiddenDim = "hidden_dim", mappingLrMultiplier = "mapping_lr_multiplier"
        case adapterDim = "adapter_dim", heads, innerDim = "inner_dim", placements, axes, pool3D = "pool_3d", gated
        case whitenEOT = "whiten_eot"
    }

    /// Decodes and validates (every key but `inner_dim` and `axes` is required).
    public init(from decoder: Decoder) throws {
        let k = try decoder.container(keyedBy: CodingKeys.self)
        wDim = try k.decode(Int.self, forKey: .wDim)
        textDim = try k.decode(Int.self, forKey: .textDim)
        hiddenDim = try k.decode(Int.self, forKey: .hiddenDim)
        mappingLrMultiplier = try k.decode(Float.self, forKey: .mappingLrMultiplier)
        adapterDim = try k.decode(Int.self, forKey: .adapterDim)
        heads = try k.decode(Int.self, forKey: .heads)
        innerDim = try k.decodeIfPresent(Int.self, forKey: .innerDim)
        placements = try k.decode([AdapterPlacement].self, forKey: .placements)
        axes = try k.decodeIfPresent(TriPlaneAxes.self, forKey: .axes) ?? .eg3d
        pool3D = try k.decodeIfPresent(Bool.self, forKey: .pool3D) ?? true
        gated = try k.decodeIfPresent(Bool.self, forKey: .gated) ?? true
        whitenEOT = try k.decodeIfPresent(Bool.self, forKey: .whitenEOT) ?? false
    }

    public func encode(to encoder: Encoder) throws {
        var k = encoder.container(keyedBy: CodingKeys.self)
        try k.encode(wDim, forKey: .wDim)
        try k.encode(textDim, forKey: .textDim)
        try k.encode(hiddenDim, forKey: .hiddenDim)
        try k.encode(mappingLrMultiplier, forKey: .mappingLrMultiplier)
        try k.encode(adapterDim, forKey: .adapterDim)
        try k.encode(heads, forKey: .heads)
        try k.encode(innerDim, forKey: .innerDim)
        try k.encode(placements, forKey: .placements)
        try k.encode(axes, forKey: .axes)
        if !pool3D { try k.encode(pool3D, forKey: .pool3D) }
        if !gated { try k.encode(gated, forKey: .gated) }
        if whitenEOT { try k.encode(whitenEOT, forKey: .whitenEOT) }
    }

    /// Reads a configuration written by `jsonString()` and validates it on its own.
    public init(json: String) throws {
        do {
            self = try JSONDecoder().decode(ConditioningConfig.self, from: Data(json.utf8))
        } catch let e as DecodingError {
            throw ConditioningConfigError(problems: [describe(e)])
        }
        try validate()
    }

    /// The configuration as JSON with sorted snake_case keys (for safetensors metadata).
    public func jsonString() throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try e.encode(self), as: UTF8.self)
    }
}

/// Inconsistent conditioning settings, all listed.
public struct ConditioningConfigError: Error, CustomStringConvertible {
    public var problems: [String]
    public init(problems: [String]) { self.problems = problems }
    public var description: String { "invalid ConditioningConfig: " + problems.joined(separator: "; ") }
}

/// A decoding error in words, with the JSON path of the offending value.
private func describe(_ error: DecodingError) -> String {
    func path(_ c: [CodingKey]) -> String { c.isEmpty ? "the top level" : c.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".") }
    switch error {
    case .keyNotFound(let key, let ctx): return "missing key \"\(key.stringValue)\" at \(path(ctx.codingPath))"
    case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx), .dataCorrupted(let ctx):
        return "\(ctx.debugDescription) at \(path(ctx.codingPath))"
    @unknown default: return "\(error)"
    }
}

// MARK: Codable conformances of the placement and axis types (JSON of the `conditioning` metadata)

extension AdapterPlacement: Codable {
    enum CodingKeys: String, CodingKey { case resolution, channels }

    /// `{"resolution": r, "channels": C}`; r must be a power of two >= 4 and C positive.
    public init(from decoder: Decoder) throws {
        let k = try decoder.container(keyedBy: CodingKeys.self)
        let r = try k.decode(Int.self, forKey: .resolution), c = try k.decode(Int.self, forKey: .channels)
        guard r >= 4 && r & (r - 1) == 0 else {
            throw DecodingError.dataCorruptedError(forKey: .resolution, in: k, debugDescription: "adapter resolution \(r) is not a power of two >= 4")
        }
        guard c >= 1 else {
            throw DecodingError.dataCorruptedError(forKey: .channels, in: k, debugDescription: "adapter channels \(c) must be positive")
        }
        self.init(resolution: r, channels: c)
    }

    public func encode(to encoder: Encoder) throws {
        var k = encoder.container(keyedBy: CodingKeys.self)
        try k.encode(resolution, forKey: .resolution)
        try k.encode(channels, forKey: .channels)
    }
}

/// A world axis is written by its name, "x", "y" or "z".
extension WorldAxis: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let name = try c.decode(String.self)
        guard let axis = WorldAxis.allCases.first(where: { $0.description == name }) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "world axis \"\(name)\" is not one of \"x\", \"y\", \"z\"")
        }
        self = axis
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// Three planes, `[{"column": "x", "row": "y"}, …]`, each with two different axes.
extension TriPlaneAxes: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let planes = try c.decode([Plane].self)
        guard planes.count == 3 else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "tri-plane axes need 3 planes, got \(planes.count)")
        }
        if let k = planes.firstIndex(where: { $0.column == $0.row }) {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "plane \(k) uses axis \(planes[k].column) for both its columns and rows")
        }
        self.init(planes)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(planes)
    }
}
