// Half-size copies of weight files for shipping (`dreamportrait pack`): every F32 tensor is stored as F16 (rounded
// to nearest even), every other tensor (integer ids, F16/BF16/F64 already chosen by their writer) and the metadata
// byte for byte. The readers convert F16 back to Float32, so a packed folder loads wherever the original did.
import Foundation

/// What packing one file changed: the tensors converted and the largest error the conversion made.
public struct SafeTensorsPackReport: Sendable {
    public var converted = 0
    public var kept = 0
    public var bytesBefore = 0
    public var bytesAfter = 0
    /// max over converted tensors of max|x − f16(x)| / max|x| (0 for all-zero tensors).
    public var worstRelativeError: Double = 0
    public var worstTensor = ""
}

/// The bytes of `file` with its F32 tensors stored as F16.
/// - Throws: `FileError` naming the file and tensor when a value lies outside float16's range (±65504) — such a
///   tensor would become infinities, so the caller must keep that file in F32.
public func packedSafeTensorsData(_ file: SafeTensorsFile) throws -> (Data, SafeTensorsPackReport) {
    var report = SafeTensorsPackReport()
    let names = file.keys
    var outDType: [String: SafeTensorsDType] = [:]
    for k in names {
        let e = file.entries[k]!
        outDType[k] = e.dtype == .F32 ? .F16 : e.dtype
        report.bytesBefore += e.end - e.begin
    }
    var out = try safeTensorsHeader(names.map { (name: $0, dtype: outDType[$0]!, shape: file.entries[$0]!.shape) }, metadata: file.metadata)
    let headerBytes = out.count
    for k in names {
        let e = file.entries[k]!
        let src = file.data + e.begin
        guard outDType[k] == .F16, e.dtype == .F32 else {
            out.append(Data(bytes: src, count: e.end - e.begin))
            report.kept += 1
            continue
        }
        let n = e.shape.reduce(1, *)
        var half = [UInt16](repeating: 0, count: n)
        var maxAbs: Float = 0, maxErr: Float = 0
        for i in 0..<n {
            let x = src.loadUnaligned(fromByteOffset: 4 * i, as: Float.self)
            guard !x.isFinite || Swift.abs(x) <= 65504 else {
                throw FileError(path: file.name, message: "tensor \"\(k)\" holds \(x), outside float16's range; keep this file in F32")
            }
            let h = Float16(x)
            half[i] = h.bitPattern.littleEndian
            if x.isFinite { maxAbs = Swift.max(maxAbs, Swift.abs(x)); maxErr = Swift.max(maxErr, Swift.abs(Float(h) - x)) }
        }
        half.withUnsafeBytes { out.append(contentsOf: $0) }
        report.converted += 1
        let rel = maxAbs > 0 ? Double(maxErr / maxAbs) : 0
        if rel > report.worstRelativeError { report.worstRelativeError = rel; report.worstTensor = k }
    }
    report.bytesAfter = out.count
    report.bytesBefore += headerBytes  // headers are about the same size; count the new one for both
    return (out, report)
}

/// Copies the folder `source` to `destination` (created; existing files replaced atomically), packing every
/// `.safetensors` file on the way and copying every other file as it is. Returns one report per packed file,
/// keyed by its path relative to `source`.
public func packWeightFolder(_ source: String, to destination: String) throws -> [String: SafeTensorsPackReport] {
    let fm = FileManager.default
    var isDir: ObjCBool = false
    guard fm.fileExists(atPath: source, isDirectory: &isDir), isDir.boolValue else {
        throw FileError(path: source, message: "is not a folder")
    }
    let src = URL(fileURLWithPath: source).standardizedFileURL
    guard let walker = fm.enumerator(at: src, includingPropertiesForKeys: [.isRegularFileKey]) else {
        throw FileError(path: source, message: "cannot be listed")
    }
    var relPaths: [String] = []
    for case let url as URL in walker where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
        relPaths.append(String(url.standardizedFileURL.path.dropFirst(src.path.count + 1)))
    }
    var reports: [String: SafeTensorsPackReport] = [:]
    for rel in relPaths.sorted() {
        let from = src.appendingPathComponent(rel).path
        let to = URL(fileURLWithPath: destination).appendingPathComponent(rel)
        try fm.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
        if rel.hasSuffix(".safetensors") {
            let (data, report) = try packedSafeTensorsData(SafeTensorsFile(path: from))
            try writeAtomically(data, to: to)
            reports[rel] = report
        } else {
            guard let bytes = fm.contents(atPath: from) else { throw FileError(path: from, message: "cannot be read") }
            try writeAtomically(bytes, to: to)
        }
    }
    return reports
}
