// Mutation fuzzing of what `dreamportrait generate` reads (issue 15): each field of a generator checkpoint's
// `config` metadata (TriPlaneConfig JSON, rendering_kwargs included) and each number of a `--camera-label`
// file set to 0, -1, 1e12, 2.5, a string, null, or deleted. The mutants of a small generator's checkpoint go through
// TriPlaneGenerator.load (generate's loader) and, where they load, one forward (mapping, planes, render at
// R = 8, super-resolution) per distinct configuration; the labels go through CameraLabelFile.read and the
// renderer's rays and ray marching. Every case must work or throw an error naming the file; none may trap,
// take over 10 s or reach 3 GB.
import Foundation
import XCTest
import TensorCore
import TriPlaneGAN
@testable import PortraitExport
import TestSupport

final class GenerateFuzzTests: XCTestCase {
    /// A small generator (planes 16², 3 synthesis blocks, 4 channels; TextConditionedGeneratorTests' `small`), so
    /// that building one per case is cheap.
    static let small = TriPlaneConfig(
        zDim: 8, wDim: 16, cDim: 25, imgResolution: 128, channelBase: 128, channelMax: 16, mappingLayers: 2,
        planeResolution: 16, planeChannels: 4, decoderHiddenDim: 8, decoderOutputDim: 4, srChannels: [4, 4],
        neuralRenderingResolution: 8, rendering: .ffhq(.hybrid2X, depthResolution: 6, depthResolutionImportance: 0))

    func testFuzzGeneratorCheckpointConfig() throws {
        // Each mutant is parsed from memory under this name (the loader is TriPlaneGenerator.load(file:), which
        // load(path:) calls after mapping the file).
        let path = ExportTestSupport.tiny.dir + "/fuzz-small.safetensors"
        let g0 = TriPlaneGenerator(config: Self.small, rng: RandomGenerator(seed: 7))
        let original = try SplitFile(safeTensorsData(g0.stateDict(), metadata: ["config": try Self.small.jsonString()]))
        var forwarded: [TriPlaneConfig] = []
        let r = try JSONFuzz.run(json: Data(try Self.small.jsonString().utf8), name: "checkpoint config metadata",
                                 errorNames: [path]) { mutant in
            let file = try SafeTensorsFile(data: original.replacingConfig(with: String(decoding: mutant, as: UTF8.self)), name: path)
            let g = try TriPlaneGenerator.load(file: file)
            // A configuration already run forward builds the same generator: once is enough (the discriminator's
            // and training-only settings do not change the generator's forward).
            var key = g.config
            (key.dChannelBase, key.dChannelMax, key.dConvClamp, key.mbstdGroupSize, key.mbstdNumChannels) = (0, 0, nil, 0, 0)
            (key.dMappingLayers, key.cmapDim, key.discCNoise) = (0, nil, 0)
            (key.rendering.densityReg, key.rendering.densityRegPDist, key.rendering.regType, key.rendering.gpcRegProb) = (0, 0, "", nil)
            (key.rendering.cScale, key.rendering.cGenConditioningZero, key.rendering.avgCameraRadius, key.rendering.avgCameraPivot) = (0, false, 0, [])
            guard !forwarded.contains(key) else { return }
            forwarded.append(key)
            let out = withNoGrad {
                g(z: RandomGenerator(seed: 3).normal([1, g.config.zDim]), cCond: Camera.labels([Camera.frontal()]),
                  truncationPsi: 0.7, resolution: 8, random: GeneratorRandomSource(seed: 1))
            }
            XCTAssertEqual(out.image.shape, [1, g.config.imgChannels, g.config.imgResolution, g.config.imgResolution])
        }
        XCTAssertGreaterThan(r.threw, 0)
        XCTAssertGreaterThan(r.worked, 0)
        print("checkpoint config metadata: \(forwarded.count) distinct configurations run forward")
    }

    /// A safetensors file split into its header and its tensor bytes, to rebuild it with other metadata
    /// (offsets are relative to the end of the header), so the tensors are not encoded again per case.
    struct SplitFile {
        let header: [String: Any]
        let tensorBytes: Data

        init(_ file: Data) throws {
            let n = Int(file.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
            header = try JSONSerialization.jsonObject(with: file.subdata(in: 8..<(8 + n))) as! [String: Any]
            tensorBytes = file.subdata(in: (8 + n)..<file.count)
        }

        func replacingConfig(with config: String) throws -> Data {
            var h = header
            var meta = h["__metadata__"] as? [String: String] ?? [:]
            meta["config"] = config
            h["__metadata__"] = meta
            var json = try JSONSerialization.data(withJSONObject: h, options: [.sortedKeys])
            while json.count % 8 != 0 { json.append(0x20) }
            var out = Data(capacity: 8 + json.count + tensorBytes.count)
            withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
            out.append(json)
            out.append(tensorBytes)
            return out
        }
    }

    func testFuzzCameraLabelFile() throws {
        let cam = temporaryPath("fuzz-cam") + ".json"
        try "[\(Camera.frontal().label.map { "\($0)" }.joined(separator: ", "))]".write(toFile: cam, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: cam) }
        // A small generator and its planes once; each label is read as `generate --camera-label` reads it, then its
        // rays are marched through the planes (the camera-dependent part of the view; the super-resolution
        // after it does not see the camera).
        let g = TriPlaneGenerator(config: Self.small, rng: RandomGenerator(seed: 7))
        let planes = withNoGrad { () -> Tensor in
            let ws = g.mapping(RandomGenerator(seed: 3).normal([1, g.config.zDim]), Camera.labels([Camera.frontal()]), truncationPsi: 0.7)
            let p = g.planes(ws, noiseMode: .const)
            return p.reshape([1, 3, g.config.planeChannels, p.shape[2], p.shape[3]])
        }
        let r = try JSONFuzz.run(file: cam, errorNames: [cam], maxElements: 25) {
            let camera = try CameraLabelFile.read(path: cam)
            let (origins, directions) = RaySampler.rays(labels: Camera.labels([camera]), resolution: 8)
            let out = withNoGrad {
                ImportanceRenderer.render(planes: planes, decoder: g.decoder, origins: origins, directions: directions,
                                          options: g.settings, random: GeneratorRandomSource(seed: 1))
            }
            let (_, depth) = ImportanceRenderer.images(features: out.features, depth: out.depth, resolution: 8)
            XCTAssertEqual(depth.shape, [1, 1, 8, 8])
        }
        XCTAssertGreaterThan(r.threw, 0)
        XCTAssertGreaterThan(r.worked, 0)
    }
}
