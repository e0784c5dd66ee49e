// Where the 3D-aware adapters sit in the synthesis network: DreamPortrait Appendix A ("six adapters in a residual
// manner between multi-scale convolution layers, covering a range from 4² to 256²", Fig. 11a; Table 3b ablates
// 2/4/6) and our method doc (docs/dreamportrait-method.md) §4 (default: the blocks at 8² … 256²), over EG3D's
// synthesis blocks and channel counts (docs/eg3d-spec.md §4).
import TensorCore

/// One adapter's position: the synthesis block (by resolution) whose output it transforms, and that output's
/// channel count C.
///
/// Insertion point (what the synthesis network must do for a block with an adapter):
///
///     x = block.conv0(x)  (up ×2; b4 starts from its constant)     // (N, C, res, res)
///     x = block.conv1(x)
///     x = adapter(x, text: text)                                     // here: the block's output x
///     img = upsample2d(img) + block.torgb(x)                          // the skip image path, unchanged
///     (next block receives the adapted x)
///
/// That is, after the block's convolutions and before anything reads its x: its own ToRGB and the next block.
/// Running it before the block's ToRGB matters for the last block (256² in EG3D): its x feeds only its ToRGB,
/// whose output is the tri-plane itself, so an adapter placed after that ToRGB would change nothing. The image
/// (skip) path carries no adapter: it only receives ToRGB of the adapted x.
public struct AdapterPlacement: Sendable, Equatable, CustomStringConvertible {
    /// The block's resolution (4, 8, …, img_resolution).
    public var resolution: Int
    /// The block's output channels C.
    public var channels: Int

    public init(resolution: Int, channels: Int) {
        require(resolution >= 4 && resolution & (resolution - 1) == 0,
                "AdapterPlacement: block resolution must be a power of two >= 4, got \(resolution)")
        require(channels >= 1, "AdapterPlacement: channels must be positive, got \(channels)")
        self.resolution = resolution
        self.channels = channels
    }

    public var description: String { "\(resolution)²×\(channels)" }

    /// EG3D's synthesis block resolutions for a backbone of `imgResolution`: 4, 8, …, imgResolution.
    public static func blockResolutions(imgResolution: Int) -> [Int] {
        require(imgResolution >= 4 && imgResolution & (imgResolution - 1) == 0,
                "AdapterPlacement: backbone resolution must be a power of two >= 4, got \(imgResolution)")
        return Array(sequence(first: 4) { $0 * 2 }.prefix { $0 <= imgResolution })
    }

    /// EG3D's channel count of the block at `resolution`: min(channelBase / resolution, channelMax).
    public static func eg3dChannels(resolution: Int, channelBase: Int = 32768, channelMax: Int = 512) -> Int {
        Swift.min(channelBase / resolution, channelMax)
    }

    /// The last `count` synthesis blocks (all of them when the backbone has fewer), with EG3D's channel counts.
    /// The default, six blocks of a 256 backbone, is 8² … 256² with C = 512, 512, 512, 512, 256, 128
    /// (method doc §4); a scaled-down backbone (say 64, channelBase 2048, channelMax 64) takes its last blocks.
    public static func lastBlocks(_ count: Int = 6, imgResolution: Int = 256, channelBase: Int = 32768,
                                  channelMax: Int = 512) -> [AdapterPlacement] {
        require(count >= 0, "AdapterPlacement.lastBlocks: count must be non-negative, got \(count)")
        return blockResolutions(imgResolution: imgResolution).suffix(count).map {
            AdapterPlacement(resolution: $0, channels: eg3dChannels(resolution: $0, channelBase: channelBase, channelMax: channelMax))
        }
    }

    /// Checks a placement list: distinct resolutions, in increasing order (the order the synthesis blocks run).
    public static func validate(_ placements: [AdapterPlacement]) {
        for (a, b) in zip(placements, placements.dropFirst()) {
            require(a.resolution < b.resolution,
                    "AdapterPlacement: placements must have distinct resolutions in increasing order, got \(placements)")
        }
    }
}
