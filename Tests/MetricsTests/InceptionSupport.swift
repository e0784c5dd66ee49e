// Test support for the Inception parity tests: the weight/image RECIPE of Scripts/make_metric_fixtures.py
// (its docstring) bit for bit, so the 21.8M fixture weights are generated rather than committed (the
// relative-error check is TestSupport's).
import Foundation
import XCTest
@testable import Metrics
@testable import TensorCore

enum InceptionRecipe {
    /// FNV-1a (32-bit) of the UTF-8 bytes.
    static func fnv1a32(_ s: String) -> UInt32 {
        var h: UInt32 = 0x811C_9DC5
        for b in s.utf8 { h = (h ^ UInt32(b)) &* 0x0100_0193 }
        return h
    }

    /// lowbias32.
    @inline(__always) static func mix32(_ v: UInt32) -> UInt32 {
        var x = v
        x ^= x >> 16; x = x &* 0x7FEB_352D
        x ^= x >> 15; x = x &* 0x846C_A68B
        return x ^ (x >> 16)
    }

    /// value[i] = u[i] · a + b, u[i] = float(mix32(mix32(fnv1a32(key)) + i) >> 8) · 2⁻²³ − 1, each op rounded.
    static func tensor(_ key: String, _ shape: [Int], a: Float, b: Float) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        let base = mix32(fnv1a32(key)), p = t.data
        for i in 0..<t.count {
            let u = Float(mix32(base &+ UInt32(truncatingIfNeeded: i)) >> 8) * 0x1p-23 - 1
            let scaled = u * a
            p[i] = scaled + b
        }
        return t
    }

    /// The recipe's (a, b) for a state-dict key.
    static func scale(_ key: String, _ shape: [Int]) -> (Float, Float) {
        let key = "." + key   // so a module's own "conv.weight" matches too
        if key.hasSuffix(".conv.weight") { return (Float((6.0 / Double(shape.dropFirst().reduce(1, *))).squareRoot()), 0) }
        let table: [(String, Float, Float)] = [(".bn.weight", 0.25, 1), (".bn.bias", 0.1, 0), (".bn.running_mean", 0.1, 0),
                                                (".bn.running_var", 0.5, 1)]
        for (suffix, a, b) in table where key.hasSuffix(suffix) { return (a, b) }
        fatalError("no recipe for \(key)")
    }

    /// The fixture network's state dict (converted-file keys: no fc, no num_batches_tracked).
    static func stateDict(for model: Module) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (k, t) in model.stateDict() {
            let (a, b) = scale(k, t.shape)
            out[k] = tensor(k, t.shape, a: a, b: b)
        }
        return out
    }

    /// image.<k> of the fixture: (1, 3, h, w) in [0, 1).
    static func image(_ k: Int, _ h: Int, _ w: Int) -> Tensor { tensor("image.\(k)", [1, 3, h, w], a: 0.5, b: 0.5) }
}
