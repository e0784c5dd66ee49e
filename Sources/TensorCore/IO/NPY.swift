// A strict reader of NumPy .npy files (format versions 1-3, C order) for the two dtypes the world writes beside
// its images: little-endian float32 ('<f4', depth) and bytes ('|u1', masks and part IDs). Every field of the
// header is checked against the payload's length before a value is read, so a truncated or corrupt file is an
// error naming the file and the field, never an out-of-bounds read.
import Foundation

public struct NPYArray: Equatable {
    public enum Values: Equatable {
        case float32([Float])
        case uint8([UInt8])
    }
    public let shape: [Int]
    public let values: Values
    public var count: Int { shape.reduce(1, *) }

    /// The values as Float (bytes converted) in C order.
    public var floats: [Float] {
        switch values {
        case .float32(let v): return v
        case .uint8(let v): return v.map(Float.init)
        }
    }

    public init(shape: [Int], values: Values) { self.shape = shape; self.values = values }

    public static func read(path: String) throws -> NPYArray {
        guard let data = FileManager.default.contents(atPath: path) else { throw FileError(path: path, message: "cannot be read") }
        return try parse(data, path: path)
    }

    public static func parse(_ data: Data, path: String) throws -> NPYArray {
        let bytes = [UInt8](data)
        func fail(_ m: String) -> FileError { FileError(path: path, message: "not a valid .npy file: \(m)") }
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else { throw fail("no \\x93NUMPY magic") }
        let major = bytes[6]
        let headerLength: Int, start: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            start = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw fail("truncated header length") }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            start = 12
        default: throw fail("format version \(major) (expected 1, 2 or 3)")
        }
        guard headerLength <= bytes.count - start else { throw fail("header length \(headerLength) exceeds the file (\(bytes.count) bytes)") }
        guard let header = String(bytes: bytes[start..<(start + headerLength)], encoding: .utf8) else { throw fail("header is not text") }
        let descr = try field("descr", in: header, path: path)
        let order = try field("fortran_order", in: header, path: path)
        guard order == "False" else { throw fail("fortran_order \(order) (only C order is read)") }
        let shapeText = try field("shape", in: header, path: path)
        let shape = try parseShape(shapeText, path: path)
        let count = try shape.reduce(1) { acc, d -> Int in
            let (m, o) = acc.multipliedReportingOverflow(by: d)
            guard !o, m <= 1 << 31 else { throw fail("shape \(shapeText) is too large") }
            return m
        }
        let payload = start + headerLength
        switch descr {
        case "'<f4'":
            guard bytes.count - payload == count * 4 else { throw fail("shape \(shapeText) of float32 needs \(count * 4) bytes, the file has \(bytes.count - payload)") }
            var v = [Float](repeating: 0, count: count)
            for i in 0..<count {
                let o = payload + 4 * i
                let bits = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
                v[i] = Float(bitPattern: bits)
            }
            return NPYArray(shape: shape, values: .float32(v))
        case "'|u1'", "'<u1'", "'u1'":
            guard bytes.count - payload == count else { throw fail("shape \(shapeText) of uint8 needs \(count) bytes, the file has \(bytes.count - payload)") }
            return NPYArray(shape: shape, values: .uint8(Array(bytes[payload...])))
        default:
            throw fail("dtype \(descr) (only '<f4' and '|u1' are read)")
        }
    }

    /// The text after `'key':` up to the next top-level comma of the header dict.
    static func field(_ key: String, in header: String, path: String) throws -> String {
        guard let r = header.range(of: "'\(key)':") else { throw FileError(path: path, message: "not a valid .npy file: header has no '\(key)'") }
        var depth = 0, out = ""
        for ch in header[r.upperBound...] {
            if ch == "(" { depth += 1 }
            if ch == ")" { depth -= 1 }
            if (ch == "," && depth == 0) || ch == "}" { break }
            out.append(ch)
            if depth < 0 { break }
        }
        return out.trimmingCharacters(in: .whitespaces)
    }

    static func parseShape(_ s: String, path: String) throws -> [Int] {
        guard s.hasPrefix("("), s.hasSuffix(")") else { throw FileError(path: path, message: "not a valid .npy file: shape \(s) is not a tuple") }
        let inner = s.dropFirst().dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return try inner.map {
            guard let d = Int($0), d >= 0 else { throw FileError(path: path, message: "not a valid .npy file: shape \(s) has \($0)") }
            return d
        }
    }
}
