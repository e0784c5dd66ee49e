// TextConditioning: the CLIP last_hidden_state split into t_EOT, word tokens and their padding mask (method doc §2).
import Foundation
import XCTest
import TensorCore
@testable import TriPlaneGAN
import TestSupport

final class TextConditioningTests: XCTestCase {
    func testFromCLIPFindsEOTAndWords() {
        let (t, dt) = (8, 3)
        let hidden = testTensor([2, t, dt], seed: 1)
        // Row 0 pads with 0 after EOT (OpenCLIP / SD2); row 1 pads with the EOT id itself (HF CLIP): the first maximum is EOT.
        let ids = [[49406, 320, 1929, 49407, 0, 0, 0, 0],
                   [49406, 1125, 49407, 49407, 49407, 49407, 49407, 49407]]
        let text = TextConditioning.fromCLIP(hiddenStates: hidden, tokenIDs: ids)
        XCTAssertEqual(text.words.shape, [2, 6, dt])
        XCTAssertEqual(text.mask.toArray(), [1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0])
        XCTAssertEqual(text.wordCounts, [2, 1])
        let h = hidden.toArray()
        func row(_ n: Int, _ p: Int) -> [Float] { Array(h[(n * t + p) * dt ..< (n * t + p + 1) * dt]) }
        XCTAssertEqual(text.eot.toArray(), row(0, 3) + row(1, 2))
        let w = text.words.toArray()
        XCTAssertEqual(Array(w[0 ..< 2 * dt]), row(0, 1) + row(0, 2))
        XCTAssertEqual(Array(w[2 * dt ..< 6 * dt]), [Float](repeating: 0, count: 4 * dt))
        XCTAssertEqual(Array(w[6 * dt ..< 7 * dt]), row(1, 1))
    }

    func testEmptyPromptHasNoWordsAndTensorIDs() {
        let hidden = testTensor([1, 5, 2], seed: 2)
        let ids = Tensor([49406, 49407, 0, 0, 0], shape: [1, 5])
        let text = TextConditioning.fromCLIP(hiddenStates: hidden, tokenIDs: ids, maxWords: 4)
        XCTAssertEqual(text.words.shape, [1, 4, 2])
        XCTAssertEqual(text.mask.toArray(), [0, 0, 0, 0])
        XCTAssertEqual(text.eot.toArray(), Array(hidden.toArray()[2..<4]))
    }

    /// The split is made of slices, so gradients reach the hidden states (at SOT and the padding they are zero).
    func testFromCLIPIsDifferentiable() {
        let hidden = testTensor([1, 5, 2], seed: 3, requiresGrad: true)
        let text = TextConditioning.fromCLIP(hiddenStates: hidden, tokenIDs: [[49406, 7, 8, 49407, 0]])
        let g = gradients(of: text.words.sum() + text.eot.sum() * 2, wrt: [hidden])[0]
        XCTAssertEqual(g.toArray(), [0, 0, 1, 1, 1, 1, 2, 2, 0, 0])
    }
}
