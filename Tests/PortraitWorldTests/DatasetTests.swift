// The dataset format: reading EG3D datasets written by Python (Scripts/make_world_fixture.py), the writer's
// dataset.json text, bad input, streaming synthesis that resumes to the same bytes, determinism across thread
// counts, and zips.
import Codecs
import Foundation
import XCTest
@testable import PortraitWorld
import TensorCore
import TestSupport

let worldFixtures = fixturesDir.appendingPathComponent("world")

/// A unique scratch folder location (not created: the dataset writers create it).
func temporaryDirectory(_ name: String) -> URL { URL(fileURLWithPath: temporaryPath("portraitworld-\(name)")) }

/// Every regular file under `dir` (relative path -> bytes), skipping the resume journals.
func snapshot(_ dir: URL) -> [String: Data] {
    var out: [String: Data] = [:]
    let walker = FileManager.default.enumerator(atPath: dir.path)!
    while let rel = walker.nextObject() as? String {
        if rel.hasPrefix(".synth") { continue }
        var isDir: ObjCBool = false
        let p = dir.appendingPathComponent(rel).path
        if FileManager.default.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue { out[rel] = FileManager.default.contents(atPath: p) }
    }
    return out
}

final class DatasetTests: XCTestCase {
    func testReadsPythonWrittenDataset() throws {
        let ds = try EG3DDataset(path: worldFixtures.appendingPathComponent("with_labels").path)
        XCTAssertEqual(ds.imageNames, (0..<5).map(DatasetFormat.imageName))
        let cams = try JSONSerialization.jsonObject(with: Data(contentsOf: worldFixtures.appendingPathComponent("cameras.json"))) as! [[Double]]
        for (i, hv) in cams.enumerated() {
            let name = DatasetFormat.imageName(i)
            let label = try XCTUnwrap(ds.labels?[name])
            XCTAssertEqual(label.count, 25)
            let mine = LookAtPoseSampler.sample(horizontal: hv[0], vertical: hv[1]).label
            for k in 0..<25 { XCTAssertEqual(Double(label[k]), mine[k], accuracy: 1e-6, "\(name) value \(k)") }
            XCTAssertNotNil(ds.camera(name))
            XCTAssertEqual(ds.captions?[name], ["Caption 0 of image \(i).", "Caption 1 of image \(i)."])
            let img = try ds.image(name)
            XCTAssertEqual(img.width, 4)
            XCTAssertEqual(Int(img.samples[0]), (i * 40) % 256)
        }
        XCTAssertNil(ds.captionsOOD)
        XCTAssertNil(ds.attributes)
        // Our label text is Python's: Float32 values printed as json.dumps prints floats, ", " separators.
        let text = try String(contentsOf: worldFixtures.appendingPathComponent("with_labels/dataset.json"), encoding: .utf8)
        let entry = DatasetFormat.labelEntry(DatasetFormat.imageName(0), LookAtPoseSampler.sample(horizontal: .pi / 2, vertical: .pi / 2).label)
        XCTAssertTrue(entry.hasSuffix("4.264699935913086, 0.0, 0.5, 0.0, 4.264699935913086, 0.5, 0.0, 0.0, 1.0]]"), entry)
        XCTAssertTrue(text.contains("4.264699935913086, 0.0, 0.5, 0.0, 4.264699935913086, 0.5, 0.0, 0.0, 1.0]]"))
        XCTAssertTrue(text.hasPrefix("{\"labels\": [[\"00000/img00000000.png\", [1.0, "))
        XCTAssertTrue(entry.hasPrefix("[\"00000/img00000000.png\", [1.0, "), entry)
    }

    func testReadsUnlabelledDataset() throws {
        let ds = try EG3DDataset(path: worldFixtures.appendingPathComponent("no_labels").path)
        XCTAssertEqual(ds.imageNames, ["img00000000.png", "img00000001.png"])
        XCTAssertNil(ds.labels)
        XCTAssertNil(ds.captions)
        XCTAssertEqual(try ds.image("img00000001.png").width, 2)
    }

    func testBadDatasetsNameTheFile() throws {
        let dir = temporaryDirectory("bad")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("00000"), withIntermediateDirectories: true)
        try Data([1, 2, 3]).write(to: dir.appendingPathComponent("00000/img00000000.png"))
        func expect(_ json: String, _ fragment: String, file: String = "dataset.json", line: UInt = #line) {
            try? json.data(using: .utf8)!.write(to: dir.appendingPathComponent(file))
            XCTAssertThrowsError(try EG3DDataset(path: dir.path), line: line) { e in
                let s = "\(e)"
                XCTAssertTrue(s.contains(file) && s.contains(fragment), s, line: line)
            }
            try? FileManager.default.removeItem(at: dir.appendingPathComponent(file))
        }
        expect("{\"labels\": [[\"00000/img", "not valid JSON")
        expect("[1, 2]", "expected a JSON object")
        expect("{\"labels\": [[\"00000/img00000000.png\", [1, \"x\"]]]}", "labels[0]")
        expect("{\"labels\": [[\"other.png\", [1, 2]]]}", "no label for image 00000/img00000000.png")
        expect("{\"labels\": [[\"00000/img00000000.png\", [1, 2]], [\"b.png\", [1]]]}", "has 1 values")
        expect("{\"a\": 3}", "captions of a", file: "captions.json")
        XCTAssertThrowsError(try EG3DDataset(path: dir.appendingPathComponent("missing").path)) { XCTAssertTrue("\($0)".contains("missing")) }
        // A corrupt image names itself when decoded.
        let ds = try EG3DDataset(path: dir.path)
        XCTAssertThrowsError(try ds.image("00000/img00000000.png")) { XCTAssertTrue("\($0)".contains("img00000000.png"), "\($0)") }
        try? FileManager.default.removeItem(at: dir)
    }

    func testSynthResumesToTheSameBytesAndIsThreadIndependent() throws {
        var s = SynthSettings(count: 13, resolution: 32, seed: 9)
        s.auxiliary = true
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        // Reference: one uninterrupted run on one thread.
        Parallel.threadCount = 1
        let a = temporaryDirectory("synth-a")
        XCTAssertTrue(try Synthesizer(settings: s, directory: a.path).run(chunk: 4))
        // Interrupted after the first chunk on two threads, with junk appended to a journal (a crash after the
        // last saved state), then resumed in a new Synthesizer.
        Parallel.threadCount = 2
        let b = temporaryDirectory("synth-b")
        var calls = 0
        XCTAssertFalse(try Synthesizer(settings: s, directory: b.path).run(chunk: 4, shouldStop: { calls += 1; return calls == 1 }))
        let j = try FileHandle(forWritingTo: b.appendingPathComponent(".synth/labels.jsonl"))
        try j.seekToEnd(); j.write(Data("[\"junk\", [1]]\n".utf8)); try j.close()
        let resumed = try Synthesizer(settings: s, directory: b.path)
        XCTAssertEqual(resumed.done, 4)
        XCTAssertTrue(try resumed.run(chunk: 5))
        let sa = snapshot(a), sb = snapshot(b)
        XCTAssertEqual(Set(sa.keys), Set(sb.keys))
        XCTAssertEqual(sa.count, 13 * 4 + 5)
        for (k, v) in sa { XCTAssertEqual(v, sb[k], "\(k) differs") }
        // The result reads back as an EG3D dataset with our extra files.
        let ds = try EG3DDataset(path: a.path)
        XCTAssertEqual(ds.count, 13)
        XCTAssertEqual(ds.captions?.count, 13)
        XCTAssertEqual(ds.captions?[DatasetFormat.imageName(3)]?.count, 10)
        XCTAssertEqual(ds.captionsOOD?.count, 13)
        XCTAssertEqual((ds.split?.train.count ?? 0) + (ds.split?.test.count ?? 0), 13)
        let gt = AttributeSampler().identity(seed: 9, index: 3)
        XCTAssertEqual(ds.attributes?[DatasetFormat.imageName(3)]?["Male"] as? Bool, gt.has(.male))
        XCTAssertEqual(ds.attributes?[DatasetFormat.imageName(3)]?["hair_color"] as? String, gt.hairColor.rawValue)
        let label = try XCTUnwrap(ds.labels?[DatasetFormat.imageName(3)])
        let cam = PoseDistribution().camera(seed: 9, index: 3).label
        for k in 0..<25 { XCTAssertEqual(label[k], Float(cam[k])) }
        // Image 3 on disk is the same as rendering image 3 directly.
        let img = try ds.image(DatasetFormat.imageName(3))
        XCTAssertEqual(img.bytes, World.record(s, index: 3).rendering.rgb)
        // A zip of it reads back the same.
        let zipPath = a.path + ".zip"
        try Synthesizer(settings: s, directory: a.path).writeZip(to: zipPath)
        let dz = try EG3DDataset(path: zipPath)
        XCTAssertEqual(dz.imageNames, ds.imageNames)
        XCTAssertEqual(dz.labels?[DatasetFormat.imageName(12)], ds.labels?[DatasetFormat.imageName(12)])
        XCTAssertEqual(try dz.image(DatasetFormat.imageName(5)), try ds.image(DatasetFormat.imageName(5)))
        // .npy aux maps parse: header then R*R Float32 depths.
        let npy = try Data(contentsOf: a.appendingPathComponent("aux/00000/img00000003_depth.npy"))
        XCTAssertEqual(Array(npy.prefix(6)), [0x93] + Array("NUMPY".utf8))
        let headerLen = Int(npy[8]) | Int(npy[9]) << 8
        XCTAssertEqual((10 + headerLen) % 64, 0)
        XCTAssertEqual(npy.count - 10 - headerLen, 32 * 32 * 4)
        for d in [a, b] { try? FileManager.default.removeItem(at: d) }
        try? FileManager.default.removeItem(atPath: zipPath)
    }

    func testSynthRefusesForeignFolders() throws {
        let s = SynthSettings(count: 2, resolution: 16, seed: 1)
        let d = temporaryDirectory("refuse")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: d.appendingPathComponent("notes.txt"))
        XCTAssertThrowsError(try Synthesizer(settings: s, directory: d.path)) { XCTAssertTrue("\($0)".contains("not empty"), "\($0)") }
        try FileManager.default.removeItem(at: d.appendingPathComponent("notes.txt"))
        XCTAssertTrue(try Synthesizer(settings: s, directory: d.path).run())
        var other = s
        other.seed = 2
        XCTAssertThrowsError(try Synthesizer(settings: other, directory: d.path)) { XCTAssertTrue("\($0)".contains("other settings"), "\($0)") }
        // Growing the count continues the same world.
        var more = s
        more.count = 3
        XCTAssertTrue(try Synthesizer(settings: more, directory: d.path).run())
        XCTAssertEqual(try EG3DDataset(path: d.path).count, 3)
        try? FileManager.default.removeItem(at: d)
    }

    func testSamplerConfigErrorsNameTheParameter() throws {
        XCTAssertEqual(try SamplerConfig(json: Data("{\"male\": 1}".utf8), source: "c.json").values["male"], [1])
        XCTAssertEqual(try SamplerConfig(json: Data("{\"age\": [1, 0, 0]}".utf8), source: "c.json").values["age"], [1, 0, 0])
        for (json, fragment) in [("{\"mail\": 1}", "unknown parameter 'mail'"), ("{\"male\": 2}", "probabilities"),
                                 ("{\"age\": [1, 2]}", "needs 3"), ("{\"age\": [0, 0, 0]}", "all zero"), ("{\"male\": true}", "a number"), ("[]", "JSON object")] {
            XCTAssertThrowsError(try SamplerConfig(json: Data(json.utf8), source: "c.json")) { e in
                XCTAssertTrue("\(e)".hasPrefix("c.json: ") && "\(e)".contains(fragment), "\(e)")
            }
        }
        // A config changes the world: all men.
        var cfg = SamplerConfig()
        try cfg.set("male", [1])
        XCTAssertTrue((0..<50).allSatisfy { AttributeSampler(config: cfg).identity(seed: 3, index: $0).sex == .man })
    }
}
