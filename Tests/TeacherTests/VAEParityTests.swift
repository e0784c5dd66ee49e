// AutoencoderKL against diffusers on a tiny random-weight model (Scripts/make_teacher_fixtures.py vae):
// posterior, sample, decoder, and the D-SDS gradient through the encoder; fp16 weights, deprecated key
// names, and strict verification with full key paths.
import Foundation
import XCTest
@testable import Teacher
@testable import TensorCore
import TestSupport

final class VAEParityTests: XCTestCase {
    var folder: String { teacherFixturesDir.appendingPathComponent("vae_tiny").path }

    func testEncoderPosteriorAndDecoderMatchDiffusers() throws {
        let vae = try AutoencoderKL.load(folder: folder)
        let io = try teacherFixture("vae_tiny_io.safetensors")
        XCTAssertEqual(vae.config.blockOutChannels, [32, 64])
        XCTAssertEqual(vae.config.scalingFactor, 0.18215)
        try withNoGrad {
            let post = vae.encode(try io.tensor("image"))
            reportParity("vae.mean", assertClose(post.mean, try io.tensor("mean"), tol: 1e-4, "mean"))
            reportParity("vae.logvar", assertClose(post.logvar, try io.tensor("logvar"), tol: 1e-4, "logvar"))
            assertClose(post.std, try io.tensor("std"), tol: 1e-4, "std")
            reportParity("vae.sample", assertClose(post.sample(noise: try io.tensor("noise")), try io.tensor("sample"), tol: 1e-4, "sample"))
            assertClose(vae.latents(of: try io.tensor("image"), noise: try io.tensor("noise")), try io.tensor("latent"), tol: 1e-4, "latent")
            reportParity("vae.decode", assertClose(vae.decode(try io.tensor("z")), try io.tensor("decoded"), tol: 1e-4, "decoded"))
        }
    }

    /// d/d image of sum(stopgrad(g) · latent), latent = scaling · (mean + std · noise): what D-SDS backpropagates.
    func testDSDSGradientThroughEncoderMatchesDiffusers() throws {
        let vae = try AutoencoderKL.load(folder: folder)
        let io = try teacherFixture("vae_tiny_io.safetensors")
        let image = try io.tensor("image").detach()
        image.requiresGrad = true
        let latent = vae.latents(of: image, noise: try io.tensor("noise"))
        assertClose(latent, try io.tensor("latent"), tol: 1e-4, "latent")
        let grad = gradients(of: (latent * (try io.tensor("cotangent"))).sum(), wrt: [image])[0]
        reportParity("vae.image_grad", assertClose(grad, try io.tensor("image_grad"), tol: 1e-3, "d latent / d image"))
    }

    func testFP16VariantLoads() throws {
        let dir = try temporaryFolder("vae16")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for f in ["config.json", "diffusion_pytorch_model.fp16.safetensors"] {
            try FileManager.default.copyItem(atPath: folder + "/" + f, toPath: dir + "/" + f)
        }
        let half = try AutoencoderKL.load(folder: dir), full = try AutoencoderKL.load(folder: folder)
        let hs = half.stateDict(), fs = full.stateDict()
        for (k, t) in fs { XCTAssertLessThanOrEqual(relativeError(hs[k]!, t), 1e-3, k) }
        let io = try teacherFixture("vae_tiny_io.safetensors")
        withNoGrad { _ = assertClose(half.encode(try! io.tensor("image")).mean, try! io.tensor("mean"), tol: 1e-2, "fp16 mean") }
    }

    /// Checkpoints from before diffusers 0.14 call the mid-block attention projections query/key/value/proj_attn.
    func testDeprecatedAttentionKeysAreRenamed() throws {
        let dir = try temporaryFolder("vaeold")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: folder + "/config.json", toPath: dir + "/config.json")
        var tensors = try SafeTensorsFile(path: folder + "/diffusion_pytorch_model.safetensors").tensors()
        var renamed = 0
        for (k, t) in tensors where k.contains(".mid_block.attentions.") {
            for (new, old) in [(".to_q.", ".query."), (".to_k.", ".key."), (".to_v.", ".value."), (".to_out.0.", ".proj_attn.")] where k.contains(new) {
                tensors[k] = nil
                tensors[k.replacingOccurrences(of: new, with: old)] = t
                renamed += 1
            }
        }
        XCTAssertEqual(renamed, 16)   // 2 attentions x 4 projections x (weight, bias)
        try saveSafeTensors(tensors, to: dir + "/diffusion_pytorch_model.safetensors")
        let old = try AutoencoderKL.load(folder: dir), new = try AutoencoderKL.load(folder: folder)
        let os = old.stateDict()
        for (k, t) in new.stateDict() { XCTAssertEqual(os[k]!.toArray(), t.toArray(), k) }
    }

    func testStrictVerificationNamesFileAndFullKeys() throws {
        let dir = try temporaryFolder("vaebad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: folder + "/config.json", toPath: dir + "/config.json")
        var tensors = try SafeTensorsFile(path: folder + "/diffusion_pytorch_model.safetensors").tensors()
        tensors["encoder.down_blocks.0.resnets.0.norm1.weight"] = nil
        tensors["decoder.up_blocks.1.resnets.2.conv9.weight"] = Tensor.zeros([1])
        tensors["encoder.mid_block.attentions.0.to_q.weight"] = Tensor.zeros([64, 63])
        try saveSafeTensors(tensors, to: dir + "/diffusion_pytorch_model.safetensors")
        XCTAssertThrowsError(try AutoencoderKL.load(folder: dir)) { e in
            let s = "\(e)"
            XCTAssertTrue(s.contains("diffusion_pytorch_model.safetensors"), s)
            XCTAssertTrue(s.contains("missing key: encoder.down_blocks.0.resnets.0.norm1.weight"), s)
            XCTAssertTrue(s.contains("unexpected key: decoder.up_blocks.1.resnets.2.conv9.weight"), s)
            XCTAssertTrue(s.contains("encoder.mid_block.attentions.0.to_q.weight expected [64, 64] got [64, 63]"), s)
        }
        try FileManager.default.removeItem(atPath: dir + "/diffusion_pytorch_model.safetensors")
        XCTAssertThrowsError(try AutoencoderKL.load(folder: dir)) { XCTAssertTrue("\($0)".contains("no weights"), "\($0)") }
    }

    func testConfigProblemsNameTheKey() throws {
        let dir = try temporaryFolder("vaecfg")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(#"{"block_out_channels": [32, 64], "down_block_types": ["DownEncoderBlock2D", "AttnDownEncoderBlock2D"], "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D"], "norm_num_groups": 8}"#.utf8)
            .write(to: URL(fileURLWithPath: dir + "/config.json"))
        XCTAssertThrowsError(try AutoencoderKL.load(folder: dir)) { e in
            XCTAssertTrue("\(e)".contains("config.json") && "\(e)".contains("down_block_types[1] is \"AttnDownEncoderBlock2D\""), "\(e)")
        }
        try Data(#"{"block_out_channels": [32, "x"]}"#.utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        XCTAssertThrowsError(try AutoencoderKL.load(folder: dir)) { XCTAssertTrue("\($0)".contains("block_out_channels[1]"), "\($0)") }
    }

    /// Downsample2D with padding 0 pads one zero row and column at the bottom/right only (F.pad (0, 1, 0, 1)).
    func testDownsamplePadsBottomRight() throws {
        let d = Downsample2D(channels: 1, useConv: true, padding: 0, rng: RandomGenerator(seed: 1))
        d.conv!.weight.storage.base.update(repeating: 0, count: 9)
        d.conv!.weight.storage.base[0] = 1          // picks the top-left tap of each window
        d.conv!.bias!.storage.base[0] = 0
        let x = Tensor((1...16).map(Float.init), shape: [1, 1, 4, 4])
        XCTAssertEqual(withNoGrad { d(x) }.toArray(), [1, 3, 9, 11])
    }
}
