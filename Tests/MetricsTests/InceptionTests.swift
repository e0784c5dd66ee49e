// FID Inception-v3 against pytorch-fid's InceptionV3 (Scripts/make_metric_fixtures.py inception): the
// network on the fixture recipe's random weights, loaded through a safetensors file in the converted format,
// gives pytorch-fid's 2048-d features and block outputs to 1e-4 relative; its keys are exactly those of
// Scripts/convert_inception.py's output; batch-norm folding matches the unfolded conv + BN + ReLU.
import Foundation
import XCTest
@testable import Metrics
@testable import TensorCore
import TestSupport

final class InceptionTests: XCTestCase {
    func fixture() throws -> SafeTensorsFile {
        try SafeTensorsFile(path: metricFixtures.appendingPathComponent("inception.safetensors").path)
    }

    func testKeysAreTheConvertedFileKeys() throws {
        let f = try fixture()
        let json = try XCTUnwrap(f.metadata["converted_keys"]?.data(using: .utf8))
        let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: json) as? [String: [Int]])
        let own = FIDInceptionV3().stateDict().mapValues(\.shape)
        XCTAssertEqual(own.count, 470)
        XCTAssertEqual(Set(own.keys), Set(expected.keys), "missing: \(Set(expected.keys).subtracting(own.keys).sorted().prefix(5)), extra: \(Set(own.keys).subtracting(expected.keys).sorted().prefix(5))")
        for (k, shape) in expected { XCTAssertEqual(own[k], shape, k) }
        XCTAssertEqual(own.values.map { $0.reduce(1, *) }.reduce(0, +), 21_820_000)
    }

    func testFeaturesMatchPytorchFID() throws {
        let f = try fixture()
        // The recipe's weights, written as a converted file would be (plus the fc head and counters a file
        // may carry, which loading ignores).
        let weights = InceptionRecipe.stateDict(for: FIDInceptionV3())
        var file = weights
        file["fc.weight"] = Tensor.zeros([1008, 2048]); file["fc.bias"] = Tensor.zeros([1008])
        file["Conv2d_1a_3x3.bn.num_batches_tracked"] = Tensor.zeros([])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("inception-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try saveSafeTensors(file, to: path)
        let model = try FIDInceptionV3(weights: path)

        let sizes = [(64, 64), (299, 299), (160, 200)]
        let images = sizes.enumerated().map { InceptionRecipe.image($0.offset, $0.element.0, $0.element.1) }
        let batch = FIDInceptionV3.resizedBatch(images)
        XCTAssertEqual(batch.shape, [3, 3, 299, 299])
        let outputs = model.blockOutputs(batch, through: 3)
        XCTAssertEqual(outputs.map(\.shape), [[3, 64, 73, 73], [3, 192, 35, 35], [3, 768, 17, 17], [3, 2048, 1, 1]])
        let features = outputs[3].reshape([3, 2048])
        for i in 0..<3 {
            assertClose(features.slice(axis: 0, start: i, end: i + 1), try f.tensor("features.\(i)"), tol: 1e-4,
                                 "features of image \(i) (\(sizes[i].0)x\(sizes[i].1))")
        }
        for j in 0..<3 {
            assertClose(outputs[j].slice(axis: 0, start: 1, end: 2), try f.tensor("block\(j).1"), tol: 1e-4, "block \(j)")
        }
        // A single image through the model's own resize gives the same features as the batch.
        let single = model.features(images[2])
        assertClose(single, features.slice(axis: 0, start: 2, end: 3), tol: 1e-6, "unbatched image 2")
    }

    /// Two PNG folders (grey, RGBA, two sizes) through the folder pipeline at --dims 64 against pytorch-fid's
    /// calculate_fid_given_paths, and against the exact FID of its features (Scripts/make_metric_fixtures.py folders).
    func testFolderFIDMatchesPytorchFID() throws {
        let f = try SafeTensorsFile(path: metricFixtures.appendingPathComponent("fid_folders.safetensors").path)
        let model = FIDInceptionV3()
        try model.load(InceptionRecipe.stateDict(for: model))
        model.prepare()
        let encoder = try InceptionFeatureEncoder(model: model, dimension: 64, weightsID: "recipe")
        var stats: [GaussianStatistics] = []
        for name in ["generated", "reference"] {
            let folder = try ImageFolder(path: metricFixtures.appendingPathComponent("fid_folders/\(name)").path)
            let features = encoder.encode(try folder.files.map { try ImageFolder.loadRGB($0) })
            assertClose(features, try f.tensor("\(name).features"), tol: 1e-4, "\(name) features")
            stats.append(GaussianStatistics(try folderStatistics(folder, encoder: encoder, batchSize: 4)))
        }
        let fid = try frechetDistance(stats[0], stats[1])
        let reference = try f.doubles("fid")[0], exact = try f.doubles("exact")[0]
        XCTAssertLessThan(abs(fid - reference) / reference, 1e-5, "FID \(fid) vs pytorch-fid \(reference)")
        XCTAssertLessThan(abs(fid - exact) / exact, 1e-5, "FID \(fid) vs exact \(exact)")
    }

    func testFoldedConvMatchesConvBatchNormReLU() {
        for (cin, cout, k, stride, pad) in [(5, 7, (3, 3), (2, 2), (0, 0)), (4, 6, (1, 7), (1, 1), (0, 3)), (3, 8, (1, 1), (1, 1), (0, 0))] {
            let m = BasicConv2d(cin, cout, kernel: k, stride: stride, padding: pad)
            try! m.load(InceptionRecipe.stateDict(for: m))
            let x = RandomGenerator(seed: 3).normal([2, cin, 11, 13])
            assertClose(withNoGrad { m.folded()(x) }, withNoGrad { m.reference(x) }, tol: 1e-5, "BasicConv2d \(k)")
        }
    }

    func testWinogradValid3x3MatchesConv2d() {
        let m = BasicConv2d(6, 10, kernel: 3)
        try! m.load(InceptionRecipe.stateDict(for: m))
        let x = RandomGenerator(seed: 6).normal([2, 6, 13, 9])
        assertClose(winogradValid3x3(x, m.folded()), withNoGrad { m.folded()(x) }, tol: 1e-5, "Winograd 3x3 without padding")
    }

    func testDirectConvolutionMatchesConv2d() {
        for (cin, cout, stride, pad, h, w) in [(3, 8, 2, 0, 41, 45), (5, 16, 1, 0, 9, 20), (4, 8, 1, 1, 7, 30), (2, 8, 1, 1, 5, 6), (3, 8, 2, 0, 9, 70)] {
            let m = BasicConv2d(cin, cout, kernel: 3, stride: stride, padding: pad)
            try! m.load(InceptionRecipe.stateDict(for: m))
            let f = m.folded()
            XCTAssertTrue(f.isDirect3x3)
            let x = RandomGenerator(seed: 4).normal([2, cin, h, w])
            assertClose(directConv3x3(x, f, packed: f.directWeights()), withNoGrad { f(x) }, tol: 1e-5,
                                 "direct 3x3 \(cin)->\(cout) stride \(stride) padding \(pad) \(h)x\(w)")
        }
    }

    func testInferencePoolsMatchTensorCorePools() {
        for (shape, stride, padding) in [([2, 3, 9, 11], 2, 0), ([1, 4, 8, 8], 1, 1), ([1, 2, 1, 5], 1, 1), ([3, 1, 7, 3], 2, 0),
                                         ([2, 2, 40, 41], 2, 0), ([1, 3, 19, 37], 1, 1)] {
            let x = RandomGenerator(seed: 7).normal(shape)
            x.data[3] = .nan
            x.data[(x.count / 2 + 5) % x.count] = .nan
            let expected = maxPool2d(x, kernel: (3, 3), stride: (stride, stride), padding: (padding, padding))
            let got = maxPool3x3(x, stride: stride, padding: padding)
            XCTAssertEqual(got.shape, expected.shape)
            for (a, b) in zip(got.toArray(), expected.toArray()) { XCTAssertTrue(a == b || (a.isNaN && b.isNaN), "max pool \(shape): \(a) vs \(b)") }
        }
        for shape in [[2, 5, 6, 7], [1, 3, 1, 1], [1, 4, 1, 6], [2, 3, 17, 17]] {
            let x = RandomGenerator(seed: 8).normal(shape), bias = RandomGenerator(seed: 9).normal([2])
            let channels = 1..<3
            let pooled = avgPool2d(x.slice(axis: 1, start: 1, end: 3), kernel: (3, 3), stride: (1, 1), padding: (1, 1), countIncludePad: false)
            let expected = (pooled + bias.reshape([1, 2, 1, 1])).relu()
            assertClose(averagePool3x3BiasReLU(x, channels: channels, bias: bias), expected, tol: 1e-6, "average pool \(shape)")
        }
    }

    func testPreprocessIsPytorchFIDsResizeAndScale() {
        let x = RandomGenerator(seed: 5).uniform([2, 3, 299, 299])
        XCTAssertEqual(FIDInceptionV3.preprocess(x).toArray(), (x * 2 - 1).toArray(), "299x299 inputs are not resampled")
        let small = RandomGenerator(seed: 6).uniform([1, 3, 20, 30])
        let expected = interpolate(small, size: (299, 299), mode: .bilinear, alignCorners: false) * 2 - 1
        XCTAssertEqual(FIDInceptionV3.preprocess(small).toArray(), expected.toArray())
    }

    func testLoadingErrorsNameTheProblem() throws {
        let missing = "/nonexistent/inception.safetensors"
        XCTAssertThrowsError(try FIDInceptionV3(weights: missing)) {
            XCTAssertTrue("\($0)".contains(missing) && "\($0)".contains("pt_inception-2015-12-05-6726825d.pth")
                          && "\($0)".contains("convert_inception.py"), "\($0)")
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try saveSafeTensors(["Conv2d_1a_3x3.conv.weight": Tensor.zeros([32, 3, 5, 5]), "fc.weight": Tensor.zeros([2])], to: path)
        XCTAssertThrowsError(try FIDInceptionV3(weights: path)) {
            let s = "\($0)"
            XCTAssertTrue(s.contains(path) && s.contains("Mixed_7c.branch_pool.conv.weight") && s.contains("Conv2d_1a_3x3.conv.weight expected [32, 3, 3, 3]"), s)
        }
    }
}
