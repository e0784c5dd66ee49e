// Contact sheets: equally sized images laid out in a grid with optional text labels (BitmapFont) under
// each, as one 8-bit RGB Image ready for PNG.encode — for sample grids, orbit strips and test reports.
import Foundation

public enum ContactSheet {
    /// Lays `images` (all the same size; grey/RGB, 8- or 16-bit; alpha is composited over `background`)
    /// left to right, top to bottom in `columns` columns, with `padding` pixels around and between cells.
    /// When `labels` is given (one per image; may be shorter), each image gets a strip below it with its
    /// label in the 5x7 font at `labelScale`, cut to fit the cell width. Returns an 8-bit RGB image.
    public static func make(_ images: [Image], columns: Int, labels: [String]? = nil, padding: Int = 4,
                            labelScale: Int = 1, background: [UInt8] = [255, 255, 255],
                            textColour: [UInt8] = [0, 0, 0]) -> Image {
        precondition(!images.isEmpty, "ContactSheet.make: no images")
        precondition(columns >= 1 && padding >= 0 && labelScale >= 1, "ContactSheet.make: bad layout arguments")
        precondition(background.count == 3 && textColour.count == 3, "ContactSheet.make: colours are RGB")
        let w = images[0].width, h = images[0].height
        precondition(images.allSatisfy { $0.width == w && $0.height == h }, "ContactSheet.make: images differ in size")
        let cols = min(columns, images.count)
        let rows = (images.count + cols - 1) / cols
        let band = labels == nil ? 0 : BitmapFont.glyphHeight * labelScale + 2 * labelScale
        let cellH = h + band
        let sheetW = cols * w + (cols + 1) * padding, sheetH = rows * cellH + (rows + 1) * padding
        var sheet = Image(width: sheetW, height: sheetH, channels: 3)
        let bg = background.map(UInt16.init)
        for i in 0..<sheet.pixelCount { for c in 0..<3 { sheet.samples[3 * i + c] = bg[c] } }
        for (k, img) in images.enumerated() {
            let ox = padding + (k % cols) * (w + padding), oy = padding + (k / cols) * (cellH + padding)
            let src = img.converted(bitDepth: 8)
            let ch = src.channels, colour = ch >= 3, alpha = src.hasAlpha
            for y in 0..<h {
                for x in 0..<w {
                    let s = (y * w + x) * ch
                    let d = ((oy + y) * sheetW + ox + x) * 3
                    let a = alpha ? Int(src.samples[s + ch - 1]) : 255
                    for c in 0..<3 {
                        let v = Int(src.samples[s + (colour ? c : 0)])
                        sheet.samples[d + c] = UInt16((v * a + Int(bg[c]) * (255 - a) + 127) / 255)
                    }
                }
            }
            if let labels, k < labels.count {
                let maxChars = max(0, (w + labelScale) / (BitmapFont.advance * labelScale))
                let text = String(labels[k].unicodeScalars.prefix(maxChars).map(Character.init))
                BitmapFont.draw(text, into: &sheet, x: ox, y: oy + h + labelScale, colour: textColour.map(UInt16.init),
                                scale: labelScale)
            }
        }
        return sheet
    }
}
