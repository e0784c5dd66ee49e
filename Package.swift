// swift-tools-version:6.2
// DreamPortrait in Swift. No package dependencies: standard library, Foundation and Dispatch only.
import PackageDescription
import Foundation

// CPU baseline. Without one, SIMD FMA lowers to a libm call per lane (tensorcore-anchors §4.1).
// Default: the CPU this is built on (`-march=native`); `TENSORCORE_MARCH=x86-64-v3` is the portable build (AVX2 + FMA,
// any x86 server since 2013), and any other -march value (x86-64-v4, znver4, haswell, ...) works too.
// The GEMM register tile follows the features the target really has, asked of the C compiler for that -march
// (`clang -march=X -dM -E` defines __AVX512F__ or not), never the name of the value: TENSORCORE_WIDE (12x32 tile,
// 16-lane zmm) where the target has AVX-512F, the 6x16 ymm tile otherwise. `TENSORCORE_TILE=wide|narrow` overrides it
// (narrow runs on any AVX2 CPU; wide only where the target has AVX-512).
let env = ProcessInfo.processInfo.environment
let march = env["TENSORCORE_MARCH"] ?? "native"

/// The predefined macros of the C compiler for `-march=value`, or nil where it cannot be asked.
func targetMacros(_ value: String) -> String? {
    #if os(Linux)
    for clang in ["/usr/bin/clang", "/opt/swift/usr/bin/clang"] + (env["PATH"] ?? "").split(separator: ":").map({ "\($0)/clang" })
    where FileManager.default.isExecutableFile(atPath: clang) {
        let p = Process(), out = Pipe(), input = Pipe()
        p.executableURL = URL(fileURLWithPath: clang)
        p.arguments = ["-march=\(value)", "-dM", "-E", "-x", "c", "-"]
        p.standardOutput = out; p.standardInput = input; p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { continue }
        try? input.fileHandleForWriting.close()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        if p.terminationStatus == 0 { return String(decoding: data, as: UTF8.self) }
    }
    #endif
    return nil
}
/// Whether the target of `-march=value` has AVX-512F: from the compiler, else (for native) from /proc/cpuinfo.
func targetHasAVX512(_ value: String) -> Bool {
    if let macros = targetMacros(value) { return macros.contains("__AVX512F__ ") }
    if value == "native", let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
       let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) {
        return flags.split(separator: " ").contains("avx512f")
    }
    return false
}
let avx512 = targetHasAVX512(march)
let wide: Bool = {
    switch env["TENSORCORE_TILE"] {
    case "wide": return true
    case "narrow": return false
    default: return avx512
    }
}()
let kernelFlags: [SwiftSetting] = [
    .unsafeFlags(["-Xcc", "-march=\(march)"], .when(platforms: [.linux])),
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
    // Kernels are optimised even in debug builds so `swift test` runs at speed (SIMD at -Onone is 100-500x slower).
    .unsafeFlags(["-O"], .when(configuration: .debug)),
] + (wide ? [.define("TENSORCORE_WIDE")] : [])
    + (avx512 ? [.define("TENSORCORE_AVX512")] : []) + (march == "native" ? [.define("TENSORCORE_NATIVE")] : [])
let testFlags = kernelFlags + [.swiftLanguageMode(.v5)]

let package = Package(
    name: "DreamPortrait",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "TensorCore", targets: ["TensorCore"]),
        .library(name: "Codecs", targets: ["Codecs"]),
        .library(name: "PortraitWorld", targets: ["PortraitWorld"]),
        .library(name: "TriPlaneGAN", targets: ["TriPlaneGAN"]),
        .library(name: "Teacher", targets: ["Teacher"]),
        .library(name: "Metrics", targets: ["Metrics"]),
        .library(name: "Training", targets: ["Training"]),
        .library(name: "TeacherTraining", targets: ["TeacherTraining"]),
        .library(name: "Distill", targets: ["Distill"]),
        .library(name: "Refine", targets: ["Refine"]),
        .executable(name: "dreamportrait", targets: ["dreamportrait"]),
    ],
    targets: [
        // Tensors, hand-written autograd (with double backward), SIMD + Dispatch kernels, safetensors, modules.
        .target(name: "TensorCore", swiftSettings: kernelFlags),
        // Deflate/zlib/gzip, PNG, GIF, zip and contact sheets; Foundation only, so any module may use it.
        .target(name: "Codecs", swiftSettings: kernelFlags),
        // The synthetic portrait world (procedural heads, EG3D cameras, captions, datasets).
        .target(name: "PortraitWorld", dependencies: ["TensorCore", "Codecs"], swiftSettings: kernelFlags),
        // EG3D's generator, renderer and discriminator, DreamPortrait's conditioning, meshes.
        .target(name: "TriPlaneGAN", dependencies: ["TensorCore"], swiftSettings: kernelFlags),
        // `dreamportrait generate` as a library: images, depth maps, orbit GIF, tri-planes, meshes, manifest, timing.
        .target(name: "PortraitExport", dependencies: ["TriPlaneGAN", "TensorCore", "Codecs", "Teacher", "Metrics", "PortraitWorld"], swiftSettings: kernelFlags),
        // The frozen teacher and text stack: CLIP tokenizer and transformers, SD-style U-Net and VAE, schedulers.
        .target(name: "Teacher", dependencies: ["TensorCore", "Codecs"], swiftSettings: kernelFlags),
        // FID (Fréchet distance over Inception features), CLIP score, MSC and R-precision, and the evaluation
        // runner behind `dreamportrait eval` (PortraitWorld: the dataset format of evaluation folders).
        .target(name: "Metrics", dependencies: ["TensorCore", "Codecs", "Teacher", "PortraitWorld"], swiftSettings: kernelFlags),
        // The run machinery every trainer shares: run folders with atomic checkpoints, JSONL log, progress with ETA,
        // Ctrl-C, the non-finite guard, loss plots, per-step random streams, in-memory world datasets.
        .target(name: "Training", dependencies: ["TensorCore", "Codecs", "PortraitWorld"], swiftSettings: kernelFlags),
        // Training the teacher stack (CLIP, judge, VAE, U-Net) on the synthetic world.
        .target(name: "TeacherTraining", dependencies: ["TensorCore", "Codecs", "Teacher", "Training", "PortraitWorld", "Metrics"], swiftSettings: kernelFlags),
        // DreamPortrait's training: EG3D's GAN training (stage 0) and stages 1-2 with D-SDS.
        .target(name: "Distill", dependencies: ["TensorCore", "Codecs", "TriPlaneGAN", "Teacher", "PortraitWorld", "Training", "Metrics"], swiftSettings: kernelFlags),
        // Per-prompt optimisation: the SDS baseline (`sds`) and Portrait3D's refinement (`refine`): pyramid tri-grid,
        // SDS through D-SDS's code, SDEdit, masked-L2 fit, their outputs.
        .target(name: "Refine", dependencies: ["TensorCore", "Codecs", "TriPlaneGAN", "Teacher", "PortraitWorld", "Training", "Distill", "PortraitExport", "Metrics"], swiftSettings: kernelFlags),
        .executableTarget(name: "dreamportrait",
                          dependencies: ["TensorCore", "Codecs", "PortraitWorld", "TriPlaneGAN", "PortraitExport", "Teacher", "Metrics", "Training", "TeacherTraining", "Distill", "Refine"],
                          swiftSettings: testFlags),

        // Helpers every test target shares (fixture paths, the relative-error check, finite-difference gradient
        // checks, seeded test data, scratch folders); TensorCore's public API only, linked into test bundles only.
        .target(name: "TestSupport", dependencies: ["TensorCore"], path: "Tests/TestSupport", swiftSettings: testFlags),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "TestSupport"], swiftSettings: testFlags),
        .testTarget(name: "CodecsTests", dependencies: ["Codecs", "TestSupport"], swiftSettings: testFlags),
        .testTarget(name: "PortraitWorldTests", dependencies: ["PortraitWorld", "TensorCore", "Codecs", "TestSupport"], swiftSettings: testFlags),
        .testTarget(name: "TriPlaneGANTests", dependencies: ["TriPlaneGAN", "TensorCore", "TestSupport"], swiftSettings: testFlags),
        .testTarget(name: "PortraitExportTests", dependencies: ["PortraitExport", "TriPlaneGAN", "TensorCore", "Codecs", "Teacher", "Metrics", "PortraitWorld", "TestSupport"], swiftSettings: testFlags),
        .testTarget(name: "TeacherTests", dependencies: ["Teacher", "TensorCore", "Codecs", "TestSupport"], swiftSettings: testFlags),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "TeacherTraining", "Teacher", "PortraitWorld", "TensorCore", "Codecs", "Metrics", "TestSupport"], swiftSettings: testFlags),
        .testTarget(name: "DistillTests", dependencies: ["Distill", "TriPlaneGAN", "TensorCore", "PortraitWorld", "Teacher", "Training", "Codecs", "TestSupport"], swiftSettings: testFlags),
        .testTarget(name: "RefineTests", dependencies: ["Refine", "Distill", "TriPlaneGAN", "TensorCore", "Teacher", "Training", "Metrics", "PortraitExport", "Codecs", "TestSupport"], swiftSettings: testFlags),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "TensorCore", "Codecs", "Teacher", "PortraitWorld", "TestSupport"], swiftSettings: testFlags),
    ]
)
