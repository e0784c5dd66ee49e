// Float64 arrays in safetensors, for statistics that must keep double precision (FID's mean and
// covariance, as pytorch-fid keeps them in float64). Same container as SafeTensors.swift; F64 entries.
import Foundation

extension SafeTensorsFile {
    /// The entry `key` as Float64 values (F64 exactly; F32, F16, BF16 and integers converted).
    public func doubles(_ key: String) throws -> [Double] {
        guard let e = entries[key] else { throw FileError(path: name, message: "no tensor named \"\(key)\"") }
        let n = e.shape.reduce(1, *), src = data + e.begin
        if e.dtype == .F64 { return (0..<n).map { src.loadUnaligned(fromByteOffset: 8 * $0, as: Double.self) } }
        return try tensor(key).toArray().map(Double.init)
    }
}

/// Serialises Float64 arrays (name -> (values, shape)) and string metadata in safetensors format.
public func safeTensorsData(float64 arrays: [String: (values: [Double], shape: [Int])],
                            metadata: [String: String] = [:]) throws -> Data {
    var header: [String: Any] = [:]
    if !metadata.isEmpty { header["__metadata__"] = metadata }
    var offset = 0
    let names = arrays.keys.sorted()
    for k in names {
        let (v, shape) = arrays[k]!
        require(v.count == shape.reduce(1, *), "safetensors: \(k) has \(v.count) values for shape \(shape)")
        header[k] = ["dtype": "F64", "shape": shape, "data_offsets": [offset, offset + 8 * v.count]] as [String: Any]
        offset += 8 * v.count
    }
    var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    while (json.count + 8) % 8 != 0 { json.append(0x20) }
    var out = Data(capacity: 8 + json.count + offset)
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
    out.append(json)
    for k in names { arrays[k]!.values.withUnsafeBufferPointer { out.append($0) } }
    return out
}
