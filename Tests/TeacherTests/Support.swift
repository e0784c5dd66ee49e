// Test support for the teacher tests (CLIP, U-Net, VAE, schedulers, pipeline): the teacher and CLIP fixture
// folders, fresh leaves and the parity report line. Fixtures, assertClose and temporary folders: TestSupport.
import Foundation
import XCTest
@testable import TensorCore
import TestSupport

/// Tests/Fixtures/teacher
let teacherFixturesDir = fixturesDir.appendingPathComponent("teacher")
/// Tests/Fixtures/clip
let clipFixturesDir = fixturesDir.appendingPathComponent("clip")

/// A safetensors file under Tests/Fixtures/teacher.
func teacherFixture(_ name: String) throws -> SafeTensorsFile {
    try SafeTensorsFile(path: teacherFixturePath(name))
}

/// The path of a file or folder under Tests/Fixtures/teacher.
func teacherFixturePath(_ name: String) -> String { teacherFixturesDir.appendingPathComponent(name).path }

/// The path of a file or folder under Tests/Fixtures/clip.
func clipFixturePath(_ name: String) -> String { clipFixturesDir.appendingPathComponent(name).path }

/// A fresh leaf copy of a fixture tensor (fixture tensors may borrow the mapped file).
func leaf(_ t: Tensor, requiresGrad: Bool = false) -> Tensor {
    Tensor(t.toArray(), shape: t.shape, requiresGrad: requiresGrad)
}

/// Prints a parity error in a form the reports collect ("parity <name>: <error>").
func reportParity(_ name: String, _ err: Double) {
    print("parity \(name): \(String(format: "%.3e", err))")
}
