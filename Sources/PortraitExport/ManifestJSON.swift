// The one JSON style of every manifest the program writes (generate, sds, refine, the shipped model): sorted
// snake_case keys, pretty-printed, slashes unescaped, non-finite numbers as "inf"/"-inf"/"nan", a final newline.
import Foundation

public enum ManifestJSON {
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var d = try e.encode(value)
        d.append(0x0A)
        return d
    }
}
