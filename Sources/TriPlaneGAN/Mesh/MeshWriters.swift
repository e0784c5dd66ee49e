// Mesh files a user can open in Blender, MeshLab or a browser: PLY (binary little-endian, vertex colours),
// Wavefront OBJ (with the common `v x y z r g b` colour extension) and glTF 2.0 binary (GLB, COLOR_0).
// Every writer goes through writeAtomically, so an interrupted export never leaves a broken file.
import Foundation
import TensorCore

extension TriangleMesh {
    /// Binary little-endian PLY: float x, y, z, uchar red, green, blue; faces as uchar count + int indices.
    public func plyData() -> Data {
        var header = "ply\nformat binary_little_endian 1.0\ncomment made by dreamportrait\n"
        header += "element vertex \(vertices.count)\nproperty float x\nproperty float y\nproperty float z\n"
        if colors != nil { header += "property uchar red\nproperty uchar green\nproperty uchar blue\n" }
        header += "element face \(triangles.count)\nproperty list uchar int vertex_indices\nend_header\n"
        var d = Data(header.utf8)
        d.reserveCapacity(d.count + vertices.count * 15 + triangles.count * 13)
        for (i, v) in vertices.enumerated() {
            for x in [v.x, v.y, v.z] { withUnsafeBytes(of: x.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
            if let c = colors?[i] { d.append(contentsOf: [byte(c.x), byte(c.y), byte(c.z)]) }
        }
        for t in triangles {
            d.append(3)
            for x in [t.x, t.y, t.z] { withUnsafeBytes(of: x.littleEndian) { d.append(contentsOf: $0) } }
        }
        return d
    }

    /// Wavefront OBJ text; 1-based indices.
    public func objData() -> Data {
        var s = "# made by dreamportrait\n"
        s.reserveCapacity(vertices.count * 48 + triangles.count * 24)
        for (i, v) in vertices.enumerated() {
            s += "v \(v.x) \(v.y) \(v.z)"
            if let c = colors?[i] { s += " \(clamp01(c.x)) \(clamp01(c.y)) \(clamp01(c.z))" }
            s += "\n"
        }
        for t in triangles { s += "f \(t.x + 1) \(t.y + 1) \(t.z + 1)\n" }
        return Data(s.utf8)
    }

    /// glTF 2.0 binary: one mesh, one primitive, POSITION (+ COLOR_0) and UNSIGNED_INT indices.
    public func glbData() -> Data {
        var bin = Data()
        for v in vertices { for x in [v.x, v.y, v.z] { withUnsafeBytes(of: x.bitPattern.littleEndian) { bin.append(contentsOf: $0) } } }
        let positionBytes = bin.count
        if let colors { for c in colors { for x in [c.x, c.y, c.z] { withUnsafeBytes(of: clamp01(x).bitPattern.littleEndian) { bin.append(contentsOf: $0) } } } }
        let colorBytes = bin.count - positionBytes
        for t in triangles { for x in [t.x, t.y, t.z] { withUnsafeBytes(of: UInt32(x).littleEndian) { bin.append(contentsOf: $0) } } }
        let indexBytes = bin.count - positionBytes - colorBytes
        while bin.count % 4 != 0 { bin.append(0) }
        var lo = SIMD3<Float>(repeating: .infinity), hi = SIMD3<Float>(repeating: -.infinity)
        for v in vertices { lo = pointwiseMin(lo, v); hi = pointwiseMax(hi, v) }
        if vertices.isEmpty { lo = .zero; hi = .zero }
        var views: [[String: Any]] = [["buffer": 0, "byteOffset": 0, "byteLength": positionBytes, "target": 34962]]
        var accessors: [[String: Any]] = [["bufferView": 0, "componentType": 5126, "count": vertices.count, "type": "VEC3",
                                           "min": [lo.x, lo.y, lo.z], "max": [hi.x, hi.y, hi.z]]]
        var attributes: [String: Int] = ["POSITION": 0]
        if colors != nil {
            views.append(["buffer": 0, "byteOffset": positionBytes, "byteLength": colorBytes, "target": 34962])
            accessors.append(["bufferView": 1, "componentType": 5126, "count": vertices.count, "type": "VEC3"])
            attributes["COLOR_0"] = 1
        }
        views.append(["buffer": 0, "byteOffset": positionBytes + colorBytes, "byteLength": indexBytes, "target": 34963])
        accessors.append(["bufferView": views.count - 1, "componentType": 5125, "count": triangles.count * 3, "type": "SCALAR"])
        let json: [String: Any] = [
            "asset": ["version": "2.0", "generator": "dreamportrait"],
            "scene": 0, "scenes": [["nodes": [0]]], "nodes": [["mesh": 0]],
            "meshes": [["primitives": [["attributes": attributes, "indices": accessors.count - 1, "mode": 4]]]],
            "buffers": [["byteLength": bin.count]], "bufferViews": views, "accessors": accessors,
        ]
        var jsonData = (try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])) ?? Data("{}".utf8)
        while jsonData.count % 4 != 0 { jsonData.append(0x20) }
        var d = Data()
        func u32(_ x: Int) { withUnsafeBytes(of: UInt32(x).littleEndian) { d.append(contentsOf: $0) } }
        u32(0x4654_6C67); u32(2); u32(12 + 8 + jsonData.count + 8 + bin.count)
        u32(jsonData.count); u32(0x4E4F_534A); d.append(jsonData)
        u32(bin.count); u32(0x004E_4942); d.append(bin)
        return d
    }

    /// Writes the mesh in the format named by the file's extension (.ply, .obj or .glb).
    public func write(to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let data: Data
        switch url.pathExtension.lowercased() {
        case "ply": data = plyData()
        case "obj": data = objData()
        case "glb": data = glbData()
        default: throw FileError(path: path, message: "unknown mesh format '.\(url.pathExtension)'; use .ply, .obj or .glb")
        }
        try writeAtomically(data, to: url)
    }
}

private func clamp01(_ x: Float) -> Float { Swift.min(Swift.max(x, 0), 1) }
private func byte(_ x: Float) -> UInt8 { UInt8((clamp01(x) * 255).rounded()) }
