// CLIP text, vision and CLIPModel parity with transformers on the random-weight folders of
// Tests/Fixtures/clip (Scripts/make_clip_fixtures.py): hidden states, pooled outputs, the penultimate
// option, the attention mask, projections, logits, and gradients. Forward relative error <= 1e-4,
// gradients <= 1e-3 (the issue's tolerances).
import Foundation
import XCTest
@testable import Teacher
@testable import TensorCore
import TestSupport

final class CLIPModelTests: XCTestCase {
    func io(_ name: String) throws -> SafeTensorsFile { try SafeTensorsFile(path: clipFixturePath("\(name)_io.safetensors")) }

    /// Worst errors seen, printed for the report.
    static var worst: [String: Double] = [:]
    func close(_ a: Tensor, _ b: Tensor, _ tol: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let e = assertClose(a, b, tol: tol, what, file: file, line: line)
        let key = tol > 1e-4 ? "gradient" : "forward"
        CLIPModelTests.worst[key] = max(CLIPModelTests.worst[key] ?? 0, e)
        print("CLIP parity \(what): relative error \(String(format: "%.2e", e))")
    }

    func checkForward(_ name: String) throws {
        let model = try CLIPModel(folder: clipFixturePath(name))
        let f = try io(name)
        let ids = try f.tensor("text.ids"), mask = try f.tensor("text.attention_mask"), px = try f.tensor("vision.pixel_values")
        try withNoGrad {
            let t = model.text_model(ids: ids)
            close(t.lastHiddenState, try f.tensor("text.last_hidden_state"), 1e-4, "\(name) text last_hidden_state")
            close(t.pooled, try f.tensor("text.pooled"), 1e-4, "\(name) text pooled")
            let m = model.text_model(ids: ids, attentionMask: mask)
            close(m.lastHiddenState, try f.tensor("text.last_hidden_state_masked"), 1e-4, "\(name) text masked last_hidden_state")
            close(m.pooled, try f.tensor("text.pooled_masked"), 1e-4, "\(name) text masked pooled")
            let p = model.text_model(ids: ids, penultimate: true)
            close(p.lastHiddenState, try f.tensor("text.penultimate"), 1e-4, "\(name) text penultimate + final LN")
            close(p.pooled, try f.tensor("text.penultimate_pooled"), 1e-4, "\(name) text penultimate pooled")
            close(model.text_model.hiddenStates(ids: ids, at: 1), try f.tensor("text.hidden_states_1"), 1e-4, "\(name) text hidden_states[1]")
            let v = model.vision_model(pixelValues: px)
            close(v.lastHiddenState, try f.tensor("vision.last_hidden_state"), 1e-4, "\(name) vision last_hidden_state")
            close(v.pooled, try f.tensor("vision.pooled"), 1e-4, "\(name) vision pooled")
            close(model.textEmbeddings(ids: ids, normalize: false), try f.tensor("clip.text_features"), 1e-4, "\(name) text features")
            close(model.imageEmbeddings(pixelValues: px, normalize: false), try f.tensor("clip.image_features"), 1e-4, "\(name) image features")
            let out = model(ids: ids, pixelValues: px)
            close(out.textEmbeds, try f.tensor("clip.text_embeds"), 1e-4, "\(name) text_embeds")
            close(out.imageEmbeds, try f.tensor("clip.image_embeds"), 1e-4, "\(name) image_embeds")
            close(out.logitsPerImage, try f.tensor("clip.logits_per_image"), 1e-4, "\(name) logits_per_image")
            close(out.logitsPerText, try f.tensor("clip.logits_per_image").transpose(0, 1), 1e-4, "\(name) logits_per_text")
            // CLIP score of the matching pairs: 100 · cosine, the diagonal of logits / exp(logit_scale) · 100.
            let n = min(ids.shape[0], px.shape[0])
            let score = model.clipScore(image: px.slice(axis: 0, end: n), text: ids.slice(axis: 0, end: n))
            let logits = try f.tensor("clip.logits_per_image").toArray(), cols = ids.shape[0]
            let expected = (0..<n).map { logits[$0 * cols + $0] / Foundation.exp(model.logit_scale.item()) * 100 }
            close(score, Tensor(expected, shape: [n]), 1e-4, "\(name) clipScore")
        }
    }

    func checkGradients(_ name: String) throws {
        let model = try CLIPModel(folder: clipFixturePath(name))
        let f = try io(name)
        let ids = try f.tensor("text.ids"), pixels = try f.tensor("vision.pixel_values")
        let tm = model.text_model
        let params = [tm.embeddings.token_embedding.weight, tm.encoder.layers[0].self_attn.q_proj.weight, tm.final_layer_norm.weight]
        let g = gradients(of: (tm(ids: ids).lastHiddenState * (try f.tensor("grad.text.r"))).sum(), wrt: params)
        for (gi, key) in zip(g, ["token_embedding", "q_proj0", "final_layer_norm"]) {
            close(gi, try f.tensor("grad.text.\(key)"), 1e-3, "\(name) d text / d \(key)")
        }
        let px = Tensor(pixels.toArray(), shape: pixels.shape, requiresGrad: true)
        let gv = gradients(of: (model.vision_model(pixelValues: px).lastHiddenState * (try f.tensor("grad.vision.r"))).sum(), wrt: [px])
        close(gv[0], try f.tensor("grad.vision.pixels"), 1e-3, "\(name) d vision / d pixels")
        let px2 = Tensor(pixels.toArray(), shape: pixels.shape, requiresGrad: true)
        let logits = model(ids: ids, pixelValues: px2).logitsPerImage
        let gc = gradients(of: (logits * (try f.tensor("grad.clip.r"))).sum(), wrt: [px2, model.logit_scale])
        close(gc[0], try f.tensor("grad.clip.pixels"), 1e-3, "\(name) d logits / d pixels")
        close(gc[1].reshape([1]), try f.tensor("grad.clip.logit_scale"), 1e-3, "\(name) d logits / d logit_scale")
    }

    func testQuickGELUForward() throws { try checkForward("tiny_quick") }
    func testGELUForward() throws { try checkForward("tiny_gelu") }
    func testQuickGELUGradients() throws { try checkGradients("tiny_quick") }
    func testGELUGradients() throws { try checkGradients("tiny_gelu") }

    /// Single towers from a full CLIPModel folder, and the transformers 4 / 5 single-tower layouts.
    func testTowerFolders() throws {
        let f = try io("tiny_gelu")
        let ids = try f.tensor("text.ids"), px = try f.tensor("vision.pixel_values")
        try withNoGrad {
            let text = try CLIPTextModel(folder: clipFixturePath("tiny_gelu"))
            close(text(ids: ids).lastHiddenState, try f.tensor("text.last_hidden_state"), 1e-4, "CLIPTextModel from a CLIPModel folder")
            let rows = (0..<ids.shape[0]).map { r in (0..<77).map { Int(ids.toArray()[r * 77 + $0]) } }
            close(text(ids: rows).pooled, try f.tensor("text.pooled"), 1e-4, "CLIPTextModel with [[Int]] ids")
            let textProj = try CLIPTextModelWithProjection(folder: clipFixturePath("tiny_gelu"))
            close(textProj(ids: ids).textEmbeds, try f.tensor("clip.text_features"), 1e-4, "CLIPTextModelWithProjection")
            let vision = try CLIPVisionModel(folder: clipFixturePath("tiny_gelu"))
            close(vision(pixelValues: px).pooled, try f.tensor("vision.pooled"), 1e-4, "CLIPVisionModel from a CLIPModel folder")
            let visionProj = try CLIPVisionModelWithProjection(folder: clipFixturePath("tiny_gelu"))
            close(visionProj(pixelValues: px).imageEmbeds, try f.tensor("clip.image_features"), 1e-4, "CLIPVisionModelWithProjection")

            let g = try SafeTensorsFile(path: clipFixturePath("text_formats_io.safetensors"))
            for layout in ["text_v5", "text_v4"] {
                let m = try CLIPTextModel(folder: clipFixturePath(layout))
                XCTAssertEqual(m.config.hiddenAct, .gelu)
                close(m(ids: try g.tensor("text.ids")).lastHiddenState, try g.tensor("text.last_hidden_state"), 1e-4, "CLIPTextModel \(layout) layout")
            }
            let v = try CLIPVisionModel(folder: clipFixturePath("vision_v5"))
            close(v(pixelValues: try g.tensor("vision.pixel_values")).pooled, try g.tensor("vision.pooled"), 1e-4, "CLIPVisionModel v5 layout")
        }
    }

    func testAttentionBias() {
        let b = CLIPTextTransformer.attentionBias(length: 3, attentionMask: Tensor([1, 1, 0], shape: [1, 3])).toArray()
        let blocked = -Float.greatestFiniteMagnitude
        XCTAssertEqual(b, [0, blocked, blocked, 0, 0, blocked, 0, 0, blocked])
    }

    func testConfigDefaultsAndErrors() throws {
        let c = try JSONDecoder().decode(CLIPConfig.self, from: Data("{}".utf8))
        XCTAssertEqual(c.textConfig.hiddenSize, 512)
        XCTAssertEqual(c.textConfig.eosTokenID, 49407)
        XCTAssertEqual(c.visionConfig.patchSize, 32)
        XCTAssertEqual(c.visionConfig.numPatches, 49)
        XCTAssertEqual(c.projectionDim, 512)
        XCTAssertEqual(c.logitScaleInitValue, 2.6592)
    }

    override class func tearDown() {
        if !worst.isEmpty { print("CLIP parity worst relative errors: \(worst)") }
        super.tearDown()
    }
}
