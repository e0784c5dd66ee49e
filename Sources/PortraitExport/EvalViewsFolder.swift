// One sample in `dreamportrait eval`'s views layout: eval/00000/{F,L15,R15}.png rendered at MSC's three cameras,
// eval/dataset.json with their EG3D labels and eval/captions.json holding the prompt, so `eval --images OUT/eval`
// (or `eval --images PARENT` over many outputs) scores the result. `generate --eval-views`, `sds` and `refine`
// write it, which puts the one-pass model and the per-prompt optimisations on the same footing (README, the
// efficiency table).
import Codecs
import Foundation
import Metrics
import PortraitWorld

public enum EvalViewsFolder {
    /// The renderer seed stream index of view k (after the yaw arc's and the camera label's).
    public static func seedIndex(_ view: MSCView) -> Int { 100 + view.rawValue }

    /// The products (relative names under the output folder, and bytes) for `prompt`, rendering each MSC view with
    /// `render` (its EG3D label in, the 8-bit image out), frontal first.
    public static func products(prompt: String, render: (MSCView, [Float]) throws -> Image) rethrows -> [(name: String, data: Data)] {
        var out: [(name: String, data: Data)] = [], labels: [String] = [], captions: [String] = []
        for view in MSCView.allCases {
            let name = "00000/\(view.name).png"
            out.append(("eval/\(name)", PNG.encode(try render(view, view.label))))
            labels.append(DatasetFormat.labelEntry(name, view.label.map(Double.init)))
            captions.append("\(DatasetFormat.quote(name)): [\(DatasetFormat.quote(prompt))]")
        }
        out.append(("eval/dataset.json", Data("{\"labels\": [\(labels.joined(separator: ", "))]}\n".utf8)))
        out.append(("eval/captions.json", Data("{\(captions.joined(separator: ", "))}\n".utf8)))
        return out
    }
}
