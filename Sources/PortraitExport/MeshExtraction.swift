// Shape extraction from a generator's tri-planes (eg3d-spec §14.3): raw density σ sampled on an M³ grid over the
// cube [−box_warp/2, box_warp/2]³ (x slowest, corners included, spacing box_warp/(M − 1)), the faces optionally
// trimmed as gen_samples.py does, marching cubes at an isosurface of raw σ (EG3D's level is 10), and vertex
// colours from the decoder's colour features at the vertices. The grid is sampled a slab of x-slices at a
// time, so the memory beyond the M³ floats of the grid stays flat. Unlike gen_samples.py the mesh is in world
// units (y up, the face looking toward +z) and the grid has no index shear (§14.3's real-valued modulo).
import Foundation
import TensorCore
import TriPlaneGAN

/// Raw σ on an M³ grid, x slowest: `values[(i·M + j)·M + k]` at `origin + (i, j, k)·spacing`.
public struct DensityGrid {
    public let resolution: Int
    public let origin: SIMD3<Float>
    public let spacing: Float
    public var values: [Float]

    /// The smallest and largest σ over voxels at least `pad` from every face.
    public func range(pad: Int = 0) -> (min: Float, max: Float) {
        let m = resolution
        var lo = Float.infinity, hi = -Float.infinity
        guard pad < m - pad else { return (lo, hi) }
        for i in pad..<(m - pad) { for j in pad..<(m - pad) { for k in pad..<(m - pad) {
            let v = values[(i * m + j) * m + k]
            lo = Swift.min(lo, v); hi = Swift.max(hi, v)
        } } }
        return (lo, hi)
    }

    /// gen_samples.py's border trimming: every voxel within `pad` of a face is set to `value` (−1000), which
    /// closes the surface where the head meets the box.
    public mutating func trimBorder(pad: Int, value: Float = -1000) {
        let m = resolution
        guard pad > 0 else { return }
        let inner = pad..<Swift.max(pad, m - pad)      // empty when the pad covers the grid
        for i in 0..<m { for j in 0..<m { for k in 0..<m {
            if !(inner.contains(i) && inner.contains(j) && inner.contains(k)) { values[(i * m + j) * m + k] = value }
        } } }
    }
}

/// Marching cubes found no surface at the requested level.
public struct NoSurfaceError: Error, CustomStringConvertible, Equatable {
    public let threshold: Float
    public let minimum: Float
    public let maximum: Float
    public var description: String {
        let hint = minimum > threshold ? "try a higher --mesh-threshold" : "try a lower --mesh-threshold"
        return "no surface at σ = \(fmt(threshold)): the density ranges from \(fmt(minimum)) to \(fmt(maximum)); \(hint)"
    }
    private func fmt(_ x: Float) -> String { String(format: "%.4g", Double(x)) }
}

/// The generation was asked to stop (Ctrl-C); nothing has been written.
public struct GenerationInterrupted: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "interrupted: no files were written" }
}

public enum MeshExtraction {
    /// gen_samples.py's border: int(30·M/256) voxels on each face.
    public static func defaultPad(resolution m: Int) -> Int { 30 * m / 256 }

    /// Samples raw σ on the M³ grid over the generator's box.
    /// - Parameters: planes (1, 3·C, H, W); pointsPerCall bounds the points per decoder call (memory stays flat);
    ///   `pad`: voxels within pad of a face are not sampled but set to −1000, what `trimBorder(pad:)` (the mesh's
    ///   border trim) would set them to anyway (at 128³ with gen_samples.py's pad of 15, 55% of the grid);
    ///   progress(slices done, M) after each slab; shouldStop is checked between slabs.
    /// - Throws: `GenerationInterrupted` when `shouldStop` returns true.
    public static func sampleGrid(generator g: TriPlaneGenerator, planes: Tensor, resolution m: Int, pad: Int = 0,
                                  pointsPerCall: Int = 1 << 18, progress: ((Int, Int) -> Void)? = nil,
                                  shouldStop: () -> Bool = { false }) throws -> DensityGrid {
        try sampleGrid(decoder: g.decoder, boxWarp: g.settings.boxWarp, planes: planes, resolution: m, pad: pad,
                       pointsPerCall: pointsPerCall, progress: progress, shouldStop: shouldStop)
    }

    /// `sampleGrid` for any tri-plane and OSG decoder (a generator's, or an optimised field's) over the cube of side `boxWarp`.
    public static func sampleGrid(decoder: OSGDecoder, boxWarp: Double, planes: Tensor, resolution m: Int, pad: Int = 0,
                                  pointsPerCall: Int = 1 << 18, progress: ((Int, Int) -> Void)? = nil,
                                  shouldStop: () -> Bool = { false }) throws -> DensityGrid {
        require(m >= 2, "MeshExtraction: the grid needs at least 2 samples per axis, got \(m)")
        require(pad >= 0, "MeshExtraction: the border pad must be non-negative, got \(pad)")
        require(planes.rank == 4 && planes.shape[0] == 1, "MeshExtraction: planes must be (1, 3·C, H, W), got \(planes.shape)")
        let box = Float(boxWarp), spacing = box / Float(m - 1), origin = SIMD3<Float>(repeating: -box / 2)
        let planes5 = planes.reshape([1, 3, decoder.inputFeatures, planes.shape[2], planes.shape[3]])
        let inner = pad..<Swift.max(pad, m - pad), n = inner.count
        var values = [Float](repeating: pad > 0 ? -1000 : 0, count: m * m * m)
        let slab = Swift.max(1, pointsPerCall / Swift.max(n * n, 1))
        var i0 = 0
        while i0 < m {
            if shouldStop() { throw GenerationInterrupted() }
            let i1 = Swift.min(m, i0 + slab)
            let first = Swift.max(i0, inner.lowerBound), last = Swift.min(i1, inner.upperBound)   // slices to sample
            if first < last && n > 0 {
                let rows = first..<last, count = rows.count * n * n
                let points = Tensor(uninitializedShape: [1, count, 3])
                let p = points.data
                var q = 0
                for i in rows { for j in inner { for k in inner {
                    p[3 * q] = origin.x + Float(i) * spacing
                    p[3 * q + 1] = origin.y + Float(j) * spacing
                    p[3 * q + 2] = origin.z + Float(k) * spacing
                    q += 1
                } } }
                let sigma = withNoGrad {
                    ImportanceRenderer.sampleSigma(planes: planes5, decoder: decoder, points: points, boxWarp: boxWarp)
                }
                let s = sigma.data
                values.withUnsafeMutableBufferPointer { v in
                    var q = 0
                    for i in rows { for j in inner {
                        (v.baseAddress! + (i * m + j) * m + pad).update(from: s + q, count: n)
                        q += n
                    } }
                }
            }
            i0 = i1
            progress?(i0, m)
        }
        return DensityGrid(resolution: m, origin: origin, spacing: spacing, values: values)
    }

    /// Marching cubes at `threshold` on the grid (inside: σ > threshold), coloured from the decoder.
    /// - Throws: `NoSurfaceError` (with the interior density range) when the level gives no triangle.
    public static func extract(generator g: TriPlaneGenerator, planes: Tensor, grid: DensityGrid, threshold: Float,
                               pad: Int = 0) throws -> TriangleMesh {
        try extract(decoder: g.decoder, boxWarp: g.settings.boxWarp, planes: planes, grid: grid, threshold: threshold, pad: pad)
    }

    /// `extract` for any tri-plane and OSG decoder.
    public static func extract(decoder: OSGDecoder, boxWarp: Double, planes: Tensor, grid: DensityGrid, threshold: Float,
                               pad: Int = 0) throws -> TriangleMesh {
        let (lo, hi) = grid.range(pad: pad)
        guard lo <= threshold && hi > threshold else { throw NoSurfaceError(threshold: threshold, minimum: lo, maximum: hi) }
        var trimmed = grid
        trimmed.trimBorder(pad: pad)
        let m = grid.resolution
        var mesh = marchingCubes(trimmed.values, nx: m, ny: m, nz: m, threshold: threshold, origin: grid.origin,
                                 spacing: SIMD3(repeating: grid.spacing))
        guard !mesh.triangles.isEmpty else { throw NoSurfaceError(threshold: threshold, minimum: lo, maximum: hi) }
        mesh.colors = vertexColors(decoder: decoder, boxWarp: boxWarp, planes: planes, vertices: mesh.vertices)
        return mesh
    }

    /// Vertex colours: the first three of the decoder's colour features at each vertex, clamped to [0, 1]. The
    /// decoder's features are sigmoid·(1 + 2·0.001) − 0.001; the ray marcher maps composited features by ×2 − 1 and
    /// EG3D shows images as (x + 1)/2, so the decoder's own value is the displayed colour.
    public static func vertexColors(generator g: TriPlaneGenerator, planes: Tensor, vertices: [SIMD3<Float>],
                                    pointsPerCall: Int = 1 << 16) -> [SIMD3<Float>] {
        vertexColors(decoder: g.decoder, boxWarp: g.settings.boxWarp, planes: planes, vertices: vertices, pointsPerCall: pointsPerCall)
    }

    /// `vertexColors` for any tri-plane and OSG decoder.
    public static func vertexColors(decoder: OSGDecoder, boxWarp: Double, planes: Tensor, vertices: [SIMD3<Float>],
                                    pointsPerCall: Int = 1 << 16) -> [SIMD3<Float>] {
        let planes5 = planes.reshape([planes.shape[0], 3, decoder.inputFeatures, planes.shape[2], planes.shape[3]])
        var colors: [SIMD3<Float>] = []
        colors.reserveCapacity(vertices.count)
        var v0 = 0
        while v0 < vertices.count {
            let v1 = Swift.min(vertices.count, v0 + pointsPerCall)
            let points = Tensor(uninitializedShape: [1, v1 - v0, 3])
            let p = points.data
            for (q, v) in vertices[v0..<v1].enumerated() { p[3 * q] = v.x; p[3 * q + 1] = v.y; p[3 * q + 2] = v.z }
            let rgb = withNoGrad { ImportanceRenderer.sampleDensity(planes: planes5, decoder: decoder, points: points, boxWarp: boxWarp).rgb }
            let c = rgb.shape[2], r = rgb.data
            func clamp01(_ x: Float) -> Float { Swift.min(Swift.max(x, 0), 1) }
            for q in 0..<(v1 - v0) { colors.append(SIMD3(clamp01(r[q * c]), clamp01(r[q * c + 1]), clamp01(r[q * c + 2]))) }
            v0 = v1
        }
        return colors
    }
}
