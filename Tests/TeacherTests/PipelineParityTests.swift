// The whole teacher against diffusers' StableDiffusionPipeline on the tiny random pipeline folder
// (Tests/Fixtures/teacher/tiny-sd-pipeline, saved by save_pretrained; its text encoder in float16, its tokenizer
// as transformers 5's tokenizer.json): token ids, text states, a 10-step guided DDIM run with negative prompts
// and fixed latents (final latents and image), and an unguided run; then our own save -> load round trip.
import Codecs
import Foundation
import XCTest
@testable import Teacher
@testable import TensorCore
import TestSupport

final class PipelineParityTests: XCTestCase {
    static let folder = teacherFixturePath("tiny-sd-pipeline")

    static func io() throws -> (file: SafeTensorsFile, prompts: [String], negatives: [String]) {
        let f = try teacherFixture("tiny-sd-pipeline.io.safetensors")
        let decode = { (k: String) throws -> [String] in try JSONDecoder().decode([String].self, from: Data(f.metadata[k]!.utf8)) }
        return (f, try decode("prompts"), try decode("negative_prompts"))
    }

    /// (N, H, W, 3) -> (N, 3, H, W), the layout of output_type="np" vs ours.
    static func nchw(_ t: Tensor) -> Tensor { t.permute([0, 3, 1, 2]).contiguous() }

    func testTinyPipelineMatchesDiffusers() throws {
        let (f, prompts, negatives) = try Self.io()
        let teacher = try loadTeacherModels(folder: Self.folder)
        teacher.text.tokenizer.warningHandler = { _ in }   // the second prompt is truncated, as in diffusers
        XCTAssertEqual(teacher.text.tokenizer.padTokenID, 0, "SD 2's tokenizer pads with \"!\" (id 0)")
        XCTAssertEqual(teacher.text.tokenIDs(prompts).toArray(), try f.tensor("input_ids").toArray())
        XCTAssertEqual(teacher.text.tokenIDs(negatives).toArray(), try f.tensor("negative_input_ids").toArray())
        let textErr = assertClose(try teacher.text.encode(prompts), try f.tensor("prompt_embeds"), tol: 1e-5, "prompt_embeds")
        let negErr = assertClose(try teacher.text.encode(negatives), try f.tensor("negative_prompt_embeds"), tol: 1e-5, "negative_prompt_embeds")

        let pipe = teacher.pipeline()
        var finalLatents: Tensor?
        var calls: [Int] = []
        let image = try pipe(prompts: prompts, negativePrompts: negatives, height: 16, width: 16, steps: 10, guidanceScale: 7.5,
                             latents: leaf(try f.tensor("latents")), progress: { i, n in XCTAssertEqual(n, 10); calls.append(i) },
                             outputLatents: { finalLatents = $0 })
        XCTAssertEqual(calls, Array(1...10))
        let latErr = assertClose(finalLatents!, try f.tensor("final_latents"), tol: 1e-3, "final latents (10 DDIM steps, guidance 7.5)")
        let imgErr = assertClose(image, Self.nchw(try f.tensor("image")), tol: 1e-3, "image")

        var seqLatents: Tensor?
        let seqImage = try pipe(prompts: prompts, height: 16, width: 16, steps: 3, guidanceScale: 1,
                                latents: leaf(try f.tensor("latents")), outputLatents: { seqLatents = $0 })
        let seqErr = assertClose(seqLatents!, try f.tensor("seq.final_latents"), tol: 1e-3, "unguided final latents")
        assertClose(seqImage, Self.nchw(try f.tensor("seq.image")), tol: 1e-3, "unguided image")
        reportParity("pipeline text states", Swift.max(textErr, negErr))
        reportParity("pipeline final latents (10 steps, cfg 7.5)", latErr)
        reportParity("pipeline image (10 steps, cfg 7.5)", imgErr)
        reportParity("pipeline unguided final latents (3 steps)", seqErr)
    }

    /// Our teacher saved with PipelineWriter loads back to the same models: same configs, tensors, tokens and samples.
    func testSaveLoadRoundTrip() throws {
        let dir = try temporaryFolder("teacher-roundtrip")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = try loadTeacherModels(folder: Self.folder)
        var w = try PipelineWriter(path: dir)
        try w.write(a)
        let b = try loadTeacherModels(folder: dir)
        let index = try PipelineFolder(path: dir)
        XCTAssertEqual(index.components["unet"]?.className, "UNet2DConditionModel")
        XCTAssertEqual(index.components["text_encoder"]?.library, "transformers")
        for name in ["tokenizer/vocab.json", "tokenizer/merges.txt", "tokenizer/tokenizer_config.json", "text_encoder/model.safetensors",
                     "unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors", "scheduler/scheduler_config.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/" + name), name)
        }
        XCTAssertEqual(a.unet.config, b.unet.config)
        XCTAssertEqual(a.vae.config, b.vae.config)
        XCTAssertEqual(a.text.textEncoder.config, b.text.textEncoder.config)
        var (ca, cb) = (a.scheduler.config, b.scheduler.config)
        (ca.className, cb.className) = (nil, nil)
        XCTAssertEqual(ca, cb)
        for (m, n) in [(a.unet as Module, b.unet as Module), (a.vae, b.vae), (a.text.textEncoder, b.text.textEncoder)] {
            let sa = m.stateDict(), sb = n.stateDict()
            XCTAssertEqual(Set(sa.keys), Set(sb.keys))
            for (k, t) in sa { XCTAssertEqual(sb[k]?.toArray(), t.toArray(), k) }
        }
        // The tokenizer (read from tokenizer.json, written as vocab.json + merges.txt) tokenizes alike, specials included.
        XCTAssertEqual(a.text.tokenizer.padTokenID, b.text.tokenizer.padTokenID)
        XCTAssertEqual(a.text.tokenizer.specialTokens, b.text.tokenizer.specialTokens)
        for s in ["hello world!", "A PORTRAIT, <|endoftext|> of 3 people!!", "naïve café ☕", ""] {
            XCTAssertEqual(a.text.tokenizer.encode(s), b.text.tokenizer.encode(s), s)
        }
        let run = { (t: TeacherModels) in try t.pipeline()(prompts: ["a face"], negativePrompts: ["ugly"], height: 16, width: 16,
                                                            steps: 2, guidanceScale: 5, seed: 3) }
        XCTAssertEqual(try run(a).toArray(), try run(b).toArray())
    }
}
