// `dreamportrait directions`: how far one direction of w moves each attribute of an unconditional generator
// (PortraitExport's LatentDirections): what a semantics mapping alone could steer in that G, frozen.
import Foundation
import PortraitExport
import PortraitWorld
import TeacherTraining
import TensorCore

enum DirectionsCommand {
    static let defaultAttributes = ["Male", "Young", "Old", "Bald", "Eyeglasses", "Long_Hair", "Smiling", "No_Beard", "Pale_Skin", "Wearing_Hat"]
    static let defaults = LatentDirections.Settings()
    static let command = Command(
        name: "directions",
        abstract: "Fit a direction of w per attribute in an unconditional generator and measure how far it moves the attribute classifier",
        discussion: """
            For a stage-0 (text-blind) generator: renders --fit seeds' frontal views (ψ --truncation), classifies them with \
            the attribute classifier, takes each attribute's class-mean difference of w as its direction d, then renders \
            --test other seeds at w + α·d for each --alphas value and counts the views the classifier reads the attribute \
            in. A direction that takes the count from near none to near all is one that a text path shifting w (the \
            semantics mapping, with G frozen) could learn; a flat row says G does not hold the attribute along one \
            direction of w. Prints a table and, with --out, writes JSON.
            """,
        options: [
            Option(name: "--weights", value: "FILE", help: "Unconditional generator (.safetensors), e.g. Weights/eg3d_stage0.safetensors"),
            Option(name: "--attributes", value: "FILE", help: "Attribute classifier", defaultValue: "attributes.safetensors beside --weights"),
            Option(name: "--attribute-names", value: "A,B,...", help: "Attributes to probe", defaultValue: defaultAttributes.joined(separator: ",")),
            Option(name: "--fit", value: "N", help: "Samples the directions are fitted on", defaultValue: "\(defaults.fitCount)"),
            Option(name: "--test", value: "N", help: "Samples each shift is counted on", defaultValue: "\(defaults.testCount)"),
            Option(name: "--alphas", value: "A,B,...", help: "Multiples of each direction to add to w (0: the base rate)", defaultValue: defaults.alphas.map { "\($0)" }.joined(separator: ",")),
            Option(name: "--truncation", value: "PSI", help: "Truncation ψ of w", defaultValue: "\(defaults.truncationPsi)"),
            Option(name: "--out", value: "FILE", help: "Write the rows as JSON"),
        ],
        run: run)

    static func run(_ a: Arguments) throws {
        guard let weights = a.string("--weights") else { throw UsageError(message: "missing --weights FILE (an unconditional generator)", command: a.command) }
        let attributesPath = a.string("--attributes") ?? ((weights as NSString).deletingLastPathComponent as NSString).appendingPathComponent("attributes.safetensors")
        var s = LatentDirections.Settings()
        s.fitCount = try a.int("--fit", default: s.fitCount, range: 2...100_000)
        s.testCount = try a.int("--test", default: s.testCount, range: 1...100_000)
        s.truncationPsi = try a.float("--truncation", default: s.truncationPsi)
        if let list = a.list("--alphas") {
            s.alphas = try list.map { v in
                guard let x = Float(v), x.isFinite else { throw UsageError(message: "invalid value '\(v)' in --alphas: expected numbers separated by commas", command: a.command) }
                return x
            }
            guard !s.alphas.isEmpty else { throw UsageError(message: "--alphas is empty", command: a.command) }
            s.alphas.sort()   // the swing reads the smallest and the largest
        }
        let names = a.list("--attribute-names") ?? defaultAttributes
        let attributes = try names.map { n in
            guard let x = Attribute(rawValue: n) else {
                throw UsageError(message: "unknown attribute '\(n)' in --attribute-names (the world's: \(Attribute.allCases.map(\.rawValue).joined(separator: ", ")))", command: a.command)
            }
            return x
        }
        let model = try GenerateModel(weights: weights)
        guard !model.isTextConditioned else {
            throw UsageError(message: "--weights \(weights) is text-conditioned: directions probes an unconditional (stage-0) generator", command: a.command)
        }
        let classifier = try AttributeClassifier.load(attributesPath)
        let g = model.generator
        let bar = ProgressBar(total: s.fitCount + attributes.count * s.alphas.count * s.testCount, start: 0, unit: "renders")
        let rows = try LatentDirections.measure(
            attributes: attributes, settings: s,
            sampleW: { LatentDirections.truncatedW(g, seed: $0, psi: s.truncationPsi) },
            probabilities: { w, i in classifier.probabilities(LatentDirections.frontalImage(g, ws: w, seed: UInt64(i))).toArray() },
            progress: { done, _ in bar.update(done) })
        bar.finish()
        print("\(weights): directions of w fitted on \(s.fitCount) seeds, counted on \(s.testCount) others (ψ \(s.truncationPsi), frontal view)")
        print("attribute          fit present   " + s.alphas.map { String(format: "α %+5.2f", $0) }.joined(separator: "   ") + "   swing")
        for r in rows {
            let cells = r.shifted.isEmpty ? ["(too few either way to fit a direction)"]
                : r.shifted.map { String(format: "%4d/%-4d", $0.present, $0.of) }
            let swing = r.swing.map { String(format: "%+.2f", $0) } ?? "—"
            print(r.attribute.rawValue.padding(toLength: 18, withPad: " ", startingAt: 0)
                  + String(format: " %4d/%-6d  ", r.presentInFit, r.fitCount) + cells.joined(separator: "   ") + "   " + swing)
        }
        if let out = a.string("--out") {
            let json: [String: Any] = [
                "weights": weights, "attributes": attributesPath, "fit": s.fitCount, "test": s.testCount,
                "truncation_psi": s.truncationPsi, "alphas": s.alphas,
                "rows": rows.map { r -> [String: Any] in
                    ["attribute": r.attribute.rawValue, "present_in_fit": r.presentInFit,
                     "present_at_alpha": r.shifted.map { $0.present }, "of": s.testCount, "swing": r.swing as Any? ?? NSNull()]
                }]
            let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
            try data.write(to: URL(fileURLWithPath: out), options: .atomic)
            print("JSON: \(out)")
        }
    }
}
