// safetensors (https://github.com/huggingface/safetensors) read, memory-mapped, and write.
// Layout: u64 little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}, __metadata__},
// then the data. Every field of a hostile file is checked before any byte of data is read.
import Foundation

public enum SafeTensorsDType: String, CaseIterable, Sendable {
    case F32, F16, BF16, F64, I64, I32, U8
    public var size: Int {
        switch self { case .F64, .I64: 8; case .F32, .I32: 4; case .F16, .BF16: 2; case .U8: 1 }
    }
}

public struct SafeTensorsEntry: Sendable {
    public let name: String
    public let dtype: SafeTensorsDType
    public let shape: [Int]
    /// Byte range within the data section.
    public let begin: Int, end: Int
}

public final class SafeTensorsFile: @unchecked Sendable {
    public let name: String
    public let metadata: [String: String]
    public let entries: [String: SafeTensorsEntry]
    /// Keeps the bytes alive (a MappedFile or a Data box).
    private let owner: AnyObject
    let data: UnsafeRawPointer
    private let dataCount: Int

    /// Sorted tensor names.
    public var keys: [String] { entries.keys.sorted() }

    /// Maps and validates a file. Throws `FileError` naming the file and the problem.
    public convenience init(path: String) throws {
        let file = try MappedFile(path: path)
        try self.init(bytes: UnsafeRawPointer(file.bytes), count: file.count, name: path, owner: file)
    }

    /// Parses bytes already in memory (used by tests and the fuzzer).
    public convenience init(data: Data, name: String) throws {
        let box = DataBox(data)
        try self.init(bytes: UnsafeRawPointer(box.pointer), count: data.count, name: name, owner: box)
    }

    private init(bytes: UnsafeRawPointer?, count: Int, name: String, owner: AnyObject) throws {
        self.name = name
        self.owner = owner
        func fail(_ m: String) -> FileError { FileError(path: name, message: "not a valid safetensors file: \(m)") }
        guard let bytes, count >= 8 else { throw fail("\(count) bytes is shorter than the 8-byte header length") }
        let n = bytes.loadUnaligned(as: UInt64.self).littleEndian
        guard n <= UInt64(count - 8) else { throw fail("header length \(n) runs past the end of the file (\(count) bytes)") }
        guard n <= 100_000_000 else { throw fail("header length \(n) exceeds 100 MB") }
        let headerBytes = Data(bytes: bytes + 8, count: Int(n))
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: headerBytes) } catch { throw fail("header is not valid JSON") }
        guard let header = json as? [String: Any] else { throw fail("header is not a JSON object") }
        data = bytes + 8 + Int(n)
        dataCount = count - 8 - Int(n)

        var meta: [String: String] = [:]
        var found: [String: SafeTensorsEntry] = [:]
        for (key, value) in header {
            if key == "__metadata__" {
                guard let m = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw fail("__metadata__ value for \"\(k)\" is not a string") }
                    meta[k] = s
                }
                continue
            }
            guard let d = value as? [String: Any] else { throw fail("entry \"\(key)\" is not an object") }
            guard let ds = d["dtype"] as? String else { throw fail("entry \"\(key)\" has no dtype") }
            guard let dtype = SafeTensorsDType(rawValue: ds) else { throw fail("entry \"\(key)\" has unsupported dtype \(ds)") }
            guard let shapeAny = d["shape"] as? [Any] else { throw fail("entry \"\(key)\" has no shape list") }
            var shape: [Int] = []
            var elements = 1
            // The product of max(size, 1) bounds the strides too: a zero size must not let the others be
            // absurd (strides of [0, 2^52, 2^52] overflow).
            var extent = 1
            for s in shapeAny {
                guard let v = SafeTensorsFile.integer(s), v >= 0 else { throw fail("entry \"\(key)\" has an invalid dimension in shape \(shapeAny)") }
                let (p, overflow) = extent.multipliedReportingOverflow(by: Swift.max(v, 1))
                guard !overflow, p <= Int(UInt32.max) * 4 else { throw fail("entry \"\(key)\" shape \(shapeAny) is absurdly large") }
                extent = p
                elements *= v
                shape.append(v)
            }
            guard let offs = d["data_offsets"] as? [Any], offs.count == 2,
                  let b = SafeTensorsFile.integer(offs[0]), let e = SafeTensorsFile.integer(offs[1]) else {
                throw fail("entry \"\(key)\" has no [begin, end] data_offsets")
            }
            guard b >= 0, e >= b, e <= dataCount else {
                throw fail("entry \"\(key)\" data_offsets [\(b), \(e)] lie outside the \(dataCount)-byte data section")
            }
            guard e - b == elements * dtype.size else {
                throw fail("entry \"\(key)\" holds \(e - b) bytes but \(dtype) \(shape) needs \(elements * dtype.size)")
            }
            found[key] = SafeTensorsEntry(name: key, dtype: dtype, shape: shape, begin: b, end: e)
        }
        let sorted = found.values.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        for (x, y) in zip(sorted, sorted.dropFirst()) where y.begin < x.end {
            throw fail("entries \"\(x.name)\" and \"\(y.name)\" overlap")
        }
        metadata = meta
        entries = found
    }

    private static func integer(_ v: Any) -> Int? {
        guard let n = v as? NSNumber else { return nil }
        if CFGetTypeIDIfAvailable(n) { return nil }
        let d = n.doubleValue
        guard d.isFinite, d == d.rounded(), Swift.abs(d) < 9e15 else { return nil }
        return n.intValue
    }
    private static func CFGetTypeIDIfAvailable(_ n: NSNumber) -> Bool {
        // JSON booleans arrive as NSNumber too; reject them as integers.
        String(cString: n.objCType) == "c"
    }

    /// The tensor named `key`, converted to Float32. F32 data that is 4-byte aligned is borrowed, not copied.
    public func tensor(_ key: String) throws -> Tensor {
        guard let e = entries[key] else { throw FileError(path: name, message: "no tensor named \"\(key)\"") }
        let n = e.shape.reduce(1, *)
        let src = data + e.begin
        if e.dtype == .F32 && Int(bitPattern: src) % 4 == 0 && n > 0 {
            let p = UnsafeMutablePointer(mutating: src.assumingMemoryBound(to: Float.self))
            return Tensor(storage: Storage(borrowing: p, count: n, owner: owner), shape: e.shape)
        }
        let out = Tensor(uninitializedShape: e.shape)
        let d = out.storage.base
        switch e.dtype {
        case .F32: for i in 0..<n { d[i] = src.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) }
        case .F64: for i in 0..<n { d[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
        case .F16: for i in 0..<n { d[i] = Float(float16Bits: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .BF16: for i in 0..<n { d[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) }
        case .I64: for i in 0..<n { d[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
        case .I32: for i in 0..<n { d[i] = Float(src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
        case .U8: for i in 0..<n { d[i] = Float(src.load(fromByteOffset: i, as: UInt8.self)) }
        }
        return out
    }

    /// All tensors, by name.
    public func tensors() throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for k in keys { out[k] = try tensor(k) }
        return out
    }
}

/// Holds a Data's bytes at a stable address.
private final class DataBox {
    let pointer: UnsafeMutableRawPointer?
    let count: Int
    init(_ data: Data) {
        count = data.count
        pointer = count > 0 ? UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 64) : nil
        if let pointer { data.copyBytes(to: pointer.assumingMemoryBound(to: UInt8.self), count: count) }
    }
    deinit { pointer?.deallocate() }
}

extension Float {
    /// IEEE half to single, without relying on Float16 (absent on some macOS x86 toolchains).
    init(float16Bits h: UInt16) {
        let sign = UInt32(h & 0x8000) << 16
        let exp = Int((h >> 10) & 0x1F), man = UInt32(h & 0x3FF)
        if exp == 0 {
            self = Float(sign == 0 ? 1 : -1) * Float(man) * 0x1p-24
        } else if exp == 31 {
            self = Float(bitPattern: sign | 0x7F80_0000 | (man << 13))
        } else {
            self = Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | (man << 13))
        }
    }
}

/// Serialises tensors and string metadata in safetensors format, as F32 or (half the size, for shipped
/// weights) F16 rounded to nearest even; readers convert F16 back to Float32. Values beyond F16's range
/// (±65504) would become infinities, so they are refused by name.
public func safeTensorsData(_ tensors: [String: Tensor], metadata: [String: String] = [:], dtype: SafeTensorsDType = .F32) throws -> Data {
    precondition(dtype == .F32 || dtype == .F16, "safeTensorsData: only F32 and F16 are written")
    let names = tensors.keys.sorted()
    var out = try safeTensorsHeader(names.map { (name: $0, dtype: dtype, shape: tensors[$0]!.shape) }, metadata: metadata)
    for k in names {
        let c = tensors[k]!.contiguous()
        let src = UnsafeBufferPointer(start: c.storage.base + c.offset, count: c.count)
        if dtype == .F32 { out.append(src); continue }
        var half = [UInt16](repeating: 0, count: c.count)
        for i in 0..<c.count {
            let x = src[i]
            guard !x.isFinite || Swift.abs(x) <= 65504 else {
                throw FileError(path: k, message: "value \(x) is outside float16's range; save this tensor as F32")
            }
            half[i] = Float16(x).bitPattern.littleEndian
        }
        half.withUnsafeBytes { out.append(contentsOf: $0) }
    }
    return out
}

/// The 8-byte length and the JSON header (padded to a multiple of 8) of tensors laid out back to back in `entries`'
/// order, with room reserved for their data.
func safeTensorsHeader(_ entries: [(name: String, dtype: SafeTensorsDType, shape: [Int])], metadata: [String: String]) throws -> Data {
    var header: [String: Any] = [:]
    if !metadata.isEmpty { header["__metadata__"] = metadata }
    var offset = 0
    for e in entries {
        let bytes = e.dtype.size * e.shape.reduce(1, *)
        header[e.name] = ["dtype": e.dtype.rawValue, "shape": e.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
        offset += bytes
    }
    var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    while (json.count + 8) % 8 != 0 { json.append(0x20) }
    var out = Data(capacity: 8 + json.count + offset)
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
    out.append(json)
    return out
}

/// Writes a safetensors file atomically.
public func saveSafeTensors(_ tensors: [String: Tensor], metadata: [String: String] = [:], dtype: SafeTensorsDType = .F32,
                            to path: String) throws {
    try writeAtomically(safeTensorsData(tensors, metadata: metadata, dtype: dtype), to: URL(fileURLWithPath: path))
}
