// avg_pool2d and max_pool2d: PyTorch parity (Scripts/fixtures/conv.py) and gradient checks.
import XCTest
@testable import TensorCore
import TestSupport

final class PoolTests: XCTestCase {
    func testPoolParity() throws {
        let f = try fixture("ops_conv.safetensors")
        try checkParity(f, "avg_k2") { avgPool2d($0[0], kernel: (2, 2)) }
        try checkParity(f, "avg_k3s2p1") { avgPool2d($0[0], kernel: (3, 3), stride: (2, 2), padding: (1, 1)) }
        try checkParity(f, "avg_k3s2p1_exclude") { avgPool2d($0[0], kernel: (3, 3), stride: (2, 2), padding: (1, 1), countIncludePad: false) }
        try checkParity(f, "avg_rect") { avgPool2d($0[0], kernel: (3, 2), stride: (2, 1), padding: (1, 0), countIncludePad: false) }
        try checkParity(f, "avg_noncontig") { avgPool2d($0[0].permute([0, 3, 1, 2]), kernel: (3, 3), stride: (1, 1), padding: (1, 1)) }
        try checkParity(f, "max_k2") { maxPool2d($0[0], kernel: (2, 2)) }
        try checkParity(f, "max_k3s2p1") { maxPool2d($0[0], kernel: (3, 3), stride: (2, 2), padding: (1, 1)) }
        try checkParity(f, "max_dilation") { maxPool2d($0[0], kernel: (3, 3), stride: (1, 1), padding: (1, 1), dilation: (2, 2)) }
        try checkParity(f, "max_ties") { maxPool2d($0[0], kernel: (3, 3), stride: (1, 1), padding: (1, 1)) }
        try checkParity(f, "max_rect_noncontig") { maxPool2d($0[0].permute([0, 3, 1, 2]), kernel: (2, 3), stride: (1, 2)) }
    }

    func testGradchecks() {
        // Distinct values 0.1 apart, so the ±0.01 finite-difference steps never change a window's argmax.
        let n = 2 * 3 * 7 * 6
        let perm = (0..<n).map { ($0 * 37) % n }
        let x = Tensor(perm.map { Float($0) * 0.1 - 12 }, shape: [2, 3, 7, 6])
        gradcheck([x], "avg_pool2d") { avgPool2d($0[0], kernel: (3, 3), stride: (2, 2), padding: (1, 1), countIncludePad: false) }
        gradcheck([x], "max_pool2d") { maxPool2d($0[0], kernel: (3, 2), stride: (2, 1), padding: (1, 1)) }
        gradgradcheck([x], "avg_pool2d second order") { avgPool2d($0[0], kernel: (2, 2), stride: (1, 1), padding: (1, 1)).pow(2) }
        gradgradcheck([x], "max_pool2d second order") { maxPool2d($0[0], kernel: (3, 3), stride: (2, 2), padding: (1, 1)).pow(2) }
    }
}
