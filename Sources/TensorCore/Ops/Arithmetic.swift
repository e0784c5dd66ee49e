// Arithmetic with broadcasting: add, sub, mul, div, neg, pow, and their operators. Each op runs its kernel
// and records its backward beside it. Broadcast cotangents are reduced centrally (Graph.swift).
import Foundation

extension Tensor {
    public func add(_ b: Tensor) -> Tensor {
        mapBinary(self, b, "add", AddMap())
            .recorded("add", [self, b]) { g, _ in [g, g] }
    }
    public func sub(_ b: Tensor) -> Tensor {
        mapBinary(self, b, "sub", SubMap())
            .recorded("sub", [self, b]) { g, needs in [g, needs[1] ? -g : nil] }
    }
    public func mul(_ b: Tensor) -> Tensor {
        let a = self
        return mapBinary(a, b, "mul", MulMap())
            .recorded("mul", [a, b]) { g, needs in [needs[0] ? g * b : nil, needs[1] ? g * a : nil] }
    }
    public func div(_ b: Tensor) -> Tensor {
        let a = self
        let out = mapBinary(a, b, "div", DivMap())
        return out.recorded("div", [a, b]) { g, needs in
            [needs[0] ? g / b : nil, needs[1] ? -(g * a) / (b * b) : nil]
        }
    }

    // Scalar forms: no tensor is made for the constant.
    public func add(_ s: Float) -> Tensor {
        mapUnary(self, AddScalarMap(s: s)).recorded("add_scalar", [self]) { g, _ in [g] }
    }
    public func mul(_ s: Float) -> Tensor {
        mapUnary(self, MulScalarMap(s: s)).recorded("mul_scalar", [self]) { g, _ in [g * s] }
    }
    /// s / self
    public func reciprocal(times s: Float = 1) -> Tensor {
        let x = self
        return mapUnary(x, { V(repeating: s) / $0 }, { s / $0 })
            .recorded("reciprocal", [x]) { g, _ in [-(g * s) / (x * x)] }
    }
    public func neg() -> Tensor {
        mapUnary(self, { -$0 }, { -$0 }).recorded("neg", [self]) { g, _ in [-g] }
    }

    /// self ** p for a constant exponent.
    public func pow(_ p: Float) -> Tensor {
        let x = self
        if p == 2 { return x * x }
        if p == 1 { return x.mul(1) }
        return mapUnary(x, { v in
            var r = v
            for i in 0..<vWidth { r[i] = Foundation.pow(v[i], p) }
            return r
        }, { Foundation.pow($0, p) })
        .recorded("pow", [x]) { g, _ in [g * x.pow(p - 1) * p] }
    }

    /// self ** e elementwise (tensor exponent), with PyTorch's gradients: d/db = out * log(a) (0 where a == 0).
    public func pow(_ e: Tensor) -> Tensor {
        let a = self
        let out = mapBinary(a, e, "pow", { x, y in
            var r = x
            for i in 0..<vWidth { r[i] = Foundation.pow(x[i], y[i]) }
            return r
        }, { Foundation.pow($0, $1) })
        return out.recordedUsingOutput("pow", [a, e]) { g, needs, out in
            [needs[0] ? g * e * a.pow(e - 1) : nil,
             needs[1] ? g * out * Tensor.where(a.eq(0), Tensor(scalar: 0), a.log()) : nil]
        }
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { a.add(b) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.sub(b) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { a.mul(b) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { a.div(b) }
    public static func + (a: Tensor, s: Float) -> Tensor { a.add(s) }
    public static func + (s: Float, a: Tensor) -> Tensor { a.add(s) }
    public static func - (a: Tensor, s: Float) -> Tensor { a.add(-s) }
    public static func - (s: Float, a: Tensor) -> Tensor { a.neg().add(s) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.mul(s) }
    public static func * (s: Float, a: Tensor) -> Tensor { a.mul(s) }
    public static func / (a: Tensor, s: Float) -> Tensor { a.mul(1 / s) }
    public static func / (s: Float, a: Tensor) -> Tensor { a.reciprocal(times: s) }
    public static prefix func - (a: Tensor) -> Tensor { a.neg() }
}

// The maps of the ops above (Elementwise.swift: typed so that each op's loop inlines its function).
struct AddMap: BinaryMap {
    @inline(__always) func vector(_ a: V, _ b: V) -> V { a + b }
    @inline(__always) func scalar(_ a: Float, _ b: Float) -> Float { a + b }
}
struct SubMap: BinaryMap {
    @inline(__always) func vector(_ a: V, _ b: V) -> V { a - b }
    @inline(__always) func scalar(_ a: Float, _ b: Float) -> Float { a - b }
}
struct MulMap: BinaryMap {
    @inline(__always) func vector(_ a: V, _ b: V) -> V { a * b }
    @inline(__always) func scalar(_ a: Float, _ b: Float) -> Float { a * b }
}
struct DivMap: BinaryMap {
    @inline(__always) func vector(_ a: V, _ b: V) -> V { a / b }
    @inline(__always) func scalar(_ a: Float, _ b: Float) -> Float { a / b }
}
struct AddScalarMap: UnaryMap {
    let s: Float
    @inline(__always) func vector(_ x: V) -> V { x + s }
    @inline(__always) func scalar(_ x: Float) -> Float { x + s }
}
struct MulScalarMap: UnaryMap {
    let s: Float
    @inline(__always) func vector(_ x: V) -> V { x * s }
    @inline(__always) func scalar(_ x: Float) -> Float { x * s }
}
