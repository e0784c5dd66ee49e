// Portrait3D's pyramid tri-grid (method doc §8; ../shared/papers/portrait3d-summary.txt): the tri-plane's
// features written as a sum of levels at several resolutions, each upsampled bilinearly to the finest and summed.
// Coarse levels hold the low frequencies, so per-level learning rates can move the shape without the grid-like
// high-frequency artefacts a single feature plane picks up under score distillation. A pyramid of one level is a
// plain tri-plane (the DreamFusion-style baseline of `dreamportrait sds --levels R`).
//
// Forward:  planes = Σ_l up(level_l),  up = interpolate(bilinear, align_corners false) to the finest size.
// Backward: ∂L/∂level_l = up*(∂L/∂planes), the adjoint of the upsampling (interpolate's own backward: the same
//           separable filters transposed), so the gradient of every level is the plane gradient low-passed and
//           summed onto its grid. Both come from TensorCore's differentiable `interpolate`; nothing is hand-written.
//
// `init(planes:resolutions:)` decomposes a given tri-plane so that the forward reproduces it (to float rounding):
// level_0 = down(planes) (antialiased bilinear), each further level = down(planes − Σ_{k<l} up(level_k)), and the
// finest level is the remaining residual, planes − Σ_{l<L−1} up(level_l), so the sum is the tri-plane again.
import Foundation
import TensorCore

public final class TriGrid: Module {
    /// Level sides, ascending; the last is the finest (the plane resolution).
    public let resolutions: [Int]
    /// 3·C: the three planes' channels (EG3D's XY, XZ, ZX order, C each).
    public let channels: Int
    /// One parameter per level: (1, 3·C, r_l, r_l), registered as "level_<r_l>".
    public let levels: [Tensor]

    /// A pyramid of zeros (or N(0, std²) when `rng` is given) at `resolutions` (strictly ascending, each ≥ 1).
    public init(resolutions: [Int], channels: Int, rng: RandomGenerator? = nil, std: Float = 0.1) {
        TriGrid.check(resolutions: resolutions, channels: channels)
        self.resolutions = resolutions
        self.channels = channels
        levels = resolutions.map { r in rng.map { $0.normal([1, channels, r, r], std: std) } ?? Tensor.zeros([1, channels, r, r]) }
        super.init()
        for (r, t) in zip(resolutions, levels) { registerParameter("level_\(r)", t) }
    }

    /// The pyramid whose forward equals `planes` (1, 3·C, R, R); `resolutions` must end at R (see the header).
    public convenience init(planes: Tensor, resolutions: [Int]) {
        require(planes.rank == 4 && planes.shape[0] == 1 && planes.shape[2] == planes.shape[3],
                "TriGrid: planes must be (1, 3·C, R, R), got \(planes.shape)")
        let finest = planes.shape[2]
        require(resolutions.last == finest, "TriGrid: the finest level \(resolutions.last ?? 0) must be the planes' resolution \(finest)")
        self.init(resolutions: resolutions, channels: planes.shape[1])
        withNoGrad {
            let p = planes.contiguous()
            var sum: Tensor? = nil
            for (l, r) in resolutions.dropLast().enumerated() {
                let residual = sum.map { p - $0 } ?? p
                let level = interpolate(residual, size: (r, r), mode: .bilinear, antialias: true).contiguous()
                levels[l].data.update(from: level.data, count: level.count)
                let up = TriGrid.upsample(levels[l], to: finest)
                sum = sum.map { $0 + up } ?? up
            }
            let last = (sum.map { p - $0 } ?? p).contiguous()
            levels[resolutions.count - 1].data.update(from: last.data, count: last.count)
        }
    }

    /// The finest side R.
    public var resolution: Int { resolutions.last! }

    /// The tri-plane the pyramid stands for: Σ_l up(level_l), (1, 3·C, R, R). Differentiable in every level.
    public func planes() -> Tensor {
        var sum: Tensor? = nil
        for level in levels.dropLast() {
            let up = TriGrid.upsample(level, to: resolution)
            sum = sum.map { $0 + up } ?? up
        }
        return sum.map { $0 + levels.last! } ?? levels.last!
    }

    /// Named level parameters, coarse to fine ("level_8", …), for per-level optimiser groups.
    public var namedLevels: [(String, Tensor)] { zip(resolutions, levels).map { ("level_\($0)", $1) } }

    /// x (1, 3·C, r, r) -> (1, 3·C, R, R), bilinear (align_corners false); the identity when r = R.
    static func upsample(_ x: Tensor, to r: Int) -> Tensor {
        x.shape[2] == r ? x : interpolate(x, size: (r, r), mode: .bilinear, alignCorners: false)
    }

    static func check(resolutions: [Int], channels: Int) {
        require(!resolutions.isEmpty && resolutions.allSatisfy { $0 >= 1 }, "TriGrid: resolutions \(resolutions) must be positive")
        require(zip(resolutions, resolutions.dropFirst()).allSatisfy { $0 < $1 }, "TriGrid: resolutions \(resolutions) must ascend strictly")
        require(channels >= 3 && channels % 3 == 0, "TriGrid: channels \(channels) must be 3·C")
    }

    /// The levels a `--levels` list asks for at plane resolution R: those below R, ascending, then R itself.
    /// - Throws: `FieldError` naming the flag for an empty list or a level that is not a positive integer ≤ R.
    public static func resolutions(parsing list: [Int], finest r: Int, flag: String = "--levels") throws -> [Int] {
        guard !list.isEmpty else { throw FieldError("\(flag): no levels given (e.g. 8,16,32,64,128,\(r))") }
        if let bad = list.first(where: { $0 < 1 || $0 > r }) {
            throw FieldError("\(flag): level \(bad) is not in 1...\(r) (the plane resolution)")
        }
        return Array(Set(list + [r])).sorted()
    }
}

/// A field setting or file that cannot be used; the message names the flag or file.
public struct FieldError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
