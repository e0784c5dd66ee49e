// A built-in 5x7 bitmap font for printable ASCII (0x20-0x7E), drawn for this project, for labelling
// contact sheets and debug images. Each glyph is seven rows of five bits, leftmost pixel in bit 4.
import Foundation

/// Draws ASCII text with a 5x7 pixel font (6-pixel advance, so one pixel between letters). Characters
/// outside printable ASCII draw as "?".
public enum BitmapFont {
    public static let glyphWidth = 5
    public static let glyphHeight = 7
    /// Horizontal distance from one character to the next, before scaling.
    public static let advance = 6

    /// Rows of each glyph from " " (0x20) to "~" (0x7E), two hex digits per row.
    static let glyphs: [String] = [
        "00000000000000", "04040404040004", "0A0A0A00000000", "0A0A1F0A1F0A0A", // space ! " #
        "040F140E051E04", "18190204081303", "0C12140815120D", "0C040800000000", // $ % & '
        "02040808080402", "08040202020408", "0004150E150400", "0004041F040400", // ( ) * +
        "000000000C0408", "0000001F000000", "00000000000C0C", "00010204081000", // , - . /
        "0E11131519110E", "040C040404040E", "0E11010204081F", "1F02040201110E", // 0 1 2 3
        "02060A121F0202", "1F101E0101110E", "0608101E11110E", "1F010204080808", // 4 5 6 7
        "0E11110E11110E", "0E11110F01020C", "000C0C000C0C00", "000C0C000C0408", // 8 9 : ;
        "02040810080402", "00001F001F0000", "08040201020408", "0E110102040004", // < = > ?
        "0E11010D15150E", "0E11111F111111", "1E11111E11111E", "0E11101010110E", // @ A B C
        "1C12111111121C", "1F10101E10101F", "1F10101E101010", "0E11101711110F", // D E F G
        "1111111F111111", "0E04040404040E", "0702020202120C", "11121418141211", // H I J K
        "1010101010101F", "111B1515111111", "11111915131111", "0E11111111110E", // L M N O
        "1E11111E101010", "0E11111115120D", "1E11111E141211", "0F10100E01011E", // P Q R S
        "1F040404040404", "1111111111110E", "11111111110A04", "1111111515150A", // T U V W
        "11110A040A1111", "1111110A040404", "1F01020408101F", "0E08080808080E", // X Y Z [
        "00100804020100", "0E02020202020E", "040A1100000000", "0000000000001F", // \ ] ^ _
        "08040200000000", "00000E010F110F", "1010161911111E", "00000E1010110E", // ` a b c
        "01010D1311110F", "00000E111F100E", "0609081C080808", "000F11110F010E", // d e f g
        "10101619111111", "04000C0404040E", "0200060202120C", "10101214181412", // h i j k
        "0C04040404040E", "00001A15151111", "00001619111111", "00000E1111110E", // l m n o
        "00001E111E1010", "00000D130F0101", "00001619101010", "00000E100E011E", // p q r s
        "08081C08080906", "0000111111130D", "00001111110A04", "0000111115150A", // t u v w
        "0000110A040A11", "000011110F010E", "00001F0204081F", "02040408040402", // x y z {
        "04040404040404", "08040402040408", "00000815020000", // | } ~
    ]

    /// Row bits of every glyph, 7 bytes per glyph.
    static let rows: [UInt8] = glyphs.flatMap { g -> [UInt8] in
        let chars = Array(g.utf8)
        precondition(chars.count == 14, "BitmapFont: glyph \(g) is not 7 rows")
        return (0..<7).map { UInt8(String(decoding: chars[(2 * $0)..<(2 * $0 + 2)], as: UTF8.self), radix: 16)! }
    }

    /// Width in pixels of `text` drawn at `scale` (no trailing gap).
    public static func width(of text: String, scale: Int = 1) -> Int {
        let n = text.unicodeScalars.count
        return n == 0 ? 0 : (n * advance - 1) * scale
    }

    /// Draws `text` with its top-left corner at (x, y), each font pixel a `scale` x `scale` block of
    /// `colour` (one value per image channel). Pixels outside the image are clipped.
    public static func draw(_ text: String, into image: inout Image, x: Int, y: Int, colour: [UInt16], scale: Int = 1) {
        precondition(colour.count == image.channels, "BitmapFont.draw: \(colour.count) colour values for \(image.channels) channels")
        precondition(scale >= 1, "BitmapFont.draw: scale \(scale)")
        var penX = x
        for scalar in text.unicodeScalars {
            let code = (0x20...0x7E).contains(scalar.value) ? Int(scalar.value) - 0x20 : Int(UInt8(ascii: "?")) - 0x20
            for row in 0..<glyphHeight {
                let bits = rows[code * 7 + row]
                for col in 0..<glyphWidth where bits & (0x10 >> UInt8(col)) != 0 {
                    for dy in 0..<scale {
                        let py = y + row * scale + dy
                        guard py >= 0 && py < image.height else { continue }
                        for dx in 0..<scale {
                            let px = penX + col * scale + dx
                            guard px >= 0 && px < image.width else { continue }
                            for c in 0..<image.channels { image[px, py, c] = colour[c] }
                        }
                    }
                }
            }
            penX += advance * scale
        }
    }
}
