// Test support for the discriminator tests: the EG3D golden fixture and a D loaded from it (the relative-error
// check is TestSupport's).
import Foundation
import XCTest
import TensorCore
import TriPlaneGAN
import TestSupport

/// The tiny128 golden tensors (opened once).
let discriminatorFixture: SafeTensorsFile = {
    do { return try SafeTensorsFile(path: fixturePath("eg3d/tiny128.safetensors")) }
    catch { fatalError("cannot open the EG3D fixture: \(error)") }
}()

/// `D.<key>` -> `<key>`; every other fixture key is dropped.
let discriminatorKeyRemap = KeyRemap(custom: { $0.hasPrefix("D.") ? String($0.dropFirst(2)) : nil })

/// A tiny128 DualDiscriminator with the fixture's weights, loaded strictly.
func loadFixtureDiscriminator() throws -> DualDiscriminator {
    let d = DualDiscriminator(.tiny128, rng: RandomGenerator(seed: 7))
    try d.load(safetensors: fixturePath("eg3d/tiny128.safetensors"), remap: discriminatorKeyRemap, strict: true)
    return d
}
