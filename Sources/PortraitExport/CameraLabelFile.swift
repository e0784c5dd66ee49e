// Reads one EG3D camera label (25 floats: the row-major 4×4 cam2world, then the row-major normalised 3×3
// intrinsics) from a file, as `dreamportrait generate --camera-label FILE` takes it: a JSON array (nested arrays
// are flattened, so [[16 values], [9 values]] and a 1×25 batch work) or plain numbers separated by whitespace
// or commas. Every problem names the file.
import Foundation
import TensorCore
import TriPlaneGAN

public enum CameraLabelFile {
    /// Parses and validates the label in the file at `path`.
    /// - Throws: `FileError` naming the file: missing or unreadable, not numbers, not 25 values, a value that is
    ///   not finite, or intrinsics that the renderer cannot use (fx or fy zero).
    public static func read(path: String) throws -> Camera {
        guard FileManager.default.fileExists(atPath: path) else { throw FileError(path: path, message: "no such camera label file") }
        guard let data = FileManager.default.contents(atPath: path) else { throw FileError(path: path, message: "cannot read the camera label file") }
        return try parse(data, name: path)
    }

    /// Parses a label from file contents; `name` appears in error messages.
    public static func parse(_ data: Data, name: String) throws -> Camera {
        guard let text = String(data: data, encoding: .utf8) else { throw FileError(path: name, message: "the camera label is not UTF-8 text") }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        var values: [Double] = []
        if trimmed.hasPrefix("[") {
            do { values = try JSONDecoder().decode(NumberTree.self, from: Data(trimmed.utf8)).flattened } catch DecodingError.typeMismatch(_, _) {
                throw FileError(path: name, message: "the camera label holds a value that is not a number (expected a JSON array of 25 numbers)")
            } catch {
                throw FileError(path: name, message: "the camera label is not valid JSON (\(error.localizedDescription))")
            }
        } else {
            for token in trimmed.split(whereSeparator: { $0 == "," || $0.isWhitespace }) {
                guard let v = Double(token) else {
                    throw FileError(path: name, message: "'\(token)' is not a number (expected 25 numbers separated by spaces or commas, or a JSON array)")
                }
                values.append(v)
            }
        }
        guard values.count == 25 else {
            throw FileError(path: name, message: "a camera label has 25 numbers (16 cam2world + 9 intrinsics), found \(values.count)")
        }
        for (i, v) in values.enumerated() where !Float(v).isFinite {
            throw FileError(path: name, message: "camera label value \(i) is \(v); every value must be a finite float")
        }
        do { return try Camera(label: values.map { Float($0) }) } catch let e as CameraError {
            throw FileError(path: name, message: e.message)
        }
    }
}

/// A JSON array of numbers, possibly nested (JSONDecoder, unlike JSONSerialization on Linux, never reads a
/// boolean as a number).
private enum NumberTree: Decodable {
    case number(Double)
    case array([NumberTree])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Double.self) { self = .number(v) } else { self = .array(try c.decode([NumberTree].self)) }
    }

    var flattened: [Double] {
        switch self {
        case .number(let v): [v]
        case .array(let a): a.flatMap(\.flattened)
        }
    }
}
